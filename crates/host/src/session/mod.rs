//! One model, one image, one or more objectives: runs methods and resolves the names they
//! ask for, checking what every plugin returns and naming the plugin when it is wrong.

mod batch_tuner;
mod job;
mod progress;
mod registry;

pub use batch_tuner::BatchTuner;
pub use progress::SharedProgress;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use abi_stable::{
    sabi_trait::TD_Opaque,
    sabi_types::RRef,
    std_types::{RStr, RVec},
};
use srlens_core::{
    Attribution, Attribution64, ComponentKind, JobRef, Job_TO, MethodBox, ModelBox, ObjectiveBox,
    PathBox, PathSamples, PathSamples64, PluginError, PluginResult, Tensor, Tensor64,
};
use srlens_plugin_kit::{component::checks, Real};

use crate::crop::CropState;
use crate::error::{Error, Result};
use crate::plugins::{call_error, LoadedPlugin, PluginHost};
use job::HostJob;

/// How deep methods may call methods (SmoothGrad over LAM is 2).
const MAX_DEPTH: usize = 8;

/// A component created once per session, with the file of the plugin that provides it.
type Cached<T> = Arc<(T, PathBuf)>;

/// The shared state of the methods of one run.
pub struct Session<'h> {
    host: &'h PluginHost,
    model: &'h ModelBox,
    objectives: Arc<CropState>,
    /// The size of the next model call, shared by every session of the run.
    tuner: Arc<BatchTuner>,
    config_dir: String,
    /// The progress sink of the method running now.
    pub progress: SharedProgress,
    methods: Mutex<HashMap<String, Cached<MethodBox>>>,
    paths: Mutex<HashMap<String, Cached<PathBox>>>,
    depth: Mutex<usize>,
    /// The plugin files of the methods running now, innermost last: a name that several
    /// plugins provide, asked for by a method, is taken from the method's own plugin.
    callers: Mutex<Vec<PathBuf>>,
    /// The image of the outermost method running now, and the first path it (or a method
    /// it called) sampled on that very image: what deletion curves replace pixels by.
    baseline: Mutex<BaselineSlot>,
}

/// See [`Session::path_baseline`].
#[derive(Default)]
struct BaselineSlot {
    image: Option<Tensor>,
    found: Option<(String, Tensor)>,
}

impl<'h> Session<'h> {
    /// A session over `model` explaining the objectives of `objectives` (one map per
    /// objective), with model calls of the size `tuner` says and option file names relative
    /// to `config_dir`.
    pub fn new(
        host: &'h PluginHost,
        model: &'h ModelBox,
        objectives: Arc<CropState>,
        tuner: Arc<BatchTuner>,
        config_dir: String,
    ) -> Self {
        Session {
            host,
            model,
            objectives,
            tuner,
            config_dir,
            progress: SharedProgress::default(),
            methods: Mutex::new(HashMap::new()),
            paths: Mutex::new(HashMap::new()),
            depth: Mutex::new(0),
            callers: Mutex::new(Vec::new()),
            baseline: Mutex::new(BaselineSlot::default()),
        }
    }

    /// Creates (once) the method `name` from the plugin that provides it.
    pub fn method(&self, name: &str, plugin: Option<&str>) -> Result<Cached<MethodBox>> {
        let preferred = self.preferred(ComponentKind::Method, name);
        let plugin = plugin.or(preferred.as_deref());
        let key = format!("{name}\u{0}{}", plugin.unwrap_or(""));
        if let Some(m) = lock(&self.methods).get(&key) {
            return Ok(m.clone());
        }
        let (m, p) = self.host.method(name, plugin)?;
        let m = Arc::new((m, p.path.clone()));
        lock(&self.methods).insert(key, m.clone());
        Ok(m)
    }

    fn path(&self, name: &str) -> Result<Cached<PathBox>> {
        let plugin = self.preferred(ComponentKind::Path, name);
        let key = format!("{name}\u{0}{}", plugin.as_deref().unwrap_or(""));
        if let Some(p) = lock(&self.paths).get(&key) {
            return Ok(p.clone());
        }
        let (f, p) = self.host.path(name, plugin.as_deref())?;
        let f = Arc::new((f, p.path.clone()));
        lock(&self.paths).insert(key, f.clone());
        Ok(f)
    }

