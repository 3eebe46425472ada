//! [`OrtModel`]: an ONNX SR network in ONNX Runtime behind the srlens `Model` ABI.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::value::DynValue;
use srlens_core::abi_stable::std_types::RString;
use srlens_core::{ErrorKind, ModelInfo, PluginError};
use srlens_onnx::{metadata, Dim, Graph};
use srlens_plugin_kit::{Cotangents, SrModel};

use crate::cache::{self, Source};
use crate::error::{Error, Result};
use crate::gradient::Gradient;
use crate::options::{parse_device, Options};
use crate::runtime::{self, LibraryChoice, Runtime, SessionSettings};
use crate::tensor::{f32_value, f32_view, run_session};

/// A loaded network: its forward session, what it says about itself, and (built on the first
/// gradient call) its gradient sessions.
///
/// Tensors at the ABI are in `[0, 1]`; with the model's input range `[lo, hi]` and output
/// range `[lo', hi']` a forward pass is `x -> lo + x (hi - lo) -> graph -> (y - lo') /
/// (hi' - lo')`, the scalings done in Rust around the session (and in the gradient: the
/// cotangent divided by `hi' - lo'`, the input gradient multiplied by `hi - lo`).
pub struct OrtModel {
    pub(crate) rt: &'static Runtime,
    pub(crate) settings: SessionSettings,
    pub(crate) info: ModelInfo,
    pub(crate) range: [f32; 2],
    pub(crate) output_range: [f32; 2],
    pub(crate) input: String,
    pub(crate) output: String,
    forward: Mutex<Session>,
    /// The graph, kept for the gradient graphs.
    pub(crate) graph: Graph,
    /// The SHA-256 of the model file (or of the graph's bytes), the cache key.
    pub(crate) model_sha256: String,
    /// The gradient-graph cache folder, if any.
    pub(crate) cache_root: Option<PathBuf>,
    pub(crate) gradient: OnceLock<std::result::Result<Gradient, (ErrorKind, String)>>,
}

impl std::fmt::Debug for OrtModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtModel")
            .field("info", &self.info)
            .field("settings", &self.settings)
            .finish()
    }
}

/// A `srlens-onnx` error while reading the model as a load error.
fn load_error(path: &str, e: srlens_onnx::Error) -> Error {
    match e {
        srlens_onnx::Error::Graph(m) if path.is_empty() => Error::Load(m),
        srlens_onnx::Error::Graph(m) => Error::Load(format!("{path}: {m}")),
        other => Error::Load(other.to_string()),
    }
}

impl OrtModel {
    /// Loads the ONNX file at `path`: `options` is the backend's JSON options, `threads > 0`
    /// sets ONNX Runtime's intra-op threads, `device` is `cpu`, `cuda` or `cuda:N`, and a
    /// relative `library` option is taken from `config_dir`.
    pub fn load(
        path: &Path,
        options: &str,
        threads: u32,
        device: &str,
        config_dir: &Path,
    ) -> Result<Self> {
        let options = Options::parse(options)?;
        let settings = SessionSettings {
            optimization: options.optimization,
            threads,
            device: parse_device(device)?,
        };
        let shown = path.display().to_string();
        if !path.is_file() {
            return Err(Error::Load(format!(
                "model file `{shown}` does not exist or is not a file"
            )));
        }
        let choice = LibraryChoice::resolve(options.library.as_deref(), config_dir);
        let rt = runtime::load(&choice)?;
        rt.check_device(settings.device, device.trim())?;
        let bytes = std::fs::read(path).map_err(|e| Error::Load(format!("{shown}: {e}")))?;
        let mut graph = srlens_onnx::read_bytes(&bytes, path).map_err(|e| load_error(&shown, e))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut sha = cache::sha256(&bytes);
        let mut rng = srlens_plugin_kit::random::SeededRng::new(options.randomize_seed);
        let mut normal = || rng.normal_f64();
        srlens_onnx::randomize::apply_option(
            &mut graph,
            options.randomize_layers,
            &mut normal,
            &shown,
        )
        .map_err(Error::Config)?;
        if options.randomize_layers > 0 {
            // Other weights, other gradient graphs in the cache.
            let key = format!(
                "{sha} randomize {} {}",
                options.randomize_layers, options.randomize_seed
            );
            sha = cache::sha256(key.as_bytes());
        }
        Self::from_graph(rt, graph, &name, options.input_range, settings, sha)
    }

