//! Translating Keras layers (NHWC) into ONNX nodes (NCHW).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::format::Layer;
use super::weights::Weight;
use crate::ir::{Attribute, Graph, Node, TensorData};

/// What the converter knows about a layer's output value.
#[derive(Debug, Clone)]
pub(crate) struct ValueMeta {
    /// The ONNX value name.
    pub name: String,
    /// The number of channels, when known.
    pub channels: Option<usize>,
    /// Output size / input size along H and W.
    pub scale: f64,
}

/// Layer classes the converter accepts (besides `PixelShuffle{s}x`).
pub(crate) const SUPPORTED: &str = "InputLayer, Conv2D, Activation (relu, linear, sigmoid, \
     tanh), Concatenate, Add, Multiply, UpSampling2D (nearest), MultiplyBeta, PixelShuffle{s}x";

/// Accumulates the ONNX graph while layers are translated one at a time.
pub(crate) struct Emitter {
    /// The graph so far.
    pub graph: Graph,
    /// Weights not yet used, by manifest name.
    weights: BTreeMap<String, Weight>,
    /// `Constant` nodes already emitted, by a key describing their value.
    constants: BTreeMap<String, String>,
    /// Whether RRDN-only layers (MultiplyBeta, PixelShuffle) were seen.
    pub saw_rrdn_layers: bool,
}

impl Emitter {
    /// An emitter over `graph` (inputs and metadata filled later) and the loaded weights.
    pub fn new(graph: Graph, weights: BTreeMap<String, Weight>) -> Self {
        Emitter {
            graph,
            weights,
            constants: BTreeMap::new(),
            saw_rrdn_layers: false,
        }
    }

    /// Names of weights that no layer used.
    pub fn unused_weights(&self) -> Vec<&str> {
        self.weights.keys().map(|s| s.as_str()).collect()
    }

    /// Translates one non-input layer whose inputs are `inputs`; its output is named `out`.
    pub fn layer(
        &mut self,
        layer: &Layer,
        inputs: &[ValueMeta],
        out: &str,
    ) -> Result<ValueMeta, String> {
        let cfg = &layer.config;
        let class = layer.class_name.as_str();
        let single = || -> Result<&ValueMeta, String> {
            match inputs {
                [x] => Ok(x),
                _ => Err(format!("expects one input, got {}", inputs.len())),
            }
        };
        match class {
            "Conv2D" => self.conv2d(layer, single()?, out),
            "Activation" => {
                let x = single()?;
                let act = cfg_str(cfg, "activation")?;
                self.activation(&layer.name, act, &x.name, out)?;
                Ok(ValueMeta {
                    name: out.to_string(),
                    ..x.clone()
                })
            }
            "Concatenate" => {
                if inputs.len() < 2 {
                    return Err(format!("expects two or more inputs, got {}", inputs.len()));
                }
                let axis = cfg.get("axis").and_then(Value::as_i64).unwrap_or(-1);
                let onnx_axis = nhwc_axis_to_nchw(axis)?;
                let names: Vec<&str> = inputs.iter().map(|v| v.name.as_str()).collect();
                self.push(
                    Node::new(&layer.name, "Concat", &names, &[out])
                        .with("axis", Attribute::Int(onnx_axis)),
                );
                let channels = if onnx_axis == 1 {
                    inputs.iter().map(|v| v.channels).sum::<Option<usize>>()
                } else {
                    inputs[0].channels
                };
                Ok(ValueMeta {
                    name: out.to_string(),
                    channels,
                    scale: inputs[0].scale,
                })
            }
            "Add" | "Multiply" => {
                if inputs.len() < 2 {
                    return Err(format!("expects two or more inputs, got {}", inputs.len()));
                }
                let op = if class == "Add" { "Add" } else { "Mul" };
                let mut acc = inputs[0].name.clone();
                for (k, x) in inputs.iter().enumerate().skip(1) {
                    let last = k + 1 == inputs.len();
                    let dst = if last {
                        out.to_string()
                    } else {
                        format!("{}/{op}_{k}", layer.name)
                    };
                    let node_name = if inputs.len() == 2 {
                        layer.name.clone()
                    } else {
                        format!("{}/{k}", layer.name)
                    };
                    self.push(Node::new(&node_name, op, &[&acc, &x.name], &[&dst]));
                    acc = dst;
                }
                Ok(ValueMeta {
                    name: out.to_string(),
                    ..inputs[0].clone()
                })
            }
            "UpSampling2D" => {
                let x = single()?;
                check_channels_last(cfg)?;
                let interpolation = cfg
                    .get("interpolation")
                    .and_then(Value::as_str)
                    .unwrap_or("nearest");
                if interpolation != "nearest" {
                    return Err(format!(
                        "interpolation '{interpolation}' is not supported (only nearest)"
                    ));
                }
                let (sh, sw) = cfg_pair(cfg, "size", 2)?;
                if sh != sw {
                    return Err(format!("unequal size [{sh}, {sw}] is not supported"));
                }
                let scales = self.constant(TensorData::f32(
                    vec![4],
                    vec![1.0, 1.0, sh as f32, sw as f32],
                ));
                self.push(
                    Node::new(&layer.name, "Resize", &[&x.name, "", &scales], &[out])
                        .with("mode", Attribute::String("nearest".into()))
                        .with(
                            "coordinate_transformation_mode",
                            Attribute::String("asymmetric".into()),
                        )
                        .with("nearest_mode", Attribute::String("floor".into())),
                );
                Ok(ValueMeta {
                    name: out.to_string(),
                    channels: x.channels,
                    scale: x.scale * sh as f64,
                })
            }
            "MultiplyBeta" => {
                let x = single()?;
                self.saw_rrdn_layers = true;
                let beta = cfg.get("beta").and_then(Value::as_f64).unwrap_or(0.2) as f32;
                let c = self.constant(TensorData {
                    dims: vec![],
                    values: crate::TensorValues::F32(vec![beta]),
                });
                self.push(Node::new(&layer.name, "Mul", &[&x.name, &c], &[out]));
                Ok(ValueMeta {
                    name: out.to_string(),
                    ..x.clone()
                })
            }
            _ => {
                if let Some(s) = pixel_shuffle_scale(class) {
                    return self.pixel_shuffle(layer, s, single()?, out);
                }
                Err(format!(
                    "class '{class}' is not supported (supported: {SUPPORTED})"
                ))
            }
        }
    }

