//! The gradient rules: for one node, the cotangents of its active inputs from the cotangents
//! of its outputs, as standard ONNX nodes.

mod elementwise;
mod layout;
mod linear;
mod norm;
mod pad_slice;
mod reduce;

use super::emit::Emitter;
use crate::ir::Node;

/// Why a rule cannot differentiate a node: what would be needed (the driver adds the node).
pub type RuleError = String;

/// What a rule sees of the node it differentiates.
pub struct Site<'a> {
    /// The node.
    pub node: &'a Node,
    /// Which inputs carry a gradient (depend on the differentiated input).
    pub active: Vec<bool>,
    /// The cotangent of each output (`None`: the output does not reach the objective).
    pub grads: Vec<Option<String>>,
    /// The graph's default-domain opset.
    pub opset: i64,
}

impl Site<'_> {
    /// Input `i`'s name.
    pub fn input(&self, i: usize) -> &str {
        self.node.inputs.get(i).map(String::as_str).unwrap_or("")
    }

    /// The first output's name.
    pub fn output(&self) -> &str {
        &self.node.outputs[0]
    }

    /// The first output's cotangent (the rules of one-output operators read only this).
    pub fn grad(&self) -> Result<&str, RuleError> {
        self.grads
            .first()
            .and_then(|g| g.as_deref())
            .ok_or_else(|| "its first output has no cotangent".to_string())
    }

    /// Whether input `i` is active.
    pub fn is_active(&self, i: usize) -> bool {
        self.active.get(i).copied().unwrap_or(false)
    }

    /// An error unless only the inputs in `allowed` are active.
    pub fn only_active(&self, allowed: &[usize], what: &str) -> Result<(), RuleError> {
        match (0..self.active.len()).find(|i| self.active[*i] && !allowed.contains(i)) {
            Some(i) => Err(format!(
                "input {i} (`{}`) depends on the image, and the rule covers only {what}",
                self.input(i)
            )),
            None => Ok(()),
        }
    }
}

/// The ranks of input `i` and of the first output, which the rule needs.
pub fn ranks(em: &Emitter, site: &Site, i: usize) -> Result<(usize, usize), RuleError> {
    let (x, y) = (site.input(i), site.output());
    match (em.known.rank(x), em.known.rank(y)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(format!(
            "the rank of `{x}` or `{y}` is not known from the graph (give the input a shape)"
        )),
    }
}

/// Every operator with a gradient rule.
pub const DIFFERENTIABLE_OPS: &[&str] = &[
    "Abs",
    "Add",
    "BatchNormalization",
    "Cast",
    "Clip",
    "Concat",
    "Conv",
    "ConvTranspose",
    "DepthToSpace",
    "Div",
    "Dropout",
    "Erf",
    "Exp",
    "Expand",
    "Flatten",
    "Gemm",
    "GlobalAveragePool",
    "Gather",
    "Identity",
    "InstanceNormalization",
    "LayerNormalization",
    "LeakyRelu",
    "MatMul",
    "Mul",
    "Neg",
    "Pad",
    "Pow",
    "PRelu",
    "Reciprocal",
    "ReduceL2",
    "ReduceMean",
    "ReduceSum",
    "Relu",
    "Reshape",
    "Resize",
    "Sigmoid",
    "Slice",
    "Softmax",
    "SpaceToDepth",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Tanh",
    "Transpose",
    "Unsqueeze",
    "Upsample",
    "Where",
];

/// Operators whose outputs carry no gradient (shapes, comparisons, constants, indices).
pub const CONSTANT_OPS: &[&str] = &[
    "Shape",
    "Size",
    "Constant",
    "ConstantOfShape",
    "NonZero",
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "And",
    "Or",
    "Not",
    "Xor",
    "IsNaN",
    "IsInf",
    "ArgMax",
    "ArgMin",
    "Sign",
    "Floor",
    "Ceil",
    "Round",
    "Range",
    "EyeLike",
];

/// The cotangents of the node's inputs (`None` for inactive ones).
pub fn apply(em: &mut Emitter, site: &Site) -> Result<Vec<Option<String>>, RuleError> {
    let mut out: Vec<Option<String>> = vec![None; site.node.inputs.len()];
    let op = site.node.op_type.as_str();
    match op {
        "Identity" | "Dropout" => {
            site.only_active(&[0], "its data input")?;
            out[0] = Some(em.op("Identity", &[site.grad()?], &[]));
        }
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "PRelu" | "Where" | "Expand" | "Clip" => {
            out = elementwise::binary(em, site)?;
        }
        "Abs" | "Neg" | "Exp" | "Sqrt" | "Reciprocal" | "Relu" | "Sigmoid" | "Tanh"
        | "LeakyRelu" | "Erf" | "Cast" => {
            site.only_active(&[0], "its data input")?;
            out[0] = Some(elementwise::unary(em, site)?);
        }
        "Conv" | "ConvTranspose" => {
            site.only_active(&[0], "the image input (weights are constants)")?;
            out[0] = Some(linear::conv(em, site)?);
        }
        "MatMul" | "Gemm" => out = linear::matmul(em, site)?,
        "BatchNormalization" => {
            site.only_active(&[0], "the data input (inference mode, constant statistics)")?;
            out[0] = Some(linear::batch_norm(em, site)?);
        }
        "ReduceSum" | "ReduceMean" | "ReduceL2" | "GlobalAveragePool" | "Softmax" => {
            site.only_active(&[0], "its data input")?;
            out[0] = Some(reduce::rule(em, site)?);
        }
        "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" | "Transpose" | "DepthToSpace"
        | "SpaceToDepth" | "Resize" | "Upsample" | "Pad" | "Slice" => {
            site.only_active(
                &[0],
                "its data input (shapes, pads and scales are constants)",
            )?;
            out[0] = Some(layout::rule(em, site)?);
        }
        "Concat" => out = layout::concat(em, site)?,
        "Split" => {
            site.only_active(&[0], "its data input (constant split sizes)")?;
            out[0] = Some(layout::split(em, site)?);
        }
        "Gather" => {
            site.only_active(&[0], "its data input (the indices are integers)")?;
            out[0] = Some(layout::gather(em, site)?);
        }
        "LayerNormalization" | "InstanceNormalization" => {
            site.only_active(&[0], "the data input (constant scale and bias)")?;
            out[0] = Some(norm::rule(em, site)?);
        }
        other => {
            return Err(format!(
                "there is no gradient rule for `{other}`; operators with rules: {}",
                DIFFERENTIABLE_OPS.join(", ")
            ))
        }
    }
    Ok(out)
}
