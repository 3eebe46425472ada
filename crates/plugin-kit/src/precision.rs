//! [`Real`]: the two precisions a map is computed in (`f32`, every backend; `f64`, a model
//! loaded with `precision = "f64"`), so that a method or a check is written once for both.

use srlens_core::{
    abi_stable::std_types::RVec, Attribution, Attribution64, InputGradient, InputGradient64,
    ObjectiveBox, PathSamples, PathSamples64, PluginError, Tensor, Tensor64,
};

use crate::component::{CotangentsOf, Job, SrModel};

/// An element type of the ABI's tensors, with the ABI types and the job's calls of that
/// precision.
pub trait Real: Copy + Into<f64> + Send + Sync + std::fmt::Display + 'static {
    /// The tensor: [`Tensor`] or [`Tensor64`].
    type Tensor: Clone + Send + Sync;
    /// A model's answer for one objective: [`InputGradient`] or [`InputGradient64`].
    type Gradient;
    /// Path samples: [`PathSamples`] or [`PathSamples64`].
    type Samples;
    /// A method's answer for one objective: [`Attribution`] or [`Attribution64`].
    type Attribution;
    /// The precision's name in reports: `float32` or `float64`.
    const NAME: &'static str;

    /// `v` rounded to this type.
    fn from_f64(v: f64) -> Self;
    /// A tensor; `None` when the sizes disagree.
    fn tensor(dims: Vec<usize>, data: Vec<Self>) -> Option<Self::Tensor>;
    /// A tensor's dimensions.
    fn dims(t: &Self::Tensor) -> Vec<usize>;
    /// A tensor's values.
    fn data(t: &Self::Tensor) -> &[Self];
    /// A gradient's objective values (one per batch item) and input gradient.
    fn gradient_parts(g: &Self::Gradient) -> (&[f64], &Self::Tensor);
    /// Samples' points, derivatives, weights and baseline.
    fn sample_parts(s: &Self::Samples) -> [&Self::Tensor; 3];
    /// Samples' weights.
    fn sample_weights(s: &Self::Samples) -> &[f64];
    /// Samples from their points, derivatives, weights and baseline.
    fn samples(
        points: Self::Tensor,
        derivatives: Self::Tensor,
        weights: RVec<f64>,
        baseline: Self::Tensor,
    ) -> Self::Samples;
    /// An attribution from its map and figures (`figures.map` is replaced).
    fn attribution(map: Self::Tensor, figures: Attribution) -> Self::Attribution;
    /// An attribution's map and figures.
    fn attribution_parts(a: &Self::Attribution) -> (&Self::Tensor, &Attribution);

    /// A gradient from the objective's values and the input gradient.
    fn gradient(values: RVec<f64>, grad: Self::Tensor) -> Self::Gradient;
    /// The objective `o`'s values and gradient at the SR batch `sr`.
    fn objective(
        o: &ObjectiveBox,
        sr: &Self::Tensor,
    ) -> Result<(RVec<f64>, Self::Tensor), PluginError>;
    /// The model's vector-Jacobian products in this precision.
    fn vjp<M: SrModel + ?Sized>(
        model: &M,
        lr: &Self::Tensor,
        cotangents: &mut CotangentsOf<'_, Self>,
    ) -> Result<Vec<Self::Tensor>, PluginError>;

    /// The job's LR input in this precision.
    fn image(job: &Job<'_>) -> Self::Tensor;
    /// One forward and one backward pass per objective of `batch`, checked.
    fn gradients(job: &Job<'_>, batch: &Self::Tensor) -> Result<Vec<Self::Gradient>, PluginError>;
    /// Points `start..end` of the `steps`-point path `name` to `image`, checked.
    fn sample_path(
        job: &Job<'_>,
        name: &str,
        options: &str,
        image: &Self::Tensor,
        steps: usize,
        start: usize,
        end: usize,
    ) -> Result<Self::Samples, PluginError>;
    /// Every objective's value at `image` (`1 x C x H x W`).
    fn objective_values(job: &Job<'_>, image: &Self::Tensor) -> Result<Vec<f64>, PluginError>;
    /// The method `name` with `options` on `image`, checked: one attribution per objective.
    fn attribute(
        job: &Job<'_>,
        name: &str,
        options: &str,
        image: &Self::Tensor,
    ) -> Result<Vec<Self::Attribution>, PluginError>;
}

impl Real for f32 {
    type Tensor = Tensor;
    type Gradient = InputGradient;
    type Samples = PathSamples;
    type Attribution = Attribution;
    const NAME: &'static str = "float32";

    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn tensor(dims: Vec<usize>, data: Vec<Self>) -> Option<Tensor> {
        Tensor::new(dims, data)
    }
    fn dims(t: &Tensor) -> Vec<usize> {
        t.dims()
    }
    fn data(t: &Tensor) -> &[f32] {
        &t.data
    }
    fn gradient_parts(g: &InputGradient) -> (&[f64], &Tensor) {
        (&g.values, &g.grad)
    }
    fn sample_parts(s: &PathSamples) -> [&Tensor; 3] {
        [&s.points, &s.derivatives, &s.baseline]
    }
    fn sample_weights(s: &PathSamples) -> &[f64] {
        &s.weights
    }
    fn samples(
        points: Tensor,
        derivatives: Tensor,
        weights: RVec<f64>,
        baseline: Tensor,
    ) -> PathSamples {
        PathSamples {
            points,
            derivatives,
            weights,
            baseline,
        }
    }
    fn attribution(map: Tensor, mut figures: Attribution) -> Attribution {
        figures.map = map;
        figures
    }
    fn attribution_parts(a: &Attribution) -> (&Tensor, &Attribution) {
        (&a.map, a)
    }
    fn gradient(values: RVec<f64>, grad: Tensor) -> InputGradient {
        InputGradient { values, grad }
    }
    fn objective(o: &ObjectiveBox, sr: &Tensor) -> Result<(RVec<f64>, Tensor), PluginError> {
        let v = o.value_and_grad(sr).into_result()?;
        Ok((v.values, v.grad))
    }
    fn vjp<M: SrModel + ?Sized>(
        model: &M,
        lr: &Tensor,
        cotangents: &mut CotangentsOf<'_, Self>,
    ) -> Result<Vec<Tensor>, PluginError> {
        model.vjp(lr, cotangents)
    }
    fn image(job: &Job<'_>) -> Tensor {
        job.image().clone()
    }
    fn gradients(job: &Job<'_>, batch: &Tensor) -> Result<Vec<InputGradient>, PluginError> {
        job.gradients(batch)
    }
    fn sample_path(
        job: &Job<'_>,
        name: &str,
        options: &str,
        image: &Tensor,
        steps: usize,
        start: usize,
        end: usize,
    ) -> Result<PathSamples, PluginError> {
        job.sample_path(name, options, image, steps, start, end)
    }
    fn objective_values(job: &Job<'_>, image: &Tensor) -> Result<Vec<f64>, PluginError> {
        job.objective_values(image)
    }
    fn attribute(
        job: &Job<'_>,
        name: &str,
        options: &str,
        image: &Tensor,
    ) -> Result<Vec<Attribution>, PluginError> {
        job.attribute(name, options, image)
    }
}

impl Real for f64 {
    type Tensor = Tensor64;
    type Gradient = InputGradient64;
    type Samples = PathSamples64;
    type Attribution = Attribution64;
    const NAME: &'static str = "float64";

    fn from_f64(v: f64) -> Self {
        v
    }
    fn tensor(dims: Vec<usize>, data: Vec<Self>) -> Option<Tensor64> {
        Tensor64::new(dims, data)
    }
    fn dims(t: &Tensor64) -> Vec<usize> {
        t.dims()
    }
    fn data(t: &Tensor64) -> &[f64] {
        &t.data
    }
    fn gradient_parts(g: &InputGradient64) -> (&[f64], &Tensor64) {
        (&g.values, &g.grad)
    }
    fn sample_parts(s: &PathSamples64) -> [&Tensor64; 3] {
        [&s.points, &s.derivatives, &s.baseline]
    }
    fn sample_weights(s: &PathSamples64) -> &[f64] {
        &s.weights
    }
    fn samples(
        points: Tensor64,
        derivatives: Tensor64,
        weights: RVec<f64>,
        baseline: Tensor64,
    ) -> PathSamples64 {
        PathSamples64 {
            points,
            derivatives,
            weights,
            baseline,
        }
    }
    fn attribution(map: Tensor64, mut figures: Attribution) -> Attribution64 {
        figures.map = map.to_f32();
        Attribution64 {
            attribution: figures,
            map,
        }
    }
    fn attribution_parts(a: &Attribution64) -> (&Tensor64, &Attribution) {
        (&a.map, &a.attribution)
    }
    fn gradient(values: RVec<f64>, grad: Tensor64) -> InputGradient64 {
        InputGradient64 { values, grad }
    }
    fn objective(o: &ObjectiveBox, sr: &Tensor64) -> Result<(RVec<f64>, Tensor64), PluginError> {
        let v = o.value_and_grad_f64(sr).into_result()?;
        Ok((v.values, v.grad))
    }
    fn vjp<M: SrModel + ?Sized>(
        model: &M,
        lr: &Tensor64,
        cotangents: &mut CotangentsOf<'_, Self>,
    ) -> Result<Vec<Tensor64>, PluginError> {
        model.vjp_f64(lr, cotangents)
    }
    fn image(job: &Job<'_>) -> Tensor64 {
        job.image_f64()
    }
    fn gradients(job: &Job<'_>, batch: &Tensor64) -> Result<Vec<InputGradient64>, PluginError> {
        job.gradients_f64(batch)
    }
    fn sample_path(
        job: &Job<'_>,
        name: &str,
        options: &str,
        image: &Tensor64,
        steps: usize,
        start: usize,
        end: usize,
    ) -> Result<PathSamples64, PluginError> {
        job.sample_path_f64(name, options, image, steps, start, end)
    }
    fn objective_values(job: &Job<'_>, image: &Tensor64) -> Result<Vec<f64>, PluginError> {
        job.objective_values_f64(image)
    }
    fn attribute(
        job: &Job<'_>,
        name: &str,
        options: &str,
        image: &Tensor64,
    ) -> Result<Vec<Attribution64>, PluginError> {
        job.attribute_f64(name, options, image)
    }
}

/// A backend's `precision` option: the floating-point type its network computes in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// float32, every backend's default.
    #[default]
    F32,
    /// float64 throughout (weights, activations, gradients): maps without float32's
    /// rounding, at about twice the time.
    F64,
}

impl Precision {
    /// The name the model reports in its metadata's `precision` key and report.json carries:
    /// `float32` or `float64`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => f32::NAME,
            Precision::F64 => f64::NAME,
        }
    }

    /// Adds `"precision": name()` to a model's metadata object.
    pub fn describe(self, metadata: &mut serde_json::Value) {
        metadata["precision"] = self.name().into();
    }
}