    /// `Conv2D`: a Conv with the kernel transposed to `[out, in, kh, kw]`, then its activation.
    fn conv2d(&mut self, layer: &Layer, x: &ValueMeta, out: &str) -> Result<ValueMeta, String> {
        let cfg = &layer.config;
        check_channels_last(cfg)?;
        let (kh, kw) = cfg_pair(cfg, "kernel_size", 0)?;
        let (sh, sw) = cfg_pair(cfg, "strides", 1)?;
        let (dh, dw) = cfg_pair(cfg, "dilation_rate", 1)?;
        let groups = cfg.get("groups").and_then(Value::as_u64).unwrap_or(1) as usize;
        let filters = cfg
            .get("filters")
            .and_then(Value::as_u64)
            .ok_or("config has no 'filters'")? as usize;
        let use_bias = cfg.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
        let activation = cfg
            .get("activation")
            .and_then(Value::as_str)
            .unwrap_or("linear");
        if (sh > 1 || sw > 1) && (dh > 1 || dw > 1) {
            return Err("strides and dilation both above 1".to_string());
        }

        let kernel = self.take_weight(&layer.name, "kernel")?;
        let [wkh, wkw, cin, cout] = kernel.shape[..] else {
            return Err(format!(
                "kernel has shape {:?}, expected [kh, kw, in, out]",
                kernel.shape
            ));
        };
        if (wkh, wkw, cout) != (kh, kw, filters) {
            return Err(format!(
                "kernel shape {:?} does not match kernel_size [{kh}, {kw}] and filters {filters}",
                kernel.shape
            ));
        }
        if let Some(c) = x.channels {
            if c != cin * groups {
                return Err(format!(
                    "kernel expects {} input channels, the input has {c}",
                    cin * groups
                ));
            }
        }
        let w_name = format!("{}/kernel", layer.name);
        let w = TensorData::f32(
            vec![cout as i64, cin as i64, kh as i64, kw as i64],
            hwio_to_oihw(&kernel.values, kh, kw, cin, cout),
        );
        self.graph.initializers.insert(w_name.clone(), w);
        let mut inputs = vec![x.name.clone(), w_name];
        if use_bias {
            let bias = self.take_weight(&layer.name, "bias")?;
            if bias.shape != [cout] {
                return Err(format!(
                    "bias has shape {:?}, expected [{cout}]",
                    bias.shape
                ));
            }
            let b_name = format!("{}/bias", layer.name);
            self.graph.initializers.insert(
                b_name.clone(),
                TensorData::f32(vec![cout as i64], bias.values),
            );
            inputs.push(b_name);
        }

        let padding = cfg
            .get("padding")
            .and_then(Value::as_str)
            .unwrap_or("valid");
        let conv_out = if activation == "linear" {
            out.to_string()
        } else {
            format!("{}/conv", layer.name)
        };
        let input_refs: Vec<&str> = inputs.iter().map(|s| s.as_str()).collect();
        let mut node = Node::new(&layer.name, "Conv", &input_refs, &[&conv_out])
            .with("kernel_shape", Attribute::Ints(vec![kh as i64, kw as i64]))
            .with("strides", Attribute::Ints(vec![sh as i64, sw as i64]))
            .with("dilations", Attribute::Ints(vec![dh as i64, dw as i64]))
            .with("group", Attribute::Int(groups as i64));
        node = match padding {
            "valid" => node.with("pads", Attribute::Ints(vec![0, 0, 0, 0])),
            "same" if sh == 1 && sw == 1 => {
                // TensorFlow pads total = dilation * (k - 1), the odd one at the end.
                let (th, tw) = ((dh * (kh - 1)) as i64, (dw * (kw - 1)) as i64);
                node.with(
                    "pads",
                    Attribute::Ints(vec![th / 2, tw / 2, th - th / 2, tw - tw / 2]),
                )
            }
            // With strides the padding depends on the input size; SAME_UPPER is TF's rule.
            "same" => node.with("auto_pad", Attribute::String("SAME_UPPER".into())),
            other => return Err(format!("padding '{other}' is not supported (same, valid)")),
        };
        self.push(node);
        if activation != "linear" {
            self.activation(
                &format!("{}/activation", layer.name),
                activation,
                &conv_out,
                out,
            )?;
        }
        Ok(ValueMeta {
            name: out.to_string(),
            channels: Some(cout),
            scale: x.scale / sh as f64,
        })
    }

