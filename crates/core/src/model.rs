//! Model backends and the models they load.

use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RSlice, RString, RVec},
    StableAbi,
};

use crate::{
    error::{PluginError, PluginResult},
    host::ObjectiveBox,
    tensor::{Tensor, Tensor64},
};

/// What a loaded model says about itself.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ModelInfo {
    /// A human-readable name (usually the file stem).
    pub name: RString,
    /// The upscaling factor.
    pub scale: u32,
    /// Input and output channels.
    pub channels: u32,
    /// The model's own value range (`[0, 1]` or `[0, 255]`...); tensors at the ABI are `[0, 1]`.
    pub input_range: [f32; 2],
    /// The number of parameters.
    pub parameters: u64,
    /// The receptive field in LR pixels, where the backend knows it.
    pub receptive_field: ROption<u32>,
    /// Further facts as a JSON object (`{}` when none), for facts added after srlens-core
    /// 1.0 without a layout change; the host documents the keys it reads.
    pub metadata: RString,
}

/// The result of one gradient call for one objective.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct InputGradient {
    /// The objective's value for each batch item.
    pub values: RVec<f64>,
    /// `d objective / d lr`, the same shape as the LR batch.
    pub grad: Tensor,
}

/// [`InputGradient`] in float64 (srlens-core 1.1).
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct InputGradient64 {
    /// The objective's value for each batch item.
    pub values: RVec<f64>,
    /// `d objective / d lr`, the same shape as the LR batch.
    pub grad: Tensor64,
}

/// A loaded SR network.
#[sabi_trait]
pub trait Model: Send + Sync {
    /// What the model is.
    fn info(&self) -> ModelInfo;

    /// Super-resolves an LR batch `N x C x H x W` in `[0, 1]` into `N x C x sH x sW`.
    fn forward(&self, lr: &Tensor) -> PluginResult<Tensor>;

    /// One forward pass of `lr`, then one backward pass per objective, into the input only.
    /// Returns one [`InputGradient`] per objective, in order.
    #[sabi(last_prefix_field)]
    fn gradient(
        &self,
        lr: &Tensor,
        objectives: RSlice<'_, ObjectiveBox>,
    ) -> PluginResult<RVec<InputGradient>>;

    /// [`gradient`](Model::gradient) computed in float64 throughout (the forward pass, the
    /// objectives through [`Objective::value_and_grad_f64`](crate::Objective), the backward
    /// pass), for a model loaded with `precision = "f64"`. Added in srlens-core 1.1; a model
    /// without it answers [`ErrorKind::Unsupported`](crate::ErrorKind).
    fn gradient_f64(
        &self,
        lr: &Tensor64,
        objectives: RSlice<'_, ObjectiveBox>,
    ) -> PluginResult<RVec<InputGradient64>> {
        let _ = (lr, objectives);
        PluginResult::RErr(PluginError::float64_unsupported(&format!(
            "model `{}`",
            self.info().name
        )))
    }
}

/// An owned [`Model`] trait object.
pub type ModelBox = Model_TO<'static, RBox<()>>;

/// What to load and how.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LoadRequest {
    /// The model file; `None` for a backend whose [`ComponentInfo`](crate::ComponentInfo)
    /// says it needs none (built-in weights) and a config that names none.
    pub path: ROption<RString>,
    /// The backend's own options, a JSON object.
    pub options: RString,
    /// Threads the backend may use (0: its default).
    pub threads: u32,
    /// The device, e.g. `cpu`, `cuda:0`.
    pub device: RString,
    /// The absolute folder of the running config: relative file names in options are
    /// relative to it (empty when the host has no config).
    pub config_dir: RString,
}

/// Loads models of one format.
#[sabi_trait]
pub trait Backend: Send + Sync {
    /// Loads the model described by `request`.
    #[sabi(last_prefix_field)]
    fn load(&self, request: &LoadRequest) -> PluginResult<ModelBox>;
}

/// An owned [`Backend`] trait object.
pub type BackendBox = Backend_TO<'static, RBox<()>>;
