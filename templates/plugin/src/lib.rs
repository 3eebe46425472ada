//! A template srlens plugin: the backend `template-x2`, a hand-written x2 network with
//! built-in weights (no model file), `y = upsample_nearest(gain * x + bias, 2)` with one
//! gain and bias per channel. Replace the network with yours: `forward` and `vjp` are all a
//! backend writes; the kit parses the options, checks shapes and finite values, evaluates
//! the objectives and contains panics.

use serde::Deserialize;
use srlens_core::{
    abi_stable::std_types::{RNone, RString},
    ModelInfo, PluginError, Tensor,
};
use srlens_plugin_kit::{invalid_input, Cotangents, ModelRequest, SrBackend, SrModel};

/// The backend's options (unknown keys are refused with the accepted ones).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    /// The gain of every channel (default 1.5).
    #[serde(default = "default_gain")]
    gain: f32,
}

fn default_gain() -> f32 {
    1.5
}

/// The backend.
struct TemplateBackend;

/// The network.
struct TemplateNet {
    gain: [f32; 3],
    bias: [f32; 3],
}

impl SrBackend for TemplateBackend {
    type Model = TemplateNet;

    /// The weights are built in: configs leave out `model.path`.
    const NEEDS_MODEL_FILE: bool = false;

    fn load(&self, request: &ModelRequest) -> Result<TemplateNet, PluginError> {
        let o: Options = request.parse_options()?;
        Ok(TemplateNet {
            gain: [o.gain, o.gain * 0.5, o.gain * 0.25],
            bias: [0.0, 0.1, -0.1],
        })
    }
}

impl TemplateNet {
    fn dims(lr: &Tensor) -> Result<[usize; 4], PluginError> {
        match lr.dims()[..] {
            [n, 3, h, w] => Ok([n, 3, h, w]),
            _ => Err(invalid_input(format!("expected N x 3 x H x W, got {:?}", lr.dims()))),
        }
    }
}

impl SrModel for TemplateNet {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            name: RString::from("template-x2"),
            scale: 2,
            channels: 3,
            input_range: [0.0, 1.0],
            parameters: 6,
            receptive_field: RNone,
            metadata: RString::from("{}"),
        }
    }

    fn forward(&self, lr: &Tensor) -> Result<Tensor, PluginError> {
        let [n, c, h, w] = Self::dims(lr)?;
        let mut y = vec![0f32; n * c * 4 * h * w];
        for b in 0..n {
            for ch in 0..c {
                for i in 0..2 * h {
                    for j in 0..2 * w {
                        let x = lr.data[((b * c + ch) * h + i / 2) * w + j / 2];
                        y[((b * c + ch) * 2 * h + i) * 2 * w + j] =
                            self.gain[ch] * x + self.bias[ch];
                    }
                }
            }
        }
        Ok(Tensor::new(vec![n, c, 2 * h, 2 * w], y).expect("n x c x 2h x 2w values"))
    }

    fn vjp(&self, lr: &Tensor, cotangents: &mut Cotangents<'_>) -> Result<Vec<Tensor>, PluginError> {
        let [n, c, h, w] = Self::dims(lr)?;
        let sr = self.forward(lr)?;
        let mut out = Vec::new();
        for v in cotangents(&sr)? {
            // The transpose of "scale, then repeat each pixel 2 x 2": sum each block, scale.
            let mut g = vec![0f32; lr.len()];
            for b in 0..n {
                for ch in 0..c {
                    for i in 0..2 * h {
                        for j in 0..2 * w {
                            g[((b * c + ch) * h + i / 2) * w + j / 2] +=
                                self.gain[ch] * v.data[((b * c + ch) * 2 * h + i) * 2 * w + j];
                        }
                    }
                }
            }
            out.push(Tensor::new(lr.dims(), g).expect("the input's shape"));
        }
        Ok(out)
    }
}

srlens_plugin_kit::export_plugin! {
    name: "template",
    backends: [("template-x2", "a hand-written x2 network with built-in weights (the plugin template)", || Ok(TemplateBackend))],
    methods: [],
    paths: [],
}
