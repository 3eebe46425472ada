//! [`Method::Direct`](super::Method::Direct): blocks of output rows from zero-padded input
//! rows, through the register-blocked kernels of [`avx2`] or [`avx512`].

mod avx2;
mod avx512;

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
        DirectIsa::Avx512 if by_big_blocks(m, 8, 4) => conv_mb::<8>(x, weight, bias, g, out, isa),
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

/// One kernel call: `mv` of a block of `MB` output channels x `pw` pixels of an output row.
#[derive(Clone, Copy)]
pub(super) struct Call<'a, const MB: usize> {
    /// The panel's first pixel in the padded input rows.
    src: *const f32,
    /// Every tap's offset from a pixel, for this pass's input channels.
    offs: &'a [usize],
    /// The channel block's packed weights from this pass's first tap (`MB` per tap).
    w: *const f32,
    /// The first output value of the block's first channel.
    dst: *mut f32,
    /// The output's channel stride.
    rs: usize,
    /// The first pass's starting values (the bias); later passes add to `dst`.
    init: Option<&'a [f32; MB]>,
    /// Channels of the block that exist (`<= MB`).
    mv: usize,
    /// Pixels of the panel.
    pw: usize,
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
                        let call = Call {
                            src,
                            offs,
                            w,
                            dst,
                            rs: pixels,
                            init: init.as_ref(),
                            mv,
                            pw,
                        };
                        match isa {
                            DirectIsa::Avx2 => avx2::call::<MB>(&call),
                            DirectIsa::Avx512 => avx512::call::<MB>(&call),
                        }
                    }
                }
                k0 = k1;
            }
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
