//! The srlens model zoo.
//!
//! - [`manifest`]: `zoo.toml` (one entry per model, with provenance and sha256) and zoo-name
//!   resolution for configs.
//! - [`metrics`]: PSNR and SSIM on the Y channel, the usual SR evaluation.
//! - [`images`]: bicubic resizing, crops and tensor conversions for evaluations.
//! - [`hash`]: sha256 of files.
//! - [`fixture`]: the expected outputs of the fixture check (package samples, TensorFlow.js).

pub mod error;
pub mod fixture;
pub mod hash;
pub mod images;
pub mod manifest;
pub mod metrics;

pub use error::{Error, Result};
pub use manifest::{Entry, Manifest};
