//! The error type of the ONNX Runtime backend.

use srlens_core::{ErrorKind, PluginError};

/// Everything that can go wrong loading ONNX Runtime, loading a model or running it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ONNX Runtime library is missing, unloadable or of the wrong version.
    #[error("{0}")]
    Library(String),
    /// The model file could not be read or is not a usable ONNX SR model.
    #[error("{0}")]
    Load(String),
    /// An option is wrong.
    #[error("{0}")]
    Config(String),
    /// A tensor handed to the model is wrong (shape, channels, element type...).
    #[error("{0}")]
    Input(String),
    /// The request asks for something this library or graph cannot do (a device without its
    /// execution provider, an operator without a gradient rule...).
    #[error("{0}")]
    Unsupported(String),
    /// ONNX Runtime failed while building a session or running it.
    #[error("onnxruntime: {0}")]
    Runtime(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The [`ErrorKind`] this error crosses the plugin boundary with.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Library(_) | Error::Load(_) => ErrorKind::ModelLoad,
            Error::Config(_) => ErrorKind::InvalidConfig,
            Error::Input(_) => ErrorKind::InvalidInput,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Runtime(_) => ErrorKind::Backend,
        }
    }
}

impl<R> From<ort::Error<R>> for Error {
    fn from(e: ort::Error<R>) -> Self {
        Error::Runtime(e.message().trim().to_string())
    }
}

impl From<Error> for PluginError {
    fn from(e: Error) -> Self {
        PluginError::new(e.kind(), e.to_string())
    }
}
