//! The error that crosses the plugin boundary.

use abi_stable::{
    std_types::{RResult, RString},
    StableAbi,
};

/// What kind of failure a [`PluginError`] reports.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A method, backend or path option is wrong.
    InvalidConfig,
    /// An input (image, tensor, window) is wrong.
    InvalidInput,
    /// The plugin does not support what was asked (an operator, a device...).
    Unsupported,
    /// A model file could not be read or understood.
    ModelLoad,
    /// The backend failed while computing.
    Backend,
    /// The plugin panicked; the panic was caught at the boundary.
    Panic,
}

impl ErrorKind {
    /// A short lowercase name, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig => "invalid configuration",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::ModelLoad => "model load failed",
            ErrorKind::Backend => "backend failure",
            ErrorKind::Panic => "plugin panicked",
        }
    }
}

/// An error returned by a plugin: a kind and a message that says what was wrong and what to do.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// One paragraph for the user.
    pub message: RString,
}

impl PluginError {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: RString::from(message.into()),
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// The result type of every fallible ABI call.
pub type PluginResult<T> = RResult<T, PluginError>;
