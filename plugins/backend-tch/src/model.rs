//! [`TchModel`]: a loaded TorchScript SR network behind the srlens `Model` ABI.

use std::path::Path;

use srlens_core::abi_stable::std_types::{ROption, RString};
use srlens_core::{ModelInfo, PluginError};
use srlens_plugin_kit::{Cotangents, Cotangents64, CotangentsOf, Precision, Real, SrModel};
use tch::{CModule, Device, Kind, Tensor};

use crate::error::{short_message, Error, Result};
use crate::options::{parse_device, Options};

/// The side of the LR probe that checks the output's rank and infers the scale at load time.
pub const PROBE_SIDE: i64 = 16;

/// A loaded network.
///
/// Tensors at the ABI are in `[0, 1]`; with the model's range `[lo, hi]` a forward pass is
/// `x -> lo + x (hi - lo) -> module -> (y - lo) / (hi - lo)`, inside libtorch so that the
/// gradient includes both scalings.
pub struct TchModel {
    module: CModule,
    info: ModelInfo,
    device: Device,
    kind: Kind,
}

impl std::fmt::Debug for TchModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TchModel")
            .field("info", &self.info)
            .field("device", &self.device)
            .finish()
    }
}

/// Why a file failed to load, for the user.
fn load_error(path: &str, e: &tch::TchError) -> Error {
    let text = short_message(e);
    let not_script = [
        "PytorchStreamReader",
        "constants.pkl",
        "archive",
        "zip",
        "magic number",
    ];
    if not_script.iter().any(|k| text.contains(k)) {
        Error::Load(format!(
            "`{path}` is not a TorchScript file (libtorch: {text}); save the network with \
             `torch.jit.trace(model, example).save(path)` or `torch.jit.script(model).save(path)` \
             (a `torch.save` pickle or a state_dict needs Python to load)"
        ))
    } else {
        Error::Load(format!("`{path}`: libtorch cannot load it: {text}"))
    }
}

impl TchModel {
    /// Loads the TorchScript file at `path` onto `device` with the backend's JSON `options`;
    /// `threads > 0` sets libtorch's intra-op thread count.
    pub fn load(path: &str, options: &str, threads: u32, device: &str) -> Result<Self> {
        let options = Options::parse(options)?;
        let device = parse_device(device)?;
        if !Path::new(path).is_file() {
            return Err(Error::Load(format!(
                "model file `{path}` does not exist or is not a file"
            )));
        }
        if threads > 0 {
            tch::set_num_threads(threads.min(i32::MAX as u32) as i32);
        }
        let mut module = CModule::load_on_device(path, device).map_err(|e| load_error(path, &e))?;
        module.f_set_eval()?;
        if options.precision == Precision::F64 {
            module.to(device, Kind::Double, false);
        }
        let mut parameters = 0u64;
        let mut kind = Kind::Float;
        for (i, (_, p)) in module.named_parameters()?.iter().enumerate() {
            let _ = p.f_set_requires_grad(false)?;
            parameters += p.size().iter().product::<i64>() as u64;
            if i == 0 {
                kind = p.f_kind()?;
            }
        }
        if !matches!(
            kind,
            Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
        ) {
            kind = Kind::Float;
        }
        let name = Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut model = TchModel {
            module,
            info: ModelInfo {
                name: RString::from(name),
                scale: options.scale.unwrap_or(0),
                channels: options.channels.unwrap_or(3),
                input_range: options.range(),
                parameters,
                receptive_field: ROption::RNone,
                metadata: RString::from("{}"),
            },
            device,
            kind,
        };
        model.info.scale = model.probe_scale(path, options.scale)?;
        let probed = crate::receptive_cache::get_or_probe(
            crate::receptive_cache::root().as_deref(),
            Path::new(path),
            model.info.scale,
            model.info.channels,
            || model.probe_receptive_field(),
        )?;
        let (radius, metadata) = match probed {
            Ok(r) => (
                ROption::RSome(r),
                serde_json::json!({ "receptive_field": { "radius": r, "from": "NaN probe" } }),
            ),
            Err(why) => (
                ROption::RNone,
                serde_json::json!({ "receptive_field": null, "receptive_field_unbounded": why }),
            ),
        };
        model.info.receptive_field = radius;
        let mut metadata = metadata;
        metadata["layers"] = model.layers()?.len().into();
        options.precision.describe(&mut metadata);
        if options.randomize_layers > 0 {
            model.randomize_top(options.randomize_layers as usize, options.randomize_seed)?;
            metadata["randomized_layers"] = options.randomize_layers.into();
        }
        model.info.metadata = RString::from(metadata.to_string());
        Ok(model)
    }

