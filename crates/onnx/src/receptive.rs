//! The receptive field of an SR graph, from its operators: how far (in LR pixels) an output
//! pixel can see, or why that cannot be bounded (a global operation, an operator the analysis
//! does not know, a size computed from the input's shape).
//!
//! Every value is followed as a grid over the LR image: `pitch` is the distance between two of
//! its pixels in LR pixels (1 for the input, 1/s after an upsampling by s) and `reach` bounds
//! how far from a pixel's own position the LR pixels it depends on lie. Constants (weights,
//! `Constant` nodes and what is computed from them only) depend on no pixel. The bound is
//! conservative: a pixel depends on no LR pixel farther than [`ReceptiveField::radius`].

use std::collections::HashMap;

use crate::ir::{Attribute, Graph, Node, TensorValues};

/// How far an SR output pixel can see into the LR input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceptiveField {
    /// SR pixel `(i, j)` depends only on LR pixels at most this many pixels (in x and in y)
    /// from its own position `(i / s, j / s)` in LR pixels, for the network's scale `s`.
    pub radius: u32,
}

/// What is known of a value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    /// Depends on no pixel (weights and what is computed from them).
    Constant,
    /// A pixel grid of `pitch` LR pixels whose pixels see at most `reach` LR pixels away.
    Local { pitch: f64, reach: f64 },
}

/// The receptive field of `graph`'s first output with respect to its first input, or the
/// reason it has none (a global operator, an unknown one, sizes from shapes).
pub fn receptive_field(graph: &Graph) -> Result<ReceptiveField, String> {
    let output = graph.outputs.first().ok_or("the graph has no output")?;
    let values = walk(graph)?;
    match values.get(output.name.as_str()) {
        Some(Value::Local { reach, .. }) => Ok(ReceptiveField {
            // A small slack for the floating-point sums of pitches.
            radius: (reach - 1e-9).ceil().max(0.0) as u32,
        }),
        Some(Value::Constant) => Err("the output does not depend on the input".into()),
        None => Err(format!("the output `{}` is never produced", output.name)),
    }
}

/// One convolution of a graph, at the size it runs on for a given input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvLayer {
    /// Input channels (per group times groups).
    pub channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Rows of its input.
    pub height: usize,
    /// Columns of its input.
    pub width: usize,
    /// Its first padding value (`pads[0]`, 0 when absent).
    pub padding: usize,
    /// Groups (1 for a plain convolution).
    pub groups: usize,
}

impl ConvLayer {
    /// Floating-point operations for one image at stride 1 (a multiply and an add per weight
    /// and output pixel, the output taken as large as the input).
    pub fn flops(&self) -> f64 {
        let per_pixel = self.out_channels * self.channels / self.groups.max(1) * self.kh * self.kw;
        2.0 * per_pixel as f64 * (self.height * self.width) as f64
    }
}

/// The graph's convolutions in graph order, each at the size it runs on for one `h x w`
/// input image, where the graph is local (see [`receptive_field`]).
pub fn conv_layers(graph: &Graph, h: usize, w: usize) -> Result<Vec<ConvLayer>, String> {
    let values = walk(graph)?;
    let mut layers = Vec::new();
    for node in graph.nodes.iter().filter(|n| n.op_type == "Conv") {
        let Some(Value::Local { pitch, .. }) =
            node.inputs.first().and_then(|i| values.get(i.as_str()))
        else {
            continue;
        };
        let weight = graph
            .initializers
            .get(&node.inputs[1])
            .ok_or_else(|| format!("node `{}`: weights that are not an initializer", node.name))?;
        let dims: Vec<usize> = weight.dims.iter().map(|&d| d.max(0) as usize).collect();
        let &[out_channels, per_group, kh, kw] = dims.as_slice() else {
            return Err(format!("node `{}`: weights of shape {dims:?}", node.name));
        };
        let int = |name: &str| match node.attributes.get(name) {
            Some(Attribute::Int(v)) => Some(*v),
            Some(Attribute::Ints(v)) => v.first().copied(),
            _ => None,
        };
        let groups = int("group").unwrap_or(1).max(1) as usize;
        layers.push(ConvLayer {
            channels: per_group * groups,
            out_channels,
            kh,
            kw,
            height: (h as f64 / pitch).round() as usize,
            width: (w as f64 / pitch).round() as usize,
            padding: int("pads").unwrap_or(0).max(0) as usize,
            groups,
        });
    }
    Ok(layers)
}

