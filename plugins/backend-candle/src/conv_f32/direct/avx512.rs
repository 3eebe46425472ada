//! The AVX-512 kernels: 4 or 8 output channels x 32 pixels (two 16-float vectors), partial
//! panels by masked loads and stores. They add each output's taps in the AVX2 kernels' order,
//! one rounding per multiply-add: the same bits.

use std::arch::x86_64::*;

use super::Call;

/// [`super::avx2::call`] with the AVX-512 kernels (panels of up to 32 pixels, partial ones by
/// masked loads and stores, partial channel blocks by storing `mv` channels only).
///
/// # Safety
///
/// As for [`super::avx2::call`], with AVX-512 present.
#[inline]
pub(super) unsafe fn call<const MB: usize>(c: &Call<'_, MB>) {
    let Call {
        src,
        offs,
        w,
        dst,
        rs,
        init,
        mv,
        pw,
    } = *c;
    let v = pw.div_ceil(16);
    let rest = pw - 16 * (v - 1);
    let last: __mmask16 = if rest == 16 { 0xffff } else { (1 << rest) - 1 };
    match v {
        2 => kernel::<MB, 2>(src, offs, w, dst, rs, init, mv, last),
        _ => kernel::<MB, 1>(src, offs, w, dst, rs, init, mv, last),
    }
}

/// [`super::avx2`]'s kernel for `16 V` pixels by AVX-512, channels `i < mv` and the lanes of
/// `last` in the last vector only (none of the others is read or written).
///
/// # Safety
///
/// The CPU has AVX-512F; `src + offs[t] + p`, `w + t MB + i` and `dst + i rs + p` are
/// valid for every `t`, `i < mv` (`i < MB` for `w`) and pixel `p` of the panel.
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
unsafe fn kernel<const MB: usize, const V: usize>(
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
