//! `srlens-core`: the stable ABI shared by the `srlens` host and its plugins.
//!
//! Everything here crosses a dynamic-library boundary, so every type is `#[repr(C)]` and
//! derives [`StableAbi`]; traits are `#[sabi_trait]` objects. The crate holds types only:
//! helpers for plugin authors live in `srlens-plugin-kit`.
//!
//! Tensors are NCHW, row-major, `f32`. Images handed to models are in `[0, 1]`; a backend maps
//! them to its model's own input range and back.

#![allow(non_local_definitions)] // abi_stable's derive macros

pub mod error;
pub mod host;
pub mod method;
pub mod model;
pub mod plugin;
pub mod tensor;

pub use abi_stable;
pub use error::{ErrorKind, PluginError, PluginResult};
pub use host::{
    Objective, ObjectiveRef, ObjectiveValue, Objective_TO, Progress, ProgressRef, Progress_TO,
    Registry, RegistryRef, Registry_TO,
};
pub use method::{
    Attribution, Method, MethodBox, MethodJob, Method_TO, PathBox, PathFunction, PathFunction_TO,
    PathSamples,
};
pub use model::{
    Backend, BackendBox, Backend_TO, InputGradient, LoadRequest, Model, ModelBox, ModelInfo,
    Model_TO,
};
pub use plugin::{ComponentInfo, ComponentKind, PluginModule, PluginRef};
pub use tensor::Tensor;

/// This srlens-core's version: the ABI version plugins are checked against.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The environment variable in which the host gives plugins the running config's absolute
/// folder: relative file names in component options are relative to it.
pub const CONFIG_DIR_VAR: &str = "SRLENS_CONFIG_DIR";
