//! [`Job`]: what a plain-Rust method sees of the host's job.

use std::path::PathBuf;

use srlens_core::{
    abi_stable::std_types::{RSlice, RStr},
    Attribution, Attribution64, InputGradient, InputGradient64, JobRef, ModelBox, ObjectiveBox,
    PathSamples, PathSamples64, PluginError, Tensor, Tensor64,
};

use super::checks;

/// One attribution request: an image, a model, one or more objectives (windows) that share
/// the model's passes, the registry of other methods and paths, progress and options.
pub struct Job<'a> {
    inner: JobRef<'a>,
    what: String,
}

impl<'a> Job<'a> {
    /// Wraps the host's job; `what` names the method in errors (e.g. "method `lam`").
    pub fn new(inner: JobRef<'a>, what: &str) -> Self {
        Job {
            inner,
            what: what.to_string(),
        }
    }

    /// The method's name for messages, e.g. "method `lam`".
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The LR input, `1 x C x H x W` in `[0, 1]`.
    pub fn image(&self) -> &Tensor {
        self.inner.image()
    }

    /// The model being explained.
    pub fn model(&self) -> &ModelBox {
        self.inner.model()
    }

    /// The objectives: a method returns one attribution per objective, in this order.
    pub fn objectives(&self) -> RSlice<'_, ObjectiveBox> {
        self.inner.objectives()
    }

    /// How many objectives (windows) the job carries.
    pub fn objective_count(&self) -> usize {
        self.objectives().len()
    }

    /// The largest batch of images to send to the model at once (at least 1).
    pub fn batch_size(&self) -> usize {
        (self.inner.batch_size() as usize).max(1)
    }

    /// The method's options, a JSON object.
    pub fn options(&self) -> &str {
        self.inner.options().as_str()
    }

    /// `name` as a path: absolute as is, else relative to the running config's folder (the
    /// working directory when the host has no config).
    pub fn resolve_file(&self, name: &str) -> PathBuf {
        super::path::resolve(self.inner.config_dir().as_str(), name)
    }

    /// Adds `n` to the expected total of work units (model evaluations).
    pub fn add_total(&self, n: u64) {
        self.inner.progress().add_total(n);
    }

    /// Marks `n` work units as done.
    pub fn advance(&self, n: u64) {
        self.inner.progress().advance(n);
    }

    /// One forward pass of `batch` and one backward pass per objective: the objectives'
    /// values and input gradients, checked for shape and finiteness.
    pub fn gradients(&self, batch: &Tensor) -> Result<Vec<InputGradient>, PluginError> {
        let grads = self
            .model()
            .gradient(batch, self.objectives())
            .into_result()?;
        checks::gradients::<f32>(&self.what, batch, self.objective_count(), &grads)?;
        Ok(grads.into_iter().collect())
    }

    /// The LR input in float64: the image's own values (see [`srlens_core::Job::image_f64`]).
    pub fn image_f64(&self) -> Tensor64 {
        self.inner.image_f64()
    }

    /// [`gradients`](Self::gradients) in float64 (a model loaded with `precision = "f64"`).
    pub fn gradients_f64(&self, batch: &Tensor64) -> Result<Vec<InputGradient64>, PluginError> {
        let grads = self
            .model()
            .gradient_f64(batch, self.objectives())
            .into_result()?;
        checks::gradients::<f64>(&self.what, batch, self.objective_count(), &grads)?;
        Ok(grads.into_iter().collect())
    }

    /// Every objective's value at `image` (`1 x C x H x W`) in float64, from one float64
    /// gradient call (the ABI has no float64 forward pass).
    pub fn objective_values_f64(&self, image: &Tensor64) -> Result<Vec<f64>, PluginError> {
        Ok(self
            .gradients_f64(image)?
            .into_iter()
            .map(|g| g.values.iter().sum())
            .collect())
    }

    /// Every objective's value at `image` (`1 x C x H x W`): one forward pass.
    pub fn objective_values(&self, image: &Tensor) -> Result<Vec<f64>, PluginError> {
        Ok(self
            .batch_objective_values(image)?
            .into_iter()
            .map(|v| v.iter().sum())
            .collect())
    }

    /// Every objective's value at each image of `batch` (`N x C x H x W`), as
    /// `[objective][item]`: one forward pass for all objectives.
    pub fn batch_objective_values(&self, batch: &Tensor) -> Result<Vec<Vec<f64>>, PluginError> {
        let sr = self.model().forward(batch).into_result()?;
        checks::finite(&self.what, "the SR output", &sr.data)?;
        self.objectives()
            .iter()
            .map(|o| Ok(o.value_and_grad(&sr).into_result()?.values.to_vec()))
            .collect()
    }

    /// Runs the method `name` with `options` (JSON) on `image`, with this job's model,
    /// objectives and progress: one attribution per objective.
    pub fn attribute(
        &self,
        name: &str,
        options: &str,
        image: &Tensor,
    ) -> Result<Vec<Attribution>, PluginError> {
        let out = self
            .inner
            .registry()
            .attribute(RStr::from_str(name), RStr::from_str(options), image)
            .into_result()?;
        checks::attributions::<f32>(
            &format!("method `{name}`"),
            image,
            self.objective_count(),
            &out,
        )?;
        Ok(out.into_iter().collect())
    }

    /// [`attribute`](Self::attribute) in float64.
    pub fn attribute_f64(
        &self,
        name: &str,
        options: &str,
        image: &Tensor64,
    ) -> Result<Vec<Attribution64>, PluginError> {
        let out = self
            .inner
            .registry()
            .attribute_f64(RStr::from_str(name), RStr::from_str(options), image)
            .into_result()?;
        checks::attributions::<f64>(
            &format!("method `{name}`"),
            &image.to_f32(),
            self.objective_count(),
            &out,
        )?;
        Ok(out.into_iter().collect())
    }

    /// Samples points `start..end` of the `steps`-point path `name` to `image`.
    pub fn sample_path(
        &self,
        name: &str,
        options: &str,
        image: &Tensor,
        steps: usize,
        start: usize,
        end: usize,
    ) -> Result<PathSamples, PluginError> {
        let s = self
            .inner
            .registry()
            .sample_path(
                RStr::from_str(name),
                RStr::from_str(options),
                image,
                steps as u32,
                start as u32,
                end as u32,
            )
            .into_result()?;
        checks::samples::<f32>(&format!("path `{name}`"), image, end - start, &s)?;
        Ok(s)
    }

    /// [`sample_path`](Self::sample_path) in float64.
    pub fn sample_path_f64(
        &self,
        name: &str,
        options: &str,
        image: &Tensor64,
        steps: usize,
        start: usize,
        end: usize,
    ) -> Result<PathSamples64, PluginError> {
        let s = self
            .inner
            .registry()
            .sample_path_f64(
                RStr::from_str(name),
                RStr::from_str(options),
                image,
                steps as u32,
                start as u32,
                end as u32,
            )
            .into_result()?;
        checks::samples::<f64>(&format!("path `{name}`"), image, end - start, &s)?;
        Ok(s)
    }

    /// Checks the options of the method `name` for this job's image (for a method that
    /// calls another one).
    pub fn check_method(&self, name: &str, options: &str) -> Result<(), PluginError> {
        self.inner
            .registry()
            .check_method(RStr::from_str(name), RStr::from_str(options), self.image())
            .into_result()
    }

    /// Checks the options of the path `name` for this job's image.
    pub fn check_path(&self, name: &str, options: &str) -> Result<(), PluginError> {
        self.inner
            .registry()
            .check_path(RStr::from_str(name), RStr::from_str(options), self.image())
            .into_result()
    }
}
