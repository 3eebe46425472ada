//! Element-wise arithmetic, activations, matrix products and reductions.

use candle_core::{DType, Tensor};

use super::{axis, is_float, opt, req, NodeCtx};
use crate::convert::{floats, ints};
use crate::error::{Error, Result};

/// `Add`, `Sub`, `Mul`, `Div`, `Pow` with numpy broadcasting. Mixed integer/float operands
/// are computed in floating point.
pub fn binary(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let (mut a, mut b) = (req(inputs, 0)?.clone(), req(inputs, 1)?.clone());
    if is_float(&a) != is_float(&b) || (is_float(&a) && a.dtype() != b.dtype()) {
        a = a.to_dtype(ctx.dtype)?;
        b = b.to_dtype(ctx.dtype)?;
    }
    let out = match ctx.node.op_type.as_str() {
        "Add" => a.broadcast_add(&b)?,
        "Sub" => a.broadcast_sub(&b)?,
        "Mul" => a.broadcast_mul(&b)?,
        "Div" => a.broadcast_div(&b)?,
        _ => pow(&a, &b)?,
    };
    Ok(out)
}

/// Variadic `Sum` with numpy broadcasting (mixed integer/float operands in floating point).
pub fn sum(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let ts: Vec<&Tensor> = inputs.iter().flatten().collect();
    let first = ts
        .first()
        .ok_or_else(|| Error::Input("Sum has no inputs".into()))?;
    let any_float = ts.iter().any(|t| is_float(t));
    let fit = |t: &Tensor| -> Result<Tensor> {
        Ok(if any_float && t.dtype() != ctx.dtype {
            t.to_dtype(ctx.dtype)?
        } else if !any_float && t.dtype() != candle_core::DType::I64 {
            t.to_dtype(candle_core::DType::I64)?
        } else {
            t.clone()
        })
    };
    let mut acc = fit(first)?;
    for t in &ts[1..] {
        acc = acc.broadcast_add(&fit(t)?)?;
    }
    Ok(acc)
}

/// `a ^ b`: a scalar exponent uses `powf` (exact for negative bases with integer exponents);
/// a tensor exponent uses `exp(b ln a)`, defined for positive bases only.
fn pow(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if !is_float(a) {
        return Err(Error::unsupported(
            "Pow on integer tensors is not supported",
        ));
    }
    if b.elem_count() == 1 {
        let e = floats(b)?[0];
        let out = if e == 2.0 {
            a.sqr()?
        } else if e == 1.0 {
            a.clone()
        } else if e == 0.5 {
            a.sqrt()?
        } else {
            a.powf(e)?
        };
        // Broadcasting against a scalar may still add leading dimensions.
        let shape = a.shape().broadcast_shape_binary_op(b.shape(), "pow")?;
        return Ok(out.broadcast_as(shape)?.contiguous()?);
    }
    let b = b.to_dtype(a.dtype())?;
    Ok(a.log()?.broadcast_mul(&b)?.exp()?)
}

/// One-input activations and element-wise functions.
pub fn unary(ctx: &NodeCtx<'_>, x: &Tensor) -> Result<Tensor> {
    if !is_float(x) {
        return integer_unary(ctx, x);
    }
    let out = match ctx.node.op_type.as_str() {
        "Abs" => x.abs()?,
        "Neg" => x.neg()?,
        "Exp" => x.exp()?,
        "Sqrt" => x.sqrt()?,
        "Reciprocal" => x.recip()?,
        "Relu" => x.relu()?,
        "Tanh" => x.tanh()?,
        "Erf" => x.erf()?,
        // Piecewise constant: no gradient flows through them.
        "Floor" => x.detach().floor()?,
        "Ceil" => x.detach().ceil()?,
        // 1 / (1 + e^-x) written with tanh, whose gradient never overflows.
        "Sigmoid" => x.affine(0.5, 0.0)?.tanh()?.affine(0.5, 0.5)?,
        _ => {
            let alpha = ctx.node.float("alpha", 0.01) as f64;
            (x.relu()? - x.neg()?.relu()?.affine(alpha, 0.0)?)?
        }
    };
    Ok(out)
}

