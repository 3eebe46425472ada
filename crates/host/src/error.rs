//! The error type of the srlens host: every message is one paragraph for the user.

use std::path::PathBuf;

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The config is not valid; the message already quotes the place.
    #[error("{0}")]
    Config(String),
    /// A plugin could not be loaded or has no such component.
    #[error("{0}")]
    Plugin(String),
    /// An input (image, window, model) is not usable.
    #[error("{0}")]
    Input(String),
    /// A plugin call failed.
    #[error("{0}")]
    PluginCall(String),
    /// A plugin refused one of a component's options.
    #[error("{message}")]
    Option {
        /// The option's dotted key inside the component's options.
        key: String,
        /// The plugin's message, with the plugin named.
        message: String,
    },
    /// An output could not be written.
    #[error("cannot write {path}: {message}")]
    Output {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
