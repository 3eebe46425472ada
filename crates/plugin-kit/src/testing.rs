//! In-process implementations of the host traits, for unit tests of methods and paths.
//!
//! A plugin's tests build a [`TestRegistry`] around a closed-form model ([`FnModel`]) and one
//! or more objectives ([`Intensity`]), register the plugin's own methods and paths by name
//! (and the reference [`GradientMethod`]), then run a method as the host would:
//! [`TestRegistry::run`] builds a job whose registry is the `TestRegistry` itself, so methods
//! can call other methods and paths by name (`job.attribute(..)`, `job.sample_path(..)`).
//! Components go through the same ABI wrappers as in a plugin library (panic guard, option
//! parsing, result checks).
//!
//! ```text
//! use srlens_plugin_kit::testing::*;
//! let model = FnModel::linear(2, [1, 4, 4], weights);       // y = W x, x2 upscaling
//! let host = TestRegistry::new(model_box(model), objective_box(Intensity::new(2, 2, 4)))
//!     .with_path("line", LinePath)
//!     .with_method("ig", Ig)
//!     .with_method("gradient", GradientMethod);
//! let a = host.run("ig", r#"{"steps": 20}"#, &image)?;       // image: 1 x C x H x W
//! assert_eq!(host.progress().done(), host.progress().total());
//! ```
//!
//! [`check_gradient`] checks a model's input gradient against central finite differences.
//!
//! Everything computes in `f64` and rounds to `f32` at the boundary, so tests can compare
//! against a float64 evaluation of the same formula.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Mutex,
};

use srlens_core::{
    abi_stable::{
        sabi_trait::TD_Opaque,
        sabi_types::RRef,
        std_types::{RNone, RResult, RSlice, RStr, RVec},
    },
    Attribution, ErrorKind, Job, JobRef, Job_TO, MethodBox, ModelBox, ModelInfo, Objective,
    ObjectiveValue, Objective_TO, PathBox, PathSamples, PluginError, PluginResult, Progress,
    Progress_TO, Registry, RegistryRef, Registry_TO, Tensor,
};

pub use crate::component::model_box;
use crate::component::{method_box, path_box, AttributionMethod, Cotangents, PathFn, SrModel};

pub use srlens_core::ObjectiveBox;

/// Boxes an [`Objective`] implementation.
pub fn objective_box(objective: impl Objective + 'static) -> ObjectiveBox {
    Objective_TO::from_value(objective, TD_Opaque)
}

/// `C x H x W` of one image.
pub type Dims = [usize; 3];

type ForwardFn = dyn Fn(&[f32], Dims) -> Vec<f64> + Send + Sync;
type VjpFn = dyn Fn(&[f32], Dims, &[f32]) -> Vec<f64> + Send + Sync;

/// How often an [`FnModel`] was called (shared, so it can be read after boxing the model).
#[derive(Debug, Default)]
pub struct ModelCounters {
    forward_calls: AtomicU64,
    gradient_calls: AtomicU64,
    gradient_items: AtomicU64,
}

impl ModelCounters {
    /// Calls of [`SrModel::forward`].
    pub fn forward_calls(&self) -> u64 {
        self.forward_calls.load(Ordering::SeqCst)
    }
    /// Calls of [`SrModel::vjp`] (one forward pass each).
    pub fn gradient_calls(&self) -> u64 {
        self.gradient_calls.load(Ordering::SeqCst)
    }
    /// Images (batch items) sent to [`SrModel::vjp`], all calls together.
    pub fn gradient_items(&self) -> u64 {
        self.gradient_items.load(Ordering::SeqCst)
    }
}

/// A model given by closures on one image: `forward(x, [C, H, W]) -> y` (`C x sH x sW`) and
/// its vector-Jacobian product `vjp(x, [C, H, W], dD/dy) -> dD/dx`.
pub struct FnModel {
    scale: usize,
    channels: usize,
    forward: Box<ForwardFn>,
    vjp: Box<VjpFn>,
    counters: Arc<ModelCounters>,
}

impl FnModel {
    /// A model from closures; `scale` and `channels` are what [`SrModel::info`] reports.
    pub fn new(
        scale: usize,
        channels: usize,
        forward: impl Fn(&[f32], Dims) -> Vec<f64> + Send + Sync + 'static,
        vjp: impl Fn(&[f32], Dims, &[f32]) -> Vec<f64> + Send + Sync + 'static,
    ) -> Self {
        FnModel {
            scale,
            channels,
            forward: Box::new(forward),
            vjp: Box::new(vjp),
            counters: Arc::default(),
        }
    }