/// The floating-point operations of the graph's convolutions for one `h x w` input image
/// (a multiply and an add per weight and output pixel), where the graph is local (see
/// [`receptive_field`]); a gradient into the input costs about as much again.
pub fn conv_flops(graph: &Graph, h: usize, w: usize) -> Result<f64, String> {
    Ok(conv_layers(graph, h, w)?.iter().map(ConvLayer::flops).sum())
}

/// Every value's [`Value`], or why one cannot be bounded.
fn walk(graph: &Graph) -> Result<HashMap<&str, Value>, String> {
    let input = graph
        .inputs
        .iter()
        .find(|v| !graph.initializers.contains_key(&v.name))
        .ok_or("the graph has no input")?;
    let mut values: HashMap<&str, Value> = HashMap::new();
    values.insert(
        &input.name,
        Value::Local {
            pitch: 1.0,
            reach: 0.0,
        },
    );
    let mut constants: HashMap<&str, &crate::ir::TensorData> = HashMap::new();
    for (name, t) in &graph.initializers {
        values.insert(name, Value::Constant);
        constants.insert(name, t);
    }
    for node in &graph.nodes {
        let inputs: Vec<Option<Value>> = node
            .inputs
            .iter()
            .map(|n| {
                if n.is_empty() {
                    Some(Value::Constant)
                } else {
                    values.get(n.as_str()).copied()
                }
            })
            .collect();
        let why = |m: &str| format!("node `{}` ({}): {m}", node.name, node.op_type);
        if inputs.iter().any(Option::is_none) {
            return Err(why("an input is not defined before it"));
        }
        let inputs: Vec<Value> = inputs.into_iter().flatten().collect();
        if node.op_type == "Constant" {
            if let Some(Attribute::Tensor(t)) = node.attributes.get("value") {
                if let Some(o) = node.outputs.first() {
                    constants.insert(o, t);
                }
            }
        }
        let out = if inputs.iter().all(|v| *v == Value::Constant) {
            if matches!(node.op_type.as_str(), "Shape" | "Size") {
                return Err(why("sizes computed from the input's shape"));
            }
            Value::Constant
        } else {
            transfer(node, &inputs, &constants).map_err(|m| why(&m))?
        };
        for o in &node.outputs {
            values.insert(o, out);
        }
    }
    Ok(values)
}

