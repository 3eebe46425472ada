//! Traits the host implements and hands to plugins: the objective being explained, a registry
//! to reach other methods and paths by name, and a progress sink.

use abi_stable::{
    sabi_trait,
    sabi_types::RRef,
    std_types::{RStr, RVec},
    StableAbi,
};

use crate::{error::PluginResult, method::Attribution, method::PathSamples, tensor::Tensor};

/// The value of an objective for each batch item and its gradient with respect to the SR batch.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ObjectiveValue {
    /// One value per batch item.
    pub values: RVec<f64>,
    /// `d sum(values) / d sr`, the same shape as the SR batch.
    pub grad: Tensor,
}

/// The scalar feature of the SR output being explained (LAM's gradient energy in a window...).
#[sabi_trait]
pub trait Objective: Send + Sync {
    /// Evaluates the objective on an SR batch (`N x C x sH x sW`, values in `[0, 1]`).
    #[sabi(last_prefix_field)]
    fn value_and_grad(&self, sr: &Tensor) -> PluginResult<ObjectiveValue>;
}

/// A borrowed [`Objective`] trait object.
pub type ObjectiveRef<'a> = Objective_TO<'a, RRef<'a, ()>>;

/// Reaches other methods and path functions by name, as the host resolved them.
#[sabi_trait]
pub trait Registry: Send + Sync {
    /// Runs the method `name` with `options` (a JSON object) on `image` (`1 x C x H x W`),
    /// with the same model, objective and progress as the caller.
    fn attribute(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor,
    ) -> PluginResult<Attribution>;

    /// Samples the path function `name` with `options` (a JSON object): points
    /// `start..end` of `steps`, from its baseline to `image`.
    #[sabi(last_prefix_field)]
    fn sample_path(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples>;
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