/// `Abs`, `Neg`, `Relu`, `Floor`, `Ceil` on integers, exactly (candle has no integer unary
/// kernels); the other functions are defined on floats only.
fn integer_unary(ctx: &NodeCtx<'_>, x: &Tensor) -> Result<Tensor> {
    let op = ctx.node.op_type.as_str();
    let f: fn(i64) -> i64 = match op {
        "Abs" => i64::wrapping_abs,
        "Neg" => i64::wrapping_neg,
        "Relu" => |v| v.max(0),
        "Floor" | "Ceil" => |v| v,
        _ => {
            return Err(Error::unsupported(format!(
                "{op} on integer tensors is not supported"
            )))
        }
    };
    let v: Vec<i64> = ints(x)?.into_iter().map(f).collect();
    Ok(Tensor::from_vec(v, x.dims(), x.device())?.to_dtype(x.dtype())?)
}

/// `PRelu`: `x` where positive, `slope * x` elsewhere; `slope` broadcasts to `x`.
pub fn prelu(x: &Tensor, slope: &Tensor) -> Result<Tensor> {
    let slope = slope.to_dtype(x.dtype())?;
    Ok(x.relu()?
        .broadcast_sub(&x.neg()?.relu()?.broadcast_mul(&slope)?)?)
}

/// `Clip`: bounds from inputs (opset 11+) or attributes (older opsets).
pub fn clip(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let x = req(inputs, 0)?;
    let (lo, hi) = if ctx.opset >= 11 {
        let lo = opt(inputs, 1).map(floats).transpose()?.map(|v| v[0]);
        let hi = opt(inputs, 2).map(floats).transpose()?.map(|v| v[0]);
        (lo, hi)
    } else {
        let n = ctx.node;
        (
            n.attributes
                .get("min")
                .map(|_| n.float("min", f32::MIN) as f64),
            n.attributes
                .get("max")
                .map(|_| n.float("max", f32::MAX) as f64),
        )
    };
    let mut y = x.clone();
    if let Some(lo) = lo {
        y = y.maximum(lo)?;
    }
    if let Some(hi) = hi {
        y = y.minimum(hi)?;
    }
    Ok(y)
}

/// `MatMul` with numpy semantics (1-D operands are promoted, batch dimensions broadcast).
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (a1, b1) = (a.rank() == 1, b.rank() == 1);
    let a = if a1 { a.unsqueeze(0)? } else { a.clone() };
    let b = if b1 { b.unsqueeze(1)? } else { b.clone() };
    let mut y = a.contiguous()?.broadcast_matmul(&b.contiguous()?)?;
    if b1 {
        y = y.squeeze(y.rank() - 1)?;
    }
    if a1 {
        y = y.squeeze(y.rank() - if b1 { 1 } else { 2 })?;
    }
    Ok(y)
}

/// `Gemm`: `alpha * A' B' + beta * C`.
pub fn gemm(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let n = ctx.node;
    let mut a = req(inputs, 0)?.clone();
    let mut b = req(inputs, 1)?.clone();
    if n.int("transA", 0) != 0 {
        a = a.t()?;
    }
    if n.int("transB", 0) != 0 {
        b = b.t()?;
    }
    let mut y = a.contiguous()?.matmul(&b.contiguous()?)?;
    let alpha = n.float("alpha", 1.0) as f64;
    if alpha != 1.0 {
        y = y.affine(alpha, 0.0)?;
    }
    if let Some(c) = opt(inputs, 2) {
        let beta = n.float("beta", 1.0) as f64;
        let c = c.to_dtype(y.dtype())?;
        let c = if beta != 1.0 { c.affine(beta, 0.0)? } else { c };
        y = y.broadcast_add(&c)?;
    }
    Ok(y)
}

