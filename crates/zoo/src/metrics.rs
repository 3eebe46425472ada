//! The usual SR evaluation: PSNR and SSIM on the luma (Y) channel, with a border cropped.
//!
//! - Y is ITU-R BT.601 as MATLAB's `rgb2ycbcr` computes it for 8-bit images, kept as a float:
//!   `Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`, `R, G, B` in `0..=255`.
//! - PSNR: `10 log10(range^2 / MSE)`, `range = 255`.
//! - SSIM (Wang et al. 2004): an 11 x 11 Gaussian window with sigma 1.5, `K1 = 0.01`,
//!   `K2 = 0.03`, population (co)variances, averaged over the positions where the window fits
//!   inside the image (MATLAB's `ssim_index`; scikit-image's `structural_similarity` with
//!   `gaussian_weights=True, sigma=1.5, use_sample_covariance=False`).

use image::RgbImage;

use crate::error::{Error, Result};

/// A single-channel image of `f64` values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
    /// `h * w` values.
    pub data: Vec<f64>,
}

impl Plane {
    /// The `w x h` window at `(x, y)`.
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Result<Plane> {
        if x + w > self.w || y + h > self.h {
            return Err(Error::Image(format!(
                "a {w} x {h} crop at ({x}, {y}) does not fit in a {} x {} image",
                self.w, self.h
            )));
        }
        let data = (y..y + h)
            .flat_map(|r| {
                self.data[r * self.w + x..r * self.w + x + w]
                    .iter()
                    .copied()
            })
            .collect();
        Ok(Plane { w, h, data })
    }

    /// The image without a border of `b` pixels on each side.
    pub fn shave(&self, b: usize) -> Result<Plane> {
        if 2 * b >= self.w || 2 * b >= self.h {
            return Err(Error::Image(format!(
                "cannot crop a {b}-pixel border from a {} x {} image",
                self.w, self.h
            )));
        }
        self.crop(b, b, self.w - 2 * b, self.h - 2 * b)
    }
}

/// The luma of an 8-bit RGB image (MATLAB's `rgb2ycbcr`, unrounded), in `[16, 235]`.
pub fn luma(img: &RgbImage) -> Plane {
    let data = img
        .pixels()
        .map(|p| {
            16.0 + (65.481 * p[0] as f64 + 128.553 * p[1] as f64 + 24.966 * p[2] as f64) / 255.0
        })
        .collect();
    Plane {
        w: img.width() as usize,
        h: img.height() as usize,
        data,
    }
}

fn same_size(a: &Plane, b: &Plane) -> Result<()> {
    if a.w != b.w || a.h != b.h || a.data.len() != a.w * a.h || b.data.len() != b.w * b.h {
        return Err(Error::Image(format!(
            "images of different sizes: {} x {} and {} x {}",
            a.w, a.h, b.w, b.h
        )));
    }
    Ok(())
}

/// The PSNR in dB of `a` against `b` for values spanning `range`; infinite when equal.
pub fn psnr(a: &Plane, b: &Plane, range: f64) -> Result<f64> {
    same_size(a, b)?;
    let mse = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        / a.data.len() as f64;
    Ok(10.0 * (range * range / mse).log10())
}

/// The SSIM window's side.
pub const WINDOW: usize = 11;
/// The SSIM window's Gaussian sigma.
pub const SIGMA: f64 = 1.5;

/// The normalised 1-D Gaussian whose outer product is the SSIM window.
pub fn gaussian_taps() -> [f64; WINDOW] {
    let mut t = [0.0; WINDOW];
    let c = (WINDOW / 2) as f64;
    for (i, v) in t.iter_mut().enumerate() {
        let x = i as f64 - c;
        *v = (-x * x / (2.0 * SIGMA * SIGMA)).exp();
    }
    let s: f64 = t.iter().sum();
    t.map(|v| v / s)
}

/// The window-weighted mean of `f(a, b)` at every position where the window fits.
fn filter_valid(a: &Plane, b: &Plane, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let g = gaussian_taps();
    let (ow, oh) = (a.w - WINDOW + 1, a.h - WINDOW + 1);
    // Rows first: h x ow, then columns: oh x ow.
    let mut rows = vec![0.0; a.h * ow];
    for y in 0..a.h {
        for x in 0..ow {
            let mut s = 0.0;
            for (k, gk) in g.iter().enumerate() {
                let i = y * a.w + x + k;
                s += gk * f(a.data[i], b.data[i]);
            }
            rows[y * ow + x] = s;
        }
    }
    let mut out = vec![0.0; oh * ow];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = g
                .iter()
                .enumerate()
                .map(|(k, gk)| gk * rows[(y + k) * ow + x])
                .sum();
        }
    }
    out
}

