//! [`Method::Im2colGemm`](super::Method::Im2colGemm): im2col of blocks of output rows into a
//! per-thread buffer and one `gemm` per block, straight into the NCHW output.

use gemm::{gemm, Parallelism};

use super::{for_each_block, rows_per_block, with_scratch, Geometry, OutPtr};

/// Target size of one block's im2col buffer, in floats (1 MiB).
pub(super) const TILE_FLOATS: usize = 1 << 18;

/// [`Method::Im2colGemm`] with blocks of about `tile_floats` im2col floats, into `out`
/// (zeros, `g.output_len()` of them; operands checked, `g.channels > 0`).
pub(super) fn im2col_gemm(
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