    /// Prepares `graph` in `rt`, with an optional input-range override; `model_sha256` keys
    /// its gradient graphs in the cache (the file's hash; [`cache::sha256`] of
    /// `srlens_onnx::to_bytes(&graph)` for a graph that has no file).
    pub fn from_graph(
        rt: &'static Runtime,
        graph: Graph,
        name: &str,
        range: Option<[f32; 2]>,
        settings: SessionSettings,
        model_sha256: String,
    ) -> Result<Self> {
        let range = metadata::input_range(&graph, range).map_err(|e| load_error("", e))?;
        if let Some(problem) = metadata::range_problem(range) {
            return Err(Error::Config(problem));
        }
        let output_range = metadata::output_range(&graph, range).map_err(|e| load_error("", e))?;
        if let Some(problem) = metadata::signature_problem(&graph) {
            return Err(Error::Load(problem));
        }
        let meta_scale = metadata::scale(&graph).map_err(|e| load_error("", e));
        let receptive = srlens_onnx::receptive_field(&graph);
        let mut meta = metadata::model_facts(&graph, &receptive);
        meta["onnxruntime"] = serde_json::json!({
            "library": rt.library.display().to_string(),
            "version": rt.version,
        });
        let bytes = srlens_onnx::to_bytes(&graph).map_err(|e| load_error("", e))?;
        let forward = rt.session(&bytes, &settings).map_err(|e| match e {
            Error::Runtime(m) => Error::Load(format!(
                "model `{name}`: ONNX Runtime cannot load the graph: {m}"
            )),
            other => other,
        })?;
        let input = graph.inputs[0].clone();
        let fixed = |i: usize| match input.shape.get(i) {
            Some(Dim::Fixed(d)) if *d > 0 => Some(*d as usize),
            _ => None,
        };
        let channels = fixed(1).unwrap_or(3);
        let mut model = OrtModel {
            rt,
            settings,
            info: ModelInfo {
                name: RString::from(name),
                scale: 0,
                channels: channels as u32,
                input_range: range,
                parameters: graph.parameter_count(),
                receptive_field: receptive.as_ref().ok().map(|rf| rf.radius).into(),
                metadata: RString::from(meta.to_string()),
            },
            range,
            output_range,
            input: input.name.clone(),
            output: graph.outputs[0].name.clone(),
            forward: Mutex::new(forward),
            graph,
            model_sha256,
            cache_root: cache::root(),
            gradient: OnceLock::new(),
        };
        model.info.scale = match meta_scale? {
            Some(s) => s,
            None => {
                let (h, w) = (fixed(2).unwrap_or(16), fixed(3).unwrap_or(16));
                let (shape, _) = model.run(&[1, channels, h, w], vec![0.0; channels * h * w])?;
                let (oh, ow) = (shape[2], shape[3]);
                srlens_onnx::metadata::scale_from_probe(h, w, oh, ow)
                    .map_err(|e| Error::Load(e.to_string()))?
            }
        };
        Ok(model)
    }

    /// What the model says about itself.
    pub fn model_info(&self) -> &ModelInfo {
        &self.info
    }

