//! Helpers for srlens plugin authors, linked statically into each plugin.
//!
//! - [`export_plugin!`]: declares the plugin's root module from a list of components.
//! - [`guard`]: runs a plugin entry point, turning a panic into a [`PluginError`].
//! - [`parse_options`]: reads a component's JSON options into a serde struct.
//! - [`blur`] and [`batch`]: tensor helpers shared by methods.
//! - [`random`]: seeded, platform-independent random numbers.
//! - [`paths`]: file names in options, relative to the running config's folder.
//! - [`testing`]: in-process host traits (model, objective, registry) for unit tests.

pub mod batch;
pub mod blur;
mod export;
pub mod guard;
pub mod integrate;
pub mod options;
pub mod paths;
pub mod random;
pub mod testing;

pub use guard::{guard, guard_result};
pub use options::parse_options;
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
