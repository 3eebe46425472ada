//! [`Fsrcnn`]: a small FSRCNN-like network with a sub-pixel (depth-to-space) output.
//!
//! The network is a chain of "same"-padded convolutions, each followed by a PReLU except the
//! last; the last one makes `3 s^2` channels, a nearest-neighbour copy of the input is added
//! (each input channel repeated `s^2` times) and a depth-to-space (ONNX `DepthToSpace`, mode
//! `DCR`) rearranges them into the `s`-times larger image. Values are in `[0, 1]`.
//!
//! Weights file (safetensors, `f32`): `body.{i}.weight` (`out x in x k x k`, `k` odd),
//! `body.{i}.bias` (`out`), and `body.{i}.prelu` (`out`, one slope per channel) for every
//! layer but the last. The scale is read from the last layer's `3 s^2` output channels.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};

/// One convolution and its optional PReLU.
#[derive(Debug, Clone)]
pub struct Layer {
    /// `out x in x k x k`.
    pub weight: Tensor,
    /// `out`.
    pub bias: Tensor,
    /// `out` PReLU slopes, absent for the last layer.
    pub prelu: Option<Tensor>,
}

impl Layer {
    /// `(out, in, k)`.
    pub fn dims(&self) -> Result<(usize, usize, usize)> {
        let (o, i, k, _) = self.weight.dims4()?;
        Ok((o, i, k))
    }
}

/// The network.
#[derive(Debug, Clone)]
pub struct Fsrcnn {
    layers: Vec<Layer>,
    scale: usize,
}

/// The image channels (RGB).
pub const CHANNELS: usize = 3;

impl Fsrcnn {
    /// Builds the network from its layers, checking that their shapes chain.
    pub fn new(layers: Vec<Layer>) -> Result<Self> {
        let bad = |m: String| Err(Error::Load(m));
        if layers.is_empty() {
            return bad("the weights hold no layer `body.0.weight`".into());
        }
        let mut channels = CHANNELS;
        let n = layers.len();
        for (i, l) in layers.iter().enumerate() {
            let (o, c, k) = l.dims()?;
            let (_, _, _, kw) = l.weight.dims4()?;
            if c != channels {
                return bad(format!(
                    "body.{i}.weight takes {c} channels; the layer before makes {channels}"
                ));
            }
            if k != kw || k % 2 == 0 {
                return bad(format!("body.{i}.weight has a {k} x {kw} kernel; only square odd kernels are supported"));
            }
            if l.bias.dims() != [o] {
                return bad(format!(
                    "body.{i}.bias has shape {:?}; expected [{o}]",
                    l.bias.dims()
                ));
            }
            match (&l.prelu, i + 1 == n) {
                (Some(p), false) if p.dims() == [o] => {}
                (Some(p), false) => {
                    return bad(format!(
                        "body.{i}.prelu has shape {:?}; expected [{o}]",
                        p.dims()
                    ))
                }
                (None, false) => return bad(format!("body.{i}.prelu is missing")),
                (Some(_), true) => {
                    return bad(format!("the last layer body.{i} must not have a prelu"))
                }
                (None, true) => {}
            }
            channels = o;
        }
        let s2 = channels / CHANNELS;
        let scale = (1..=16).find(|s| s * s == s2 && s2 * CHANNELS == channels);
        let Some(scale) = scale.filter(|&s| s >= 2) else {
            return bad(format!(
                "the last layer makes {channels} channels; a x s network makes 3 s^2 (12 for x2, 48 for x4)"
            ));
        };
        Ok(Fsrcnn { layers, scale })
    }

    /// Reads the layers from named tensors (a safetensors file's contents).
    pub fn from_tensors(mut map: HashMap<String, Tensor>) -> Result<Self> {
        let mut layers = Vec::new();
        loop {
            let i = layers.len();
            let Some(weight) = map.remove(&format!("body.{i}.weight")) else {
                break;
            };
            let bias = map
                .remove(&format!("body.{i}.bias"))
                .ok_or_else(|| Error::Load(format!("body.{i}.bias is missing")))?;
            let prelu = map.remove(&format!("body.{i}.prelu"));
            let f32 = |t: Tensor| t.to_dtype(DType::F32);
            layers.push(Layer {
                weight: f32(weight)?,
                bias: f32(bias)?,
                prelu: prelu.map(f32).transpose()?,
            });
        }
        if let Some(extra) = map.keys().min() {
            return Err(Error::Load(format!(
                "unexpected tensor `{extra}`; expected body.{{i}}.weight, body.{{i}}.bias, body.{{i}}.prelu"
            )));
        }
        Fsrcnn::new(layers)
    }

