//! Attribution methods and the path functions they integrate along.

use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RString, RVec},
    StableAbi,
};

use crate::{
    error::PluginResult,
    host::{ObjectiveRef, ProgressRef, RegistryRef},
    model::ModelBox,
    tensor::Tensor,
};

/// Points on a path from a baseline to an image, with the weights of a quadrature.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PathSamples {
    /// `n x C x H x W`: the points `p_i` asked for.
    pub points: Tensor,
    /// `n x C x H x W`: the path derivatives `d_i` at those points.
    pub derivatives: Tensor,
    /// `n` quadrature weights: the map is `sum_i w_i * grad(p_i) * d_i`.
    pub weights: RVec<f64>,
    /// `1 x C x H x W`: the path's start.
    pub baseline: Tensor,
}

/// A path from a baseline to an image.
#[sabi_trait]
pub trait PathFunction: Send + Sync {
    /// Samples points `start..end` of a path of `steps` points to `image` (`1 x C x H x W`),
    /// with this path's `options` (a JSON object).
    #[sabi(last_prefix_field)]
    fn sample(
        &self,
        image: &Tensor,
        options: &RString,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples>;
}

/// An owned [`PathFunction`] trait object.
pub type PathBox = PathFunction_TO<'static, RBox<()>>;

/// Everything a method needs for one attribution.
#[repr(C)]
#[derive(StableAbi)]
pub struct MethodJob<'a> {
    /// The LR input, `1 x C x H x W` in `[0, 1]`.
    pub image: &'a Tensor,
    /// The model to explain.
    pub model: &'a ModelBox,
    /// The feature of the output being explained.
    pub objective: ObjectiveRef<'a>,
    /// Other methods and paths, by name.
    pub registry: RegistryRef<'a>,
    /// Where to report progress.
    pub progress: ProgressRef<'a>,
    /// The largest batch of images to send to the model at once.
    pub batch_size: u32,
    /// The method's own options, a JSON object.
    pub options: RString,
}

/// An attribution map and the figures a method reports with it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Attribution {
    /// The signed map, `C x H x W`.
    pub map: Tensor,
    /// The objective at the input.
    pub objective_input: f64,
    /// The objective at the path's baseline (path methods only).
    pub objective_baseline: ROption<f64>,
    /// The options actually used, defaults filled in, as a JSON object.
    pub parameters: RString,
}

/// An attribution method.
#[sabi_trait]
pub trait Method: Send + Sync {
    /// Computes an attribution for `job`.
    #[sabi(last_prefix_field)]
    fn attribute(&self, job: &MethodJob<'_>) -> PluginResult<Attribution>;
}

/// An owned [`Method`] trait object.
pub type MethodBox = Method_TO<'static, RBox<()>>;
