//! A texture measure of a window's HR patch: the share of its (non-constant) energy at the
//! dominant spatial frequency, by a 2-D discrete Fourier transform. Regular stripes and grids
//! are near 1, irregular texture and noise near 0; a flat patch is 0.

use image::RgbImage;

/// The dominant-frequency energy share of the `size x size` patch at `(x, y)` of `img`
/// (luma, mean removed): `(P(k) + P(-k)) / sum of P over k != 0`, where `P` is the DFT's
/// power spectrum and `k` its largest non-zero frequency (counted once where `k = -k`).
pub fn dominant_frequency_share(img: &RgbImage, x: u32, y: u32, size: u32) -> f64 {
    let n = size as usize;
    let mut v: Vec<f64> = Vec::with_capacity(n * n);
    for r in y..y + size {
        for c in x..x + size {
            let p = img.get_pixel(c.min(img.width() - 1), r.min(img.height() - 1));
            v.push(0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64);
        }
    }
    let power = power_spectrum(&v, n);
    let total: f64 = power.iter().skip(1).sum();
    if total <= 1e-12 * (n * n) as f64 {
        return 0.0;
    }
    let (k, _) = power
        .iter()
        .enumerate()
        .skip(1)
        .fold(
            (0, f64::MIN),
            |best, (i, &p)| if p > best.1 { (i, p) } else { best },
        );
    let (ku, kv) = (k / n, k % n);
    let mirror = ((n - ku) % n) * n + (n - kv) % n;
    let share = if mirror == k {
        power[k]
    } else {
        power[k] + power[mirror]
    };
    share / total
}

/// `|DFT(v)|^2` of an `n x n` row-major signal, row-major by (u, v); separable, O(n^3).
fn power_spectrum(v: &[f64], n: usize) -> Vec<f64> {
    let twiddle: Vec<(f64, f64)> = (0..n)
        .map(|k| {
            let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
            (a.cos(), a.sin())
        })
        .collect();
    // Rows: for each row r and frequency q, sum_c v[r][c] e^{-2 pi i q c / n}.
    let mut rows = vec![(0.0, 0.0); n * n];
    for r in 0..n {
        for q in 0..n {
            let (mut re, mut im) = (0.0, 0.0);
            for c in 0..n {
                let (tc, ts) = twiddle[(q * c) % n];
                re += v[r * n + c] * tc;
                im += v[r * n + c] * ts;
            }
            rows[r * n + q] = (re, im);
        }
    }
    let mut power = vec![0.0; n * n];
    for p in 0..n {
        for q in 0..n {
            let (mut re, mut im) = (0.0, 0.0);
            for r in 0..n {
                let (tc, ts) = twiddle[(p * r) % n];
                let (a, b) = rows[r * n + q];
                re += a * tc - b * ts;
                im += a * ts + b * tc;
            }
            power[p * n + q] = re * re + im * im;
        }
    }
    power
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(mut f: impl FnMut(u32, u32) -> f64) -> RgbImage {
        RgbImage::from_fn(16, 16, |x, y| {
            let v = f(x, y).clamp(0.0, 255.0) as u8;
            image::Rgb([v, v, v])
        })
    }

    #[test]
    fn stripes_are_one_frequency_and_flat_is_zero() {
        let stripes = image(|x, _| if (x / 2) % 2 == 0 { 200.0 } else { 50.0 });
        assert!(dominant_frequency_share(&stripes, 0, 0, 16) > 0.75);
        let sine = image(|x, y| {
            128.0 + 100.0 * (2.0 * std::f64::consts::PI * (x + 2 * y) as f64 / 8.0).sin()
        });
        assert!(dominant_frequency_share(&sine, 0, 0, 16) > 0.95);
        assert_eq!(dominant_frequency_share(&image(|_, _| 90.0), 0, 0, 16), 0.0);
        let mut s = 12345u64;
        let noise = image(|_, _| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 56) as f64
        });
        assert!(dominant_frequency_share(&noise, 0, 0, 16) < 0.2);
    }
}
