//! `srlens-core`: the stable ABI shared by the `srlens` host and its plugins.
//!
//! Everything here crosses a dynamic-library boundary, so every type is `#[repr(C)]` and
//! derives [`StableAbi`]; traits are `#[sabi_trait]` objects. The crate holds types only:
//! helpers for plugin authors live in `srlens-plugin-kit`.
//!
//! Tensors are NCHW, row-major, `f32`; since 1.1, calls ending in `_f64` carry `f64`
//! tensors for models loaded with `precision = "f64"`. Images handed to models are in `[0, 1]`; a backend maps
//! them to its model's own input range and back.

#![allow(non_local_definitions)] // abi_stable's derive macros

pub mod error;
pub mod host;
pub mod method;
pub mod model;
pub mod plugin;
pub mod tensor;

pub use abi_stable;
pub use error::{ErrorKind, ErrorKindAbi, PluginError, PluginResult};
pub use host::{
    Job, JobRef, Job_TO, Objective, ObjectiveBox, ObjectiveValue, ObjectiveValue64, Objective_TO,
    Progress, ProgressRef, Progress_TO, Registry, RegistryRef, Registry_TO,
};
pub use method::{
    Attribution, Attribution64, Method, MethodBox, Method_TO, PathBox, PathFunction,
    PathFunction_TO, PathSamples, PathSamples64,
};
pub use model::{
    Backend, BackendBox, Backend_TO, InputGradient, InputGradient64, LoadRequest, Model, ModelBox,
    ModelInfo, Model_TO,
};
pub use plugin::{ComponentInfo, ComponentKind, ComponentKindAbi, PluginModule, PluginRef};
pub use tensor::{Tensor, Tensor64};

/// This srlens-core's version: the ABI version plugins are checked against.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
