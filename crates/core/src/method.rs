//! Attribution methods and the path functions they integrate along.

use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RStr, RString, RVec},
    StableAbi,
};

use crate::{
    error::{PluginError, PluginResult},
    host::JobRef,
    tensor::{Tensor, Tensor64},
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

/// [`PathSamples`] in float64 (srlens-core 1.1).
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PathSamples64 {
    /// `n x C x H x W`: the points `p_i` asked for.
    pub points: Tensor64,
    /// `n x C x H x W`: the path derivatives `d_i` at those points.
    pub derivatives: Tensor64,
    /// `n` quadrature weights: the map is `sum_i w_i * grad(p_i) * d_i`.
    pub weights: RVec<f64>,
    /// `1 x C x H x W`: the path's start.
    pub baseline: Tensor64,
}

/// A path from a baseline to an image.
#[sabi_trait]
pub trait PathFunction: Send + Sync {
    /// Checks `options` (a JSON object) for a path to `image` (`1 x C x H x W`), without
    /// sampling: the host calls it for every path before any model call. Relative file
    /// names in options are relative to `config_dir` (the running config's absolute folder,
    /// empty when none).
    fn check(&self, image: &Tensor, options: RStr<'_>, config_dir: RStr<'_>) -> PluginResult<()>;

    /// Samples points `start..end` of a path of `steps` points to `image` (`1 x C x H x W`),
    /// with this path's `options` (a JSON object).
    #[sabi(last_prefix_field)]
    fn sample(
        &self,
        image: &Tensor,
        options: RStr<'_>,
        config_dir: RStr<'_>,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples>;

    /// [`sample`](PathFunction::sample) in float64, to a float64 image (srlens-core 1.1);
    /// a path without it answers [`ErrorKind::Unsupported`](crate::ErrorKind).
    fn sample_f64(
        &self,
        image: &Tensor64,
        options: RStr<'_>,
        config_dir: RStr<'_>,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples64> {
        let _ = (image, options, config_dir, steps, start, end);
        PluginResult::RErr(PluginError::float64_unsupported("this path"))
    }
}

/// An owned [`PathFunction`] trait object.
pub type PathBox = PathFunction_TO<'static, RBox<()>>;

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
    /// What the user should know about this map (e.g. "the baseline equals the input").
    pub warnings: RVec<RString>,
}

/// An [`Attribution`] computed in float64 (srlens-core 1.1): the figures, with the map
/// rounded to `f32` in `attribution.map`, and the map itself.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Attribution64 {
    /// The figures; `map` holds [`Attribution64::map`] rounded to `f32`.
    pub attribution: Attribution,
    /// The signed map, `C x H x W`, in float64.
    pub map: Tensor64,
}

/// An attribution method.
#[sabi_trait]
pub trait Method: Send + Sync {
    /// Checks the job's options (and those of the methods and paths it would call, through
    /// the job's registry) without calling the model: the host calls it for every method of
    /// a run before any model call.
    fn check(&self, job: JobRef<'_>) -> PluginResult<()>;

    /// Computes the attributions for `job`: one per objective, in the job's order.
    #[sabi(last_prefix_field)]
    fn attribute(&self, job: JobRef<'_>) -> PluginResult<RVec<Attribution>>;

    /// [`attribute`](Method::attribute) in float64 throughout (srlens-core 1.1): the host
    /// calls it when the model was loaded with `precision = "f64"`, with the job's
    /// [`image_f64`](crate::Job). A method without it answers
    /// [`ErrorKind::Unsupported`](crate::ErrorKind).
    fn attribute_f64(&self, job: JobRef<'_>) -> PluginResult<RVec<Attribution64>> {
        let _ = job;
        PluginResult::RErr(PluginError::float64_unsupported("this method"))
    }

    /// How far, in LR pixels, the job's map at a pixel depends on the image beyond what the
    /// model's gradient there sees (srlens-core 1.2): `RSome(r)` when the method's path
    /// points, derivatives and baseline at a pixel depend only on the image within `r`
    /// pixels of it (reflect-101 at the image's own borders; no image-wide statistic, no
    /// noise drawn per position), so that the host may run it on the part of the image the
    /// windows' receptive fields cover plus `r` and paste the map back (LAM's blur path:
    /// half its kernel; a black baseline: 0). The default, `RNone`, runs it on the whole
    /// image.
    fn image_reach(&self, job: JobRef<'_>) -> PluginResult<ROption<u32>> {
        let _ = job;
        PluginResult::ROk(ROption::RNone)
    }
}

/// An owned [`Method`] trait object.
pub type MethodBox = Method_TO<'static, RBox<()>>;
