//! A fast f32 stride-1 2-D convolution on the CPU (NCHW, contiguous, one group), for the
//! forward pass and the input gradient alike (see [`Geometry::input_gradient`]).
//!
//! Two methods, both cutting every image into blocks of whole output rows that run in
//! parallel on the current rayon pool (the model's thread pool when called from a model):
//!
//! - [`Method::Direct`] (x86-64 with AVX2 and FMA): the block's input rows are copied, zero
//!   padded, into a buffer owned by the worker thread (small enough to stay in the L2
//!   cache), and register-blocked kernels compute 4 or 6 output channels x 16 pixels (AVX2)
//!   or 4 or 8 output channels x 32 pixels (AVX-512, where the CPU has it) at a time by
//!   fused multiply-adds of the kernel taps (`C kh kw` of them, 32 input channels per pass)
//!   with the shifted input rows read in place: no im2col matrix, the output written once
//!   per pass straight into NCHW, the bias fused. The default where it runs. Both kernel
//!   families add the taps of an output value in the same order, one rounding per
//!   multiply-add, so they give the same bits.
//! - [`Method::Im2colGemm`] (everywhere): the block's input patches are copied (im2col) into
//!   a per-thread buffer and one `gemm` computes `out[M, block] = W[M, C kh kw] x col[C kh
//!   kw, block]` straight into the NCHW output (a block's pixels are contiguous in every
//!   output channel): no transpose, no full-size im2col matrix.

use std::cell::RefCell;

use gemm::{gemm, Parallelism};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Bound on every size and offset of a [`Geometry`] (so that no index arithmetic overflows).
const LIMIT: usize = isize::MAX as usize / 4;

/// The shape of a stride-1 convolution.
///
/// The input is `batch x channels x height x width`, the kernel `out_channels x channels x
/// kh x kw` and the output `batch x out_channels x out_h x out_w`. Output pixel `(oy, ox)`
/// reads the input pixels `(oy - pad_top + i dilation, ox - pad_left + j dilation)` for
/// `i < kh`, `j < kw`, zero outside the input; a negative padding crops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub channels: usize,
    /// Input rows.
    pub height: usize,
    /// Input columns.
    pub width: usize,
    /// Output channels (kernel rows).
    pub out_channels: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Zero rows before the input (negative: rows cropped).
    pub pad_top: isize,
    /// Zero columns before the input (negative: columns cropped).
    pub pad_left: isize,
    /// Spacing of the kernel taps (>= 1).
    pub dilation: usize,
    /// Output rows.
    pub out_h: usize,
    /// Output columns.
    pub out_w: usize,
}

impl Geometry {
    /// The convolution of a `batch x channels x height x width` input with an `out_channels x
    /// channels x kh x kw` kernel, `padding` zeros on every side; fails when the padded input
    /// is smaller than the dilated kernel.
    pub fn padded(
        [batch, channels, height, width]: [usize; 4],
        [out_channels, kc, kh, kw]: [usize; 4],
        padding: usize,
        dilation: usize,
    ) -> Result<Self> {
        if kc != channels {
            return Err(Error::Input(format!(
                "conv input has {channels} channels, the kernel expects {kc}"
            )));
        }
        if dilation == 0 || kh == 0 || kw == 0 {
            return Err(Error::Input(format!(
                "conv with a {kh}x{kw} kernel and dilation {dilation}"
            )));
        }
        let too_large = || {
            Error::Input(format!(
                "conv input of {height}x{width} pixels, padding {padding}, {kh}x{kw} kernel at                  dilation {dilation}: too large"
            ))
        };
        let span = |k: usize| dilation.checked_mul(k - 1).and_then(|r| r.checked_add(1));
        let padded = |len: usize| padding.checked_mul(2).and_then(|p| p.checked_add(len));
        let (Some(sh), Some(sw), Some(ph), Some(pw)) =
            (span(kh), span(kw), padded(height), padded(width))
        else {
            return Err(too_large());
        };
        if ph < sh || pw < sw {
            return Err(Error::Input(format!(
                "conv input of {height}x{width} pixels padded by {padding} is smaller than the \
                 {kh}x{kw} kernel at dilation {dilation}"
            )));
        }
        let g = Geometry {
            batch,
            channels,
            height,
            width,
            out_channels,
            kh,
            kw,
            pad_top: padding.min(LIMIT) as isize,
            pad_left: padding.min(LIMIT) as isize,
            dilation,
            out_h: ph - sh + 1,
            out_w: pw - sw + 1,
        };
        g.check().map_err(|_| too_large())?;
        Ok(g)
    }