/// The value a node computes from non-constant inputs.
fn transfer(
    node: &Node,
    inputs: &[Value],
    constants: &HashMap<&str, &crate::ir::TensorData>,
) -> Result<Value, String> {
    let data = |i: usize| -> Option<(f64, f64)> {
        match inputs.get(i) {
            Some(Value::Local { pitch, reach }) => Some((*pitch, *reach)),
            _ => None,
        }
    };
    let (pitch, reach) = data(0).ok_or("its first input is a constant")?;
    let local = |pitch: f64, reach: f64| Ok(Value::Local { pitch, reach });
    match node.op_type.as_str() {
        "Relu" | "LeakyRelu" | "PRelu" | "Sigmoid" | "Tanh" | "Elu" | "Selu" | "Softplus"
        | "HardSigmoid" | "HardSwish" | "Erf" | "Gelu" | "Clip" | "Identity" | "Dropout"
        | "Cast" | "Neg" | "Abs" | "Exp" | "Log" | "Sqrt" | "Reciprocal" | "Round" | "Floor"
        | "Ceil" | "Sign" | "Mish" => {
            // Elementwise in the first input; the others (slopes, bounds) must be constant.
            if inputs[1..].iter().any(|v| *v != Value::Constant) {
                return Err("a non-constant parameter".into());
            }
            local(pitch, reach)
        }
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Sum" | "Mean" | "Where" => {
            // Elementwise with broadcasting: every pixel input on the same grid.
            let mut reach_max = 0.0f64;
            let mut grid = None;
            for v in inputs {
                if let Value::Local { pitch, reach } = *v {
                    match grid {
                        None => grid = Some(pitch),
                        Some(p) if (p - pitch).abs() > 1e-12 => {
                            return Err("inputs on grids of different pitches".into())
                        }
                        _ => {}
                    }
                    reach_max = reach_max.max(reach);
                }
            }
            if node.op_type == "Where" && inputs[0] != Value::Constant {
                return Err("a condition computed from the input".into());
            }
            local(grid.unwrap_or(pitch), reach_max)
        }
        "Concat" => {
            if node.int("axis", 1) != 1 {
                return Err("a concatenation along a spatial axis".into());
            }
            let mut reach_max = 0.0f64;
            for v in inputs {
                if let Value::Local { pitch: p, reach } = *v {
                    if (p - pitch).abs() > 1e-12 {
                        return Err("inputs on grids of different pitches".into());
                    }
                    reach_max = reach_max.max(reach);
                }
            }
            local(pitch, reach_max)
        }
        "Conv" => {
            if inputs[1..].iter().any(|v| *v != Value::Constant) {
                return Err("weights computed from the input".into());
            }
            let kernel: Vec<i64> = match node.ints("kernel_shape") {
                Some(k) => k.to_vec(),
                None => constants
                    .get(node.inputs[1].as_str())
                    .map(|w| w.dims[2..].to_vec())
                    .ok_or("a kernel of unknown size")?,
            };
            if kernel.len() != 2 {
                return Err("not a 2-D convolution".into());
            }
            let ones = [1i64, 1];
            let dilations = node.ints("dilations").unwrap_or(&ones);
            let strides = node.ints("strides").unwrap_or(&ones);
            let pads = node.ints("pads").map(<[i64]>::to_vec).unwrap_or(vec![0; 4]);
            let auto = node.string("auto_pad").unwrap_or("NOTSET");
            let mut extra = 0.0f64;
            for a in 0..2 {
                let span = (kernel[a] - 1) * dilations[a];
                let begin = match auto {
                    "SAME_UPPER" => span / 2,
                    "SAME_LOWER" => span - span / 2,
                    _ => pads[a],
                };
                // Output q reads input q * stride - begin + t * dilation, t in 0..kernel.
                extra = extra.max(begin.max(span - begin) as f64);
                if strides[a] != 1 {
                    return Err("a strided convolution".into());
                }
            }
            local(pitch, reach + extra * pitch)
        }
        "ConvTranspose" => Err("a transposed convolution".into()),
        "DepthToSpace" => {
            let b = node.int("blocksize", 1) as f64;
            // An output pixel is one of its input pixel's b x b children.
            local(pitch / b, reach + pitch)
        }
        "SpaceToDepth" => Err("a downsampling (SpaceToDepth)".into()),
        "Resize" | "Upsample" => {
            let scales = resize_scales(node, constants)?;
            if scales.len() != 4 || scales[0] != 1.0 || scales[1] != 1.0 {
                return Err("scales other than 1 on the batch or channel axis".into());
            }
            if scales[2] != scales[3] || scales[2] < 1.0 || scales[2].fract() != 0.0 {
                return Err(format!("scales {scales:?}: not one integer upscaling"));
            }
            let support = match node.string("mode").unwrap_or("nearest") {
                "nearest" => 1.0,
                "linear" | "bilinear" => 2.0,
                _ => 3.0,
            };
            local(pitch / scales[2], reach + support * pitch)
        }
        other => Err(format!(
            "`{other}` is not known to be local (a global pooling, attention over the image, \
             a reshape...)"
        )),
    }
}

