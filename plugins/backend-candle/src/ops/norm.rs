//! `Softmax`, `LogSoftmax`, `LayerNormalization` and `InstanceNormalization`, built from
//! differentiable candle operations.

use candle_core::Tensor;

use super::{axis, opt, req, NodeCtx};
use crate::error::{Error, Result};

/// `Softmax` and `LogSoftmax`: along `axis` (default -1) from opset 13; before, over the
/// flattened dimensions from `axis` (default 1) on.
pub fn softmax(ctx: &NodeCtx<'_>, x: &Tensor) -> Result<Tensor> {
    let rank = x.rank();
    let log = ctx.node.op_type == "LogSoftmax";
    if rank == 0 {
        return Ok(if log { x.zeros_like()? } else { x.ones_like()? });
    }
    if ctx.opset >= 13 {
        let a = axis(ctx.node.int("axis", -1), rank)?;
        return softmax_along(x, a, log);
    }
    let a = axis(ctx.node.int("axis", 1), rank)?;
    let outer: usize = x.dims()[..a].iter().product();
    let y = softmax_along(&x.reshape((outer, ()))?, 1, log)?;
    Ok(y.reshape(x.dims())?)
}

/// Softmax along one dimension: `exp(x - max)` over its sum, the maximum held constant (the
/// result does not depend on it, so its gradient is exact).
fn softmax_along(x: &Tensor, dim: usize, log: bool) -> Result<Tensor> {
    let shifted = x.broadcast_sub(&x.detach().max_keepdim(dim)?)?;
    let e = shifted.exp()?;
    let sum = e.sum_keepdim(dim)?;
    Ok(if log {
        shifted.broadcast_sub(&sum.log()?)?
    } else {
        e.broadcast_div(&sum)?
    })
}

/// The mean and `1 / sqrt(variance + eps)` of `x` over `dims` (kept as size 1).
fn moments(x: &Tensor, dims: &[usize], eps: f64) -> Result<(Tensor, Tensor, Tensor)> {
    let mean = x.mean_keepdim(dims)?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(dims)?;
    let inv_std = var.affine(1.0, eps)?.sqrt()?.recip()?;
    Ok((mean, centred, inv_std))
}

/// `LayerNormalization`: normalised over the dimensions from `axis` on, then
/// `* scale + bias`; outputs `Y`, `Mean` and `InvStdDev`.
pub fn layer_norm(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Vec<Tensor>> {
    let x = req(inputs, 0)?;
    let rank = x.rank();
    let a = axis(ctx.node.int("axis", -1), rank)?;
    let eps = ctx.node.float("epsilon", 1e-5) as f64;
    let dims: Vec<usize> = (a..rank).collect();
    let (mean, centred, inv_std) = moments(x, &dims, eps)?;
    let mut y = centred.broadcast_mul(&inv_std)?;
    let scale = req(inputs, 1)?.to_dtype(x.dtype())?;
    y = y.broadcast_mul(&scale)?;
    if let Some(b) = opt(inputs, 2) {
        y = y.broadcast_add(&b.to_dtype(x.dtype())?)?;
    }
    Ok(vec![y, mean, inv_std])
}

/// `InstanceNormalization`: each sample's channel normalised over the spatial dimensions,
/// then `* scale[c] + bias[c]`.
pub fn instance_norm(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let x = req(inputs, 0)?;
    let rank = x.rank();
    if rank < 3 {
        return Err(Error::Input(format!(
            "InstanceNormalization on shape {:?}: N x C x D1 ... expected",
            x.dims()
        )));
    }
    let eps = ctx.node.float("epsilon", 1e-5) as f64;
    let dims: Vec<usize> = (2..rank).collect();
    let (_, centred, inv_std) = moments(x, &dims, eps)?;
    let mut shape = vec![1usize; rank];
    shape[1] = x.dim(1)?;
    let p = |i: usize| -> Result<Tensor> {
        Ok(req(inputs, i)?
            .to_dtype(x.dtype())?
            .reshape(shape.clone())?)
    };
    Ok(centred
        .broadcast_mul(&inv_std)?
        .broadcast_mul(&p(1)?)?
        .broadcast_add(&p(2)?)?)
}
