//! The plugin's error type and its mapping onto the ABI's [`PluginError`].

use srlens_core::{ErrorKind, PluginError};

/// Everything that can go wrong in this plugin.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The weights file is missing or not a network this plugin understands.
    #[error("{0}")]
    Load(String),
    /// An input tensor has the wrong shape.
    #[error("{0}")]
    Input(String),
    /// A backend option is wrong.
    #[error("{0}")]
    Config(String),
    /// Something this plugin does not do (a device other than the CPU).
    #[error("{0}")]
    Unsupported(String),
    /// candle failed while computing.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl From<Error> for PluginError {
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::Load(_) => ErrorKind::ModelLoad,
            Error::Input(_) => ErrorKind::InvalidInput,
            Error::Config(_) => ErrorKind::InvalidConfig,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Candle(_) => ErrorKind::Backend,
        };
        PluginError::new(kind, e.to_string())
    }
}
