//! The error type of studies: every message is one paragraph for the user.

use std::path::PathBuf;

/// Everything that stops a study (a failed item does not: it is recorded and the study goes
/// on; see [`crate::results::Status`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The study config could not be read.
    #[error("cannot read the study config {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The study config is not valid; the message quotes the place and what is accepted.
    #[error("{0}")]
    Config(String),
    /// A command-line argument (`--shard`, `--shards`, the index variables) is not valid.
    #[error("{0}")]
    Argument(String),
    /// A file of the study could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The folders given to `srlens merge` cannot be merged (other studies, overlapping shards).
    #[error("{0}")]
    Merge(String),
    /// Something the host library reported outside any one item.
    #[error(transparent)]
    Host(#[from] srlens_host::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// A closure turning an I/O error on `path` into an [`Error::Io`].
pub fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
