//! Shape manipulation and constants: also evaluates the int64 shape arithmetic that
//! exporters emit (`Shape` -> `Gather` -> `Unsqueeze` -> `Concat` -> `Reshape`).

use candle_core::{DType, Tensor};
use srlens_onnx::{Attribute, TensorData};

use super::{axis, is_float, opt, req, NodeCtx};
use crate::convert::{constant as to_tensor, ints, DEVICE};
use crate::error::{Error, Result};

fn list(values: &[i64]) -> Result<Tensor> {
    Ok(Tensor::from_slice(values, values.len(), &DEVICE)?)
}

/// The axes of a node: from input `i` in newer opsets, else from the `axes` attribute.
fn axes_of(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>], i: usize) -> Result<Option<Vec<i64>>> {
    match opt(inputs, i) {
        Some(t) => Ok(Some(ints(t)?)),
        None => Ok(ctx.node.ints("axes").map(|v| v.to_vec())),
    }
}

/// `Concat` along `axis`; integer and float operands are unified in floating point.
pub fn concat(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let ts: Vec<Tensor> = inputs.iter().flatten().cloned().collect();
    let first = ts
        .first()
        .ok_or_else(|| Error::Input("Concat has no inputs".into()))?;
    let a = axis(ctx.node.int("axis", 0), first.rank())?;
    let any_float = ts.iter().any(is_float);
    let ts: Vec<Tensor> = ts
        .into_iter()
        .map(|t| {
            if any_float && !is_float(&t) {
                t.to_dtype(ctx.dtype)
            } else {
                Ok(t)
            }
        })
        .collect::<candle_core::Result<_>>()?;
    let non_empty: Vec<&Tensor> = ts.iter().filter(|t| t.elem_count() > 0).collect();
    if non_empty.is_empty() {
        return Ok(Tensor::cat(&ts, a)?);
    }
    if non_empty.len() == 1 {
        return Ok(non_empty[0].clone());
    }
    Ok(Tensor::cat(&non_empty, a)?)
}

/// `Reshape` with ONNX's `0` (copy the dimension, unless `allowzero`) and `-1` (infer).
pub fn reshape(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let x = req(inputs, 0)?;
    let spec = match opt(inputs, 1) {
        Some(t) => ints(t)?,
        None => ctx
            .node
            .ints("shape")
            .map(|v| v.to_vec())
            .unwrap_or_default(),
    };
    let allow_zero = ctx.node.int("allowzero", 0) != 0;
    let dims = x.dims();
    let mut out: Vec<i64> = spec
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if d == 0 && !allow_zero {
                dims.get(i).map_or(0, |&v| v as i64)
            } else {
                d
            }
        })
        .collect();
    let known: i64 = out.iter().filter(|&&d| d >= 0).product();
    if let Some(p) = out.iter().position(|&d| d == -1) {
        if known == 0 {
            return Err(Error::Input(format!("cannot infer -1 in shape {spec:?}")));
        }
        out[p] = x.elem_count() as i64 / known;
    }
    let out: Vec<usize> = out.into_iter().map(|d| d.max(0) as usize).collect();
    if out.iter().product::<usize>() != x.elem_count() {
        return Err(Error::Input(format!(
            "cannot reshape {:?} into {spec:?} (resolved to {out:?})",
            x.dims()
        )));
    }
    Ok(x.reshape(out)?)
}

/// `Transpose` (the default permutation reverses the dimensions).
pub fn transpose(ctx: &NodeCtx<'_>, x: &Tensor) -> Result<Tensor> {
    let rank = x.rank();
    let perm: Vec<usize> = match ctx.node.ints("perm") {
        Some(p) => p.iter().map(|&a| axis(a, rank)).collect::<Result<_>>()?,
        None => (0..rank).rev().collect(),
    };
    Ok(x.permute(perm)?)
}

