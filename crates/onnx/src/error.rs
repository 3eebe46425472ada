//! The error type of `srlens-onnx`.

use std::path::PathBuf;

/// Everything that can go wrong reading, writing or converting a graph.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not a valid model of the expected format.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what would be accepted.
        message: String,
    },
    /// A graph is inconsistent (a missing input, a wrong attribute...).
    #[error("{0}")]
    Graph(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
