//! Comparisons, boolean logic, `Where`, element-wise `Min`/`Max`, `Mod` and `Range`: the
//! operators exporters emit for masks (shifted-window attention) and shape arithmetic.
//! Booleans are `U8` tensors holding 0 or 1.

use candle_core::{DType, Shape, Tensor};

use super::{is_float, req, NodeCtx};
use crate::convert::{floats, ints, DEVICE};
use crate::error::{Error, Result};

/// `a` and `b` in one type: unchanged when they agree, the graph's float type when either is
/// a float, else `I64`.
fn unify(ctx: &NodeCtx<'_>, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    if a.dtype() == b.dtype() {
        return Ok((a.clone(), b.clone()));
    }
    let to = if is_float(a) || is_float(b) {
        ctx.dtype
    } else {
        DType::I64
    };
    Ok((a.to_dtype(to)?, b.to_dtype(to)?))
}

/// The numpy broadcast of `shapes`.
fn broadcast_shape(op: &'static str, shapes: &[&Shape]) -> Result<Shape> {
    let mut out = shapes[0].clone();
    for s in &shapes[1..] {
        out = out.broadcast_shape_binary_op(s, op)?;
    }
    Ok(out)
}

/// `t` as a boolean (`U8` 0/1) tensor: non-zero is true.
fn boolean(t: &Tensor) -> Result<Tensor> {
    Ok(if t.dtype() == DType::U8 {
        t.clone()
    } else {
        t.ne(0.0f64)?
    })
}

/// `Equal`, `Greater`, `GreaterOrEqual`, `Less`, `LessOrEqual` with broadcasting.
pub fn compare(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let (a, b) = unify(ctx, req(inputs, 0)?, req(inputs, 1)?)?;
    Ok(match ctx.node.op_type.as_str() {
        "Equal" => a.broadcast_eq(&b)?,
        "Greater" => a.broadcast_gt(&b)?,
        "GreaterOrEqual" => a.broadcast_ge(&b)?,
        "Less" => a.broadcast_lt(&b)?,
        _ => a.broadcast_le(&b)?,
    })
}

/// `Not`.
pub fn not(x: &Tensor) -> Result<Tensor> {
    Ok(boolean(x)?.eq(0u8)?)
}

/// `And`, `Or`, `Xor` with broadcasting.
pub fn logical(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let a = boolean(req(inputs, 0)?)?;
    let b = boolean(req(inputs, 1)?)?;
    Ok(match ctx.node.op_type.as_str() {
        "And" => a.broadcast_mul(&b)?,
        "Or" => a.broadcast_maximum(&b)?,
        _ => a.broadcast_ne(&b)?,
    })
}

/// `Where(condition, x, y)` with the three broadcast together (differentiable in `x`, `y`).
pub fn where_(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let cond = boolean(req(inputs, 0)?)?;
    let (x, y) = unify(ctx, req(inputs, 1)?, req(inputs, 2)?)?;
    let shape = broadcast_shape("where", &[cond.shape(), x.shape(), y.shape()])?;
    let fit = |t: &Tensor| -> Result<Tensor> {
        Ok(if t.shape() == &shape {
            t.clone()
        } else {
            t.broadcast_as(&shape)?
        })
    };
    Ok(fit(&cond)?.where_cond(&fit(&x)?, &fit(&y)?)?)
}

/// Variadic `Min` and `Max` with broadcasting (ties share the gradient equally).
pub fn min_max(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let mut ts = inputs.iter().flatten();
    let mut acc = ts
        .next()
        .ok_or_else(|| Error::Input(format!("{} has no inputs", ctx.node.op_type)))?
        .clone();
    for t in ts {
        let (a, b) = unify(ctx, &acc, t)?;
        acc = if ctx.node.op_type == "Min" {
            a.broadcast_minimum(&b)?
        } else {
            a.broadcast_maximum(&b)?
        };
    }
    Ok(acc)
}