    /// The ONNX Runtime this model runs in.
    pub fn runtime(&self) -> &'static Runtime {
        self.rt
    }

    /// `x` in `[0, 1]` mapped to the model's input range, in place.
    pub(crate) fn scale_input(&self, x: &mut [f32]) {
        let [lo, hi] = self.range;
        if !(lo == 0.0 && hi == 1.0) {
            let span = hi - lo;
            x.iter_mut().for_each(|v| *v = lo + *v * span);
        }
    }

    /// The model's raw output mapped back to `[0, 1]`: shape and values.
    pub(crate) fn scaled_output(&self, y: &DynValue) -> Result<(Vec<usize>, Vec<f32>)> {
        let (shape, data) = f32_view(y)?;
        if shape.len() != 4 {
            return Err(Error::Load(format!(
                "the model output has shape {shape:?}, not NCHW"
            )));
        }
        let [lo, hi] = self.output_range;
        let data = if lo == 0.0 && hi == 1.0 {
            data.to_vec()
        } else {
            let span = hi - lo;
            data.iter().map(|v| (v - lo) / span).collect()
        };
        Ok((shape, data))
    }

    /// The scaled forward pass of `data` (shape `shape`, in `[0, 1]`).
    pub fn run(&self, shape: &[usize], mut data: Vec<f32>) -> Result<(Vec<usize>, Vec<f32>)> {
        self.scale_input(&mut data);
        let x = f32_value(shape, data)?;
        let y = run_session(
            &self.forward,
            &[(&self.input, &x)],
            std::slice::from_ref(&self.output),
        )?;
        self.scaled_output(&y[0])
    }

    /// Checks an LR batch's shape against the model.
    pub(crate) fn check_input(&self, lr: &srlens_core::Tensor) -> Result<Vec<usize>> {
        let dims = lr.dims();
        if dims.len() != 4
            || dims[1] != self.info.channels as usize
            || lr.data.len() != dims.iter().product::<usize>()
        {
            return Err(Error::Input(format!(
                "model `{}` takes N x {} x H x W tensors, got shape {dims:?} with {} values",
                self.info.name,
                self.info.channels,
                lr.data.len()
            )));
        }
        Ok(dims)
    }

    /// Super-resolves an LR batch (ABI tensors in `[0, 1]`).
    pub fn forward_abi(&self, lr: &srlens_core::Tensor) -> Result<srlens_core::Tensor> {
        let dims = self.check_input(lr)?;
        let (shape, data) = self.run(&dims, lr.data.to_vec())?;
        abi_tensor(shape, data)
    }

    /// Where the gradient graphs came from (`None` before the first gradient call or when
    /// they could not be made).
    pub fn gradient_source(&self) -> Option<Source> {
        match self.gradient.get() {
            Some(Ok(g)) => Some(g.source),
            _ => None,
        }
    }

    /// One forward pass of `lr` through the gradient's forward graph, then one backward pass
    /// per cotangent that `cotangents(sr)` returns.
    pub fn vjp_abi(
        &self,
        lr: &srlens_core::Tensor,
        cotangents: &mut Cotangents<'_>,
    ) -> std::result::Result<Vec<srlens_core::Tensor>, PluginError> {
        let gradient = self.gradient()?;
        gradient.vjp(self, lr, cotangents)
    }

    /// The gradient sessions, built (or read from the cache) on the first call.
    fn gradient(&self) -> std::result::Result<&Gradient, PluginError> {
        self.gradient
            .get_or_init(|| Gradient::build(self).map_err(|e| (e.kind(), e.to_string())))
            .as_ref()
            .map_err(|(kind, message)| PluginError::new(*kind, message.clone()))
    }
}

/// An ABI tensor from a shape and values.
pub(crate) fn abi_tensor(shape: Vec<usize>, data: Vec<f32>) -> Result<srlens_core::Tensor> {
    srlens_core::Tensor::new(shape, data)
        .ok_or_else(|| Error::Runtime("a tensor's size does not match its shape".to_string()))
}

impl SrModel for OrtModel {
    fn info(&self) -> ModelInfo {
        self.info.clone()
    }

    fn forward(
        &self,
        lr: &srlens_core::Tensor,
    ) -> std::result::Result<srlens_core::Tensor, PluginError> {
        self.forward_abi(lr).map_err(PluginError::from)
    }

    fn vjp(
        &self,
        lr: &srlens_core::Tensor,
        cotangents: &mut Cotangents<'_>,
    ) -> std::result::Result<Vec<srlens_core::Tensor>, PluginError> {
        self.vjp_abi(lr, cotangents)
    }
}