    /// The linear map `y = W x` for images of `dims` (`C x H x W`), where `weights` is
    /// `(C*sH*sW) x (C*H*W)`, row-major.
    pub fn linear(scale: usize, dims: Dims, weights: Vec<f64>) -> Self {
        let n_in: usize = dims.iter().product();
        let n_out = n_in * scale * scale;
        assert_eq!(
            weights.len(),
            n_in * n_out,
            "weights must be (C*sH*sW) x (C*H*W)"
        );
        let w = Arc::new(weights);
        let w2 = Arc::clone(&w);
        FnModel::new(
            scale,
            dims[0],
            move |x, _| {
                (0..n_out)
                    .map(|o| {
                        let row = &w[o * n_in..(o + 1) * n_in];
                        row.iter().zip(x).map(|(a, &b)| a * b as f64).sum()
                    })
                    .collect()
            },
            move |_, _, g| {
                let mut out = vec![0f64; n_in];
                for (o, &go) in g.iter().enumerate() {
                    let row = &w2[o * n_in..(o + 1) * n_in];
                    for (acc, a) in out.iter_mut().zip(row) {
                        *acc += a * go as f64;
                    }
                }
                out
            },
        )
    }

    /// `y = upsample_nearest(f(x), scale)`, with `f` applied to each value and `df` its
    /// derivative.
    pub fn pointwise(
        scale: usize,
        channels: usize,
        f: impl Fn(f64) -> f64 + Send + Sync + 'static,
        df: impl Fn(f64) -> f64 + Send + Sync + 'static,
    ) -> Self {
        FnModel::new(
            scale,
            channels,
            move |x, dims| {
                let fx: Vec<f64> = x.iter().map(|&v| f(v as f64)).collect();
                upsample_nearest(&fx, dims, scale)
            },
            move |x, dims, g| {
                let g: Vec<f64> = g.iter().map(|&v| v as f64).collect();
                let gs = upsample_nearest_adjoint(&g, dims, scale);
                x.iter().zip(gs).map(|(&v, g)| df(v as f64) * g).collect()
            },
        )
    }

    /// The call counters, shared with the model (clone before boxing it).
    pub fn counters(&self) -> Arc<ModelCounters> {
        Arc::clone(&self.counters)
    }

    fn split(&self, lr: &Tensor) -> Result<(usize, Dims), PluginError> {
        let d = lr.dims();
        if d.len() != 4 || d[1] != self.channels {
            return Err(PluginError::new(
                ErrorKind::InvalidInput,
                format!(
                    "test model: expected N x {} x H x W, got {:?}",
                    self.channels, d
                ),
            ));
        }
        Ok((d[0], [d[1], d[2], d[3]]))
    }

    fn forward_batch(&self, lr: &Tensor) -> Result<Tensor, PluginError> {
        let (n, dims) = self.split(lr)?;
        let per = dims.iter().product::<usize>();
        let mut data = Vec::with_capacity(n * per * self.scale * self.scale);
        for i in 0..n {
            let y = (self.forward)(&lr.data[i * per..(i + 1) * per], dims);
            data.extend(y.into_iter().map(|v| v as f32));
        }
        let shape = vec![n, dims[0], dims[1] * self.scale, dims[2] * self.scale];
        Tensor::new(shape, data).ok_or_else(|| {
            PluginError::new(
                ErrorKind::Backend,
                "test model: forward returned the wrong size",
            )
        })
    }
}