    /// The convolution that gives the gradient of this one's input from the gradient of its
    /// output: the output gradient (`batch x out_channels x out_h x out_w`) convolved with
    /// the transposed, spatially flipped kernel (`channels x out_channels x kh x kw`) into a
    /// `batch x channels x height x width` result.
    pub fn input_gradient(&self) -> Self {
        // Saturating: a geometry too large to run gives one that `conv2d` refuses.
        let reach =
            |k: usize| self.dilation.saturating_mul(k.saturating_sub(1)).min(LIMIT) as isize;
        Geometry {
            batch: self.batch,
            channels: self.out_channels,
            height: self.out_h,
            width: self.out_w,
            out_channels: self.channels,
            kh: self.kh,
            kw: self.kw,
            pad_top: reach(self.kh).saturating_sub(self.pad_top),
            pad_left: reach(self.kw).saturating_sub(self.pad_left),
            dilation: self.dilation,
            out_h: self.height,
            out_w: self.width,
        }
    }

    /// Fails unless every size, offset and buffer of the convolution fits the arithmetic
    /// comfortably (each below `isize::MAX / 4`).
    fn check(&self) -> Result<()> {
        let bad = || Error::Input(format!("conv geometry {self:?}: unusable or too large"));
        if self.dilation == 0 || self.kh == 0 || self.kw == 0 {
            return Err(bad());
        }
        let fits = |v: Option<usize>| v.filter(|&v| v <= LIMIT).ok_or_else(bad);
        let reach_h = fits(self.dilation.checked_mul(self.kh - 1))?;
        let reach_w = fits(self.dilation.checked_mul(self.kw - 1))?;
        let rows = fits(self.out_h.checked_add(reach_h))?;
        let cols = fits(self.out_w.checked_add(reach_w))?;
        let mul = |v: &[usize]| v.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
        fits(mul(&[self.channels, rows, cols]))?;
        fits(mul(&[self.batch, self.channels, self.height, self.width]))?;
        fits(mul(&[self.out_channels, self.channels, self.kh, self.kw]))?;
        fits(mul(&[
            self.batch,
            self.out_channels,
            self.out_h,
            self.out_w,
        ]))?;
        fits(mul(&[self.channels, self.kh, self.kw, self.out_w]))?;
        for p in [self.pad_top, self.pad_left] {
            fits(Some(p.unsigned_abs()))?;
        }
        Ok(())
    }

    /// Elements of the input.
    pub fn input_len(&self) -> usize {
        self.batch * self.channels * self.height * self.width
    }

    /// Elements of the kernel.
    pub fn weight_len(&self) -> usize {
        self.out_channels * self.channels * self.kh * self.kw
    }

    /// Elements of the output.
    pub fn output_len(&self) -> usize {
        self.batch * self.out_channels * self.out_h * self.out_w
    }

    /// Floating-point operations (a multiply-add counts two).
    pub fn flops(&self) -> f64 {
        2.0 * self.output_len() as f64 * (self.channels * self.kh * self.kw) as f64
    }
}

/// How [`conv2d_with`] computes a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// [`Method::Direct`] where the CPU has AVX2 and FMA, else [`Method::Im2colGemm`].
    Auto,
    /// Register-blocked kernels on zero-padded input rows: AVX-512 where the CPU has it,
    /// else AVX2 and FMA (an error without those).
    Direct,
    /// [`Method::Direct`]'s AVX2 kernels even where AVX-512 is present (for comparisons).
    DirectAvx2,
    /// im2col of row blocks and one `gemm` per block.
    Im2colGemm,
}

/// The vector instructions of [`Method::Direct`]'s kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectIsa {
    /// 256-bit AVX2 with FMA.
    Avx2,
    /// 512-bit AVX-512 (foundation).
    Avx512,
}

/// Whether [`Method::Direct`] runs on this CPU.
pub fn direct_available() -> bool {
    direct_isa().is_some()
}