/// `Flatten` into two dimensions at `axis`.
pub fn flatten(ctx: &NodeCtx<'_>, x: &Tensor) -> Result<Tensor> {
    let rank = x.rank();
    let mut a = ctx.node.int("axis", 1);
    if a < 0 {
        a += rank as i64;
    }
    let a = a.clamp(0, rank as i64) as usize;
    let outer: usize = x.dims()[..a].iter().product();
    let inner: usize = x.dims()[a..].iter().product();
    Ok(x.reshape((outer, inner))?)
}

/// `Constant` from any of its value attributes.
pub fn constant(ctx: &NodeCtx<'_>) -> Result<Tensor> {
    let n = ctx.node;
    let data = match n.attributes.iter().find(|(k, _)| k.starts_with("value")) {
        Some((_, Attribute::Tensor(t))) => t.clone(),
        Some((_, Attribute::Float(f))) => TensorData::f32(vec![], vec![*f]),
        Some((_, Attribute::Floats(v))) => TensorData::f32(vec![v.len() as i64], v.clone()),
        Some((_, Attribute::Int(i))) => TensorData::i64(vec![], vec![*i]),
        Some((_, Attribute::Ints(v))) => TensorData::i64(vec![v.len() as i64], v.clone()),
        _ => {
            return Err(Error::unsupported(
                "Constant without a tensor, float or int value",
            ))
        }
    };
    to_tensor(&data, ctx.dtype)
}

/// `Shape`, with the optional `start`/`end` of opset 15.
pub fn shape(ctx: &NodeCtx<'_>, x: &Tensor) -> Result<Tensor> {
    let dims: Vec<i64> = x.dims().iter().map(|&d| d as i64).collect();
    let r = dims.len() as i64;
    let clampi = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let s = clampi(ctx.node.int("start", 0));
    let e = clampi(ctx.node.int("end", r));
    list(&dims[s..e.max(s)])
}

/// `Gather` along `axis` (negative indices count from the end).
pub fn gather(ctx: &NodeCtx<'_>, x: &Tensor, indices: &Tensor) -> Result<Tensor> {
    let a = axis(ctx.node.int("axis", 0), x.rank())?;
    let len = x.dim(a)? as i64;
    let idx: Vec<u32> = ints(indices)?
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + len } else { i };
            if j < 0 || j >= len {
                Err(Error::Input(format!(
                    "Gather index {i} out of range for size {len}"
                )))
            } else {
                Ok(j as u32)
            }
        })
        .collect::<Result<_>>()?;
    let ids = Tensor::from_vec(idx.clone(), idx.len(), &DEVICE)?;
    let y = x.contiguous()?.index_select(&ids, a)?;
    let mut shape = x.dims()[..a].to_vec();
    shape.extend_from_slice(indices.dims());
    shape.extend_from_slice(&x.dims()[a + 1..]);
    Ok(y.reshape(shape)?)
}

/// `Unsqueeze`: axes refer to the output's dimensions.
pub fn unsqueeze(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let x = req(inputs, 0)?;
    let axes = axes_of(ctx, inputs, 1)?.unwrap_or_default();
    let out_rank = x.rank() + axes.len();
    let mut axes: Vec<usize> = axes
        .iter()
        .map(|&a| axis(a, out_rank))
        .collect::<Result<_>>()?;
    axes.sort_unstable();
    let mut shape = x.dims().to_vec();
    for a in axes {
        shape.insert(a, 1);
    }
    Ok(x.reshape(shape)?)
}

/// `Squeeze`: the given axes, or every dimension of size 1.
pub fn squeeze(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let x = req(inputs, 0)?;
    let rank = x.rank();
    let axes: Vec<usize> = match axes_of(ctx, inputs, 1)? {
        Some(a) => a.iter().map(|&a| axis(a, rank)).collect::<Result<_>>()?,
        None => (0..rank).filter(|&d| x.dims()[d] == 1).collect(),
    };
    let shape: Vec<usize> = x
        .dims()
        .iter()
        .enumerate()
        .filter(|(d, _)| !axes.contains(d))
        .map(|(_, &v)| v)
        .collect();
    Ok(x.reshape(shape)?)
}