    /// The running method's plugin file, when several plugins provide the `kind` `name` and
    /// that plugin is one of them.
    fn preferred(&self, kind: ComponentKind, name: &str) -> Option<String> {
        let caller = lock(&self.callers).last().cloned()?;
        let providers = self.host.providers(kind, name);
        (providers.len() > 1 && providers.iter().any(|p| p.path == caller))
            .then(|| caller.to_string_lossy().into_owned())
    }

    /// The loaded plugin whose file is `path`.
    pub fn plugin(&self, path: &Path) -> Option<&LoadedPlugin> {
        self.host.loaded.iter().find(|p| p.path == path)
    }

    /// An error from the plugin in the file `plugin`, doing `doing` on `what`.
    fn plugin_error(&self, plugin: &Path, doing: &str, what: &str, e: PluginError) -> Error {
        match self.plugin(plugin) {
            Some(p) => call_error(p, doing, what, e),
            None => Error::PluginCall(e.message.to_string()),
        }
    }

    /// Checks the method `name`'s `options` (JSON) for `image` without any model call.
    pub fn check(
        &self,
        name: &str,
        plugin: Option<&str>,
        options: &str,
        image: &Tensor,
    ) -> Result<()> {
        let method = self.method(name, plugin)?;
        self.nested(name, &method.1, || {
            let job = HostJob::new(self, image, options);
            method
                .0
                .check(Job_TO::from_ptr(RRef::new(&job), TD_Opaque))
                .into_result()
                .map_err(|e| {
                    self.plugin_error(&method.1, "checking the options of method", name, e)
                })
        })
    }

    /// How far the method `name`'s map with `options` reads the image beyond the model's
    /// own reach ([`srlens_core::Method::image_reach`]); `None`: anywhere.
    pub fn image_reach(
        &self,
        name: &str,
        plugin: Option<&str>,
        options: &str,
        image: &Tensor,
    ) -> Result<Option<u32>> {
        let method = self.method(name, plugin)?;
        let job = HostJob::new(self, image, options);
        method
            .0
            .image_reach(Job_TO::from_ptr(RRef::new(&job), TD_Opaque))
            .into_result()
            .map(Into::into)
            .map_err(|e| self.plugin_error(&method.1, "asking the reach of method", name, e))
    }

    /// Runs the method `name` with `options` (JSON) on `image`: one attribution per
    /// objective, checked (one finite `C x H x W` map each).
    pub fn attribute(
        &self,
        name: &str,
        plugin: Option<&str>,
        options: &str,
        image: &Tensor,
    ) -> Result<Vec<Attribution>> {
        let job = HostJob::new(self, image, options);
        self.run_method::<f32>(name, plugin, job, |m, job| m.attribute(job))
    }

    /// [`attribute`](Self::attribute) in float64 (a model loaded with `precision = "f64"`):
    /// the method starts from `image64`, whose `f32` rounding is `image`.
    pub fn attribute_f64(
        &self,
        name: &str,
        plugin: Option<&str>,
        options: &str,
        image: &Tensor,
        image64: &Tensor64,
    ) -> Result<Vec<Attribution64>> {
        let job = HostJob::new(self, image, options).with_f64(image64);
        self.run_method::<f64>(name, plugin, job, |m, job| m.attribute_f64(job))
    }