/// The best kernels [`Method::Direct`] has on this CPU, if any.
pub fn direct_isa() -> Option<DirectIsa> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if !(has!("avx2") && has!("fma")) {
            None
        } else if has!("avx512f") {
            Some(DirectIsa::Avx512)
        } else {
            Some(DirectIsa::Avx2)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// Convolves `x` (`g.batch x g.channels x g.height x g.width`, contiguous) with `weight`
/// (`g.out_channels x g.channels x g.kh x g.kw`, contiguous) and adds `bias` (one value per
/// output channel) if given; returns the `g.batch x g.out_channels x g.out_h x g.out_w`
/// output. Runs on the current rayon pool.
pub fn conv2d(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Geometry) -> Result<Vec<f32>> {
    conv2d_with(x, weight, bias, g, Method::Auto)
}

/// [`conv2d`] by the given method.
pub fn conv2d_with(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &Geometry,
    method: Method,
) -> Result<Vec<f32>> {
    check(x, weight, bias, g)?;
    let missing =
        || Error::unsupported("the direct f32 convolution needs an x86-64 CPU with AVX2 and FMA");
    let direct = match method {
        Method::Auto => direct_isa(),
        Method::Direct => Some(direct_isa().ok_or_else(missing)?),
        Method::DirectAvx2 => Some(direct_isa().map(|_| DirectIsa::Avx2).ok_or_else(missing)?),
        Method::Im2colGemm => None,
    };
    let mut out = vec![0f32; g.output_len()];
    let pixels = g.out_h * g.out_w;
    if out.is_empty() {
        return Ok(out);
    }
    if g.channels == 0 {
        // No input channels: the output is the bias.
        if let Some(b) = bias {
            for (plane, &v) in out.chunks_mut(pixels).zip(b.iter().cycle()) {
                plane.fill(v);
            }
        }
        return Ok(out);
    }
    match direct {
        #[cfg(target_arch = "x86_64")]
        Some(isa) => direct::conv(x, weight, bias, g, &mut out, isa),
        _ => im2col_gemm(x, weight, bias, g, &mut out, TILE_FLOATS),
    }
    Ok(out)
}

/// The lengths of the operands against `g`.
fn check(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Geometry) -> Result<()> {
    g.check()?;
    if x.len() != g.input_len() {
        return Err(Error::Input(format!(
            "conv input of {} values, expected {} for {g:?}",
            x.len(),
            g.input_len()
        )));
    }
    if weight.len() != g.weight_len() {
        return Err(Error::Input(format!(
            "conv kernel of {} values, expected {} for {g:?}",
            weight.len(),
            g.weight_len()
        )));
    }
    if let Some(b) = bias {
        if b.len() != g.out_channels {
            return Err(Error::Input(format!(
                "conv bias of {} values for {} output channels",
                b.len(),
                g.out_channels
            )));
        }
    }
    Ok(())
}

/// Output rows per block: about `budget` floats of per-block buffer at `per_row` floats a
/// row, with as many blocks in all as a multiple of the threads (so that every thread gets
/// the same work) where the images have the rows.
fn rows_per_block(g: &Geometry, per_row: usize, budget: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let rows = (budget / per_row.max(1)).clamp(1, g.out_h.max(1));
    let blocks = (g.batch * g.out_h.div_ceil(rows)).div_ceil(threads) * threads;
    let per_image = blocks.div_ceil(g.batch.max(1)).clamp(1, g.out_h.max(1));
    g.out_h.div_ceil(per_image).max(1)
}

/// Runs `f(image, first row, end row)` for every block of `rows` output rows, in parallel.
fn for_each_block(g: &Geometry, rows: usize, f: impl Fn(usize, usize, usize) + Sync) {
    let blocks = g.out_h.div_ceil(rows);
    (0..g.batch * blocks).into_par_iter().for_each(|item| {
        let (b, t) = (item / blocks, item % blocks);
        let r0 = t * rows;
        f(b, r0, (r0 + rows).min(g.out_h));
    });
}

/// Runs `f` with this thread's scratch buffer, taken out of its cell (not borrowed) so that
/// a nested call on the thread, should rayon schedule one there, gets a buffer of its own.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<f32>) -> R) -> R {
    let mut buf = SCRATCH.with(|c| std::mem::take(&mut *c.borrow_mut()));
    let r = f(&mut buf);
    SCRATCH.with(|c| {
        let mut c = c.borrow_mut();
        if c.capacity() < buf.capacity() {
            *c = buf;
        }
    });
    r
}

