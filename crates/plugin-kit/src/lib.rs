//! Helpers for srlens plugin authors, linked statically into each plugin.
//!
//! - [`component`]: plain-Rust traits for backends/models ([`SrBackend`], [`SrModel`]),
//!   methods ([`AttributionMethod`]) and paths ([`PathFn`]).
//! - [`export_plugin!`]: declares the plugin's root module from a list of components, wrapped
//!   into the ABI with the panic guard, option parsing and result checks built in.
//! - [`guard`]: runs a plugin entry point, turning a panic into a [`PluginError`].
//! - [`parse_options`]: reads a component's JSON options into a serde struct.
//! - [`precision`]: [`Real`], `f32` or `f64`, so that methods and checks are written once.
//! - [`blur`] and [`batch`]: tensor helpers shared by methods.
//! - [`random`]: seeded, platform-independent random numbers.
//! - [`cache`]: the per-user cache folder (`$SRLENS_CACHE`, else `~/.cache/srlens`).
//! - [`testing`]: in-process host traits (model, objective, registry) for unit tests.

pub mod batch;
pub mod blur;
pub mod cache;
pub mod component;
mod export;
pub mod guard;
pub mod integrate;
pub mod limits;
pub mod options;
pub mod precision;
pub mod random;
pub mod testing;

pub use component::{
    AttributionMethod, Cotangents, Cotangents64, CotangentsOf, Job, ModelRequest, PathContext,
    PathFn, SrBackend, SrModel, SrModelExt,
};
pub use guard::{guard, guard_result};
pub use options::parse_options;
pub use precision::{Precision, Real};
pub use srlens_core;

use srlens_core::{ErrorKind, PluginError};

/// A shorthand for an [`ErrorKind::InvalidConfig`] error.
pub fn invalid_config(message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorKind::InvalidConfig, message)
}

/// A shorthand for an [`ErrorKind::InvalidInput`] error.
pub fn invalid_input(message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorKind::InvalidInput, message)
}
