//! Input gradients in ONNX Runtime, which has none of its own: the forward and backward graphs
//! that `srlens_onnx::autodiff` generates from the model (cached per model file), each in a
//! session of its own.

use std::collections::HashMap;
use std::sync::Mutex;

use ort::session::Session;
use ort::value::DynValue;
use srlens_core::PluginError;
use srlens_plugin_kit::Cotangents;

use crate::cache::{self, Entry, Source};
use crate::error::{Error, Result};
use crate::model::{abi_tensor, OrtModel};
use crate::tensor::{f32_value, f32_view, run_session};

/// The two sessions of a model's vector-Jacobian product and the names that join them.
pub struct Gradient {
    forward: Mutex<Session>,
    backward: Mutex<Session>,
    /// What the forward session is asked for: the model output, then the saved values it
    /// computes (the model input, when saved, is fed back as is).
    fetch: Vec<String>,
    entry: Entry,
    /// Whether the graphs came from the cache.
    pub source: Source,
}

impl std::fmt::Debug for Gradient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gradient")
            .field("saved", &self.entry.saved)
            .field("source", &self.source)
            .finish()
    }
}

impl Gradient {
    /// The gradient graphs of `model` (from the cache, else generated and stored) in two
    /// sessions. A graph with an operator that has no gradient rule is an
    /// [`Error::Unsupported`] with the autodiff's message.
    pub fn build(model: &OrtModel) -> Result<Self> {
        let name = model.info.name.as_str();
        let (entry, source) =
            cache::get_or_generate(model.cache_root.as_deref(), &model.model_sha256, || {
                let g = srlens_onnx::autodiff::gradient_graphs(&model.graph).map_err(|e| {
                    Error::Unsupported(format!("model `{name}`: no input gradient: {e}"))
                })?;
                let bytes = |graph| {
                    srlens_onnx::to_bytes(graph).map_err(|e| Error::Load(format!("{name}: {e}")))
                };
                Ok::<_, Error>(Entry {
                    forward: bytes(&g.forward)?,
                    backward: bytes(&g.backward)?,
                    saved: g.saved,
                    cotangent: g.cotangent,
                    input_gradient: g.input_gradient,
                })
            })?;
        let session = |bytes: &[u8], which: &str| {
            model
                .rt
                .session(bytes, &model.settings)
                .map_err(|e| match e {
                    Error::Runtime(m) => Error::Runtime(format!(
                        "model `{name}`: the generated {which} graph does not load: {m}"
                    )),
                    other => other,
                })
        };
        let forward = session(&entry.forward, "forward")?;
        let backward = session(&entry.backward, "backward")?;
        let mut fetch = vec![model.output.clone()];
        for s in &entry.saved {
            if *s != model.input && !fetch.contains(s) {
                fetch.push(s.clone());
            }
        }
        Ok(Gradient {
            forward: Mutex::new(forward),
            backward: Mutex::new(backward),
            fetch,
            entry,
            source,
        })
    }

    /// One forward pass of `lr`, then one backward pass per cotangent `cotangents(sr)` gives,
    /// feeding the forward pass's saved values to each.
    pub fn vjp(
        &self,
        model: &OrtModel,
        lr: &srlens_core::Tensor,
        cotangents: &mut Cotangents<'_>,
    ) -> std::result::Result<Vec<srlens_core::Tensor>, PluginError> {
        let dims = model.check_input(lr)?;
        let mut data = lr.data.to_vec();
        model.scale_input(&mut data);
        let x = f32_value(&dims, data)?;
        let values = run_session(&self.forward, &[(&model.input, &x)], &self.fetch)?;
        let (sr_shape, sr) = model.scaled_output(&values[0])?;
        let by_name: HashMap<&str, &DynValue> = self
            .fetch
            .iter()
            .map(String::as_str)
            .zip(&values)
            .chain(std::iter::once((model.input.as_str(), &x)))
            .collect();
        let mut feed: Vec<(&str, &DynValue)> = Vec::with_capacity(self.entry.saved.len() + 1);
        for s in &self.entry.saved {
            let v = by_name.get(s.as_str()).ok_or_else(|| {
                Error::Runtime(format!("the forward graph returned no saved value `{s}`"))
            })?;
            feed.push((s.as_str(), v));
        }
        let sr_abi = abi_tensor(sr_shape.clone(), sr)?;
        let cots = cotangents(&sr_abi)?;
        let out_span = model.output_range[1] - model.output_range[0];
        let in_span = model.range[1] - model.range[0];
        let mut grads = Vec::with_capacity(cots.len());
        for d_sr in &cots {
            if d_sr.dims() != sr_shape || d_sr.data.len() != sr_abi.data.len() {
                return Err(Error::Input(format!(
                    "the objective's gradient has shape {:?}, the SR batch {sr_shape:?}",
                    d_sr.dims()
                ))
                .into());
            }
            let cot: Vec<f32> = if out_span == 1.0 {
                d_sr.data.to_vec()
            } else {
                d_sr.data.iter().map(|v| v / out_span).collect()
            };
            let cot = f32_value(&sr_shape, cot)?;
            let mut inputs = feed.clone();
            inputs.push((self.entry.cotangent.as_str(), &cot));
            let g = run_session(
                &self.backward,
                &inputs,
                std::slice::from_ref(&self.entry.input_gradient),
            )?;
            let (shape, g) = f32_view(&g[0])?;
            if shape != dims {
                return Err(Error::Runtime(format!(
                    "the backward graph returned a gradient of shape {shape:?} for an input of \
                     shape {dims:?}"
                ))
                .into());
            }
            let g = if in_span == 1.0 {
                g.to_vec()
            } else {
                g.iter().map(|v| v * in_span).collect()
            };
            grads.push(abi_tensor(shape, g)?);
        }
        Ok(grads)
    }
}