thread_local! {
    /// This thread's scratch buffer (im2col or padded input rows), kept between calls.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// A pointer to the output shared by the blocks, which write disjoint parts of it.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: every block writes only its own rows of every output channel.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

/// Target size of one block's im2col buffer, in floats (1 MiB).
const TILE_FLOATS: usize = 1 << 18;

/// [`Method::Im2colGemm`] with blocks of about `tile_floats` im2col floats, into `out`
/// (zeros, `g.output_len()` of them; operands checked, `g.channels > 0`).
fn im2col_gemm(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &Geometry,
    out: &mut [f32],
    tile_floats: usize,
) {
    let k = g.channels * g.kh * g.kw;
    let rows = rows_per_block(g, k * g.out_w, tile_floats);
    let ptr = OutPtr(out.as_mut_ptr());
    for_each_block(g, rows, |b, r0, r1| {
        with_scratch(|col| {
            // SAFETY: `ptr` points to `out`, alive for the whole parallel loop; the block
            // writes rows r0..r1 of every channel of image b only, which no other touches.
            unsafe { gemm_block(x, weight, bias, g, b, r0, r1, col, ptr) }
        })
    });
}

/// im2col of output rows `r0..r1` of image `b` into `col`, then `out[b, :, r0..r1, :] =
/// bias + W x col`.
///
/// # Safety
///
/// `out` must point to a live buffer of `g.output_len()` floats of which nothing else
/// reads or writes rows `r0..r1` of image `b` during the call; the slices must have the
/// lengths [`check`] checks.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_block(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &Geometry,
    b: usize,
    r0: usize,
    r1: usize,
    col: &mut Vec<f32>,
    out: OutPtr,
) {
    let (h, w) = (g.height, g.width);
    let (ow, k) = (g.out_w, g.channels * g.kh * g.kw);
    let n = (r1 - r0) * ow;
    col.clear();
    col.resize(k * n, 0.0);
    let d = g.dilation as isize;
    let image = &x[b * g.channels * h * w..][..g.channels * h * w];
    for (c, plane) in image.chunks_exact(h * w).enumerate() {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let row = &mut col[((c * g.kh + ky) * g.kw + kx) * n..][..n];
                // Input column of output column ox: ox + dx; valid for ox in lo..hi.
                let dx = kx as isize * d - g.pad_left;
                let lo = (-dx).clamp(0, ow as isize) as usize;
                let hi = (w as isize - dx).clamp(lo as isize, ow as isize) as usize;
                for (seg, oy) in row.chunks_exact_mut(ow).zip(r0..r1) {
                    let iy = oy as isize + ky as isize * d - g.pad_top;
                    if iy < 0 || iy >= h as isize {
                        seg.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy as usize * w..][..w];
                    seg[..lo].fill(0.0);
                    seg[hi..].fill(0.0);
                    let s0 = (lo as isize + dx) as usize;
                    seg[lo..hi].copy_from_slice(&src[s0..s0 + (hi - lo)]);
                }
            }
        }
    }
    let pixels = g.out_h * ow;
    let dst = out.0.add(b * g.out_channels * pixels + r0 * ow);
    if let Some(bias) = bias {
        for (m, &v) in bias.iter().enumerate() {
            std::slice::from_raw_parts_mut(dst.add(m * pixels), n).fill(v);
        }
    }
    // dst[M, n] (row stride: the image's pixels) = 1 dst + 1 W[M, k] x col[k, n].
    gemm(
        g.out_channels,
        n,
        k,
        dst,
        1,
        pixels as isize,
        bias.is_some(),
        weight.as_ptr(),
        1,
        k as isize,
        col.as_ptr(),
        1,
        n as isize,
        1.0,
        1.0,
        false,
        false,
        false,
        Parallelism::None,
    );
}

/// [`Method::Direct`].
#[cfg(target_arch = "x86_64")]
mod direct {
    use std::arch::x86_64::*;

    use super::{for_each_block, rows_per_block, with_scratch, DirectIsa, Geometry, OutPtr};

    /// Input channels per pass over the output (their taps' input rows stay in L1).
    const CHANNELS_PER_PASS: usize = 32;
    /// Target size of a block's padded input rows, in floats (128 KiB: they are still in
    /// the L2 cache, where copying them put them, when the kernels read them).
    const BLOCK_FLOATS: usize = 1 << 15;
    /// Zeros after the padded rows: a partial pixel panel reads up to 7 floats past the end.
    const SLACK: usize = 8;

    /// `weight` (`m x k`) as `ceil(m / MB)` blocks of `k x MB`, zero-filled.
    fn pack_weight<const MB: usize>(weight: &[f32], m: usize, k: usize) -> Vec<f32> {
        let mut p = vec![0f32; m.div_ceil(MB) * k * MB];
        for (mi, row) in weight.chunks_exact(k).enumerate() {
            let block = &mut p[(mi / MB) * k * MB..][..k * MB];
            for (kk, &v) in row.iter().enumerate() {
                block[kk * MB + mi % MB] = v;
            }
        }
        p
    }

    /// A row of `ow` pixels as panels `(first pixel, width)` of `width` pixels (the last may
    /// be partial).
    fn panels(ow: usize, width: usize) -> Vec<(usize, usize)> {
        (0..ow)
            .step_by(width)
            .map(|x| (x, width.min(ow - x)))
            .collect()
    }

    /// Whether blocks of `big` output channels pad `m` channels by at most 10% more than
    /// blocks of `small` do.
    fn by_big_blocks(m: usize, big: usize, small: usize) -> bool {
        m.div_ceil(big) * big * 10 <= m.div_ceil(small) * small * 11
    }

    /// Convolves into `out` (zeros; operands checked, `g.channels > 0`, the CPU has `isa`).
    pub(super) fn conv(
        x: &[f32],
        weight: &[f32],
        bias: Option<&[f32]>,
        g: &Geometry,
        out: &mut [f32],
        isa: DirectIsa,
    ) {
        // The larger channel blocks (more multiply-adds in flight, fewer loads per
        // multiply-add) unless they pad the channels by 10% more than blocks of 4: with AVX2
        // 64 channels go by 6 (12 accumulators), 32 by 4; with AVX-512 both by 8 (16).
        let m = g.out_channels;
        match isa {
            DirectIsa::Avx2 if by_big_blocks(m, 6, 4) => conv_mb::<6>(x, weight, bias, g, out, isa),
            DirectIsa::Avx512 if by_big_blocks(m, 8, 4) => {
                conv_mb::<8>(x, weight, bias, g, out, isa)
            }
            _ => conv_mb::<4>(x, weight, bias, g, out, isa),
        }
    }

