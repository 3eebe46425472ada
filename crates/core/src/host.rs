//! Traits the host implements and hands to plugins: the objectives being explained, the job a
//! method runs, a registry to reach other methods and paths by name, and a progress sink.
//!
//! Every trait here is a `#[sabi_trait]`: its vtable is a prefix type, so a later srlens-core
//! may add methods after the `last_prefix_field` ones without breaking plugins built today.

use abi_stable::{
    sabi_trait,
    sabi_types::RRef,
    std_types::{RBox, RSlice, RStr, RVec},
    StableAbi,
};

use crate::{
    error::{PluginError, PluginResult},
    method::{Attribution, Attribution64, PathSamples, PathSamples64},
    model::ModelBox,
    tensor::{Tensor, Tensor64},
};

/// The value of an objective for each batch item and its gradient with respect to the SR batch.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ObjectiveValue {
    /// One value per batch item.
    pub values: RVec<f64>,
    /// `d sum(values) / d sr`, the same shape as the SR batch.
    pub grad: Tensor,
}

/// [`ObjectiveValue`] in float64 (srlens-core 1.1).
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ObjectiveValue64 {
    /// One value per batch item.
    pub values: RVec<f64>,
    /// `d sum(values) / d sr`, the same shape as the SR batch.
    pub grad: Tensor64,
}

/// The scalar feature of the SR output being explained (LAM's gradient energy in a window...).
#[sabi_trait]
pub trait Objective: Send + Sync {
    /// Evaluates the objective on an SR batch (`N x C x sH x sW`, values in `[0, 1]`).
    #[sabi(last_prefix_field)]
    fn value_and_grad(&self, sr: &Tensor) -> PluginResult<ObjectiveValue>;

    /// [`value_and_grad`](Objective::value_and_grad) of a float64 SR batch, in float64
    /// (srlens-core 1.1).
    fn value_and_grad_f64(&self, sr: &Tensor64) -> PluginResult<ObjectiveValue64> {
        let _ = sr;
        PluginResult::RErr(PluginError::float64_unsupported("this host's objective"))
    }
}

/// An owned [`Objective`] trait object (what jobs and gradient calls carry).
pub type ObjectiveBox = Objective_TO<'static, RBox<()>>;

/// One attribution request, as the host hands it to a method: one image, one model, and one
/// or more objectives (windows) that share the model's passes.
#[sabi_trait]
pub trait Job: Send + Sync {
    /// The LR input, `1 x C x H x W` in `[0, 1]`.
    fn image(&self) -> &Tensor;

    /// The model to explain.
    fn model(&self) -> &ModelBox;

    /// The features of the output being explained: the method returns one attribution per
    /// objective, in this order.
    fn objectives(&self) -> RSlice<'_, ObjectiveBox>;

    /// Other methods and paths, by name.
    fn registry(&self) -> RegistryRef<'_>;

    /// Where to report progress.
    fn progress(&self) -> ProgressRef<'_>;

    /// The largest batch of images to send to the model at once (at least 1).
    fn batch_size(&self) -> u32;

    /// The method's own options, a JSON object.
    fn options(&self) -> RStr<'_>;

    /// The absolute folder of the running config: relative file names in options are
    /// relative to it (empty when the host has no config).
    #[sabi(last_prefix_field)]
    fn config_dir(&self) -> RStr<'_>;

    /// The LR input in float64 (srlens-core 1.1): what float64 methods start from (the
    /// image's own values, not [`image`](Job::image)'s rounding); a host without it gives
    /// `image` widened.
    fn image_f64(&self) -> Tensor64 {
        self.image().to_f64()
    }
}

/// A borrowed [`Job`] trait object.
pub type JobRef<'a> = Job_TO<'a, RRef<'a, ()>>;

/// Reaches other methods and path functions by name, as the host resolved them.
#[sabi_trait]
pub trait Registry: Send + Sync {
    /// Runs the method `name` with `options` (a JSON object) on `image` (`1 x C x H x W`),
    /// with the same model, objectives and progress as the caller: one attribution per
    /// objective.
    fn attribute(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor,
    ) -> PluginResult<RVec<Attribution>>;

    /// Samples the path function `name` with `options` (a JSON object): points
    /// `start..end` of `steps`, from its baseline to `image`.
    fn sample_path(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples>;

    /// Checks the options of the method `name` for `image` without running it (no model
    /// call).
    fn check_method(&self, name: RStr<'_>, options: RStr<'_>, image: &Tensor) -> PluginResult<()>;

    /// Checks the options of the path function `name` for `image` without sampling it.
    #[sabi(last_prefix_field)]
    fn check_path(&self, name: RStr<'_>, options: RStr<'_>, image: &Tensor) -> PluginResult<()>;

    /// [`attribute`](Registry::attribute) in float64 (srlens-core 1.1).
    fn attribute_f64(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor64,
    ) -> PluginResult<RVec<Attribution64>> {
        let _ = (options, image);
        PluginResult::RErr(PluginError::float64_unsupported(&format!(
            "this host's method `{name}`"
        )))
    }

    /// [`sample_path`](Registry::sample_path) in float64 (srlens-core 1.1).
    fn sample_path_f64(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor64,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples64> {
        let _ = (options, image, steps, start, end);
        PluginResult::RErr(PluginError::float64_unsupported(&format!(
            "this host's path `{name}`"
        )))
    }
}

/// A borrowed [`Registry`] trait object.
pub type RegistryRef<'a> = Registry_TO<'a, RRef<'a, ()>>;

/// Receives progress from long work; counts are in model evaluations.
#[sabi_trait]
pub trait Progress: Send + Sync {
    /// Adds `n` to the expected total of work units.
    fn add_total(&self, n: u64);
    /// Marks `n` work units as done.
    #[sabi(last_prefix_field)]
    fn advance(&self, n: u64);
}

/// A borrowed [`Progress`] trait object.
pub type ProgressRef<'a> = Progress_TO<'a, RRef<'a, ()>>;
