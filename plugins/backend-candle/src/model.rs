//! [`CandleModel`]: a loaded ONNX SR network behind the srlens `Model` ABI.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use candle_core::{DType, Tensor, Var};
use srlens_core::abi_stable::std_types::RString;
use srlens_core::{ModelInfo, PluginError};
use srlens_onnx::{metadata, Dim, Graph};
use srlens_plugin_kit::component::checks;
use srlens_plugin_kit::{Cotangents, Cotangents64, CotangentsOf, Precision, Real, SrModel};

use crate::convert::{from_abi, to_abi, AbiFloat, DEVICE};
use crate::error::{Error, Result};
use crate::interp::Interpreter;

/// The candle backend's options (`options` of a config's `[model]` table, as JSON).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The model's own input range, overriding the file's `srlens.input_range` metadata,
    /// e.g. `[0, 255]`.
    #[serde(default)]
    pub input_range: Option<[f32; 2]>,
    /// How input gradients are computed: `"graph"` runs the forward and backward graphs that
    /// `srlens_onnx::autodiff` generates from the model (what `srlens gradient-graph` writes
    /// and the `ort` backend runs), `"autograd"` differentiates the forward pass with
    /// candle's autograd. Both give the same gradient (within float32 rounding). Unset: the
    /// one measured faster for the kind of network (`examples/gradient_graph_bench.rs`, one
    /// gradient, 2 threads): `graph` for convolutional networks (ESRGAN medium and thick in
    /// 0.76-0.82x autograd's time, slim 1.00-1.04x), `autograd` for networks with matrix
    /// products, the transformers (the graphs took 1.01-1.02x, 1.06-1.08x and 1.26-1.28x on
    /// SwinIR, HAT and DAT); and `autograd` for a model with an operator that has no gradient
    /// rule, where `"graph"` given explicitly is a load error naming the operator.
    #[serde(default)]
    pub gradient: Option<GradientMode>,
    /// For sanity checks (`srlens sanity`): re-draw the weights of this many parameterised
    /// layers, from the output end (`srlens_onnx::randomize`; default 0, the trained network).
    #[serde(default)]
    pub randomize_layers: u32,
    /// The seed of the re-drawn weights.
    #[serde(default)]
    pub randomize_seed: u64,
    /// The floating-point type the network computes in: `"f32"` (default) or `"f64"`
    /// (weights, activations and gradients in float64; the host then runs the method in
    /// float64 and writes `attribution64.npy`), for maps free of float32 rounding.
    #[serde(default)]
    pub precision: Precision,
}

/// How [`CandleModel`] computes input gradients (the `gradient` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GradientMode {
    /// The generated forward and backward graphs, run by the interpreter.
    Graph,
    /// Candle's autograd through the forward pass.
    Autograd,
}

/// The gradient path measured faster for `graph`'s kind of network
/// (`examples/gradient_graph_bench.rs`): the generated graphs for convolutional networks,
/// candle's autograd for networks with matrix products (attention), where the graphs' extra
/// work (zeros scattered into for every `Slice` and `Gather`, sums back to broadcast shapes)
/// cost more than autograd's bookkeeping.
pub fn default_gradient(graph: &Graph) -> GradientMode {
    if graph.nodes.iter().any(|n| n.op_type == "MatMul") {
        GradientMode::Autograd
    } else {
        GradientMode::Graph
    }
}

/// The generated gradient graphs of a model, ready to run: one forward pass (the model's
/// output and the values the backward pass reads), then one backward pass per cotangent.
#[derive(Debug)]
struct GraphVjp {
    forward: Interpreter,
    backward: Interpreter,
    /// The name of the backward graph's cotangent input.
    cotangent: String,
}

impl GraphVjp {
    fn new(graph: &Graph, dtype: DType) -> Result<Self> {
        let g = srlens_onnx::autodiff::gradient_graphs(graph).map_err(|e| {
            Error::Unsupported(format!(
                "no gradient graph (option gradient = \"graph\"): {e}"
            ))
        })?;
        Ok(GraphVjp {
            forward: Interpreter::new(g.forward, dtype)?,
            backward: Interpreter::new(g.backward, dtype)?,
            cotangent: g.cotangent,
        })
    }
}

