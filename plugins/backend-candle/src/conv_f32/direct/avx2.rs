//! The AVX2 and FMA kernels: 4 or 6 output channels x 16 pixels (two 8-float vectors), partial
//! panels and channel blocks through a local tile.

use std::arch::x86_64::*;

use super::Call;

/// The kernel on `c.mv` channels x `c.pw` pixels at `c.dst` (channel stride `c.rs`), through
/// a local tile where the block is partial.
///
/// # Safety
///
/// As for [`kernel`], with `dst + i rs + p` valid for `i < mv`, `p < pw` only.
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
