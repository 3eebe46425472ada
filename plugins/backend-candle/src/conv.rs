//! 2-D convolution whose backward pass computes the gradient of the input only.
//!
//! candle's own `conv2d` backward always computes the kernel gradient too (a second
//! convolution as expensive as the forward one), and its `conv_transpose2d` is a direct loop.
//! Here the kernel is a constant of a custom op. In f32 with stride 1 the forward pass is
//! [`crate::conv_f32`] (bias fused), and the backward pass the same code applied to the output
//! gradient with the transposed, flipped kernel (the padding becomes `dilation (k - 1) -
//! padding`, cropping where negative). With a stride the forward pass is candle's convolution
//! and the backward pass [`crate::conv_f32`] on the dilated output gradient. In f64 (float64
//! references) both passes are candle's im2col + gemm convolution, as before.

use std::sync::Arc;

use candle_core::{
    CpuStorage, CustomOp1, DType, Layout, Result as CResult, Shape, Storage, Tensor,
};

use crate::conv_f32::{self, Geometry};
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

    /// The transposed, spatially flipped kernel, `C x M x kh x kw` (the input gradient's).
    pub fn flipped(&self) -> &Tensor {
        &self.flipped
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

/// Runs `f` on the f32 values of `t` (contiguous, on the CPU).
fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> CResult<R>) -> CResult<R> {
    let (st, l) = t.storage_and_layout();
    let (a, b) = l
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("conv operand is not contiguous".into()))?;
    match &*st {
        Storage::Cpu(CpuStorage::F32(v)) => f(&v[a..b]),
        _ => candle_core::bail!("conv operand is not an f32 CPU tensor"),
    }
}

fn candle_err(e: crate::Error) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}

/// The f32 stride-1 convolution op (see [`conv_f32::conv2d`]), `N x C x H x W` to
/// `N x M x out_h x out_w`.
struct F32Conv {
    /// `M x C x kh x kw`, f32, contiguous.
    weight: Tensor,
    /// `M` values, f32, contiguous.
    bias: Option<Tensor>,
    /// The kernel the input gradient is computed with (`C x M x kh x kw`); `None` for an op
    /// that is itself a gradient (no second derivatives).
    flipped: Option<Tensor>,
    pad_top: isize,
    pad_left: isize,
    dilation: usize,
    out_h: usize,
    out_w: usize,
}

impl F32Conv {
    fn geometry(&self, input: &[usize]) -> CResult<Geometry> {
        let &[batch, channels, height, width] = input else {
            candle_core::bail!("conv on an input of shape {input:?}");
        };
        let (out_channels, kc, kh, kw) = self.weight.dims4()?;
        if kc != channels {
            candle_core::bail!("conv input has {channels} channels, the kernel expects {kc}");
        }
        Ok(Geometry {
            batch,
            channels,
            height,
            width,
            out_channels,
            kh,
            kw,
            pad_top: self.pad_top,
            pad_left: self.pad_left,
            dilation: self.dilation,
            out_h: self.out_h,
            out_w: self.out_w,
        })
    }
}

impl CustomOp1 for F32Conv {
    fn name(&self) -> &'static str {
        "srlens-conv2d-f32"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> CResult<(CpuStorage, Shape)> {
        let (start, end) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("conv input is not contiguous".into()))?;
        let CpuStorage::F32(v) = storage else {
            candle_core::bail!("the f32 conv got a non-f32 input");
        };
        let g = self.geometry(layout.dims())?;
        let x = &v[start..end];
        let out = with_f32(&self.weight, |w| match &self.bias {
            Some(b) => with_f32(b, |b| {
                conv_f32::conv2d(x, w, Some(b), &g).map_err(candle_err)
            }),
            None => conv_f32::conv2d(x, w, None, &g).map_err(candle_err),
        })?;
        let shape = Shape::from((g.batch, g.out_channels, g.out_h, g.out_w));
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        let Some(flipped) = &self.flipped else {
            candle_core::bail!("no second derivatives of convolutions");
        };
        let g = self.geometry(arg.dims())?;
        Ok(Some(input_gradient(grad, flipped, &g.input_gradient())?))
    }
}

/// `grad` (the output gradient of a stride-1 convolution, dilated already if it had a stride)
/// convolved by the f32 kernel with `flipped` in geometry `g` (see
/// [`Geometry::input_gradient`]).
fn input_gradient(grad: &Tensor, flipped: &Tensor, g: &Geometry) -> CResult<Tensor> {
    grad.to_dtype(DType::F32)?
        .contiguous()?
        .apply_op1_no_bwd(&F32Conv {
            weight: flipped.clone(),
            bias: None,
            flipped: None,
            pad_top: g.pad_top,
            pad_left: g.pad_left,
            dilation: g.dilation,
            out_h: g.out_h,
            out_w: g.out_w,
        })
}