    /// The parameterised layers in the module's order: the parameters grouped by the module
    /// that owns them (the name without its last part), where one has rank 2 or more.
    fn layers(&self) -> Result<Vec<Vec<Tensor>>> {
        let mut groups: Vec<(String, Vec<Tensor>, bool)> = Vec::new();
        for (name, p) in self.module.named_parameters()? {
            let owner = name.rsplit_once('.').map_or("", |(o, _)| o).to_string();
            let weight = p.dim() >= 2;
            match groups.last_mut() {
                Some((o, ps, w)) if *o == owner => {
                    ps.push(p);
                    *w |= weight;
                }
                _ => groups.push((owner, vec![p], weight)),
            }
        }
        Ok(groups.into_iter().filter(|g| g.2).map(|g| g.1).collect())
    }

    /// Re-draws the parameters of the last `count` [`Self::layers`] from a normal
    /// distribution with the mean 0 and each parameter's own standard deviation (as the
    /// ONNX backends do, `srlens_onnx::randomize`).
    fn randomize_top(&mut self, count: usize, seed: u64) -> Result<()> {
        let layers = self.layers()?;
        if count > layers.len() {
            return Err(Error::Config(format!(
                "randomize_layers = {count}: the network has {} parameterised layers (choose 0 to {})",
                layers.len(),
                layers.len()
            )));
        }
        let mut rng = srlens_plugin_kit::random::SeededRng::new(seed);
        let _no_grad = tch::no_grad_guard();
        for layer in layers.iter().rev().take(count) {
            for p in layer {
                let sd = p.f_std(false)?.f_double_value(&[])?;
                let n = p.numel();
                let values: Vec<f32> = (0..n).map(|_| (rng.normal_f64() * sd) as f32).collect();
                let fresh = Tensor::from_slice(&values)
                    .f_reshape(p.size())?
                    .f_to_kind(p.kind())?
                    .f_to_device(p.device())?;
                let mut p = p.shallow_clone();
                p.f_copy_(&fresh)?;
            }
        }
        Ok(())
    }

    /// How far an output pixel sees, by a NaN probe: one NaN LR pixel in the middle of a zero
    /// image, and the farthest SR pixel the NaN reaches (every arithmetic dependence carries
    /// a NaN, so the bound is safe; a transform that mixes a tile only widens it). The probe
    /// grows from 64 to 256 pixels while the NaN reaches its border; reaching the border of
    /// the largest one (a global operation) gives no bound.
    fn probe_receptive_field(&self) -> Result<std::result::Result<u32, String>> {
        let c = self.info.channels as i64;
        let s = self.info.scale as i64;
        let _no_grad = tch::no_grad_guard();
        for n in [64i64, 128, 256] {
            let x = Tensor::f_zeros([1, c, n, n], (Kind::Float, Device::Cpu))?;
            let _ = x
                .f_narrow(2, n / 2, 1)?
                .f_narrow(3, n / 2, 1)?
                .f_fill_(f64::NAN)?;
            let y = match self.run(&x) {
                Ok(y) => y,
                Err(e) => return Ok(Err(format!("the NaN probe failed: {e}"))),
            };
            // Rows and columns of the SR output holding a NaN.
            let nan = y.f_isnan()?.f_any_dim(1, false)?.f_squeeze_dim(0)?;
            let rows: Vec<bool> =
                Vec::try_from(nan.f_any_dim(1, false)?.f_to_device(Device::Cpu)?)?;
            let cols: Vec<bool> =
                Vec::try_from(nan.f_any_dim(0, false)?.f_to_device(Device::Cpu)?)?;
            let reach = |v: &[bool]| -> Option<f64> {
                let far = v
                    .iter()
                    .enumerate()
                    .filter(|(_, &b)| b)
                    .map(|(i, _)| (i as f64 / s as f64 - (n / 2) as f64).abs())
                    .fold(0.0f64, f64::max);
                let touches = v.first() == Some(&true) || v.last() == Some(&true);
                (!touches).then_some(far)
            };
            if !rows.iter().any(|&b| b) {
                return Ok(Err("the NaN probe reached no output pixel".into()));
            }
            if let (Some(a), Some(b)) = (reach(&rows), reach(&cols)) {
                return Ok(Ok(a.max(b).ceil() as u32 + 1));
            }
        }
        Ok(Err(
            "an output pixel sees more than 128 LR pixels away (a global operation?)".into(),
        ))
    }