impl SrModel for FnModel {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            name: "test-model".into(),
            scale: self.scale as u32,
            channels: self.channels as u32,
            input_range: [0.0, 1.0],
            parameters: 0,
            receptive_field: RNone,
            metadata: "{}".into(),
        }
    }

    fn forward(&self, lr: &Tensor) -> Result<Tensor, PluginError> {
        self.counters.forward_calls.fetch_add(1, Ordering::SeqCst);
        self.forward_batch(lr)
    }

    fn vjp(
        &self,
        lr: &Tensor,
        cotangents: &mut Cotangents<'_>,
    ) -> Result<Vec<Tensor>, PluginError> {
        let (n, dims) = self.split(lr)?;
        self.counters.gradient_calls.fetch_add(1, Ordering::SeqCst);
        self.counters
            .gradient_items
            .fetch_add(n as u64, Ordering::SeqCst);
        let sr = self.forward_batch(lr)?;
        let per_in = dims.iter().product::<usize>();
        let per_out = per_in * self.scale * self.scale;
        let mut out = Vec::new();
        for d_sr in cotangents(&sr)? {
            let mut grad = Vec::with_capacity(n * per_in);
            for i in 0..n {
                let x = &lr.data[i * per_in..(i + 1) * per_in];
                let g = &d_sr.data[i * per_out..(i + 1) * per_out];
                grad.extend((self.vjp)(x, dims, g).into_iter().map(|v| v as f32));
            }
            out.push(Tensor::new(lr.dims(), grad).ok_or_else(|| {
                PluginError::new(
                    ErrorKind::Backend,
                    "test model: vjp returned the wrong size",
                )
            })?);
        }
        Ok(out)
    }
}

/// Nearest-neighbour upsampling of a `C x H x W` image by `s`.
pub fn upsample_nearest(x: &[f64], dims: Dims, s: usize) -> Vec<f64> {
    let [c, h, w] = dims;
    let (sh, sw) = (h * s, w * s);
    let mut y = vec![0f64; c * sh * sw];
    for ch in 0..c {
        for i in 0..sh {
            for j in 0..sw {
                y[(ch * sh + i) * sw + j] = x[(ch * h + i / s) * w + j / s];
            }
        }
    }
    y
}

/// The adjoint of [`upsample_nearest`]: sums each `s x s` block of a `C x sH x sW` image.
pub fn upsample_nearest_adjoint(y: &[f64], dims: Dims, s: usize) -> Vec<f64> {
    let [c, h, w] = dims;
    let (sh, sw) = (h * s, w * s);
    let mut x = vec![0f64; c * h * w];
    for ch in 0..c {
        for i in 0..sh {
            for j in 0..sw {
                x[(ch * h + i / s) * w + j / s] += y[(ch * sh + i) * sw + j];
            }
        }
    }
    x
}

/// The `intensity` objective: the sum of the SR output over all channels in the square
/// window with top-left corner `(x0, y0)` and side `size`, in SR pixels.
#[derive(Debug, Clone, Copy)]
pub struct Intensity {
    /// Left column.
    pub x0: usize,
    /// Top row.
    pub y0: usize,
    /// Side.
    pub size: usize,
}

impl Intensity {
    /// The window at `(x0, y0)` of side `size`.
    pub fn new(x0: usize, y0: usize, size: usize) -> Self {
        Intensity { x0, y0, size }
    }

    /// Whether SR pixel `(i, j)` (row, column) is in the window.
    pub fn contains(&self, i: usize, j: usize) -> bool {
        (self.y0..self.y0 + self.size).contains(&i) && (self.x0..self.x0 + self.size).contains(&j)
    }
}

impl Objective for Intensity {
    fn value_and_grad(&self, sr: &Tensor) -> PluginResult<ObjectiveValue> {
        let d = sr.dims();
        if d.len() != 4 || self.y0 + self.size > d[2] || self.x0 + self.size > d[3] {
            return RResult::RErr(PluginError::new(
                ErrorKind::InvalidInput,
                format!(
                    "intensity: the window does not fit in the SR output {:?}",
                    d
                ),
            ));
        }
        let (n, c, h, w) = (d[0], d[1], d[2], d[3]);
        let mut values = RVec::new();
        let mut grad = vec![0f32; sr.len()];
        for b in 0..n {
            let mut v = 0f64;
            for ch in 0..c {
                for i in self.y0..self.y0 + self.size {
                    for j in self.x0..self.x0 + self.size {
                        let k = ((b * c + ch) * h + i) * w + j;
                        v += sr.data[k] as f64;
                        grad[k] = 1.0;
                    }
                }
            }
            values.push(v);
        }
        let grad = Tensor::new(d, grad).expect("same shape as sr");
        RResult::ROk(ObjectiveValue { values, grad })
    }
}

/// A [`Progress`] that counts.
#[derive(Debug, Default)]
pub struct CountingProgress {
    total: AtomicU64,
    done: AtomicU64,
}

impl CountingProgress {
    /// The expected total so far.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::SeqCst)
    }
    /// The units done so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::SeqCst)
    }
}