/// The gradient path a model took at load time.
enum Gradient {
    Autograd,
    /// The graphs, made on the first gradient unless the option asked for them explicitly
    /// (then at load time, so that a model without them fails there). `Err`: the default
    /// path, for a model the graphs cannot differentiate: autograd.
    Graph(OnceLock<std::result::Result<Box<GraphVjp>, String>>),
}

/// A loaded network: the interpreter, what the model says about itself, and an optional
/// thread pool.
///
/// Tensors at the ABI are in `[0, 1]`; with the model's range `[lo, hi]` the forward pass is
/// `x -> lo + x (hi - lo) -> graph -> (y - lo) / (hi - lo)`, all inside candle so that the
/// gradient includes both scalings. The output uses the file's `srlens.output_range` when it
/// has one (and the `input_range` option did not replace the file's range), else the input
/// range.
pub struct CandleModel {
    interp: Interpreter,
    info: ModelInfo,
    range: [f32; 2],
    output_range: [f32; 2],
    pool: Option<rayon::ThreadPool>,
    gradient: Gradient,
}

impl std::fmt::Debug for CandleModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandleModel")
            .field("info", &self.info)
            .finish()
    }
}

/// A metadata error (`srlens_onnx::metadata`) as a load error, with the same message.
fn metadata_error(e: srlens_onnx::Error) -> Error {
    match e {
        srlens_onnx::Error::Graph(m) => Error::Load(m),
        other => Error::Load(other.to_string()),
    }
}

impl CandleModel {
    /// Loads the ONNX file at `path`. `options` is the backend's JSON options; `threads`
    /// limits the threads used (0: candle's default, one per physical core); `device` must be
    /// `cpu` (or empty).
    pub fn load(path: &str, options: &str, threads: u32, device: &str) -> Result<Self> {
        let device = device.trim();
        if !(device.is_empty() || device.eq_ignore_ascii_case("cpu")) {
            return Err(Error::Unsupported(format!(
                "device `{device}` is not supported by the candle backend: only `cpu` is accepted"
            )));
        }
        let options: Options = srlens_plugin_kit::parse_options("backend `candle`", options)
            .map_err(|e| Error::Config(e.message.to_string()))?;
        let p = Path::new(path);
        if !p.is_file() {
            return Err(Error::Load(format!(
                "model file `{path}` does not exist or is not a file"
            )));
        }
        let mut graph = srlens_onnx::read_file(p).map_err(|e| match e {
            srlens_onnx::Error::Graph(m) => Error::Load(format!("{path}: {m}")),
            other => Error::Load(other.to_string()),
        })?;
        let mut rng = srlens_plugin_kit::random::SeededRng::new(options.randomize_seed);
        let mut normal = || rng.normal_f64();
        srlens_onnx::randomize::apply_option(
            &mut graph,
            options.randomize_layers,
            &mut normal,
            path,
        )
        .map_err(Error::Config)?;
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut model = Self::from_graph_in(
            graph,
            &name,
            options.input_range,
            threads,
            options.precision,
        )?;
        model.set_gradient(options.gradient)?;
        Ok(model)
    }

    /// Chooses how input gradients are computed: `None` is the default
    /// ([`default_gradient`]: the generated graphs for convolutional networks, made on the
    /// first gradient, autograd where they cannot be made; autograd for networks with
    /// `MatMul`), `Some(Graph)` requires the graphs (made now: an operator without a gradient
    /// rule is an [`Error::Unsupported`] naming it).
    pub fn set_gradient(&mut self, mode: Option<GradientMode>) -> Result<()> {
        self.gradient = match mode.unwrap_or_else(|| default_gradient(self.interp.graph())) {
            GradientMode::Autograd => Gradient::Autograd,
            GradientMode::Graph if mode.is_none() => Gradient::Graph(OnceLock::new()),
            GradientMode::Graph => {
                let g = self.install(|| GraphVjp::new(self.interp.graph(), self.interp.dtype()))?;
                Gradient::Graph(OnceLock::from(Ok(Box::new(g))))
            }
        };
        Ok(())
    }

    /// The gradient path [`vjp_abi`](Self::vjp_abi) takes (making the graphs if they are not
    /// made yet): `graph` or `autograd`.
    pub fn gradient_mode(&self) -> GradientMode {
        match self.graph_vjp() {
            Some(_) => GradientMode::Graph,
            None => GradientMode::Autograd,
        }
    }

