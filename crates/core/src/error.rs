//! The error that crosses the plugin boundary.

use abi_stable::{
    nonexhaustive_enum::NonExhaustiveFor,
    std_types::{ROption, RResult, RString, RVec},
    StableAbi,
};

/// What kind of failure a [`PluginError`] reports. Non-exhaustive across the ABI: a later
/// srlens-core may add kinds, which older hosts see as unknown ([`PluginError::kind`] `None`).
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[sabi(kind(WithNonExhaustive(size = [u32; 2], traits(Debug, Clone, PartialEq, Eq))))]
#[non_exhaustive]
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
    /// A computation produced NaN or infinity.
    NonFinite,
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
            ErrorKind::NonFinite => "non-finite values",
        }
    }
}

/// An [`ErrorKind`] as it crosses the boundary: it may hold a kind this core does not know.
pub type ErrorKindAbi = NonExhaustiveFor<ErrorKind>;

/// An error returned by a plugin: a kind, a message that says what was wrong and what to do,
/// and, for an option error, the option's key and the values it accepts.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginError {
    /// The kind of failure.
    pub kind: ErrorKindAbi,
    /// One paragraph for the user.
    pub message: RString,
    /// The option at fault, as a dotted path inside the component's options (`path_options.sigma`).
    pub key: ROption<RString>,
    /// What the option accepts (keys, names or a range), where the plugin knows it.
    pub accepted: RVec<RString>,
}

impl PluginError {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind: ErrorKindAbi::new(kind),
            message: RString::from(message.into()),
            key: ROption::RNone,
            accepted: RVec::new(),
        }
    }

    /// The same error, naming the option `key` at fault.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = ROption::RSome(RString::from(key.into()));
        self
    }

    /// The same error, listing what the option accepts.
    pub fn with_accepted<S: Into<String>>(mut self, accepted: impl IntoIterator<Item = S>) -> Self {
        self.accepted = accepted
            .into_iter()
            .map(|s| RString::from(s.into()))
            .collect();
        self
    }

    /// The [`ErrorKind::Unsupported`] answer of a float64 call (srlens-core 1.1) that `what`
    /// (e.g. "method `occlusion`") does not implement.
    pub fn float64_unsupported(what: &str) -> Self {
        PluginError::new(
            ErrorKind::Unsupported,
            format!(
                "{what} does not compute in float64 (precision = \"f64\"); use precision \
                 \"f32\" (the default) for it"
            ),
        )
    }

    /// The kind, or `None` for a kind added by a later srlens-core.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.kind.as_enum().ok().copied()
    }

    /// The kind's name for messages (`unknown kind` for a kind added later).
    pub fn kind_str(&self) -> &'static str {
        self.kind().map_or("unknown kind", ErrorKind::as_str)
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
