//! Gaussian kernels and blurs with reflect-101 borders, as the attribution spec fixes them.

use srlens_core::PluginError;

/// The Gaussian kernel of side `size` (odd) for `sigma`:
/// `exp(-(u^2+v^2) / (2 (sigma + 1e-5)^2))`, normalised to sum 1, row-major `size x size`.
pub fn gaussian_kernel(sigma: f64, size: usize) -> Vec<f64> {
    let r = (size / 2) as i64;
    let s = sigma + 1e-5;
    let mut k = Vec::with_capacity(size * size);
    for u in -r..=r {
        for v in -r..=r {
            k.push((-((u * u + v * v) as f64) / (2.0 * s * s)).exp());
        }
    }
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|x| *x /= sum);
    k
}

/// The 1-D factor of [`gaussian_kernel`]: `exp(-u^2 / (2 (sigma + 1e-5)^2))` for `u` in
/// `-size/2..=size/2`, normalised to sum 1. Its outer product with itself is
/// [`gaussian_kernel`] (the 2-D sum is the square of the 1-D one).
pub fn gaussian_kernel_1d(sigma: f64, size: usize) -> Vec<f64> {
    let r = (size / 2) as i64;
    let s = sigma + 1e-5;
    let mut k: Vec<f64> = (-r..=r)
        .map(|u| (-((u * u) as f64) / (2.0 * s * s)).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|x| *x /= sum);
    k
}

/// Blurs each `h x w` plane of `image` (`planes x h x w`, row-major) with the separable
/// kernel `g (x) g` (`g` from [`gaussian_kernel_1d`]), reflect-101 borders, same size, in
/// `f64`: what [`correlate`] computes with [`gaussian_kernel`], to `f64` rounding, in
/// `2 size` instead of `size^2` operations per pixel.
pub fn gaussian_blur64<T: Copy + Into<f64>>(
    image: &[T],
    h: usize,
    w: usize,
    g: &[f64],
) -> Vec<f64> {
    let size = g.len();
    let r = (size / 2) as i64;
    // The reflected source index of every (output index, tap), once per axis.
    let taps = |n: usize| -> Vec<usize> {
        (0..n as i64)
            .flat_map(|i| (-r..=r).map(move |u| reflect101(i + u, n)))
            .collect()
    };
    let (cols, rows) = (taps(w), taps(h));
    let planes = image.len() / (h * w).max(1);
    let mut out = vec![0f64; image.len()];
    let mut across = vec![0f64; h * w];
    for p in 0..planes {
        let src = &image[p * h * w..(p + 1) * h * w];
        for i in 0..h {
            let row = &src[i * w..(i + 1) * w];
            for (j, a) in across[i * w..(i + 1) * w].iter_mut().enumerate() {
                let idx = &cols[j * size..(j + 1) * size];
                *a = g.iter().zip(idx).map(|(k, &c)| k * row[c].into()).sum();
            }
        }
        let dst = &mut out[p * h * w..(p + 1) * h * w];
        for i in 0..h {
            let line = &mut dst[i * w..(i + 1) * w];
            for (k, &si) in g.iter().zip(&rows[i * size..(i + 1) * size]) {
                let from = &across[si * w..(si + 1) * w];
                line.iter_mut().zip(from).for_each(|(o, &a)| *o += k * a);
            }
        }
    }
    out
}

/// Checks a blur kernel's side for an `h x w` image: odd, and at most `4 max(h, w) + 1`
/// (a wider kernel only wraps around the reflect-101 borders yet again, and costs `side^2`
/// per pixel: a side of 100001 is 80 GB of kernel). `what` names the component, `key` the
/// option, in the error.
pub fn check_kernel(
    what: &str,
    key: &str,
    size: usize,
    h: usize,
    w: usize,
) -> Result<(), PluginError> {
    let max = 4 * h.max(w) + 1;
    if size.is_multiple_of(2) || size > max {
        return Err(crate::invalid_config(format!(
            "{what}: `{key}` must be an odd size of at most {max} for this {w} x {h} input \
             (4 x its longer side + 1), got {size}"
        ))
        .with_key(key));
    }
    Ok(())
}

/// Reflect-101 index (`dcb|abcd|cba`) of `i` into `0..n`.
pub fn reflect101(i: i64, n: usize) -> usize {
    let n = n as i64;
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let mut i = i.rem_euclid(period);
    if i >= n {
        i = period - i;
    }
    i as usize
}