    /// Runs a `1 x C x 16 x 16` probe: checks that the output is `N x C x sH x sW` and returns
    /// `s`, which must equal `expected` when that is given.
    fn probe_scale(&self, path: &str, expected: Option<u32>) -> Result<u32> {
        let c = self.info.channels as i64;
        let h = PROBE_SIDE;
        let x = Tensor::f_full([1, c, h, h], 0.5, (Kind::Float, Device::Cpu))?;
        let y = {
            let _no_grad = tch::no_grad_guard();
            self.run(&x)
        };
        let y = match y {
            Ok(y) => y,
            Err(Error::Torch(m)) => {
                return Err(Error::Load(format!(
                    "`{path}`: a 1 x {c} x {h} x {h} probe failed in libtorch ({m}); check the \
                     `channels` option, or whether the network takes one NCHW image tensor"
                )))
            }
            Err(e) => return Err(e),
        };
        let dims = y.size();
        if dims.len() != 4 {
            return Err(Error::Load(format!(
                "`{path}`: the model's output has shape {dims:?} for a 1 x {c} x {h} x {h} input; \
                 an SR network must return one N x C x H x W tensor"
            )));
        }
        let (oc, oh, ow) = (dims[1], dims[2], dims[3]);
        if oc != c || oh % h != 0 || ow % h != 0 || oh != ow || oh < h {
            return Err(Error::Load(format!(
                "`{path}`: a 1 x {c} x {h} x {h} input gives a {dims:?} output, not \
                 1 x {c} x sH x sW for an integer scale s"
            )));
        }
        let s = (oh / h) as u32;
        match expected {
            Some(e) if e != s => Err(Error::Config(format!(
                "`{path}`: option scale = {e}, but the model upscales by {s} (a {h} x {h} input \
                 gives {oh} x {ow}); fix or remove `scale`"
            ))),
            _ => Ok(s),
        }
    }

    /// What the model says about itself.
    pub fn model_info(&self) -> &ModelInfo {
        &self.info
    }

    /// The device the model runs on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The scaled forward pass on a tensor in `[0, 1]` (on any device; differentiable).
    pub fn run(&self, x: &Tensor) -> Result<Tensor> {
        let [lo, hi] = self.info.input_range;
        let (lo, span) = (lo as f64, (hi - lo) as f64);
        let identity = lo == 0.0 && span == 1.0;
        let x = x.f_to_device(self.device)?.f_to_kind(self.kind)?;
        let x = if identity {
            x
        } else {
            x.f_mul_scalar(span)?.f_add_scalar(lo)?
        };
        let y = self.module.forward_ts(&[x])?;
        let y = y.f_to_kind(self.output_kind())?;
        Ok(if identity {
            y
        } else {
            y.f_sub_scalar(lo)?.f_div_scalar(span)?
        })
    }

    /// The kind of [`run`](Self::run)'s output: float64 for a float64 module, else float32.
    fn output_kind(&self) -> Kind {
        if self.kind == Kind::Double {
            Kind::Double
        } else {
            Kind::Float
        }
    }

    /// An ABI tensor (of either precision) as a libtorch tensor on the model's device.
    fn to_torch<R: TchFloat>(&self, t: &R::Tensor) -> Result<Tensor> {
        let shape: Vec<i64> = R::dims(t).iter().map(|&d| d as i64).collect();
        Ok(Tensor::f_from_slice(R::data(t))?
            .f_reshape(&shape)?
            .f_to_device(self.device)?)
    }

    /// Checks an LR batch's shape and moves it into libtorch.
    fn input<R: TchFloat>(&self, lr: &R::Tensor) -> Result<Tensor> {
        let dims = R::dims(lr);
        let len = R::data(lr).len();
        if dims.len() != 4
            || dims[1] != self.info.channels as usize
            || len != dims.iter().product::<usize>()
        {
            return Err(Error::Input(format!(
                "model `{}` takes N x {} x H x W tensors, got shape {dims:?} with {len} values",
                self.info.name, self.info.channels,
            )));
        }
        self.to_torch::<R>(lr)
    }

