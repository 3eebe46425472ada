//! 2-D convolution whose backward pass computes the gradient of the input only.
//!
//! candle's own `conv2d` backward always computes the kernel gradient too (a second
//! convolution as expensive as the forward one), and its `conv_transpose2d` is a direct loop.
//! Here the kernel is a constant of a custom op: the forward pass is candle's im2col + gemm
//! convolution, and the backward pass is another im2col + gemm convolution of the (dilated,
//! padded) output gradient with the transposed, flipped kernel.

use std::sync::Arc;

use candle_core::{
    CpuStorage, CustomOp1, DType, Layout, Result as CResult, Shape, Storage, Tensor,
};

use crate::convert::DEVICE;

/// A convolution kernel and its transposed, spatially flipped copy (for the input gradient).
#[derive(Debug)]
pub struct ConvKernel {
    /// `M x C x kh x kw`, contiguous.
    weight: Tensor,
    /// `C x M x kh x kw`, flipped in both spatial axes, contiguous.
    flipped: Tensor,
}

impl ConvKernel {
    /// Prepares `weight` (`M x C x kh x kw`).
    pub fn new(weight: &Tensor) -> CResult<Self> {
        let weight = weight.detach().contiguous()?;
        let (_, _, kh, kw) = weight.dims4()?;
        let flipped = weight
            .transpose(0, 1)?
            .contiguous()?
            .index_select(&reversed(kh)?, 2)?
            .index_select(&reversed(kw)?, 3)?
            .contiguous()?;
        Ok(ConvKernel { weight, flipped })
    }

    /// The kernel, `M x C x kh x kw`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// Builds a kernel directly from a flipped `C x M x kh x kw` form (for transposed
    /// convolutions, whose ONNX weight is that form unflipped).
    pub fn from_transposed(weight_t: &Tensor) -> CResult<Self> {
        let (_, _, kh, kw) = weight_t.dims4()?;
        let weight = weight_t
            .detach()
            .transpose(0, 1)?
            .contiguous()?
            .index_select(&reversed(kh)?, 2)?
            .index_select(&reversed(kw)?, 3)?
            .contiguous()?;
        ConvKernel::new(&weight)
    }
}

fn reversed(n: usize) -> CResult<Tensor> {
    Tensor::from_vec((0..n as u32).rev().collect::<Vec<_>>(), n, &DEVICE)
}

/// `x` padded with `before`/`after` zeros along `dim`; a negative amount crops instead.
pub fn pad_or_crop(x: &Tensor, dim: usize, before: isize, after: isize) -> CResult<Tensor> {
    let mut x = x.clone();
    if before < 0 || after < 0 {
        let n = x.dim(dim)? as isize;
        let start = (-before).max(0);
        let end = n - (-after).max(0);
        if end < start {
            candle_core::bail!("cropping {before},{after} from a dimension of size {n}");
        }
        x = x.narrow(dim, start as usize, (end - start) as usize)?;
    }
    let (b, a) = (before.max(0) as usize, after.max(0) as usize);
    if b > 0 || a > 0 {
        x = x.pad_with_zeros(dim, b, a)?;
    }
    Ok(x)
}

/// Inserts `sh - 1` zeros between vertically neighbouring pixels of `x` (`N x C x H x W`)
/// and `sw - 1` between horizontal ones: the result is `N x C x ((H-1)sh+1) x ((W-1)sw+1)`.
pub fn dilate(x: &Tensor, sh: usize, sw: usize) -> CResult<Tensor> {
    if sh == 1 && sw == 1 {
        return Ok(x.clone());
    }
    let (n, c, h, w) = x.dims4()?;
    x.reshape((n, c, h, 1, w, 1))?
        .pad_with_zeros(3, 0, sh - 1)?
        .pad_with_zeros(5, 0, sw - 1)?
        .reshape((n, c, h * sh, w * sw))?
        .narrow(2, 0, (h - 1) * sh + 1)?
        .narrow(3, 0, (w - 1) * sw + 1)
}

/// The custom op: a convolution of its argument with a constant kernel.
struct ConvOp {
    kernel: Arc<ConvKernel>,
    padding: usize,
    stride: usize,
    dilation: usize,
}

impl CustomOp1 for ConvOp {
    fn name(&self) -> &'static str {
        "srlens-conv2d"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> CResult<(CpuStorage, Shape)> {
        let (start, end) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("conv input is not contiguous".into()))?;
        let x = match storage {
            CpuStorage::F32(v) => Tensor::from_slice(&v[start..end], layout.shape(), &DEVICE)?,
            CpuStorage::F64(v) => Tensor::from_slice(&v[start..end], layout.shape(), &DEVICE)?,
            _ => candle_core::bail!("conv supports f32 and f64 tensors only"),
        };
        let y = x.conv2d(
            &self.kernel.weight,
            self.padding,
            self.stride,
            self.dilation,
            1,
        )?;
        let shape = y.shape().clone();
        let (st, _) = y.storage_and_layout();
        match &*st {
            Storage::Cpu(c) => Ok((c.clone(), shape)),
            _ => candle_core::bail!("conv output is not on the CPU"),
        }
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        let (_, _, h, w) = arg.dims4()?;
        let (_, _, kh, kw) = self.kernel.weight.dims4()?;
        let (p, d) = (self.padding as isize, self.dilation as isize);
        let g = dilate(grad, self.stride, self.stride)?;
        let (lh, lw) = (g.dim(2)? as isize, g.dim(3)? as isize);
        let left_h = d * (kh as isize - 1) - p;
        let left_w = d * (kw as isize - 1) - p;
        let g = pad_or_crop(&g, 2, left_h, h as isize - lh + p)?;
        let g = pad_or_crop(&g, 3, left_w, w as isize - lw + p)?;
        let gx = g.conv2d(&self.kernel.flipped, 0, 1, self.dilation, 1)?;
        Ok(Some(gx))
    }
}

/// Convolves `x` (`N x C x H x W`) with `kernel`, padding every side with `padding` zeros.
/// Gradients flow to `x` only.
pub fn conv2d(
    x: &Tensor,
    kernel: &Arc<ConvKernel>,
    padding: usize,
    stride: usize,
    dilation: usize,
) -> CResult<Tensor> {
    if !x.track_op() {
        return x.conv2d(&kernel.weight, padding, stride, dilation, 1);
    }
    if !matches!(x.dtype(), DType::F32 | DType::F64) {
        candle_core::bail!("conv on {:?} is not supported", x.dtype());
    }
    x.contiguous()?.apply_op1(ConvOp {
        kernel: kernel.clone(),
        padding,
        stride,
        dilation,
    })
}