/// The constant `scales` of a Resize (opset >= 11: input 2; opset 10: input 1) or Upsample.
fn resize_scales(
    node: &Node,
    constants: &HashMap<&str, &crate::ir::TensorData>,
) -> Result<Vec<f64>, String> {
    if node.inputs.get(3).is_some_and(|s| !s.is_empty()) {
        return Err("output sizes instead of scales".into());
    }
    let candidates = if node.op_type == "Upsample" || node.inputs.len() == 2 {
        [1usize, 1]
    } else {
        [2, 1]
    };
    for i in candidates {
        let Some(t) = node
            .inputs
            .get(i)
            .filter(|n| !n.is_empty())
            .and_then(|n| constants.get(n.as_str()))
        else {
            continue;
        };
        if let TensorValues::F32(v) = &t.values {
            if !v.is_empty() {
                return Ok(v.iter().map(|&x| x as f64).collect());
            }
        }
    }
    Err("scales that are not a constant".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::GraphBuilder;
    use crate::TensorData;

    fn conv(b: &mut GraphBuilder, x: &str, k: i64, dilation: i64, name: &str) -> String {
        b.initializer(
            name,
            TensorData::f32(vec![2, 2, k, k], vec![0.1; (4 * k * k) as usize]),
        );
        let pad = (k - 1) / 2 * dilation;
        b.op(
            "Conv",
            &[x, name],
            &[
                ("pads", Attribute::Ints(vec![pad; 4])),
                ("dilations", Attribute::Ints(vec![dilation; 2])),
            ],
        )
    }

    #[test]
    fn convolutions_add_their_reach_upsampling_divides_the_pitch() {
        let mut b = GraphBuilder::new("rf");
        b.input("x", &[1, 2, 8, 8]);
        let h = conv(&mut b, "x", 3, 1, "w1");
        let h = b.op("Relu", &[&h], &[]);
        let h = conv(&mut b, &h, 5, 2, "w2");
        let skip = b.op("Add", &[&h, "x"], &[]);
        let scales = b.constant(TensorData::f32(vec![4], vec![1.0, 1.0, 2.0, 2.0]));
        let up = b.op(
            "Resize",
            &[&skip, "", &scales],
            &[("mode", Attribute::String("nearest".into()))],
        );
        // After the x2 upsampling a 3 x 3 convolution reaches half an LR pixel per side.
        let y = conv(&mut b, &up, 3, 1, "w3");
        b.output(&y, &[1, 2, 16, 16]);
        let g = b.build().unwrap();
        // 1 + 4 (5 x 5 dilated by 2) + 1 (nearest) + 0.5 = 6.5 -> 7.
        assert_eq!(receptive_field(&g), Ok(ReceptiveField { radius: 7 }));
    }

    #[test]
    fn convolution_flops_follow_the_grid() {
        let mut b = GraphBuilder::new("flops");
        b.input("x", &[1, 2, 8, 8]);
        let h = conv(&mut b, "x", 3, 1, "w1");
        let scales = b.constant(TensorData::f32(vec![4], vec![1.0, 1.0, 2.0, 2.0]));
        let up = b.op("Resize", &[&h, "", &scales], &[]);
        let y = conv(&mut b, &up, 3, 1, "w2");
        b.output(&y, &[1, 2, 16, 16]);
        let g = b.build().unwrap();
        // 2 x (2 x 2 x 3 x 3) per pixel, on 8 x 8 and then on 16 x 16 pixels.
        assert_eq!(conv_flops(&g, 8, 8), Ok(72.0 * 64.0 + 72.0 * 256.0));
        let layers = conv_layers(&g, 8, 8).unwrap();
        let sizes: Vec<_> = layers
            .iter()
            .map(|l| (l.channels, l.out_channels, l.kh, l.height, l.padding))
            .collect();
        assert_eq!(sizes, [(2, 2, 3, 8, 1), (2, 2, 3, 16, 1)]);
    }

    #[test]
    fn a_global_pooling_has_no_receptive_field() {
        let mut b = GraphBuilder::new("global");
        b.input("x", &[1, 2, 8, 8]);
        let h = conv(&mut b, "x", 3, 1, "w1");
        let pooled = b.op("GlobalAveragePool", &[&h], &[]);
        let y = b.op("Mul", &[&h, &pooled], &[]);
        b.output(&y, &[1, 2, 8, 8]);
        let e = receptive_field(&b.build().unwrap()).unwrap_err();
        assert!(e.contains("GlobalAveragePool"), "{e}");
    }
}
