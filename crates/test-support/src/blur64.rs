//! The spec's Gaussian kernel and reflect-101 blur in `f64`, written independently of
//! `srlens_plugin_kit::blur` so that tests can check it (and what is built on it) against them.

/// The spec's kernel for `s`, side `l`, in `f64`: `exp(-(u^2+v^2) / (2 (s + 1e-5)^2))`
/// normalised to sum 1, indexed `[u + l/2][v + l/2]`.
pub fn kernel64(s: f64, l: usize) -> Vec<Vec<f64>> {
    let r = (l / 2) as i64;
    let d = 2.0 * (s + 1e-5).powi(2);
    let raw: Vec<Vec<f64>> = (-r..=r)
        .map(|u| {
            (-r..=r)
                .map(|v| (-((u * u + v * v) as f64) / d).exp())
                .collect()
        })
        .collect();
    let total: f64 = raw.iter().flatten().sum();
    raw.iter()
        .map(|row| row.iter().map(|k| k / total).collect())
        .collect()
}

/// The kernels of step `i` of the spec's progressive-blur path of `steps` steps from `sigma`
/// (side `l`): that of the point `p_i`, `k_{sigma_{i+1}}`, and that of its derivative `d_i`,
/// `(k_{sigma_{i+1}} - k_{sigma_i}) steps`, where `sigma_i = sigma (1 - i / steps)`.
pub fn path_kernels64(
    sigma: f64,
    l: usize,
    i: usize,
    steps: usize,
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let sigma_at = |i: usize| sigma * (1.0 - i as f64 / steps as f64);
    let (k_next, k_this) = (kernel64(sigma_at(i + 1), l), kernel64(sigma_at(i), l));
    let dk = k_next
        .iter()
        .zip(&k_this)
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .map(|(a, b)| (a - b) * steps as f64)
                .collect()
        })
        .collect();
    (k_next, dk)
}

/// Reflect-101 (`dcb|abcd|cba`) of index `i` into `0..n`, by walking: reflect at `-1` and at
/// `n`, excluding the edge pixel (a single pixel reflects onto itself).
pub fn reflect_101(mut i: i64, n: i64) -> usize {
    if n == 1 {
        return 0;
    }
    while i < 0 || i >= n {
        if i < 0 {
            i = -i;
        }
        if i >= n {
            i = 2 * (n - 1) - i;
        }
    }
    i as usize
}

/// Correlation of each of the `c` planes of `x` (`c x h x w`) with `k` (`l x l`, as
/// [`kernel64`] gives), reflect-101 borders.
pub fn blur64(x: &[f64], c: usize, h: usize, w: usize, k: &[Vec<f64>]) -> Vec<f64> {
    assert_eq!(x.len(), c * h * w, "c x h x w values");
    let r = (k.len() / 2) as i64;
    let mut out = vec![0.0; c * h * w];
    for ch in 0..c {
        for i in 0..h {
            for j in 0..w {
                let mut acc = 0.0;
                for (ku, row) in k.iter().enumerate() {
                    for (kv, kval) in row.iter().enumerate() {
                        let si = reflect_101(i as i64 + ku as i64 - r, h as i64);
                        let sj = reflect_101(j as i64 + kv as i64 - r, w as i64);
                        acc += kval * x[(ch * h + si) * w + sj];
                    }
                }
                out[(ch * h + i) * w + j] = acc;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_101_matches_opencv() {
        let got: Vec<usize> = (-3..7).map(|i| reflect_101(i, 4)).collect();
        assert_eq!(got, [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        assert_eq!(reflect_101(-2, 1), 0);
    }

    #[test]
    fn the_kernel_sums_to_one_and_a_constant_image_stays_constant() {
        let k = kernel64(1.3, 5);
        let s: f64 = k.iter().flatten().sum();
        assert!((s - 1.0).abs() < 1e-12);
        let y = blur64(&[0.25; 2 * 3 * 4], 2, 3, 4, &k);
        assert!(y.iter().all(|v| (v - 0.25).abs() < 1e-12));
        // The last point is the unblurred image; derivatives of a normalised kernel sum to 0.
        let (k_last, dk) = path_kernels64(1.3, 5, 3, 4);
        assert!((k_last[2][2] - 1.0).abs() < 1e-12);
        assert!(dk.iter().flatten().sum::<f64>().abs() < 1e-12);
    }
}