    /// Runs `call` (the method `name`'s attribute call in the precision `R`) on `job`.
    fn run_method<R: Real>(
        &self,
        name: &str,
        plugin: Option<&str>,
        job: HostJob<'_>,
        call: impl FnOnce(&MethodBox, JobRef<'_>) -> PluginResult<RVec<R::Attribution>>,
    ) -> Result<Vec<R::Attribution>> {
        let method = self.method(name, plugin)?;
        let image = job.image_f32().clone();
        let outermost = *lock(&self.depth) == 0;
        if outermost {
            *lock(&self.baseline) = BaselineSlot {
                image: Some(image.clone()),
                found: None,
            };
            self.tuner.interrupt();
        }
        let result = self.nested(name, &method.1, || {
            let out = call(&method.0, Job_TO::from_ptr(RRef::new(&job), TD_Opaque))
                .into_result()
                .and_then(|out| {
                    checks::attributions::<R>(
                        &format!("method `{name}`"),
                        &image,
                        self.objectives().len(),
                        &out,
                    )?;
                    Ok(out)
                })
                .map_err(|e| self.plugin_error(&method.1, "running method", name, e))?;
            Ok(out.into_iter().collect())
        });
        if outermost {
            self.tuner.interrupt();
        }
        result
    }

    /// Samples the path `name`, checking the samples (shapes, weights, finite values).
    pub fn sample_path(
        &self,
        name: &str,
        options: &str,
        image: &Tensor,
        steps: u32,
        start: u32,
        end: u32,
    ) -> Result<PathSamples> {
        let samples = self.sample_path_in::<f32>(name, image, start, end, |p, dir| {
            p.sample(image, RStr::from_str(options), dir, steps, start, end)
        })?;
        self.note_baseline(name, options, image, &samples.baseline);
        Ok(samples)
    }

    /// [`sample_path`](Self::sample_path) in float64.
    pub fn sample_path_f64(
        &self,
        name: &str,
        options: &str,
        image: &Tensor64,
        steps: u32,
        start: u32,
        end: u32,
    ) -> Result<PathSamples64> {
        let samples = self.sample_path_in::<f64>(name, image, start, end, |p, dir| {
            p.sample_f64(image, RStr::from_str(options), dir, steps, start, end)
        })?;
        let rounded = image.to_f32();
        self.note_baseline(name, options, &rounded, &samples.baseline.to_f32());
        Ok(samples)
    }

    /// Runs `call` (the path `name`'s sample call in the precision `R`) and checks it.
    fn sample_path_in<R: Real>(
        &self,
        name: &str,
        image: &R::Tensor,
        start: u32,
        end: u32,
        call: impl FnOnce(&PathBox, RStr<'_>) -> PluginResult<R::Samples>,
    ) -> Result<R::Samples> {
        let path = self.path(name)?;
        call(&path.0, RStr::from_str(&self.config_dir))
            .into_result()
            .and_then(|s| {
                let n = end.saturating_sub(start) as usize;
                checks::samples::<R>(&format!("path `{name}`"), image, n, &s)?;
                Ok(s)
            })
            .map_err(|e| self.plugin_error(&path.1, "sampling path", name, e))
    }

    /// Keeps the first baseline sampled on the outermost method's own image.
    fn note_baseline(&self, name: &str, options: &str, image: &Tensor, baseline: &Tensor) {
        let mut slot = lock(&self.baseline);
        let same = slot
            .image
            .as_ref()
            .is_some_and(|i| i.shape == image.shape && i.data == image.data);
        if same && slot.found.is_none() {
            let what = match options.trim() {
                "" | "{}" => format!("path `{name}`"),
                o => format!("path `{name}` {o}"),
            };
            slot.found = Some((what, baseline.clone()));
        }
    }

    /// The baseline (`1 x C x H x W`) of the first path the last outermost method sampled on
    /// its own image, with the path's name and options; none for a method without a path
    /// on the image (SmoothGrad samples its paths on noisy copies).
    pub fn path_baseline(&self) -> Option<(String, Tensor)> {
        lock(&self.baseline).found.clone()
    }

    /// Checks the path `name`'s `options` for `image` without sampling.
    pub fn check_path(&self, name: &str, options: &str, image: &Tensor) -> Result<()> {
        let path = self.path(name)?;
        path.0
            .check(
                image,
                RStr::from_str(options),
                RStr::from_str(&self.config_dir),
            )
            .into_result()
            .map_err(|e| self.plugin_error(&path.1, "checking the options of path", name, e))
    }

    /// Runs `f` (the method `name` of the plugin file `plugin`) one level deeper, refusing
    /// methods nested past [`MAX_DEPTH`].
    fn nested<T>(&self, name: &str, plugin: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
        {
            let mut depth = lock(&self.depth);
            if *depth >= MAX_DEPTH {
                return Err(Error::Config(format!(
                    "method `{name}` is nested more than {MAX_DEPTH} deep: does an `inner` method call itself?"
                )));
            }
            *depth += 1;
        }
        lock(&self.callers).push(plugin.to_path_buf());
        let result = f();
        lock(&self.callers).pop();
        *lock(&self.depth) -= 1;
        result
    }

    /// The objectives every job carries, one per window.
    pub fn objectives(&self) -> &[ObjectiveBox] {
        &self.objectives.objectives
    }

    /// The size the next model call should have.
    pub fn batch_size(&self) -> u32 {
        self.tuner.batch_size()
    }
}

/// Locks `m`, recovering the data of a poisoned lock (a panic elsewhere does not make the
/// session's caches wrong).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
