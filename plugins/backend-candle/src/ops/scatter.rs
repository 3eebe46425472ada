//! `ScatterND` and `ScatterElements` with `reduction = "none"` or `"add"`, differentiable in
//! `data` and `updates` when they are floats (the generated gradient graphs use both: the
//! cotangent of a `Slice` is a `ScatterElements` into zeros, that of a `Gather` a `ScatterND`
//! with `add`).

use candle_core::Tensor;
use srlens_onnx::Node;

use super::{axis, is_float, req, NodeCtx};
use crate::convert::{ints, DEVICE};
use crate::error::{Error, Result};

/// The reductions this backend implements: `none` (the last update naming a position wins)
/// and `add`.
const REDUCTIONS: &[&str] = &["none", "add"];

/// Checks the `reduction` of a `ScatterND` or `ScatterElements` at load time: `mul`, `max`
/// and `min` are refused with the reason.
pub fn check(node: &Node) -> Result<()> {
    let reduction = node.string("reduction").unwrap_or("none");
    if REDUCTIONS.contains(&reduction) {
        return Ok(());
    }
    Err(Error::unsupported(format!(
        "{} with reduction `{reduction}` is not supported: only `none` and `add` are",
        node.op_type
    )))
}

/// `data` with the flattened `updates` written at the flat positions `targets` (one per
/// update, row-major): replacing (`add = false`; a repeated position keeps its last update)
/// or adding. Floats stay differentiable in `data` and `updates`:
/// `data * (1 - mask) + index_add(positions, updates)`, or `index_add(data, targets,
/// updates)` for `add`, on the flattened tensors.
fn write(data: &Tensor, updates: &Tensor, targets: &[usize], add: bool) -> Result<Tensor> {
    let dims = data.dims();
    let total = data.elem_count();
    let flat = data.flatten_all()?;
    let upd = updates.to_dtype(data.dtype())?.flatten_all()?;
    if upd.elem_count() != targets.len() {
        return Err(Error::Input(format!(
            "{} updates for {} positions",
            upd.elem_count(),
            targets.len()
        )));
    }
    if targets.is_empty() {
        return Ok(data.clone());
    }
    if !is_float(data) {
        // Integer data: no gradient, plain copies.
        let mut v = ints(&flat)?;
        let u = ints(&upd)?;
        for (&p, &u) in targets.iter().zip(&u) {
            v[p] = if add { v[p].wrapping_add(u) } else { u };
        }
        return Ok(Tensor::from_vec(v, dims, &DEVICE)?.to_dtype(data.dtype())?);
    }
    if add {
        let n = targets.len();
        let pos: Vec<u32> = targets.iter().map(|&p| p as u32).collect();
        let pos = Tensor::from_vec(pos, n, &DEVICE)?;
        return Ok(flat.index_add(&pos, &upd, 0)?.reshape(dims)?);
    }
    // The update each written position takes: the last one naming it.
    let mut source = vec![u32::MAX; total];
    for (u, &p) in targets.iter().enumerate() {
        source[p] = u as u32;
    }
    let (positions, picked): (Vec<u32>, Vec<u32>) = source
        .iter()
        .enumerate()
        .filter(|(_, &u)| u != u32::MAX)
        .map(|(p, &u)| (p as u32, u))
        .unzip();
    let n = positions.len();
    let identity = picked.len() == upd.elem_count()
        && picked.iter().enumerate().all(|(i, &s)| s as usize == i);
    let upd = if identity {
        upd
    } else {
        upd.index_select(&Tensor::from_vec(picked, n, &DEVICE)?, 0)?
    };
    let mut keep = vec![1f64; total];
    for &p in &positions {
        keep[p as usize] = 0.0;
    }
    let pos = Tensor::from_vec(positions, n, &DEVICE)?;
    let keep = Tensor::from_vec(keep, total, &DEVICE)?.to_dtype(data.dtype())?;
    let written = flat.zeros_like()?.detach().index_add(&pos, &upd, 0)?;
    Ok(flat.mul(&keep)?.add(&written)?.reshape(dims)?)
}

/// Index `i` (negative counts from the end) into a dimension of size `d`.
fn wrap(op: &str, i: i64, d: usize) -> Result<usize> {
    let j = if i < 0 { i + d as i64 } else { i };
    if j < 0 || j >= d as i64 {
        return Err(Error::Input(format!(
            "{op} index {i} out of range for size {d}"
        )));
    }
    Ok(j as usize)
}

/// `ScatterND`: `data` with the slices `indices` names replaced by (or, with `add`, added
/// to) `updates`.
pub fn scatter_nd(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    check(ctx.node)?;
    let add = ctx.node.string("reduction") == Some("add");
    let data = req(inputs, 0)?;
    let indices = req(inputs, 1)?;
    let updates = req(inputs, 2)?;
    let dims = data.dims();
    let k = *indices.dims().last().unwrap_or(&0);
    if indices.rank() == 0 || k > dims.len() {
        return Err(Error::Input(format!(
            "ScatterND indices of shape {:?} for data of shape {dims:?}",
            indices.dims()
        )));
    }
    let block: usize = dims[k..].iter().product();
    let tuples = ints(indices)?;
    let count: usize = indices.dims()[..indices.rank() - 1].iter().product();
    let mut want = indices.dims()[..indices.rank() - 1].to_vec();
    want.extend_from_slice(&dims[k..]);
    if updates.dims() != want.as_slice() {
        return Err(Error::Input(format!(
            "ScatterND updates of shape {:?}, expected {want:?}",
            updates.dims()
        )));
    }
    let mut targets = Vec::with_capacity(count * block);
    for t in 0..count {
        let mut offset = 0usize;
        for (j, &d) in dims[..k].iter().enumerate() {
            offset = offset * d + wrap("ScatterND", tuples[t * k + j], d)?;
        }
        targets.extend((0..block).map(|j| offset * block + j));
    }
    write(data, updates, &targets, add)
}

/// `ScatterElements` along `axis`: `updates[i]` written at `i` with its `axis` coordinate
/// replaced by `indices[i]`.
pub fn scatter_elements(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    check(ctx.node)?;
    let add = ctx.node.string("reduction") == Some("add");
    let data = req(inputs, 0)?;
    let indices = req(inputs, 1)?;
    let updates = req(inputs, 2)?;
    let dims = data.dims();
    let rank = dims.len();
    let a = axis(ctx.node.int("axis", 0), rank)?;
    let idims = indices.dims();
    if idims != updates.dims()
        || idims.len() != rank
        || idims
            .iter()
            .zip(dims)
            .enumerate()
            .any(|(d, (&i, &s))| d != a && i > s)
    {
        return Err(Error::Input(format!(
            "ScatterElements indices of shape {idims:?} and updates of shape {:?} for data of \
             shape {dims:?} along axis {a}",
            updates.dims()
        )));
    }
    let mut strides = vec![1usize; rank];
    for d in (0..rank.saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * dims[d + 1];
    }
    let idx = ints(indices)?;
    let mut targets = Vec::with_capacity(idx.len());
    let mut coord = vec![0usize; rank];
    for &i in &idx {
        let mut p = 0;
        for d in 0..rank {
            let c = if d == a {
                wrap("ScatterElements", i, dims[a])?
            } else {
                coord[d]
            };
            p += c * strides[d];
        }
        targets.push(p);
        // The next coordinate of `indices`, row-major.
        for d in (0..rank).rev() {
            coord[d] += 1;
            if coord[d] < idims[d] {
                break;
            }
            coord[d] = 0;
        }
    }
    write(data, updates, &targets, add)
}