/// The custom op outside the f32 stride-1 case: a convolution of its argument with a
/// constant kernel by candle (the input gradient by the f32 kernel where it is f32).
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
        let (n, c, h, w) = arg.dims4()?;
        let (m, _, kh, kw) = self.kernel.weight.dims4()?;
        let (p, d) = (self.padding as isize, self.dilation as isize);
        let g = dilate(grad, self.stride, self.stride)?;
        let (lh, lw) = (g.dim(2)?, g.dim(3)?);
        let left_h = d * (kh as isize - 1) - p;
        let left_w = d * (kw as isize - 1) - p;
        if fast(grad, &self.kernel) {
            let geometry = Geometry {
                batch: n,
                channels: m,
                height: lh,
                width: lw,
                out_channels: c,
                kh,
                kw,
                pad_top: left_h,
                pad_left: left_w,
                dilation: self.dilation,
                out_h: h,
                out_w: w,
            };
            return Ok(Some(input_gradient(&g, &self.kernel.flipped, &geometry)?));
        }
        let (lh, lw) = (lh as isize, lw as isize);
        let g = pad_or_crop(&g, 2, left_h, h as isize - lh + p)?;
        let g = pad_or_crop(&g, 3, left_w, w as isize - lw + p)?;
        let gx = g.conv2d(&self.kernel.flipped, 0, 1, self.dilation, 1)?;
        Ok(Some(gx))
    }
}

/// Whether `x` with `kernel` goes to the f32 kernel.
fn fast(x: &Tensor, kernel: &ConvKernel) -> bool {
    x.dtype() == DType::F32 && kernel.weight.dtype() == DType::F32 && x.device().is_cpu()
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
    conv2d_bias(x, kernel, None, padding, stride, dilation)
}

/// [`conv2d`] plus `bias` (one value per output channel), added inside the f32 kernel where
/// it is a constant. Gradients flow to `x` only.
pub fn conv2d_bias(
    x: &Tensor,
    kernel: &Arc<ConvKernel>,
    bias: Option<&Tensor>,
    padding: usize,
    stride: usize,
    dilation: usize,
) -> CResult<Tensor> {
    if stride == 1 && fast(x, kernel) {
        let m = kernel.weight.dim(0)?;
        // A bias that is not a constant (or not one value per channel) is added afterwards.
        let (fused, rest) = match bias {
            Some(b) if !b.track_op() && b.elem_count() == m => (
                Some(b.to_dtype(DType::F32)?.flatten_all()?.contiguous()?),
                None,
            ),
            other => (None, other),
        };
        let g = Geometry::padded(
            x.dims4()?.into(),
            kernel.weight.dims4()?.into(),
            padding,
            dilation,
        )
        .map_err(candle_err)?;
        let y = x.contiguous()?.apply_op1(F32Conv {
            weight: kernel.weight.clone(),
            bias: fused,
            flipped: Some(kernel.flipped.clone()),
            pad_top: g.pad_top,
            pad_left: g.pad_left,
            dilation,
            out_h: g.out_h,
            out_w: g.out_w,
        })?;
        return add_bias(y, rest);
    }
    let y = if !x.track_op() {
        x.conv2d(&kernel.weight, padding, stride, dilation, 1)?
    } else {
        if !matches!(x.dtype(), DType::F32 | DType::F64) {
            candle_core::bail!("conv on {:?} is not supported", x.dtype());
        }
        x.contiguous()?.apply_op1(ConvOp {
            kernel: kernel.clone(),
            padding,
            stride,
            dilation,
        })?
    };
    add_bias(y, bias)
}