impl Progress for CountingProgress {
    fn add_total(&self, n: u64) {
        self.total.fetch_add(n, Ordering::SeqCst);
    }
    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::SeqCst);
    }
}

/// One call a method made through the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryCall {
    /// `"method"` or `"path"`.
    pub kind: &'static str,
    /// The name asked for.
    pub name: String,
    /// The options passed (a JSON object).
    pub options: String,
}

/// A host in a box: the model, the objectives, a [`CountingProgress`], the batch size, and
/// the methods and paths reachable by name. It implements [`Registry`] and runs methods.
pub struct TestRegistry {
    model: ModelBox,
    objectives: Vec<ObjectiveBox>,
    progress: CountingProgress,
    batch_size: u32,
    config_dir: String,
    methods: Vec<(String, MethodBox)>,
    paths: Vec<(String, PathBox)>,
    calls: Mutex<Vec<RegistryCall>>,
}

/// The job a [`TestRegistry`] hands a method.
struct TestJob<'a> {
    host: &'a TestRegistry,
    image: &'a Tensor,
    options: String,
}

impl Job for TestJob<'_> {
    fn image(&self) -> &Tensor {
        self.image
    }
    fn model(&self) -> &ModelBox {
        &self.host.model
    }
    fn objectives(&self) -> RSlice<'_, ObjectiveBox> {
        RSlice::from_slice(&self.host.objectives)
    }
    fn registry(&self) -> RegistryRef<'_> {
        Registry_TO::from_ptr(RRef::new(self.host), TD_Opaque)
    }
    fn progress(&self) -> srlens_core::ProgressRef<'_> {
        Progress_TO::from_ptr(RRef::new(&self.host.progress), TD_Opaque)
    }
    fn batch_size(&self) -> u32 {
        self.host.batch_size
    }
    fn options(&self) -> RStr<'_> {
        RStr::from_str(&self.options)
    }
    fn config_dir(&self) -> RStr<'_> {
        RStr::from_str(&self.host.config_dir)
    }
}

impl TestRegistry {
    /// A registry with one objective, no methods or paths yet, and a batch size of 8.
    pub fn new(model: ModelBox, objective: ObjectiveBox) -> Self {
        TestRegistry {
            model,
            objectives: vec![objective],
            progress: CountingProgress::default(),
            batch_size: 8,
            config_dir: String::new(),
            methods: Vec::new(),
            paths: Vec::new(),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Adds an objective: jobs carry every objective, in order.
    pub fn with_objective(mut self, objective: ObjectiveBox) -> Self {
        self.objectives.push(objective);
        self
    }

    /// Adds the method `method` reachable as `name`, wrapped as a plugin would wrap it.
    pub fn with_method(self, name: &str, method: impl AttributionMethod) -> Self {
        self.with_method_box(name, method_box(name, method))
    }

    /// Adds an ABI method object reachable as `name`.
    pub fn with_method_box(mut self, name: &str, method: MethodBox) -> Self {
        self.methods.push((name.to_string(), method));
        self
    }

    /// Adds the path `path` reachable as `name`, wrapped as a plugin would wrap it.
    pub fn with_path(mut self, name: &str, path: impl PathFn) -> Self {
        self.paths.push((name.to_string(), path_box(name, path)));
        self
    }

    /// Sets the batch size jobs carry.
    pub fn with_batch_size(mut self, batch_size: u32) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the config folder jobs carry (relative file names in options are relative to it).
    pub fn with_config_dir(mut self, dir: &str) -> Self {
        self.config_dir = dir.to_string();
        self
    }

    /// The progress sink every job gets.
    pub fn progress(&self) -> &CountingProgress {
        &self.progress
    }

    /// The calls made through [`Registry`] so far, in order.
    pub fn calls(&self) -> Vec<RegistryCall> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn record(&self, kind: &'static str, name: &str, options: &str) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(RegistryCall {
                kind,
                name: name.to_string(),
                options: options.to_string(),
            });
        }
    }

    fn find<'s, T>(list: &'s [(String, T)], kind: &str, name: &str) -> Result<&'s T, PluginError> {
        list.iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m)
            .ok_or_else(|| {
                let v: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
                let available = if v.is_empty() {
                    "none".to_string()
                } else {
                    v.join(", ")
                };
                PluginError::new(
                    ErrorKind::InvalidConfig,
                    format!("unknown {kind} `{name}`; available: {available}"),
                )
            })
    }

    /// Runs the registered method `name` on `image` (`1 x C x H x W`) with `options` (JSON):
    /// the attribution of the first objective.
    pub fn run(
        &self,
        name: &str,
        options: &str,
        image: &Tensor,
    ) -> Result<Attribution, PluginError> {
        Ok(self.run_all(name, options, image)?.remove(0))
    }

    /// Runs the registered method `name`: one attribution per objective.
    pub fn run_all(
        &self,
        name: &str,
        options: &str,
        image: &Tensor,
    ) -> Result<Vec<Attribution>, PluginError> {
        let method = Self::find(&self.methods, "method", name)?;
        self.with_job(image, options, |job| method.attribute(job).into_result())
            .map(|v| v.into_iter().collect())
    }

    /// Checks the registered method `name`'s options as the host does before a run.
    pub fn check(&self, name: &str, options: &str, image: &Tensor) -> Result<(), PluginError> {
        let method = Self::find(&self.methods, "method", name)?;
        self.with_job(image, options, |job| method.check(job).into_result())
    }

    /// Calls `f` with the job the host would hand a method for `image` and `options`.
    pub fn with_job<R>(&self, image: &Tensor, options: &str, f: impl FnOnce(JobRef<'_>) -> R) -> R {
        let job = TestJob {
            host: self,
            image,
            options: options.to_string(),
        };
        f(Job_TO::from_ptr(RRef::new(&job), TD_Opaque))
    }

    fn sample(
        &self,
        name: &str,
        options: &str,
        image: &Tensor,
        steps: u32,
        start: u32,
        end: u32,
    ) -> Result<PathSamples, PluginError> {
        Self::find(&self.paths, "path", name)?
            .sample(
                image,
                RStr::from_str(options),
                RStr::from_str(&self.config_dir),
                steps,
                start,
                end,
            )
            .into_result()
    }
}