/// `Mod`: integers exactly, with the sign of the divisor (`fmod = 0`, Python's `%`) or of the
/// dividend (`fmod = 1`, C's `fmod`); floats as `a - b * trunc(a / b)` (or `floor` for
/// `fmod = 0`), differentiable in both operands.
pub fn modulo(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let (a, b) = unify(ctx, req(inputs, 0)?, req(inputs, 1)?)?;
    let fmod = ctx.node.int("fmod", 0) != 0;
    let shape = broadcast_shape("mod", &[a.shape(), b.shape()])?;
    if is_float(&a) {
        return float_mod(&a, &b, &shape, fmod);
    }
    let flat = |t: &Tensor| ints(&t.broadcast_as(&shape)?.contiguous()?);
    let (va, vb) = (flat(&a)?, flat(&b)?);
    let v = va
        .iter()
        .zip(&vb)
        .map(|(&x, &y)| {
            if y == 0 {
                return Err(Error::Input("Mod by zero".into()));
            }
            let r = x.wrapping_rem(y);
            Ok(if !fmod && r != 0 && (r < 0) != (y < 0) {
                r + y
            } else {
                r
            })
        })
        .collect::<Result<Vec<i64>>>()?;
    Ok(Tensor::from_vec(v, shape, &DEVICE)?)
}

/// Float `Mod`: where both operands are finite and the divisor non-zero, `a - b * q` with the
/// integer quotient `q` held constant (gradient 1 in `a`, `-q` in `b`); elsewhere (infinities,
/// division by zero) the constant IEEE result, as numpy's `fmod` (`fmod = 1`) or `mod`.
fn float_mod(a: &Tensor, b: &Tensor, shape: &Shape, fmod: bool) -> Result<Tensor> {
    let (a, b) = (a.broadcast_as(shape)?, b.broadcast_as(shape)?);
    let (va, vb) = (floats(&a.contiguous()?)?, floats(&b.contiguous()?)?);
    let n = va.len();
    let (mut q, mut exact, mut regular) = (vec![0f64; n], vec![0f64; n], vec![0u8; n]);
    for i in 0..n {
        let (x, y) = (va[i], vb[i]);
        let mut r = x % y;
        if !fmod {
            if r != 0.0 && (r < 0.0) != (y < 0.0) {
                r += y;
            } else if r == 0.0 {
                r = 0f64.copysign(y);
            }
        }
        exact[i] = r;
        if x.is_finite() && y.is_finite() && y != 0.0 {
            regular[i] = 1;
            q[i] = ((x - r) / y).round();
        }
    }
    let dt = a.dtype();
    let t =
        |v: Vec<f64>| -> Result<Tensor> { Ok(Tensor::from_vec(v, shape, &DEVICE)?.to_dtype(dt)?) };
    let regular = Tensor::from_vec(regular, shape, &DEVICE)?;
    let smooth = a.sub(&b.mul(&t(q)?)?)?;
    Ok(regular.where_cond(&smooth, &t(exact)?)?)
}

/// `Range(start, limit, delta)`: `max(ceil((limit - start) / delta), 0)` values.
pub fn range(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let (start, limit, delta) = (req(inputs, 0)?, req(inputs, 1)?, req(inputs, 2)?);
    if [start, limit, delta].iter().any(|t| t.elem_count() != 1) {
        return Err(Error::Input("Range takes three scalars".into()));
    }
    if [start, limit, delta].iter().any(|t| is_float(t)) {
        let (s, l, d) = (floats(start)?[0], floats(limit)?[0], floats(delta)?[0]);
        if d == 0.0 {
            return Err(Error::Input("Range with delta 0".into()));
        }
        let n = ((l - s) / d).ceil().max(0.0) as usize;
        let v: Vec<f64> = (0..n).map(|i| s + i as f64 * d).collect();
        return Ok(Tensor::from_vec(v, n, &DEVICE)?.to_dtype(ctx.dtype)?);
    }
    let (s, l, d) = (ints(start)?[0], ints(limit)?[0], ints(delta)?[0]);
    if d == 0 {
        return Err(Error::Input("Range with delta 0".into()));
    }
    let n = ((l - s) as f64 / d as f64).ceil().max(0.0) as usize;
    let v: Vec<i64> = (0..n as i64).map(|i| s + i * d).collect();
    Ok(Tensor::from_vec(v, n, &DEVICE)?)
}
