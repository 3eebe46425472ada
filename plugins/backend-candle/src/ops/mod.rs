//! The operators: which are supported, static checks at load time, and evaluation.

mod logic;
mod math;
pub use nn::prepare_kernels;
mod nn;
mod norm;
mod scatter;
mod shape;
mod sum_axes;

use std::sync::Arc;

use candle_core::{DType, Tensor};
use srlens_onnx::Node;

use crate::conv::ConvKernel;
use crate::convert::{floats, ints};
use crate::error::{Error, Result};

/// Every ONNX operator (default domain) this backend runs.
pub const SUPPORTED_OPS: &[&str] = &[
    "Abs",
    "Add",
    "And",
    "BatchNormalization",
    "Cast",
    "CastLike",
    "Ceil",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "ConvTranspose",
    "DepthToSpace",
    "Div",
    "Dropout",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "Flatten",
    "Floor",
    "Gather",
    "Gemm",
    "GlobalAveragePool",
    "Greater",
    "GreaterOrEqual",
    "Identity",
    "InstanceNormalization",
    "LayerNormalization",
    "LeakyRelu",
    "Less",
    "LessOrEqual",
    "LogSoftmax",
    "MatMul",
    "Max",
    "Min",
    "Mod",
    "Mul",
    "Neg",
    "NonZero",
    "Not",
    "Or",
    "Pad",
    "Pow",
    "PRelu",
    "Range",
    "Reciprocal",
    "ReduceL1",
    "ReduceL2",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
    "Relu",
    "Reshape",
    "Resize",
    "ScatterElements",
    "ScatterND",
    "Shape",
    "Sigmoid",
    "Slice",
    "Softmax",
    "SpaceToDepth",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "Unsqueeze",
    "Upsample",
    "Where",
    "Xor",
];

/// What a node's evaluation may use besides its inputs.
pub struct NodeCtx<'a> {
    /// The node.
    pub node: &'a Node,
    /// The floating-point type the graph runs in.
    pub dtype: DType,
    /// The graph's default-domain opset.
    pub opset: i64,
    /// Kernels prepared at load time (one per group) for `Conv`/`ConvTranspose` nodes whose
    /// weight is a constant.
    pub kernels: Option<&'a [Arc<ConvKernel>]>,
}

/// Checks at load time that `node` is supported, with the settings it uses.
pub fn check(node: &Node) -> Result<()> {
    if !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return Err(Error::unsupported(format!(
            "operator domain `{}` (op `{}`) is not supported: only the default ONNX domain is",
            node.domain, node.op_type
        )));
    }
    if !SUPPORTED_OPS.contains(&node.op_type.as_str()) {
        return Err(Error::unsupported(format!(
            "operator `{}` is not supported by the candle backend; supported operators: {}",
            node.op_type,
            SUPPORTED_OPS.join(", ")
        )));
    }
    match node.op_type.as_str() {
        "Conv" | "ConvTranspose" => nn::check_conv(node),
        "Resize" | "Upsample" => nn::check_resize(node),
        "Pad" => nn::check_pad(node),
        "BatchNormalization" if node.int("training_mode", 0) != 0 => Err(Error::unsupported(
            "BatchNormalization in training mode is not supported (inference only)",
        )),
        "ScatterND" | "ScatterElements" => scatter::check(node),
        _ => Ok(()),
    }
}

