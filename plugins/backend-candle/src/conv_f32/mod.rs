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

use rayon::prelude::*;

use crate::error::{Error, Result};

#[cfg(target_arch = "x86_64")]
mod direct;
mod im2col;

use im2col::{im2col_gemm, TILE_FLOATS};

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