impl Registry for TestRegistry {
    fn attribute(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor,
    ) -> PluginResult<RVec<Attribution>> {
        self.record("method", name.as_str(), options.as_str());
        self.run_all(name.as_str(), options.as_str(), image)
            .map(RVec::from)
            .into()
    }

    fn sample_path(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples> {
        self.record("path", name.as_str(), options.as_str());
        self.sample(name.as_str(), options.as_str(), image, steps, start, end)
            .into()
    }

    fn check_method(&self, name: RStr<'_>, options: RStr<'_>, image: &Tensor) -> PluginResult<()> {
        self.check(name.as_str(), options.as_str(), image).into()
    }

    fn check_path(&self, name: RStr<'_>, options: RStr<'_>, image: &Tensor) -> PluginResult<()> {
        match Self::find(&self.paths, "path", name.as_str()) {
            Ok(p) => p.check(image, options, RStr::from_str(&self.config_dir)),
            Err(e) => RResult::RErr(e),
        }
    }
}

/// A reference plain-gradient method (`dD/dx` at the input, no options), for tests of
/// methods that wrap another one.
#[derive(Debug, Clone, Copy, Default)]
pub struct GradientMethod;

impl AttributionMethod for GradientMethod {
    type Options = serde_json::Map<String, serde_json::Value>;