/// Evaluates one node on its inputs (`None` for omitted optional inputs).
pub fn eval(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Vec<Tensor>> {
    let n = ctx.node;
    let one = |t: Tensor| Ok(vec![t]);
    match n.op_type.as_str() {
        "Identity" => one(req(inputs, 0)?.clone()),
        // Inference: the input unchanged, and a mask that keeps everything.
        "Dropout" => {
            let x = req(inputs, 0)?;
            let training = opt(inputs, 2)
                .map(ints)
                .transpose()?
                .is_some_and(|v| v[0] != 0);
            let ratio = opt(inputs, 1)
                .map(floats)
                .transpose()?
                .map_or(0.5, |v| v[0]);
            if training && ratio != 0.0 {
                return Err(Error::unsupported(
                    "Dropout in training mode (random) is not supported (inference only)",
                ));
            }
            Ok(vec![x.clone(), x.ones_like()?.to_dtype(DType::U8)?])
        }
        "Add" | "Sub" | "Mul" | "Div" | "Pow" => one(math::binary(ctx, inputs)?),
        "Abs" | "Neg" | "Exp" | "Sqrt" | "Reciprocal" | "Relu" | "Sigmoid" | "Tanh"
        | "LeakyRelu" | "Erf" | "Floor" | "Ceil" => one(math::unary(ctx, req(inputs, 0)?)?),
        "PRelu" => one(math::prelu(req(inputs, 0)?, req(inputs, 1)?)?),
        "Clip" => one(math::clip(ctx, inputs)?),
        "MatMul" => one(math::matmul(req(inputs, 0)?, req(inputs, 1)?)?),
        "Gemm" => one(math::gemm(ctx, inputs)?),
        "ReduceMean" | "ReduceSum" | "ReduceSumSquare" | "ReduceL1" | "ReduceL2" | "ReduceProd"
        | "ReduceMax" | "ReduceMin" => one(math::reduce(ctx, inputs)?),
        "Softmax" | "LogSoftmax" => one(norm::softmax(ctx, req(inputs, 0)?)?),
        "LayerNormalization" => norm::layer_norm(ctx, inputs),
        "InstanceNormalization" => one(norm::instance_norm(ctx, inputs)?),
        "Equal" | "Greater" | "GreaterOrEqual" | "Less" | "LessOrEqual" => {
            one(logic::compare(ctx, inputs)?)
        }
        "Not" => one(logic::not(req(inputs, 0)?)?),
        "And" | "Or" | "Xor" => one(logic::logical(ctx, inputs)?),
        "Where" => one(logic::where_(ctx, inputs)?),
        "Min" | "Max" => one(logic::min_max(ctx, inputs)?),
        "Mod" => one(logic::modulo(ctx, inputs)?),
        "Range" => one(logic::range(ctx, inputs)?),
        "Expand" => one(shape::expand(req(inputs, 0)?, req(inputs, 1)?)?),
        "ScatterND" => one(scatter::scatter_nd(ctx, inputs)?),
        "ScatterElements" => one(scatter::scatter_elements(ctx, inputs)?),
        "Split" => shape::split(ctx, inputs),
        "NonZero" => one(shape::non_zero(req(inputs, 0)?)?),
        "CastLike" => one(shape::cast_like(req(inputs, 0)?, req(inputs, 1)?)?),
        "Sum" => one(math::sum(ctx, inputs)?),
        "GlobalAveragePool" => one(math::global_average_pool(req(inputs, 0)?)?),
        "BatchNormalization" => one(math::batch_norm(ctx, inputs)?),
        "Conv" => one(nn::conv(ctx, inputs)?),
        "ConvTranspose" => one(nn::conv_transpose(ctx, inputs)?),
        "DepthToSpace" => one(nn::depth_to_space(ctx, req(inputs, 0)?)?),
        "SpaceToDepth" => one(nn::space_to_depth(ctx, req(inputs, 0)?)?),
        "Resize" | "Upsample" => one(nn::resize(ctx, inputs)?),
        "Pad" => one(nn::pad(ctx, inputs)?),
        "Concat" => one(shape::concat(ctx, inputs)?),
        "Reshape" => one(shape::reshape(ctx, inputs)?),
        "Transpose" => one(shape::transpose(ctx, req(inputs, 0)?)?),
        "Flatten" => one(shape::flatten(ctx, req(inputs, 0)?)?),
        "Constant" => one(shape::constant(ctx)?),
        "Shape" => one(shape::shape(ctx, req(inputs, 0)?)?),
        "Gather" => one(shape::gather(ctx, req(inputs, 0)?, req(inputs, 1)?)?),
        "Unsqueeze" => one(shape::unsqueeze(ctx, inputs)?),
        "Squeeze" => one(shape::squeeze(ctx, inputs)?),
        "Slice" => one(shape::slice(ctx, inputs)?),
        "Cast" => one(shape::cast(ctx, req(inputs, 0)?)?),
        "ConstantOfShape" => one(shape::constant_of_shape(ctx, req(inputs, 0)?)?),
        other => Err(Error::unsupported(format!(
            "operator `{other}` is not supported"
        ))),
    }
}

/// Input `i`, which must be present.
fn req(inputs: &[Option<Tensor>], i: usize) -> Result<&Tensor> {
    inputs
        .get(i)
        .and_then(|t| t.as_ref())
        .ok_or_else(|| Error::Input(format!("input {i} is missing")))
}

/// Input `i`, if present.
fn opt(inputs: &[Option<Tensor>], i: usize) -> Option<&Tensor> {
    inputs.get(i).and_then(|t| t.as_ref())
}

/// `axis` (possibly negative) as an index into `rank` dimensions.
fn axis(axis: i64, rank: usize) -> Result<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if a < 0 || a >= rank as i64 {
        return Err(Error::Input(format!(
            "axis {axis} is out of range for rank {rank}"
        )));
    }
    Ok(a as usize)
}

/// Whether `t` holds floating-point values.
fn is_float(t: &Tensor) -> bool {
    t.dtype().is_float()
}