/// `y + b` with `b` broadcast over every dimension but the channels.
fn add_bias(y: Tensor, b: Option<&Tensor>) -> CResult<Tensor> {
    match b {
        Some(b) => {
            let b = b.to_dtype(y.dtype())?.reshape((1, (), 1, 1))?;
            y.broadcast_add(&b)
        }
        None => Ok(y),
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Var;

    use super::*;

    /// A deterministic pseudo-random sequence in [-1, 1).
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 40) as f64 / (1u64 << 23) as f64 - 1.0
            })
            .collect()
    }

    /// Shapes and hyper-parameters of one case.
    #[derive(Clone, Copy, Debug)]
    struct Case {
        x: [usize; 4],
        m: usize,
        k: [usize; 2],
        p: usize,
        s: usize,
        d: usize,
    }

    impl Case {
        fn out(&self) -> Option<[usize; 2]> {
            let o = |len: usize, k: usize| {
                let span = self.d * (k - 1) + 1;
                (len + 2 * self.p >= span).then(|| (len + 2 * self.p - span) / self.s + 1)
            };
            Some([o(self.x[2], self.k[0])?, o(self.x[3], self.k[1])?])
        }

        /// Calls `f(b, m, oy, ox, c, iy, ix, i, j)` for every kernel tap that reads the input.
        fn taps(&self, mut f: impl FnMut([usize; 9])) {
            let [n, c, h, w] = self.x;
            let [oh, ow] = self.out().unwrap();
            let [kh, kw] = self.k;
            for b in 0..n {
                for m in 0..self.m {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            for ci in 0..c {
                                for i in 0..kh {
                                    for j in 0..kw {
                                        let iy =
                                            (oy * self.s + i * self.d) as isize - self.p as isize;
                                        let ix =
                                            (ox * self.s + j * self.d) as isize - self.p as isize;
                                        if iy >= 0
                                            && ix >= 0
                                            && (iy as usize) < h
                                            && (ix as usize) < w
                                        {
                                            f([b, m, oy, ox, ci, iy as usize, ix as usize, i, j]);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        /// Float64 direct loops: the output of the convolution and the input gradient of
        /// `sum(out * r)`.
        fn reference(&self, x: &[f64], w: &[f64], bias: &[f64], r: &[f64]) -> [Vec<f64>; 2] {
            let [n, c, h, wd] = self.x;
            let [oh, ow] = self.out().unwrap();
            let [kh, kw] = self.k;
            let oi =
                |b: usize, m: usize, oy: usize, ox: usize| ((b * self.m + m) * oh + oy) * ow + ox;
            let xi = |b: usize, c_: usize, y: usize, x_: usize| ((b * c + c_) * h + y) * wd + x_;
            let wi = |m: usize, c_: usize, i: usize, j: usize| ((m * c + c_) * kh + i) * kw + j;
            let mut y = vec![0f64; n * self.m * oh * ow];
            for (e, v) in y.iter_mut().enumerate() {
                *v = bias[(e / (oh * ow)) % self.m];
            }
            let mut gx = vec![0f64; x.len()];
            self.taps(|[b, m, oy, ox, ci, iy, ix, i, j]| {
                y[oi(b, m, oy, ox)] += x[xi(b, ci, iy, ix)] * w[wi(m, ci, i, j)];
                gx[xi(b, ci, iy, ix)] += r[oi(b, m, oy, ox)] * w[wi(m, ci, i, j)];
            });
            [y, gx]
        }
    }

    fn close(what: &str, case: &Case, got: &Tensor, want: &[f64], tol: f64) {
        let got: Vec<f64> = got
            .flatten_all()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(got.len(), want.len(), "{what} of {case:?}");
        let scale = want.iter().fold(1f64, |a, v| a.max(v.abs()));
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!(
                (a - b).abs() <= tol * scale,
                "{what} of {case:?}, element {i}: {a} vs {b}"
            );
        }
    }

    /// Runs `case` in `dtype` (tracked and untracked input) and compares the output and the
    /// input gradient with the float64 loops.
    fn run(case: Case, dtype: DType, seed: u64) {
        let [n, c, h, w] = case.x;
        let [kh, kw] = case.k;
        let Some([oh, ow]) = case.out() else { return };
        let x = noise(n * c * h * w, seed);
        let wt = noise(case.m * c * kh * kw, seed + 1);
        let bias = noise(case.m, seed + 2);
        let r = noise(n * case.m * oh * ow, seed + 3);
        let [want_y, want_gx] = case.reference(&x, &wt, &bias, &r);
        let t = |v: &[f64], s: &[usize]| {
            Tensor::from_slice(v, s, &DEVICE)
                .unwrap()
                .to_dtype(dtype)
                .unwrap()
        };
        let kernel = Arc::new(ConvKernel::new(&t(&wt, &[case.m, c, kh, kw])).unwrap());
        let b = t(&bias, &[case.m]);
        let tol = if dtype == DType::F32 { 1e-5 } else { 1e-12 };
        let xv = Var::from_tensor(&t(&x, &case.x)).unwrap();
        let y = conv2d_bias(xv.as_tensor(), &kernel, Some(&b), case.p, case.s, case.d).unwrap();
        close("output", &case, &y, &want_y, tol);
        let rt = t(&r, &[n, case.m, oh, ow]);
        let grads = (&y * &rt).unwrap().sum_all().unwrap().backward().unwrap();
        let gx = grads.get(xv.as_tensor()).expect("a gradient for x");
        close("input gradient", &case, gx, &want_gx, tol);
        let plain = conv2d_bias(&t(&x, &case.x), &kernel, Some(&b), case.p, case.s, case.d);
        close("untracked output", &case, &plain.unwrap(), &want_y, tol);
    }

    fn cases() -> Vec<Case> {
        let mut v = Vec::new();
        for (x, m, k) in [
            ([2, 3, 7, 9], 12, [3, 3]),
            ([1, 3, 5, 4], 12, [1, 1]),
            ([2, 4, 6, 5], 3, [2, 3]),
        ] {
            for p in 0..3 {
                for d in 1..3 {
                    for s in 1..3 {
                        v.push(Case { x, m, k, p, s, d });
                    }
                }
            }
        }
        v
    }

    #[test]
    fn f32_conv_and_input_gradient_match_float64_loops() {
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                for (i, case) in cases().into_iter().enumerate() {
                    run(case, DType::F32, 10 * i as u64);
                }
            });
        }
    }

    #[test]
    fn f64_conv_and_input_gradient_match_float64_loops() {
        for (i, case) in cases().into_iter().enumerate() {
            run(case, DType::F64, 10 * i as u64);
        }
    }
}