    /// Checks an SR output against its LR input's shape.
    fn check_output(&self, lr: &[usize], sr: &Tensor) -> Result<()> {
        let s = self.info.scale as usize;
        let want = [lr[0], lr[1], lr[2] * s, lr[3] * s];
        let got: Vec<usize> = sr.size().iter().map(|&d| d as usize).collect();
        if got != want {
            return Err(Error::Input(format!(
                "model `{}` turned a {lr:?} input into {got:?}, not {want:?} (scale {s})",
                self.info.name
            )));
        }
        Ok(())
    }

    /// Super-resolves an LR batch (ABI tensors in `[0, 1]`).
    pub fn forward_abi(&self, lr: &srlens_core::Tensor) -> Result<srlens_core::Tensor> {
        let x = self.input::<f32>(lr)?;
        let _no_grad = tch::no_grad_guard();
        let y = self.run(&x)?;
        self.check_output(&lr.dims(), &y)?;
        to_abi::<f32>(&y)
    }

    /// One forward pass, then one backward pass (into the input only) per cotangent that
    /// `cotangents(sr)` returns.
    pub fn vjp_abi(
        &self,
        lr: &srlens_core::Tensor,
        cotangents: &mut Cotangents<'_>,
    ) -> std::result::Result<Vec<srlens_core::Tensor>, PluginError> {
        self.vjp_in::<f32>(lr, cotangents)
    }

    /// [`vjp_abi`](Self::vjp_abi) in precision `R` at the ABI (the module computes in its own
    /// kind).
    fn vjp_in<R: TchFloat>(
        &self,
        lr: &R::Tensor,
        cotangents: &mut CotangentsOf<'_, R>,
    ) -> std::result::Result<Vec<R::Tensor>, PluginError> {
        let x = self
            .input::<R>(lr)?
            .f_set_requires_grad(true)
            .map_err(Error::from)?;
        let sr = tch::with_grad(|| self.run(&x))?;
        self.check_output(&R::dims(lr), &sr)?;
        let sr_abi = to_abi::<R>(&sr)?;
        let cots = cotangents(&sr_abi)?;
        let mut out = Vec::with_capacity(cots.len());
        for (i, d_sr) in cots.iter().enumerate() {
            if R::dims(d_sr) != R::dims(&sr_abi) || R::data(d_sr).len() != R::data(&sr_abi).len() {
                return Err(Error::Input(format!(
                    "the objective's gradient has shape {:?}, the SR batch {:?}",
                    R::dims(d_sr),
                    R::dims(&sr_abi)
                ))
                .into());
            }
            let keep_graph = i + 1 < cots.len();
            let gx = tch::with_grad(|| -> Result<Tensor> {
                let g = self.to_torch::<R>(d_sr)?.f_to_kind(sr.kind())?;
                let loss = sr.f_mul(&g)?.f_sum(sr.kind())?;
                let mut grads = Tensor::f_run_backward(&[&loss], &[&x], keep_graph, false)?;
                Ok(grads.remove(0))
            })?;
            out.push(to_abi::<R>(&gx)?);
        }
        Ok(out)
    }
}

/// An element type of the ABI's tensors that libtorch also holds: `f32` or `f64`.
pub trait TchFloat: Real + tch::kind::Element {}

impl<R: Real + tch::kind::Element> TchFloat for R {}

/// A libtorch tensor as an ABI tensor of precision `R` (converted, on the CPU).
pub fn to_abi<R: TchFloat>(t: &Tensor) -> Result<R::Tensor> {
    let t = t
        .f_detach()?
        .f_to_device(Device::Cpu)?
        .f_to_kind(R::KIND)?
        .f_contiguous()?;
    let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    let n: usize = shape.iter().product();
    let mut data = vec![R::from_f64(0.0); n];
    t.f_copy_data(&mut data, n)?;
    R::tensor(shape, data)
        .ok_or_else(|| Error::Torch("a tensor's size does not match its shape".to_string()))
}

impl SrModel for TchModel {
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

    /// Float64 throughout for a model loaded with `precision = "f64"`.
    fn vjp_f64(
        &self,
        lr: &srlens_core::Tensor64,
        cotangents: &mut Cotangents64<'_>,
    ) -> std::result::Result<Vec<srlens_core::Tensor64>, PluginError> {
        if self.kind != Kind::Double {
            return Err(PluginError::new(
                srlens_core::ErrorKind::Unsupported,
                format!(
                    "model `{}` computes in {:?}: a float64 call needs \
                     `options = {{ precision = \"f64\" }}` in [model]",
                    self.info.name, self.kind
                ),
            ));
        }
        self.vjp_in::<f64>(lr, cotangents)
    }
}
