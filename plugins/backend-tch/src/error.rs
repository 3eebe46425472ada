//! The error type of the tch backend.

use srlens_core::{ErrorKind, PluginError};

/// Everything that can go wrong loading or running a TorchScript model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model file could not be read or is not a usable TorchScript SR model.
    #[error("{0}")]
    Load(String),
    /// An option is wrong.
    #[error("{0}")]
    Config(String),
    /// A tensor handed to the model is wrong (shape, channels...).
    #[error("{0}")]
    Input(String),
    /// The request asks for something this build cannot do (a missing CUDA device...).
    #[error("{0}")]
    Unsupported(String),
    /// libtorch raised an exception while computing (its first lines, without the C++ trace).
    #[error("libtorch: {0}")]
    Torch(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The [`ErrorKind`] this error crosses the plugin boundary with.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Load(_) => ErrorKind::ModelLoad,
            Error::Config(_) => ErrorKind::InvalidConfig,
            Error::Input(_) => ErrorKind::InvalidInput,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Torch(_) => ErrorKind::Backend,
        }
    }
}

/// libtorch's message without the C++ frames ("Exception raised from ...", "frame #0: ...").
pub fn short_message(e: &tch::TchError) -> String {
    let text = match e {
        tch::TchError::Torch(t) => t.clone(),
        other => other.to_string(),
    };
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .take_while(|l| !l.starts_with("Exception raised from") && !l.starts_with("frame #"))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let joined = kept.join(" ");
    match joined.find(" Exception raised from ") {
        Some(i) => joined[..i].to_string(),
        None => joined,
    }
}

impl From<tch::TchError> for Error {
    fn from(e: tch::TchError) -> Self {
        Error::Torch(short_message(&e))
    }
}

impl From<Error> for PluginError {
    fn from(e: Error) -> Self {
        PluginError::new(e.kind(), e.to_string())
    }
}