/// `Slice` with any steps (a narrow for step 1, an index selection otherwise).
pub fn slice(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let n = ctx.node;
    let x = req(inputs, 0)?;
    let rank = x.rank();
    let get = |i: usize, name: &str| -> Result<Option<Vec<i64>>> {
        if ctx.opset >= 10 {
            opt(inputs, i).map(ints).transpose()
        } else {
            Ok(n.ints(name).map(|v| v.to_vec()))
        }
    };
    let starts = get(1, "starts")?.unwrap_or_default();
    let ends = get(2, "ends")?.unwrap_or_default();
    let axes = get(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = get(4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
    let mut y = x.clone();
    for (i, &a) in axes.iter().enumerate() {
        let d = axis(a, rank)?;
        let len = y.dim(d)? as i64;
        let step = *steps.get(i).unwrap_or(&1);
        if step == 0 {
            return Err(Error::Input("Slice step 0".into()));
        }
        let fix = |v: i64| if v < 0 { v + len } else { v };
        let (mut s, mut e) = (fix(starts[i]), fix(*ends.get(i).unwrap_or(&i64::MAX)));
        if starts[i] == i64::MIN {
            s = i64::MIN;
        }
        if ends.get(i) == Some(&i64::MIN) {
            e = -1;
        }
        let idx: Vec<u32> = if step > 0 {
            s = s.clamp(0, len);
            e = e.clamp(0, len);
            (s..e).step_by(step as usize).map(|v| v as u32).collect()
        } else if len == 0 {
            vec![]
        } else {
            s = s.clamp(0, len - 1);
            e = e.clamp(-1, len - 1);
            let mut v = vec![];
            let mut j = s;
            while j > e {
                v.push(j as u32);
                j += step;
            }
            v
        };
        if step == 1 {
            y = y.narrow(d, s as usize, idx.len())?;
        } else {
            let ids = Tensor::from_vec(idx.clone(), idx.len(), &DEVICE)?;
            y = y.contiguous()?.index_select(&ids, d)?;
        }
    }
    Ok(y)
}

/// `Cast`: floating types become the graph's float type, integers `i64`, booleans `u8`.
pub fn cast(ctx: &NodeCtx<'_>, x: &Tensor) -> Result<Tensor> {
    let to = ctx.node.int("to", 1);
    let y = match to {
        1 | 10 | 11 | 16 => x.to_dtype(ctx.dtype)?,
        2..=7 | 12 | 13 => {
            if is_float(x) {
                // ONNX truncates toward zero.
                let v = crate::convert::floats(x)?;
                let v: Vec<i64> = v.iter().map(|&f| f.trunc() as i64).collect();
                Tensor::from_vec(v, x.dims(), &DEVICE)?
            } else {
                x.to_dtype(DType::I64)?
            }
        }
        9 => x.ne(0.0f64)?,
        other => return Err(Error::unsupported(format!("Cast to ONNX type {other}"))),
    };
    Ok(y)
}

/// `ConstantOfShape`: a tensor of the given shape filled with `value` (default float 0).
pub fn constant_of_shape(ctx: &NodeCtx<'_>, shape: &Tensor) -> Result<Tensor> {
    let dims: Vec<usize> = ints(shape)?
        .into_iter()
        .map(|d| d.max(0) as usize)
        .collect();
    let value = match ctx.node.attributes.get("value") {
        Some(Attribute::Tensor(t)) => to_tensor(t, ctx.dtype)?,
        _ => Tensor::zeros(1, ctx.dtype, &DEVICE)?,
    };
    Ok(value
        .flatten_all()?
        .narrow(0, 0, 1)?
        .reshape(())?
        .broadcast_as(dims)?
        .contiguous()?)
}

/// `Expand`: `x` broadcast against `shape` (numpy rules in both directions).
pub fn expand(x: &Tensor, shape: &Tensor) -> Result<Tensor> {
    let spec = ints(shape)?;
    let rank = x.rank().max(spec.len());
    let pad = |v: Vec<i64>| -> Vec<i64> {
        let mut out = vec![1; rank - v.len()];
        out.extend(v);
        out
    };
    let have = pad(x.dims().iter().map(|&d| d as i64).collect());
    let want = pad(spec.clone());
    let out = have
        .iter()
        .zip(&want)
        .map(|(&h, &w)| match (h, w) {
            (h, w) if h == w || w == 1 => Ok(h as usize),
            (1, w) if w >= 0 => Ok(w as usize),
            _ => Err(Error::Input(format!(
                "cannot expand shape {:?} to {spec:?}",
                x.dims()
            ))),
        })
        .collect::<Result<Vec<usize>>>()?;
    if out == x.dims() {
        return Ok(x.clone());
    }
    Ok(x.broadcast_as(out)?.contiguous()?)
}

/// `Split` along `axis` into as many parts as the node has outputs: at the sizes of the
/// `split` input (opset 13+) or attribute (older opsets); else, with `num_outputs` (opset
/// 18), parts of `ceil(size / num_outputs)` with a smaller last one; else equal parts.
pub fn split(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Vec<Tensor>> {
    let n = ctx.node;
    let x = req(inputs, 0)?;
    let a = axis(n.int("axis", 0), x.rank())?;
    let len = x.dim(a)?;
    let parts = n.outputs.len();
    let sizes: Vec<i64> = match opt(inputs, 1) {
        Some(t) if ctx.opset >= 13 => ints(t)?,
        _ => match n.ints("split").filter(|_| ctx.opset < 13) {
            Some(s) => s.to_vec(),
            None => {
                let count = n.int("num_outputs", parts as i64);
                if count <= 0 || count as usize != parts {
                    return Err(Error::Input(format!(
                        "Split with num_outputs = {count} has {parts} outputs"
                    )));
                }
                let count = count as usize;
                let chunk = if n.attributes.contains_key("num_outputs") {
                    len.div_ceil(count)
                } else if len % count == 0 {
                    len / count
                } else {
                    return Err(Error::Input(format!(
                        "Split of size {len} into {count} equal parts"
                    )));
                };
                (0..count)
                    .map(|i| chunk.min(len.saturating_sub(i * chunk)) as i64)
                    .collect()
            }
        },
    };
    if sizes.len() != parts
        || sizes.iter().any(|&s| s < 0)
        || sizes.iter().sum::<i64>() != len as i64
    {
        return Err(Error::Input(format!(
            "Split sizes {sizes:?} for {parts} outputs of a dimension of size {len}"
        )));
    }
    let mut start = 0;
    sizes
        .iter()
        .map(|&s| {
            let part = x.narrow(a, start, s as usize)?;
            start += s as usize;
            Ok(part)
        })
        .collect()
}

/// `NonZero`: the indices of the non-zero elements, one row per dimension (`[rank, count]`,
/// row-major order; a scalar counts as one dimension).
pub fn non_zero(x: &Tensor) -> Result<Tensor> {
    let dims: Vec<usize> = if x.rank() == 0 {
        vec![1]
    } else {
        x.dims().to_vec()
    };
    let values = crate::convert::floats(x)?;
    let hits: Vec<usize> = (0..values.len()).filter(|&i| values[i] != 0.0).collect();
    let rank = dims.len();
    let mut out = vec![0i64; rank * hits.len()];
    for (k, &flat) in hits.iter().enumerate() {
        let mut rest = flat;
        for d in (0..rank).rev() {
            out[d * hits.len() + k] = (rest % dims[d]) as i64;
            rest /= dims[d];
        }
    }
    Ok(Tensor::from_vec(out, (rank, hits.len()), &DEVICE)?)
}

/// `CastLike`: `x` in the type of `like` (the graph's float type for floats, `i64` for
/// integers, booleans as `u8`), as `Cast` converts.
pub fn cast_like(x: &Tensor, like: &Tensor) -> Result<Tensor> {
    Ok(if is_float(like) {
        x.to_dtype(like.dtype())?
    } else if like.dtype() == DType::U8 {
        x.ne(0.0f64)?
    } else if is_float(x) {
        let v: Vec<i64> = crate::convert::floats(x)?
            .iter()
            .map(|&f| f.trunc() as i64)
            .collect();
        Tensor::from_vec(v, x.dims(), &DEVICE)?
    } else {
        x.to_dtype(DType::I64)?
    })
}