/// Correlates each `h x w` plane of `image` (`planes x h x w`, row-major) with `kernel`
/// (`size x size`), reflect-101 borders, same-size output. Computed in `f64`.
pub fn correlate(image: &[f32], h: usize, w: usize, kernel: &[f64], size: usize) -> Vec<f32> {
    let r = (size / 2) as i64;
    let planes = image.len() / (h * w);
    let mut out = vec![0f32; image.len()];
    for p in 0..planes {
        let src = &image[p * h * w..(p + 1) * h * w];
        let dst = &mut out[p * h * w..(p + 1) * h * w];
        for i in 0..h {
            for j in 0..w {
                let mut acc = 0f64;
                for (ku, u) in (-r..=r).enumerate() {
                    let si = reflect101(i as i64 + u, h);
                    let row = &src[si * w..(si + 1) * w];
                    let krow = &kernel[ku * size..(ku + 1) * size];
                    for (kv, v) in (-r..=r).enumerate() {
                        acc += krow[kv] * row[reflect101(j as i64 + v, w)] as f64;
                    }
                }
                dst[i * w + j] = acc as f32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect101_matches_opencv() {
        // dcb|abcd|cba
        let idx: Vec<usize> = (-3..7).map(|i| reflect101(i, 4)).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    }

    /// The spec's kernel, computed here entry by entry in `f64`: `exp(-(u^2+v^2) /
    /// (2 (s + 1e-5)^2))` for `u, v in -(l/2)..=l/2`, normalised to sum 1; `[u][v]`.
    fn spec_kernel(s: f64, l: usize) -> Vec<Vec<f64>> {
        let r = (l / 2) as i32;
        let d = 2.0 * (s + 1e-5) * (s + 1e-5);
        let raw: Vec<Vec<f64>> = (-r..=r)
            .map(|u| {
                (-r..=r)
                    .map(|v| (-f64::from(u * u + v * v) / d).exp())
                    .collect()
            })
            .collect();
        let total: f64 = raw.iter().flatten().sum();
        raw.into_iter()
            .map(|row| row.into_iter().map(|k| k / total).collect())
            .collect()
    }

    #[test]
    fn kernel_matches_the_spec_closed_form_entry_by_entry() {
        for sigma in [0.0, 0.3, 1.0, 1.2, 2.0, 3.7] {
            for l in [1usize, 3, 5, 7, 9, 11] {
                let got = gaussian_kernel(sigma, l);
                let want = spec_kernel(sigma, l);
                assert_eq!(got.len(), l * l, "sigma {sigma} side {l}");
                for (u, row) in want.iter().enumerate() {
                    for (v, w) in row.iter().enumerate() {
                        let g = got[u * l + v];
                        assert!(
                            (g - w).abs() <= 1e-15 + 1e-12 * w,
                            "sigma {sigma} side {l} [{u}][{v}]: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn kernel_of_sigma_zero_is_a_delta() {
        // exp(-1 / (2e-10)) underflows to 0: everything but the centre vanishes in f64.
        for l in [1usize, 3, 9] {
            let k = gaussian_kernel(0.0, l);
            for (i, &v) in k.iter().enumerate() {
                let want = if i == l * l / 2 { 1.0 } else { 0.0 };
                assert_eq!(v, want, "side {l} entry {i}");
            }
        }
    }

    #[test]
    fn sigma_zero_is_the_identity() {
        let k = gaussian_kernel(0.0, 9);
        let img: Vec<f32> = (0..30).map(|i| i as f32 * 0.1).collect();
        let out = correlate(&img, 5, 6, &k, 9);
        for (a, b) in img.iter().zip(&out) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn the_separable_blur_is_the_2d_correlation() {
        let (planes, h, w) = (2, 5, 7);
        let image: Vec<f32> = (0..planes * h * w)
            .map(|i| ((i * 29 % 53) as f32) / 53.0)
            .collect();
        for (sigma, size) in [(1.2, 9), (0.0, 3), (3.0, 11), (0.7, 1), (2.0, 29)] {
            let g = gaussian_kernel_1d(sigma, size);
            let k = gaussian_kernel(sigma, size);
            // The outer product is the 2-D kernel, entry by entry.
            for (idx, &kv) in k.iter().enumerate() {
                let want = g[idx / size] * g[idx % size];
                assert!(
                    (kv - want).abs() < 1e-15,
                    "sigma {sigma} size {size} [{idx}]"
                );
            }
            let fast = gaussian_blur64(&image, h, w, &g);
            let slow = correlate(&image, h, w, &k, size);
            for (j, (&f, &s)) in fast.iter().zip(&slow).enumerate() {
                assert!(
                    (f - s as f64).abs() < 1e-6,
                    "sigma {sigma} size {size} [{j}]: {f} vs {s}"
                );
            }
        }
    }

    #[test]
    fn blur_of_a_constant_is_the_constant() {
        let k = gaussian_kernel(2.0, 9);
        let out = correlate(&[0.5; 3 * 7 * 4], 7, 4, &k, 9);
        assert!(out.iter().all(|v| (v - 0.5).abs() < 1e-6));
    }
}