/// `ReduceMean`, `ReduceSum`, `ReduceSumSquare`, `ReduceL1`, `ReduceL2`, `ReduceProd`,
/// `ReduceMax` and `ReduceMin` (axes from the attribute or, in newer opsets, an input).
pub fn reduce(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let n = ctx.node;
    let x = req(inputs, 0)?;
    let rank = x.rank();
    let axes: Vec<i64> = match opt(inputs, 1) {
        Some(t) => ints(t)?,
        None => n.ints("axes").map(|v| v.to_vec()).unwrap_or_default(),
    };
    if axes.is_empty() && n.int("noop_with_empty_axes", 0) != 0 {
        return Ok(x.clone());
    }
    let mut dims: Vec<usize> = if axes.is_empty() {
        (0..rank).collect()
    } else {
        axes.iter().map(|&a| axis(a, rank)).collect::<Result<_>>()?
    };
    dims.sort_unstable();
    dims.dedup();
    let extremum = matches!(n.op_type.as_str(), "ReduceMax" | "ReduceMin");
    let keep = n.int("keepdims", 1) != 0;
    if extremum && dims.iter().any(|&d| x.dims()[d] == 0) {
        return empty_extremum(x, &dims, keep, n.op_type == "ReduceMax");
    }
    let mut y = match n.op_type.as_str() {
        "ReduceMean" => x.mean_keepdim(dims.clone())?,
        "ReduceSumSquare" => x.sqr()?.sum_keepdim(dims.clone())?,
        "ReduceL1" => x.abs()?.sum_keepdim(dims.clone())?,
        "ReduceL2" => x.sqr()?.sum_keepdim(dims.clone())?.sqrt()?,
        "ReduceProd" => {
            let mut y = x.clone();
            for &d in &dims {
                y = product_along(&y, d)?;
            }
            y
        }
        _ if extremum => {
            let mut y = x.clone();
            for &d in &dims {
                y = if n.op_type == "ReduceMax" {
                    y.max_keepdim(d)?
                } else {
                    y.min_keepdim(d)?
                };
            }
            y
        }
        _ => match super::sum_axes::sum_keepdim(x, &dims)? {
            Some(y) => y,
            None => x.sum_keepdim(dims.clone())?,
        },
    };
    if !keep {
        for &d in dims.iter().rev() {
            y = y.squeeze(d)?;
        }
    }
    Ok(y)
}

/// The product along `dim` (kept as size 1) as a chain of multiplications of its slices
/// (differentiable; an empty axis gives ones).
fn product_along(x: &Tensor, dim: usize) -> Result<Tensor> {
    let len = x.dim(dim)?;
    if len == 0 {
        let mut shape = x.dims().to_vec();
        shape[dim] = 1;
        return Ok(Tensor::ones(shape, x.dtype(), x.device())?);
    }
    let mut y = x.narrow(dim, 0, 1)?;
    for k in 1..len {
        y = y.mul(&x.narrow(dim, k, 1)?)?;
    }
    Ok(y)
}

/// `ReduceMax` / `ReduceMin` over an empty axis: the identity of the reduction (-inf / inf,
/// the type's lowest / highest integer, false / true).
fn empty_extremum(x: &Tensor, dims: &[usize], keep: bool, max: bool) -> Result<Tensor> {
    let shape: Vec<usize> = x
        .dims()
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (dims.contains(&i), keep) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    let dev = x.device();
    Ok(match x.dtype() {
        DType::U8 => Tensor::full(u8::from(!max), shape, dev)?,
        DType::I64 => Tensor::full(if max { i64::MIN } else { i64::MAX }, shape, dev)?,
        dt => {
            let v = if max {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
            Tensor::full(v, shape, dev)?.to_dtype(dt)?
        }
    })
}

/// `GlobalAveragePool`: the mean over every spatial dimension, kept as size 1.
pub fn global_average_pool(x: &Tensor) -> Result<Tensor> {
    let dims: Vec<usize> = (2..x.rank()).collect();
    Ok(x.mean_keepdim(dims)?)
}

/// `BatchNormalization` in inference mode.
pub fn batch_norm(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let x = req(inputs, 0)?;
    let eps = ctx.node.float("epsilon", 1e-5) as f64;
    let mut shape = vec![1usize; x.rank()];
    shape[1] = x.dim(1)?;
    let p = |i: usize| -> Result<Tensor> {
        Ok(req(inputs, i)?
            .to_dtype(DType::F64)?
            .reshape(shape.clone())?)
    };
    let (scale, bias, mean, var) = (p(1)?, p(2)?, p(3)?, p(4)?);
    let mul = scale.broadcast_div(&var.affine(1.0, eps)?.sqrt()?)?;
    let add = bias.broadcast_sub(&mean.broadcast_mul(&mul)?)?;
    Ok(x.broadcast_mul(&mul.to_dtype(x.dtype())?)?
        .broadcast_add(&add.to_dtype(x.dtype())?)?)
}