/// The mean SSIM of `a` and `b` for values spanning `range` (see the module's notes).
pub fn ssim(a: &Plane, b: &Plane, range: f64) -> Result<f64> {
    same_size(a, b)?;
    if a.w < WINDOW || a.h < WINDOW {
        return Err(Error::Image(format!(
            "SSIM needs images of at least {WINDOW} x {WINDOW}; got {} x {}",
            a.w, a.h
        )));
    }
    let (c1, c2) = ((0.01 * range).powi(2), (0.03 * range).powi(2));
    let ma = filter_valid(a, b, |x, _| x);
    let mb = filter_valid(a, b, |_, y| y);
    let aa = filter_valid(a, b, |x, _| x * x);
    let bb = filter_valid(a, b, |_, y| y * y);
    let ab = filter_valid(a, b, |x, y| x * y);
    let n = ma.len();
    let total: f64 = (0..n)
        .map(|i| {
            let (va, vb, cov) = (
                aa[i] - ma[i] * ma[i],
                bb[i] - mb[i] * mb[i],
                ab[i] - ma[i] * mb[i],
            );
            ((2.0 * ma[i] * mb[i] + c1) * (2.0 * cov + c2))
                / ((ma[i] * ma[i] + mb[i] * mb[i] + c1) * (va + vb + c2))
        })
        .sum();
    Ok(total / n as f64)
}

/// PSNR and SSIM of an SR result against its HR image: Y channel, `border` pixels cropped.
pub fn sr_scores(hr: &RgbImage, sr: &RgbImage, border: usize) -> Result<(f64, f64)> {
    let (a, b) = (luma(sr).shave(border)?, luma(hr).shave(border)?);
    Ok((psnr(&a, &b, 255.0)?, ssim(&a, &b, 255.0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(w: usize, h: usize, f: impl Fn(usize, usize) -> f64) -> Plane {
        Plane {
            w,
            h,
            data: (0..h)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .map(|(x, y)| f(x, y))
                .collect(),
        }
    }

    #[test]
    fn psnr_of_a_known_mse() {
        let a = plane(4, 3, |_, _| 10.0);
        let b = plane(4, 3, |x, _| if x == 0 { 13.0 } else { 10.0 }); // MSE = 3 * 9 / 12
        let want = 10.0 * (255.0f64 * 255.0 / (27.0 / 12.0)).log10();
        assert!((psnr(&a, &b, 255.0).unwrap() - want).abs() < 1e-12);
        assert!(psnr(&a, &a, 255.0).unwrap().is_infinite());
    }

    #[test]
    fn ssim_of_constants_is_the_luminance_term() {
        let (ma, mb) = (100.0, 120.0);
        let c1 = (0.01f64 * 255.0).powi(2);
        let want = (2.0 * ma * mb + c1) / (ma * ma + mb * mb + c1);
        let got = ssim(&plane(13, 12, |_, _| ma), &plane(13, 12, |_, _| mb), 255.0).unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        let x = plane(15, 14, |x, y| ((x * 7 + y * 13) % 17) as f64 * 9.0);
        assert!((ssim(&x, &x, 255.0).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn taps_are_normalised_and_symmetric() {
        let g = gaussian_taps();
        assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(g[0], g[10]);
        assert!((g[5] / g[4] - (1.0 / (2.0 * 2.25f64)).exp()).abs() < 1e-12);
    }

    #[test]
    fn luma_of_white_and_black() {
        let mut img = RgbImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgb([255, 255, 255]));
        let y = luma(&img);
        assert!((y.data[0] - 235.0).abs() < 1e-12);
        assert!((y.data[1] - 16.0).abs() < 1e-12);
    }

    #[test]
    fn sizes_are_checked() {
        let a = plane(12, 12, |_, _| 0.0);
        assert!(psnr(&a, &plane(12, 11, |_, _| 0.0), 255.0).is_err());
        assert!(ssim(
            &plane(10, 12, |_, _| 0.0),
            &plane(10, 12, |_, _| 0.0),
            255.0
        )
        .is_err());
        assert!(a.shave(6).is_err());
        assert_eq!(a.shave(2).unwrap().w, 8);
    }
}