    /// `PixelShuffle{s}x`: TF `depthToSpace` in NHWC is ONNX `DepthToSpace` mode `DCR`.
    fn pixel_shuffle(
        &mut self,
        layer: &Layer,
        s: usize,
        x: &ValueMeta,
        out: &str,
    ) -> Result<ValueMeta, String> {
        self.saw_rrdn_layers = true;
        if let Some(cs) = layer.config.get("scale").and_then(Value::as_u64) {
            if cs as usize != s {
                return Err(format!("class name says scale {s}, config says {cs}"));
            }
        }
        let channels = match x.channels {
            Some(c) if c % (s * s) != 0 => {
                return Err(format!("{c} channels are not divisible by {s}x{s}"));
            }
            c => c.map(|c| c / (s * s)),
        };
        self.push(
            Node::new(&layer.name, "DepthToSpace", &[&x.name], &[out])
                .with("blocksize", Attribute::Int(s as i64))
                .with("mode", Attribute::String("DCR".into())),
        );
        Ok(ValueMeta {
            name: out.to_string(),
            channels,
            scale: x.scale * s as f64,
        })
    }

    /// An element-wise activation node.
    fn activation(&mut self, node_name: &str, act: &str, x: &str, out: &str) -> Result<(), String> {
        let op = match act {
            "relu" => "Relu",
            "linear" => "Identity",
            "sigmoid" => "Sigmoid",
            "tanh" => "Tanh",
            other => {
                return Err(format!(
                    "activation '{other}' is not supported (relu, linear, sigmoid, tanh)"
                ))
            }
        };
        self.push(Node::new(node_name, op, &[x], &[out]));
        Ok(())
    }