    /// [`conv`] in blocks of `MB` output channels.
    fn conv_mb<const MB: usize>(
        x: &[f32],
        weight: &[f32],
        bias: Option<&[f32]>,
        g: &Geometry,
        out: &mut [f32],
        isa: DirectIsa,
    ) {
        let taps = g.kh * g.kw;
        let k = g.channels * taps;
        let packed = pack_weight::<MB>(weight, g.out_channels, k);
        let (reach_h, reach_w) = (g.dilation * (g.kh - 1), g.dilation * (g.kw - 1));
        let row_len = g.out_w + reach_w;
        let rows = rows_per_block(g, g.channels * row_len, BLOCK_FLOATS);
        let plane = (rows + reach_h) * row_len;
        // Offset of tap (c, ky, kx) in the padded rows, from the output pixel's own place.
        let mut offsets = Vec::with_capacity(k);
        for c in 0..g.channels {
            for ky in 0..g.kh {
                for kx in 0..g.kw {
                    offsets.push(c * plane + ky * g.dilation * row_len + kx * g.dilation);
                }
            }
        }
        let panels = panels(g.out_w, PANEL * isa_vectors(isa));
        let ptr = OutPtr(out.as_mut_ptr());
        for_each_block(g, rows, |b, r0, r1| {
            with_scratch(|buf| {
                pad_rows(x, g, b, r0, r1 - r0 + reach_h, row_len, plane, buf);
                let block = Block {
                    buf,
                    offsets: &offsets,
                    packed: &packed,
                    bias,
                    g,
                    panels: &panels,
                    taps,
                    out: ptr,
                };
                // SAFETY: the block writes rows r0..r1 of every channel of image b of `out`
                // (alive for the whole loop) only; `buf` holds the padded rows the offsets
                // and panels address, plus SLACK; the CPU has `isa`.
                unsafe { block.rows::<MB>(b, r0, r1, isa) }
            })
        });
    }

    /// Pixels of a panel per 256 bits of vector (two vectors of 8 floats with AVX2).
    const PANEL: usize = 16;

    /// 256-bit vectors in one of `isa`'s vectors.
    fn isa_vectors(isa: DirectIsa) -> usize {
        match isa {
            DirectIsa::Avx2 => 1,
            DirectIsa::Avx512 => 2,
        }
    }

    /// Input rows `r0 - pad_top ..` (`n` of them) of image `b`, zero padded to the output
    /// geometry: `buf[c plane + yy row_len + xx] = x[b, c, r0 + yy - pad_top, xx - pad_left]`.
    #[allow(clippy::too_many_arguments)]
    fn pad_rows(
        x: &[f32],
        g: &Geometry,
        b: usize,
        r0: usize,
        n: usize,
        row_len: usize,
        plane: usize,
        buf: &mut Vec<f32>,
    ) {
        let (h, w) = (g.height, g.width);
        // Every value the kernels use is written below; the rest (rows past `n` of a short
        // last block, the slack) is only ever read into lanes that are thrown away.
        buf.resize(g.channels * plane + SLACK, 0.0);
        // Output column xx reads input column xx - pad_left: valid for xx in lo..hi.
        let lo = g.pad_left.clamp(0, row_len as isize) as usize;
        let hi = (w as isize + g.pad_left).clamp(lo as isize, row_len as isize) as usize;
        let s0 = (lo as isize - g.pad_left) as usize;
        let image = &x[b * g.channels * h * w..][..g.channels * h * w];
        for (c, src) in image.chunks_exact(h * w).enumerate() {
            let dst = &mut buf[c * plane..][..n * row_len];
            for (yy, row) in dst.chunks_exact_mut(row_len).enumerate() {
                let iy = (r0 + yy) as isize - g.pad_top;
                if iy < 0 || iy >= h as isize {
                    row.fill(0.0);
                    continue;
                }
                row[..lo].fill(0.0);
                row[hi..].fill(0.0);
                row[lo..hi].copy_from_slice(&src[iy as usize * w + s0..][..hi - lo]);
            }
        }
    }