    /// The generated graphs, when gradients go through them.
    fn graph_vjp(&self) -> Option<&GraphVjp> {
        match &self.gradient {
            Gradient::Autograd => None,
            Gradient::Graph(cell) => cell
                .get_or_init(|| {
                    self.install(|| {
                        GraphVjp::new(self.interp.graph(), self.interp.dtype())
                            .map(Box::new)
                            .map_err(|e| e.to_string())
                    })
                })
                .as_deref()
                .ok(),
        }
    }

    /// Prepares `graph` (checking every operator) in float32, with an optional input-range
    /// override.
    pub fn from_graph(
        graph: Graph,
        name: &str,
        range: Option<[f32; 2]>,
        threads: u32,
    ) -> Result<Self> {
        Self::from_graph_in(graph, name, range, threads, Precision::F32)
    }

    /// [`from_graph`](Self::from_graph) computing in `precision`.
    pub fn from_graph_in(
        graph: Graph,
        name: &str,
        range: Option<[f32; 2]>,
        threads: u32,
        precision: Precision,
    ) -> Result<Self> {
        let range = metadata::input_range(&graph, range).map_err(metadata_error)?;
        if let Some(problem) = metadata::range_problem(range) {
            return Err(Error::Config(problem));
        }
        // The output range: `srlens.output_range` metadata, else the input range.
        let output_range = metadata::output_range(&graph, range).map_err(metadata_error)?;
        let parameters = graph.parameter_count();
        let meta_scale = metadata::scale(&graph).map_err(metadata_error);
        // How far an output pixel sees, from the operators (the host crops to it).
        let receptive = srlens_onnx::receptive_field(&graph);
        let mut metadata = metadata::model_facts(&graph, &receptive);
        precision.describe(&mut metadata);
        let dtype = match precision {
            Precision::F32 => DType::F32,
            Precision::F64 => DType::F64,
        };
        let interp = Interpreter::new(graph, dtype)?;
        let inputs = interp.input_names();
        if let Some(problem) = metadata::signature_problem(interp.graph()) {
            return Err(Error::Load(problem));
        }
        let input = interp
            .graph()
            .inputs
            .iter()
            .find(|v| v.name == inputs[0])
            .cloned();
        let fixed = |i: usize| match input.as_ref().and_then(|v| v.shape.get(i)) {
            Some(Dim::Fixed(d)) if *d > 0 => Some(*d as usize),
            _ => None,
        };
        let channels = fixed(1).unwrap_or(3);
        let pool = if threads > 0 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads as usize)
                    .build()
                    .map_err(|e| Error::Config(format!("cannot start {threads} threads: {e}")))?,
            )
        } else {
            None
        };
        let mut model = CandleModel {
            interp,
            info: ModelInfo {
                name: RString::from(name),
                scale: 0,
                channels: channels as u32,
                input_range: range,
                parameters,
                receptive_field: receptive.as_ref().ok().map(|rf| rf.radius).into(),
                metadata: RString::from(metadata.to_string()),
            },
            range,
            output_range,
            pool,
            gradient: Gradient::Autograd,
        };
        model.set_gradient(None)?;
        model.info.scale = match meta_scale? {
            Some(s) => s,
            None => {
                let (h, w) = (fixed(2).unwrap_or(16), fixed(3).unwrap_or(16));
                let probe = Tensor::zeros((1, channels, h, w), dtype, &DEVICE)?;
                let y = model.run(&probe)?;
                let (_, _, oh, ow) = y.dims4()?;
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

    /// The interpreter.
    pub fn interpreter(&self) -> &Interpreter {
        &self.interp
    }

    fn install<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// `x` in `[0, 1]` mapped to the model's own input range.
    fn scaled_input(&self, x: &Tensor) -> Result<Tensor> {
        let [lo, hi] = self.range;
        let (lo, span) = (lo as f64, (hi - lo) as f64);
        Ok(if span == 1.0 && lo == 0.0 {
            x.clone()
        } else {
            x.affine(span, lo)?
        })
    }

    /// The scaled forward pass on a candle tensor in `[0, 1]` (differentiable).
    pub fn run(&self, x: &Tensor) -> Result<Tensor> {
        let scaled = self.scaled_input(x)?;
        let y = self
            .interp
            .run(std::slice::from_ref(&scaled))?
            .swap_remove(0);
        self.scaled_output(y)
    }

    /// The graph's output `y` mapped from the model's output range to `[0, 1]`.
    fn scaled_output(&self, y: Tensor) -> Result<Tensor> {
        let [lo, hi] = self.output_range;
        let (lo, span) = (lo as f64, (hi - lo) as f64);
        if y.rank() != 4 {
            return Err(Error::Load(format!(
                "the model output has shape {:?}, not NCHW",
                y.dims()
            )));
        }
        Ok(if span == 1.0 && lo == 0.0 {
            y
        } else {
            y.affine(1.0 / span, -lo / span)?
        })
    }

    /// `lr` (of either precision) checked against the model's channels, as a tensor of the
    /// model's type.
    fn check_input<R: AbiFloat>(&self, lr: &R::Tensor) -> Result<Tensor> {
        let dims = R::dims(lr);
        if dims.len() != 4 || dims[1] != self.info.channels as usize {
            return Err(Error::Input(format!(
                "model `{}` takes N x {} x H x W tensors, got shape {dims:?}",
                self.info.name, self.info.channels
            )));
        }
        from_abi::<R>(lr, self.interp.dtype())
    }

    /// Super-resolves an LR batch (ABI tensors in `[0, 1]`). An output with NaN or infinite
    /// values is a [`ErrorKind::NonFinite`](srlens_core::ErrorKind::NonFinite) error naming
    /// the first node that produced them.
    pub fn forward_abi(
        &self,
        lr: &srlens_core::Tensor,
    ) -> std::result::Result<srlens_core::Tensor, PluginError> {
        self.install(|| {
            let x = self.check_input::<f32>(lr)?;
            let sr = to_abi::<f32>(&self.run(&x)?)?;
            let what = format!("model `{}`", self.info.name);
            if let Err(mut e) = checks::finite(&what, "the SR output", &sr.data) {
                let scaled = self.scaled_input(&x)?;
                if let Some((node, op)) = self.interp.first_non_finite(&[scaled])? {
                    e.message = format!(
                        "{}; the first node to produce them is `{node}` ({op})",
                        e.message
                    )
                    .into();
                }
                return Err(e);
            }
            Ok(sr)
        })
    }

    /// One forward pass, then one backward pass per objective into the input only.
    /// One forward pass of `lr` with the input tracked, then one backward pass (into the
    /// input only) per cotangent `cotangents(sr)` returns.
    ///
    /// The gradient goes through the generated graphs or candle's autograd, as the `gradient`
    /// option chose ([`set_gradient`](Self::set_gradient)).
    pub fn vjp_abi(
        &self,
        lr: &srlens_core::Tensor,
        cotangents: &mut Cotangents<'_>,
    ) -> std::result::Result<Vec<srlens_core::Tensor>, PluginError> {
        self.vjp_in::<f32>(lr, cotangents)
    }

    /// [`vjp_abi`](Self::vjp_abi) in precision `R` at the ABI (the model computes in its own
    /// type: a float32 call to a float64 model is computed in float64 and rounded).
    fn vjp_in<R: AbiFloat>(
        &self,
        lr: &R::Tensor,
        cotangents: &mut CotangentsOf<'_, R>,
    ) -> std::result::Result<Vec<R::Tensor>, PluginError> {
        if let Some(g) = self.graph_vjp() {
            return self.install(|| self.vjp_by_graph::<R>(g, lr, cotangents));
        }
        self.install(|| {
            let x = Var::from_tensor(&self.check_input::<R>(lr)?).map_err(Error::from)?;
            let sr = self.run(x.as_tensor())?;
            let sr_abi = to_abi::<R>(&sr)?;
            let mut out = Vec::new();
            for d_sr in cotangents(&sr_abi)? {
                same_shape::<R>(&d_sr, &sr_abi)?;
                let g = from_abi::<R>(&d_sr, self.interp.dtype())?;
                let loss = sr.mul(&g).and_then(|t| t.sum_all()).map_err(Error::from)?;
                let grads = loss.backward().map_err(Error::from)?;
                let gx = match grads.get(x.as_tensor()) {
                    Some(t) => t.clone(),
                    None => x.as_tensor().zeros_like().map_err(Error::from)?,
                };
                out.push(to_abi::<R>(&gx)?);
            }
            Ok(out)
        })
    }
}

impl CandleModel {
    /// [`vjp_abi`](Self::vjp_abi) through the generated graphs: the forward graph once, the
    /// backward graph per cotangent; the range scalings of [`run`](Self::run) applied to the
    /// cotangent and the gradient by hand.
    fn vjp_by_graph<R: AbiFloat>(
        &self,
        g: &GraphVjp,
        lr: &R::Tensor,
        cotangents: &mut CotangentsOf<'_, R>,
    ) -> std::result::Result<Vec<R::Tensor>, PluginError> {
        let x = self.check_input::<R>(lr)?;
        let scaled = self.scaled_input(&x)?;
        let outputs = g.forward.run(std::slice::from_ref(&scaled))?;
        let mut values: HashMap<&str, &Tensor> = g
            .forward
            .graph()
            .outputs
            .iter()
            .map(|o| o.name.as_str())
            .zip(&outputs)
            .collect();
        let input = g.forward.input_names()[0];
        values.entry(input).or_insert(&scaled);
        let sr = self.scaled_output(outputs[0].clone())?;
        let sr_abi = to_abi::<R>(&sr)?;
        let out_span = (self.output_range[1] - self.output_range[0]) as f64;
        let in_span = (self.range[1] - self.range[0]) as f64;
        let mut out = Vec::new();
        for d_sr in cotangents(&sr_abi)? {
            same_shape::<R>(&d_sr, &sr_abi)?;
            let mut cot = from_abi::<R>(&d_sr, self.interp.dtype())?;
            if out_span != 1.0 {
                cot = cot.affine(1.0 / out_span, 0.0).map_err(Error::from)?;
            }
            let feed = g
                .backward
                .input_names()
                .into_iter()
                .map(|name| {
                    if name == g.cotangent {
                        return Ok(cot.clone());
                    }
                    values.get(name).map(|t| (*t).clone()).ok_or_else(|| {
                        Error::Load(format!(
                            "the generated forward graph returns no value `{name}`"
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let mut gx = g.backward.run(&feed)?.swap_remove(0);
            if in_span != 1.0 {
                gx = gx.affine(in_span, 0.0).map_err(Error::from)?;
            }
            out.push(to_abi::<R>(&gx)?);
        }
        Ok(out)
    }
}

impl SrModel for CandleModel {
    fn info(&self) -> ModelInfo {
        self.info.clone()
    }

    fn forward(
        &self,
        lr: &srlens_core::Tensor,
    ) -> std::result::Result<srlens_core::Tensor, PluginError> {
        self.forward_abi(lr)
    }

    fn vjp(
        &self,
        lr: &srlens_core::Tensor,
        cotangents: &mut Cotangents<'_>,
    ) -> std::result::Result<Vec<srlens_core::Tensor>, PluginError> {
        self.vjp_abi(lr, cotangents)
    }

    /// Float64 throughout for a model loaded with `precision = "f64"`; a float32 model
    /// answers that it computes in float32 only (rather than widening float32 gradients).
    fn vjp_f64(
        &self,
        lr: &srlens_core::Tensor64,
        cotangents: &mut Cotangents64<'_>,
    ) -> std::result::Result<Vec<srlens_core::Tensor64>, PluginError> {
        if self.interp.dtype() != DType::F64 {
            return Err(PluginError::new(
                srlens_core::ErrorKind::Unsupported,
                format!(
                    "model `{}` was loaded in float32: a float64 call needs \
                     `options = {{ precision = \"f64\" }}` in [model]",
                    self.info.name
                ),
            ));
        }
        self.vjp_in::<f64>(lr, cotangents)
    }
}

/// Checks that an objective's gradient `d_sr` has the SR batch's shape.
fn same_shape<R: Real>(d_sr: &R::Tensor, sr: &R::Tensor) -> std::result::Result<(), PluginError> {
    if R::dims(d_sr) == R::dims(sr) {
        return Ok(());
    }
    Err(Error::Input(format!(
        "the objective's gradient has shape {:?}, the SR batch {:?}",
        R::dims(d_sr),
        R::dims(sr)
    ))
    .into())
}