    /// The network from the bytes of a safetensors file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let map = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
            .map_err(|e| Error::Load(format!("not a safetensors buffer ({e})")))?;
        Fsrcnn::from_tensors(map)
    }

    /// Reads a safetensors weights file.
    pub fn load(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::Load(format!(
                "weights file `{}` does not exist or is not a file",
                path.display()
            )));
        }
        let map = candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| {
            Error::Load(format!("{}: not a safetensors file ({e})", path.display()))
        })?;
        Fsrcnn::from_tensors(map).map_err(|e| Error::Load(format!("{}: {e}", path.display())))
    }

    /// The named tensors, as [`Fsrcnn::from_tensors`] reads them.
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        let mut map = HashMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            map.insert(format!("body.{i}.weight"), l.weight.clone());
            map.insert(format!("body.{i}.bias"), l.bias.clone());
            if let Some(p) = &l.prelu {
                map.insert(format!("body.{i}.prelu"), p.clone());
            }
        }
        map
    }

    /// The layers, input first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The upscaling factor.
    pub fn scale(&self) -> usize {
        self.scale
    }

    /// The number of parameters.
    pub fn parameter_count(&self) -> u64 {
        self.tensors().values().map(|t| t.elem_count() as u64).sum()
    }

    /// The receptive field in LR pixels: `1 + sum (k - 1)`.
    pub fn receptive_field(&self) -> u32 {
        1 + self
            .layers
            .iter()
            .map(|l| l.weight.dim(3).unwrap_or(1) as u32 - 1)
            .sum::<u32>()
    }

    /// Super-resolves `x` (`N x 3 x H x W`, `[0, 1]`) into `N x 3 x sH x sW`. Differentiable
    /// with candle's autograd.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        if c != CHANNELS {
            return Err(Error::Input(format!(
                "the network takes 3 channels (RGB); the input has {c}"
            )));
        }
        let mut y = x.clone();
        for l in &self.layers {
            let o = l.weight.dim(0)?;
            y = conv_same(&y, &l.weight)?;
            y = y.broadcast_add(&l.bias.reshape((1, o, 1, 1))?)?;
            if let Some(a) = &l.prelu {
                // PReLU: max(y, 0) + a min(y, 0).
                let pos = y.relu()?;
                let neg = (&y - &pos)?;
                y = (pos + neg.broadcast_mul(&a.reshape((1, o, 1, 1))?)?)?;
            }
        }
        let s = self.scale;
        let y = (y + x.repeat((1, s * s, 1, 1))?)?;
        // DepthToSpace, DCR: channel (b1 s + b2) C + c goes to pixel (h s + b1, w s + b2).
        let y = y
            .reshape((n, s, s, c, h, w))?
            .permute((0, 3, 4, 1, 5, 2))?
            .reshape((n, c, h * s, w * s))?;
        Ok(y)
    }
}

/// A stride-1 convolution with zero "same" padding, as im2col (shifted copies of `x`) and one
/// matrix product, so that candle's autograd differentiates it with matrix products too
/// (candle's own `conv2d` backward goes through a slow direct-loop transposed convolution).
pub fn conv_same(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (m, wc, k, _) = weight.dims4()?;
    if wc != c {
        return Err(Error::Input(format!(
            "a convolution takes {wc} channels; the input has {c}"
        )));
    }
    let cols = if k == 1 {
        x.reshape((n, c, h * w))?
    } else {
        let p = k / 2;
        let padded = x.pad_with_zeros(2, p, p)?.pad_with_zeros(3, p, p)?;
        let mut shifted = Vec::with_capacity(k * k);
        for dy in 0..k {
            for dx in 0..k {
                shifted.push(padded.narrow(2, dy, h)?.narrow(3, dx, w)?);
            }
        }
        // N x C x k^2 x H x W: column (c, dy, dx) matches the weight's row-major layout.
        Tensor::stack(&shifted, 2)?.reshape((n, c * k * k, h * w))?
    };
    let wm = weight.reshape((m, c * k * k))?;
    Ok(wm.broadcast_matmul(&cols)?.reshape((n, m, h, w))?)
}
