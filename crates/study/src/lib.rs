//! `srlens-study`: studies of super-resolution networks, many models x methods x images x
//! windows from one TOML file, each model x method x image run as one `srlens run` through
//! the host library (so every check, map, picture and report.json is the run's own).
//!
//! Data flows one way: [`config`] (the study file) -> [`grid`] (models resolved and hashed,
//! [`images`] decoded, [`windows`] chosen, items keyed, runs costed) -> [`shard`] (which runs
//! are this machine's) -> [`runner`] (skips what [`results`] already holds, runs the rest,
//! appends each item's line, logs and reports [`progress`]) -> [`summary`] and [`report`].
//! [`merge`] combines shard folders, checked by their [`manifest`]s.

pub mod config;
pub mod error;
pub mod grid;
pub mod images;
pub mod manifest;
pub mod merge;
pub mod progress;
pub mod report;
pub mod results;
pub mod runner;
pub mod shard;
pub mod summary;
pub mod texture;
pub mod windows;

pub use error::{Error, Result};
pub use merge::{merge, MergeOutcome};
pub use progress::{Quiet, StudyObserver};
pub use runner::{run_study, Outcome, StudyArgs};
pub use shard::Shard;
