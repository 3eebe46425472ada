//! The zoo's error type.

use std::path::PathBuf;

/// Everything that can go wrong with the zoo.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The manifest is not valid.
    #[error("{path}: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A zoo name is not in any manifest found.
    #[error("{0}")]
    UnknownModel(String),
    /// Images of different sizes, or too small to measure.
    #[error("{0}")]
    Image(String),
    /// A plugin could not be loaded or failed.
    #[error("{0}")]
    Plugin(String),
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
