//! The error type of the Candle backend.

use srlens_core::{ErrorKind, PluginError};

/// Everything that can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model file could not be read or is not a usable ONNX model.
    #[error("{0}")]
    Load(String),
    /// The graph uses an operator (or an operator setting) this backend does not implement.
    #[error("{0}")]
    Unsupported(String),
    /// A tensor handed to the model is wrong (shape, channels...).
    #[error("{0}")]
    Input(String),
    /// An option is wrong.
    #[error("{0}")]
    Config(String),
    /// A node failed while running.
    #[error("node `{node}` ({op}): {message}")]
    Node {
        /// The node's name.
        node: String,
        /// Its operator.
        op: String,
        /// What went wrong.
        message: String,
    },
    /// Candle failed outside any node (the message, without candle's backtrace).
    #[error("candle: {0}")]
    Candle(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for an [`Error::Unsupported`].
    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::Unsupported(message.into())
    }

    /// The [`ErrorKind`] this error crosses the plugin boundary with.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Load(_) => ErrorKind::ModelLoad,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Input(_) => ErrorKind::InvalidInput,
            Error::Config(_) => ErrorKind::InvalidConfig,
            Error::Node { .. } | Error::Candle(_) => ErrorKind::Backend,
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        let text = e.to_string();
        let first = text.split("\n   0:").next().unwrap_or("").trim_end();
        Error::Candle(first.to_string())
    }
}

impl From<Error> for PluginError {
    fn from(e: Error) -> Self {
        PluginError::new(e.kind(), e.to_string())
    }
}