    /// What every output row of one block reads and where it writes.
    struct Block<'a> {
        /// The block's padded input rows ([`pad_rows`]).
        buf: &'a [f32],
        /// Offset of every tap in `buf`, from the output pixel's own place.
        offsets: &'a [usize],
        /// The kernel in blocks of output channels ([`pack_weight`]).
        packed: &'a [f32],
        /// One value per output channel, if any.
        bias: Option<&'a [f32]>,
        /// The convolution.
        g: &'a Geometry,
        /// The panels of an output row.
        panels: &'a [(usize, usize)],
        /// Taps per input channel.
        taps: usize,
        /// The output.
        out: OutPtr,
    }

    impl Block<'_> {
        /// Output rows `r0..r1` of image `b`, pass by pass over the input channels.
        ///
        /// # Safety
        ///
        /// As in [`conv`]'s loop: `out` live with rows r0..r1 of image b this call's alone,
        /// `buf` as [`pad_rows`] leaves it, the CPU has `isa`.
        unsafe fn rows<const MB: usize>(&self, b: usize, r0: usize, r1: usize, isa: DirectIsa) {
            let g = self.g;
            let m = g.out_channels;
            let k = g.channels * self.taps;
            let pixels = g.out_h * g.out_w;
            let row_len = g.out_w + g.dilation * (g.kw - 1);
            let per_pass = CHANNELS_PER_PASS * self.taps;
            for oy in r0..r1 {
                let mut k0 = 0;
                while k0 < k {
                    let k1 = (k0 + per_pass).min(k);
                    let offs = &self.offsets[k0..k1];
                    for &(x0, pw) in self.panels {
                        let src = self.buf.as_ptr().add((oy - r0) * row_len + x0);
                        for mb in 0..m.div_ceil(MB) {
                            let mv = MB.min(m - mb * MB);
                            let w = self.packed.as_ptr().add((mb * k + k0) * MB);
                            let init = (k0 == 0).then(|| {
                                let mut v = [0f32; MB];
                                if let Some(bias) = self.bias {
                                    v[..mv].copy_from_slice(&bias[mb * MB..mb * MB + mv]);
                                }
                                v
                            });
                            let dst = self
                                .out
                                .0
                                .add((b * m + mb * MB) * pixels + oy * g.out_w + x0);
                            let init = init.as_ref();
                            match isa {
                                DirectIsa::Avx2 => {
                                    call::<MB>(src, offs, w, dst, pixels, init, mv, pw)
                                }
                                DirectIsa::Avx512 => {
                                    call512::<MB>(src, offs, w, dst, pixels, init, mv, pw)
                                }
                            }
                        }
                    }
                    k0 = k1;
                }
            }
        }
    }

    /// [`call`] with the AVX-512 kernels (panels of up to 32 pixels, partial ones by masked
    /// loads and stores, partial channel blocks by storing `mv` channels only).
    ///
    /// # Safety
    ///
    /// As for [`call`], with AVX-512 present.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    unsafe fn call512<const MB: usize>(
        src: *const f32,
        offs: &[usize],
        w: *const f32,
        dst: *mut f32,
        rs: usize,
        init: Option<&[f32; MB]>,
        mv: usize,
        pw: usize,
    ) {
        let v = pw.div_ceil(16);
        let rest = pw - 16 * (v - 1);
        let last: __mmask16 = if rest == 16 { 0xffff } else { (1 << rest) - 1 };
        match v {
            2 => kernel512::<MB, 2>(src, offs, w, dst, rs, init, mv, last),
            _ => kernel512::<MB, 1>(src, offs, w, dst, rs, init, mv, last),
        }
    }

    /// [`kernel`] for `16 V` pixels by AVX-512, channels `i < mv` and the lanes of `last`
    /// in the last vector only (none of the others is read or written).
    ///
    /// # Safety
    ///
    /// The CPU has AVX-512F; `src + offs[t] + p`, `w + t MB + i` and `dst + i rs + p` are
    /// valid for every `t`, `i < mv` (`i < MB` for `w`) and pixel `p` of the panel.
    #[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    unsafe fn kernel512<const MB: usize, const V: usize>(
        src: *const f32,
        offs: &[usize],
        w: *const f32,
        dst: *mut f32,
        rs: usize,
        init: Option<&[f32; MB]>,
        mv: usize,
        last: __mmask16,
    ) {
        let lanes = |v: usize| if v + 1 == V { last } else { 0xffff };
        let mut acc = [[_mm512_setzero_ps(); V]; MB];
        for i in 0..MB {
            for v in 0..V {
                acc[i][v] = match init {
                    Some(b) => _mm512_set1_ps(b[i]),
                    None if i < mv => _mm512_maskz_loadu_ps(lanes(v), dst.add(i * rs + 16 * v)),
                    None => _mm512_setzero_ps(),
                };
            }
        }
        let mut wt = w;
        for &o in offs {
            let p = src.add(o);
            let mut xs = [_mm512_setzero_ps(); V];
            for v in 0..V {
                xs[v] = _mm512_maskz_loadu_ps(lanes(v), p.add(16 * v));
            }
            for i in 0..MB {
                let wi = _mm512_set1_ps(*wt.add(i));
                for v in 0..V {
                    acc[i][v] = _mm512_fmadd_ps(xs[v], wi, acc[i][v]);
                }
            }
            wt = wt.add(MB);
        }
        for i in 0..MB {
            if i < mv {
                for v in 0..V {
                    _mm512_mask_storeu_ps(dst.add(i * rs + 16 * v), lanes(v), acc[i][v]);
                }
            }
        }
    }

    /// One kernel call on `mv` channels x `pw` pixels at `dst` (channel stride `rs`), through
    /// a local tile where the block is partial.
    ///
    /// # Safety
    ///
    /// As for [`kernel`], with `dst + i rs + p` valid for `i < mv`, `p < pw` only.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    unsafe fn call<const MB: usize>(
        src: *const f32,
        offs: &[usize],
        w: *const f32,
        dst: *mut f32,
        rs: usize,
        init: Option<&[f32; MB]>,
        mv: usize,
        pw: usize,
    ) {
        let v = pw.div_ceil(8);
        if mv == MB && pw == 8 * v {
            match v {
                2 => kernel::<MB, 2>(src, offs, w, dst, rs, init),
                _ => kernel::<MB, 1>(src, offs, w, dst, rs, init),
            }
            return;
        }
        let mut tile = [[0f32; 16]; MB];
        let t = tile.as_mut_ptr() as *mut f32;
        if init.is_none() {
            for i in 0..mv {
                std::ptr::copy_nonoverlapping(dst.add(i * rs), t.add(i * 16), pw);
            }
        }
        match v {
            2 => kernel::<MB, 2>(src, offs, w, t, 16, init),
            _ => kernel::<MB, 1>(src, offs, w, t, 16, init),
        }
        for i in 0..mv {
            std::ptr::copy_nonoverlapping(t.add(i * 16), dst.add(i * rs), pw);
        }
    }

    /// `dst[i, p] (+)= sum_t w[t, i] src[offs[t] + p]` for `i < MB`, `p < 8 V`: from
    /// `init[i]` where given, else from `dst` itself (channel `i` at `dst + i rs`).
    ///
    /// # Safety
    ///
    /// The CPU has AVX2 and FMA; `src + offs[t] + p`, `w + t MB + i` and `dst + i rs + p`
    /// are valid for every `t`, `i < MB`, `p < 8 V`.
    // Index loops over the constant register block, unrolled by the compiler.
    #[allow(clippy::needless_range_loop)]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel<const MB: usize, const V: usize>(
        src: *const f32,
        offs: &[usize],
        w: *const f32,
        dst: *mut f32,
        rs: usize,
        init: Option<&[f32; MB]>,
    ) {
        let mut acc = [[_mm256_setzero_ps(); V]; MB];
        match init {
            Some(b) => {
                for i in 0..MB {
                    for v in 0..V {
                        acc[i][v] = _mm256_set1_ps(b[i]);
                    }
                }
            }
            None => {
                for i in 0..MB {
                    for v in 0..V {
                        acc[i][v] = _mm256_loadu_ps(dst.add(i * rs + 8 * v));
                    }
                }
            }
        }
        let mut wt = w;
        for &o in offs {
            let p = src.add(o);
            let mut xs = [_mm256_setzero_ps(); V];
            for v in 0..V {
                xs[v] = _mm256_loadu_ps(p.add(8 * v));
            }
            for i in 0..MB {
                let wi = _mm256_broadcast_ss(&*wt.add(i));
                for v in 0..V {
                    acc[i][v] = _mm256_fmadd_ps(xs[v], wi, acc[i][v]);
                }
            }
            wt = wt.add(MB);
        }
        for i in 0..MB {
            for v in 0..V {
                _mm256_storeu_ps(dst.add(i * rs + 8 * v), acc[i][v]);
            }
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn panels_cover_the_row() {
            for width in [16, 32] {
                for ow in 1..200 {
                    let p = super::panels(ow, width);
                    let mut x = 0;
                    for &(x0, w) in &p {
                        assert_eq!(x0, x);
                        assert!(w > 0 && w <= width);
                        x += w;
                    }
                    assert_eq!(x, ow);
                }
            }
            assert_eq!(super::panels(40, 16), vec![(0, 16), (16, 16), (32, 8)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence in [-1, 1).
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f64 / (1u64 << 23) as f64 - 1.0) as f32
            })
            .collect()
    }

    /// Direct-loop float64 reference of the convolution `g`.
    fn reference(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &Geometry) -> Vec<f64> {
        let mut out = vec![0f64; g.output_len()];
        for b in 0..g.batch {
            for m in 0..g.out_channels {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let mut s = bias.map_or(0.0, |v| v[m] as f64);
                        for c in 0..g.channels {
                            for i in 0..g.kh {
                                for j in 0..g.kw {
                                    let iy = oy as isize - g.pad_top + (i * g.dilation) as isize;
                                    let ix = ox as isize - g.pad_left + (j * g.dilation) as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy >= g.height as isize
                                        || ix >= g.width as isize
                                    {
                                        continue;
                                    }
                                    let xi = ((b * g.channels + c) * g.height + iy as usize)
                                        * g.width
                                        + ix as usize;
                                    let wi = ((m * g.channels + c) * g.kh + i) * g.kw + j;
                                    s += x[xi] as f64 * w[wi] as f64;
                                }
                            }
                        }
                        out[((b * g.out_channels + m) * g.out_h + oy) * g.out_w + ox] = s;
                    }
                }
            }
        }
        out
    }

    fn close(got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(1f64, |a, v| a.max(v.abs()));
        for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
            assert!(
                (a as f64 - b).abs() <= 1e-5 * scale,
                "element {i}: {a} vs {b}"
            );
        }
    }

    #[test]
    fn matches_direct_loops_for_many_geometries_and_tilings() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let mut seed = 0;
        let shapes = [
            (2, 3, 12, 7, 9, 3),
            (1, 5, 4, 5, 4, 1),
            (2, 2, 3, 6, 5, 2),
            // Several channel passes, full and partial pixel panels and channel blocks.
            (1, 40, 6, 5, 37, 3),
            (1, 3, 5, 4, 32, 3),
            // AVX-512: a partial second vector, a partial block of 8 channels.
            (2, 9, 14, 3, 50, 3),
        ];
        for (n, c, m, h, w, k) in shapes {
            for p in 0..3 {
                for d in 1..3 {
                    let Ok(g) = Geometry::padded([n, c, h, w], [m, c, k, k], p, d) else {
                        continue;
                    };
                    seed += 1;
                    let x = noise(g.input_len(), seed);
                    let wt = noise(g.weight_len(), seed + 100);
                    let bias = noise(m, seed + 200);
                    let want = reference(&x, &wt, Some(&bias), &g);
                    let gemm_tiled = |tile: usize| {
                        let mut out = vec![0f32; g.output_len()];
                        im2col_gemm(&x, &wt, Some(&bias), &g, &mut out, tile);
                        out
                    };
                    for tile in [1, 50, TILE_FLOATS] {
                        close(&gemm_tiled(tile), &want);
                        close(&pool.install(|| gemm_tiled(tile)), &want);
                    }
                    let mut methods = vec![Method::Auto, Method::Im2colGemm];
                    if direct_available() {
                        methods.extend([Method::Direct, Method::DirectAvx2]);
                    }
                    // Cropping (negative padding), as in the gradient of a large padding.
                    let gg = g.input_gradient();
                    let gy = noise(gg.input_len(), seed + 300);
                    let wf = noise(gg.weight_len(), seed + 400);
                    let want_gx = reference(&gy, &wf, None, &gg);
                    for method in methods {
                        let run = || conv2d_with(&x, &wt, Some(&bias), &g, method).unwrap();
                        close(&run(), &want);
                        close(&pool.install(run), &want);
                        close(&conv2d_with(&gy, &wf, None, &gg, method).unwrap(), &want_gx);
                    }
                    if direct_available() {
                        // Both kernel families add the taps in one order: the same bits.
                        let bits = |m| conv2d_with(&x, &wt, Some(&bias), &g, m).unwrap();
                        assert_eq!(bits(Method::Direct), bits(Method::DirectAvx2));
                    }
                }
            }
        }
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let g = Geometry::padded([1, 2, 4, 4], [3, 2, 3, 3], 1, 1).unwrap();
        let x = vec![0.0; g.input_len()];
        let w = vec![0.0; g.weight_len()];
        assert!(conv2d(&x[1..], &w, None, &g).is_err());
        assert!(conv2d(&x, &w[1..], None, &g).is_err());
        assert!(conv2d(&x, &w, Some(&[1.0]), &g).is_err());
        assert!(Geometry::padded([1, 2, 2, 2], [3, 2, 3, 3], 0, 1).is_err());
        assert!(Geometry::padded([1, 2, 4, 4], [3, 1, 3, 3], 1, 1).is_err());
        // Sizes that would overflow are refused, not panicked on.
        assert!(Geometry::padded([1, 2, 4, 4], [3, 2, 3, 3], usize::MAX / 2, 1).is_err());
        assert!(Geometry::padded([1, 2, 4, 4], [3, 2, 3, 3], 1, usize::MAX / 2).is_err());
        let huge = Geometry {
            out_w: usize::MAX / 2,
            ..g
        };
        assert!(conv2d(&x, &w, None, &huge).is_err());
        assert!(conv2d(&[], &w, None, &huge.input_gradient()).is_err());
        let far = Geometry {
            pad_left: isize::MIN,
            ..g
        };
        assert!(conv2d(&x, &w, None, &far).is_err());
        let zero = Geometry { dilation: 0, ..g };
        assert!(conv2d(&x, &w, None, &zero).is_err());
    }
}