    fn attribute(
        &self,
        _options: &Self::Options,
        job: &crate::Job<'_>,
    ) -> Result<Vec<Attribution>, PluginError> {
        Ok(crate::integrate::input_gradients::<f32>(job, job.image())?
            .into_iter()
            .map(|(map, value)| Attribution {
                map,
                objective_input: value,
                objective_baseline: RNone,
                parameters: "{}".into(),
                warnings: RVec::new(),
            })
            .collect())
    }
}

/// The largest difference between `model`'s input gradient of `objective` at `lr` and
/// central finite differences of step `eps` (both in f64 from the model's f32 outputs),
/// relative to the gradient's largest magnitude; checks every `stride`-th input value.
/// A backend author's check that `vjp` is right: expect well below 1e-2 for `eps = 1e-2`
/// on a smooth model.
pub fn check_gradient(
    model: &ModelBox,
    objective: &ObjectiveBox,
    lr: &Tensor,
    eps: f32,
    stride: usize,
) -> Result<f64, PluginError> {
    let value = |x: &Tensor| -> Result<f64, PluginError> {
        let sr = model.forward(x).into_result()?;
        Ok(objective
            .value_and_grad(&sr)
            .into_result()?
            .values
            .iter()
            .sum())
    };
    let grads = model
        .gradient(lr, RSlice::from_slice(std::slice::from_ref(objective)))
        .into_result()?;
    let g = &grads
        .first()
        .ok_or_else(|| PluginError::new(ErrorKind::Backend, "the model returned no gradient"))?
        .grad;
    let scale = g
        .data
        .iter()
        .fold(0f64, |m, v| m.max(v.abs() as f64))
        .max(1e-12);
    let mut worst = 0f64;
    for k in (0..lr.len()).step_by(stride.max(1)) {
        let (mut p, mut m) = (lr.clone(), lr.clone());
        p.data[k] += eps;
        m.data[k] -= eps;
        let fd = (value(&p)? - value(&m)?) / (2.0 * eps as f64);
        worst = worst.max((fd - g.data[k] as f64).abs() / scale);
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(dims: Dims) -> Tensor {
        let n: usize = dims.iter().product();
        let data = (0..n).map(|i| ((i * 7 % 11) as f32) / 11.0).collect();
        Tensor::new(vec![1, dims[0], dims[1], dims[2]], data).unwrap()
    }

    #[test]
    fn linear_model_gradient_is_w_transpose_times_window() {
        let dims = [1, 2, 3];
        let n_in = 6;
        let n_out = 24;
        let w: Vec<f64> = (0..n_in * n_out)
            .map(|k| ((k * 13 % 17) as f64 - 8.0) / 8.0)
            .collect();
        let obj = Intensity::new(1, 1, 2);
        let host = TestRegistry::new(
            model_box(FnModel::linear(2, dims, w.clone())),
            objective_box(obj),
        )
        .with_method("gradient", GradientMethod);
        let x = image(dims);
        let a = host.run("gradient", "", &x).unwrap();
        let (sh, sw) = (4, 6);
        for k in 0..n_in {
            let mut g = 0f64;
            for i in 0..sh {
                for j in 0..sw {
                    if obj.contains(i, j) {
                        g += w[(i * sw + j) * n_in + k];
                    }
                }
            }
            assert!((a.map.data[k] as f64 - g).abs() < 1e-5, "{k}");
        }
        let y: f64 = (0..sh * sw)
            .filter(|o| obj.contains(o / sw, o % sw))
            .map(|o| {
                (0..n_in)
                    .map(|k| w[o * n_in + k] * x.data[k] as f64)
                    .sum::<f64>()
            })
            .sum();
        assert!((a.objective_input - y).abs() < 1e-5);
    }

    #[test]
    fn pointwise_model_matches_finite_differences() {
        let dims = [2, 3, 3];
        let model = FnModel::pointwise(
            3,
            2,
            |v| (2.0 * v).tanh(),
            |v| 2.0 / (2.0 * v).cosh().powi(2),
        );
        let counters = model.counters();
        let model = model_box(model);
        let objective = objective_box(Intensity::new(2, 1, 5));
        let x = image(dims);
        let worst = check_gradient(&model, &objective, &x, 1e-3, 1).unwrap();
        assert!(worst < 2e-3, "relative error {worst}");
        assert_eq!(counters.gradient_calls(), 1);
        assert_eq!(counters.forward_calls(), 2 * x.len() as u64);
    }

    #[test]
    fn unknown_names_list_the_available_ones() {
        let host = TestRegistry::new(
            model_box(FnModel::pointwise(1, 1, |v| v, |_| 1.0)),
            objective_box(Intensity::new(0, 0, 1)),
        )
        .with_method("gradient", GradientMethod);
        let x = image([1, 2, 2]);
        let e = host.run("foo", "", &x).unwrap_err();
        assert_eq!(
            e.message.as_str(),
            "unknown method `foo`; available: gradient"
        );
        let e = host.sample("line", "", &x, 4, 0, 4).unwrap_err();
        assert_eq!(e.message.as_str(), "unknown path `line`; available: none");
    }

    #[test]
    fn a_window_outside_the_output_is_an_error() {
        let host = TestRegistry::new(
            model_box(FnModel::pointwise(2, 1, |v| v, |_| 1.0)),
            objective_box(Intensity::new(3, 0, 2)),
        )
        .with_method("gradient", GradientMethod);
        let e = host.run("gradient", "", &image([1, 2, 2])).unwrap_err();
        assert_eq!(e.kind(), Some(ErrorKind::InvalidInput));
    }
}