    /// A `Constant` node for `value`, shared between layers that need the same value.
    fn constant(&mut self, value: TensorData) -> String {
        let key = format!("{value:?}");
        if let Some(name) = self.constants.get(&key) {
            return name.clone();
        }
        let name = format!("const_{}", self.constants.len());
        self.graph.nodes.push(
            Node::new(&name, "Constant", &[], &[&name]).with("value", Attribute::Tensor(value)),
        );
        self.constants.insert(key, name.clone());
        name
    }

    /// Appends a node.
    fn push(&mut self, node: Node) {
        self.graph.nodes.push(node);
    }

    /// Removes and returns the weight `{layer}/{which}` (or the only one ending so).
    fn take_weight(&mut self, layer: &str, which: &str) -> Result<Weight, String> {
        let exact = format!("{layer}/{which}");
        if let Some(w) = self.weights.remove(&exact) {
            return Ok(w);
        }
        let suffix = format!("/{exact}");
        let matches: BTreeSet<String> = self
            .weights
            .keys()
            .filter(|k| k.ends_with(&suffix))
            .cloned()
            .collect();
        match matches.len() {
            1 => Ok(self
                .weights
                .remove(matches.iter().next().expect("one match"))
                .expect("present")),
            0 => Err(format!("the weights manifest has no '{exact}'")),
            _ => Err(format!("several weights end with '{exact}': {matches:?}")),
        }
    }
}

/// `s` for a class named `PixelShuffle{s}x`.
pub(crate) fn pixel_shuffle_scale(class: &str) -> Option<usize> {
    class
        .strip_prefix("PixelShuffle")?
        .strip_suffix('x')?
        .parse()
        .ok()
        .filter(|s| *s > 0)
}

/// Rearranges a TF kernel `[kh, kw, in, out]` into ONNX `[out, in, kh, kw]`.
pub(crate) fn hwio_to_oihw(src: &[f32], kh: usize, kw: usize, cin: usize, cout: usize) -> Vec<f32> {
    let mut dst = vec![0.0; src.len()];
    for y in 0..kh {
        for x in 0..kw {
            for i in 0..cin {
                for o in 0..cout {
                    dst[((o * cin + i) * kh + y) * kw + x] =
                        src[((y * kw + x) * cin + i) * cout + o];
                }
            }
        }
    }
    dst
}

/// Maps a Keras NHWC axis (possibly negative) to the NCHW axis.
pub(crate) fn nhwc_axis_to_nchw(axis: i64) -> Result<i64, String> {
    match axis {
        0 | -4 => Ok(0),
        1 | -3 => Ok(2),
        2 | -2 => Ok(3),
        3 | -1 => Ok(1),
        other => Err(format!("axis {other} is out of range for a 4-d tensor")),
    }
}

/// A string setting.
fn cfg_str<'a>(cfg: &'a Value, key: &str) -> Result<&'a str, String> {
    cfg.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("config has no string '{key}'"))
}

/// A 2-d setting given as `n` or `[a, b]`; `default` when absent and nonzero.
fn cfg_pair(cfg: &Value, key: &str, default: usize) -> Result<(usize, usize), String> {
    let bad = || format!("config '{key}' must be a positive integer or a pair of them");
    let v = match cfg.get(key) {
        None | Some(Value::Null) if default > 0 => return Ok((default, default)),
        None | Some(Value::Null) => return Err(format!("config has no '{key}'")),
        Some(v) => v,
    };
    let (a, b) = match v {
        Value::Number(n) => (n.as_u64(), n.as_u64()),
        Value::Array(a) if a.len() == 2 => (a[0].as_u64(), a[1].as_u64()),
        _ => return Err(bad()),
    };
    match (a, b) {
        (Some(a), Some(b)) if a > 0 && b > 0 => Ok((a as usize, b as usize)),
        _ => Err(bad()),
    }
}

/// Rejects `channels_first` layers.
fn check_channels_last(cfg: &Value) -> Result<(), String> {
    match cfg.get("data_format").and_then(Value::as_str) {
        None | Some("channels_last") => Ok(()),
        Some(other) => Err(format!(
            "data_format '{other}' is not supported (channels_last)"
        )),
    }
}
