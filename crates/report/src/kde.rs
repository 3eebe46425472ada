//! Weighted 2-D Gaussian kernel density of a view over pixel positions, as
//! `scipy.stats.gaussian_kde(pixels, weights=view)` with Scott's bandwidth (the LAM figures).

use crate::error::{check_finite, check_len, Error, Result};

/// Variance (px²) added to the data covariance's diagonal where it is singular (all mass on
/// one pixel or on one line; scipy raises an error there): that of a uniform pixel, 1/12.
pub const SINGULAR_REGULARISATION: f64 = 1.0 / 12.0;

/// The kernel of the density: weighted mean, data covariance and Scott's factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KdeKernel {
    /// Effective number of points, `sum(w)^2 / sum(w^2)`.
    pub neff: f64,
    /// Scott's factor, `neff^(-1/6)` for 2-D data.
    pub factor: f64,
    /// Weighted data covariance `[[xx, xy], [xy, yy]]` (x = column, y = row), with scipy's
    /// bias correction `1 - sum(w_n^2)` for normalised weights `w_n`.
    pub data_covariance: [[f64; 2]; 2],
    /// Whether [`SINGULAR_REGULARISATION`] was added (scipy would have failed).
    pub regularised: bool,
}

/// Computes the kernel for a non-negative `h x w` view; `None` for zero total weight.
pub fn kde_kernel(view: &[f32], h: usize, w: usize) -> Result<Option<KdeKernel>> {
    check_len("view", view, &[h, w])?;
    check_finite("view", view)?;
    if let Some(i) = view.iter().position(|&v| v < 0.0) {
        return Err(Error::Invalid(format!(
            "KDE weights must be non-negative, view[{i}] = {}",
            view[i]
        )));
    }
    let total: f64 = view.iter().map(|&v| v as f64).sum();
    if total <= 0.0 {
        return Ok(None);
    }
    let (mut sw2, mut mx, mut my) = (0.0, 0.0, 0.0);
    for (p, &v) in view.iter().enumerate() {
        let wn = v as f64 / total;
        sw2 += wn * wn;
        mx += wn * (p % w) as f64;
        my += wn * (p / w) as f64;
    }
    let neff = 1.0 / sw2;
    let factor = neff.powf(-1.0 / 6.0);
    let (mut cxx, mut cxy, mut cyy) = (0.0, 0.0, 0.0);
    for (p, &v) in view.iter().enumerate() {
        let wn = v as f64 / total;
        let (dx, dy) = ((p % w) as f64 - mx, (p / w) as f64 - my);
        cxx += wn * dx * dx;
        cxy += wn * dx * dy;
        cyy += wn * dy * dy;
    }
    // numpy.cov(aweights=w, ddof=1): divide by v1 - v2 / v1 = 1 - sum(w_n^2).
    let fact = 1.0 - sw2;
    let mut cov = if fact > 0.0 {
        [[cxx / fact, cxy / fact], [cxy / fact, cyy / fact]]
    } else {
        [[0.0; 2]; 2]
    };
    let det = cov[0][0] * cov[1][1] - cov[0][1] * cov[0][1];
    let singular = !(cov[0][0] > 0.0 && cov[1][1] > 0.0 && det > 1e-9 * cov[0][0] * cov[1][1]);
    if singular {
        cov[0][0] += SINGULAR_REGULARISATION;
        cov[1][1] += SINGULAR_REGULARISATION;
    }
    Ok(Some(KdeKernel {
        neff,
        factor,
        data_covariance: cov,
        regularised: singular,
    }))
}

/// The density evaluated at every pixel of the `h x w` grid (row-major), normalised to max 1,
/// in f64. A view with zero total weight gives all zeros.
pub fn kde_f64(view: &[f32], h: usize, w: usize) -> Result<Vec<f64>> {
    let Some(k) = kde_kernel(view, h, w)? else {
        return Ok(vec![0.0; h * w]);
    };
    let f2 = k.factor * k.factor;
    let (a, b, c) = (
        k.data_covariance[0][0] * f2,
        k.data_covariance[0][1] * f2,
        k.data_covariance[1][1] * f2,
    );
    let det = a * c - b * b;
    let (ixx, ixy, iyy) = (c / det, -b / det, a / det);
    // Kernel table over integer offsets: t[(dy + h - 1) * tw + (dx + w - 1)].
    let tw = 2 * w - 1;
    let mut table = vec![0.0f64; (2 * h - 1) * tw];
    for (r, row) in table.chunks_exact_mut(tw).enumerate() {
        let dy = r as f64 - (h as f64 - 1.0);
        for (col, t) in row.iter_mut().enumerate() {
            let dx = col as f64 - (w as f64 - 1.0);
            *t = (-0.5 * (ixx * dx * dx + 2.0 * ixy * dx * dy + iyy * dy * dy)).exp();
        }
    }
    let mut out = vec![0.0f64; h * w];
    for (p, &v) in view.iter().enumerate() {
        if v == 0.0 {
            continue;
        }
        let (pi, pj) = (p / w, p % w);
        let wv = v as f64;
        for (i, orow) in out.chunks_exact_mut(w).enumerate() {
            // offset (eval - data): dy = i - pi, dx = j - pj.
            let start = (i + h - 1 - pi) * tw + (w - 1 - pj);
            for (o, t) in orow.iter_mut().zip(&table[start..start + w]) {
                *o += wv * t;
            }
        }
    }
    let max = out.iter().copied().fold(0.0f64, f64::max);
    if max > 0.0 {
        for o in &mut out {
            *o /= max;
        }
    }
    Ok(out)
}

/// [`kde_f64`] as f32.
pub fn kde(view: &[f32], h: usize, w: usize) -> Result<Vec<f32>> {
    Ok(kde_f64(view, h, w)?.into_iter().map(|v| v as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_of_two_points_by_hand() {
        // Two equal weights at (x=0, y=0) and (x=2, y=0) on a 1 x 3 grid... one line: singular.
        let k = kde_kernel(&[1.0, 0.0, 1.0], 1, 3).unwrap().unwrap();
        assert!((k.neff - 2.0).abs() < 1e-12);
        assert!((k.factor - 2f64.powf(-1.0 / 6.0)).abs() < 1e-12);
        // Weighted var of {0, 2} with w = 1/2 each: 1, divided by 1 - 1/2 -> 2 (+ regularisation).
        assert!(k.regularised);
        assert!((k.data_covariance[0][0] - (2.0 + SINGULAR_REGULARISATION)).abs() < 1e-12);
        assert!((k.data_covariance[1][1] - SINGULAR_REGULARISATION).abs() < 1e-12);
    }

    #[test]
    fn closed_form_on_an_isotropic_square() {
        // Four equal weights at the corners of a 2 x 2 grid: mean (0.5, 0.5); weighted var 0.25,
        // / (1 - 1/4) = 1/3 per axis, no covariance; neff = 4, factor = 4^(-1/6).
        let k = kde_kernel(&[1.0; 4], 2, 2).unwrap().unwrap();
        assert!(!k.regularised);
        assert!((k.data_covariance[0][0] - 1.0 / 3.0).abs() < 1e-12);
        assert!(k.data_covariance[0][1].abs() < 1e-12);
        let var = (1.0 / 3.0) * 4f64.powf(-1.0 / 3.0);
        // At every grid point: exp(0) + 2 exp(-1/(2 var)) + exp(-2/(2 var)), all equal -> 1.
        let z = kde_f64(&[1.0; 4], 2, 2).unwrap();
        assert!(z.iter().all(|&v| (v - 1.0).abs() < 1e-12));
        // On a 1 x 3 grid with weights at both ends... use a 3 x 3 grid with the square in a corner.
        let mut v = [0.0f32; 9];
        for p in [0, 1, 3, 4] {
            v[p] = 1.0;
        }
        let z = kde_f64(&v, 3, 3).unwrap();
        let g = |dx: f64, dy: f64| (-(dx * dx + dy * dy) / (2.0 * var)).exp();
        let dens = |x: f64, y: f64| {
            [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
                .iter()
                .map(|&(px, py)| g(x - px, y - py))
                .sum::<f64>()
        };
        let max = dens(0.0, 0.0);
        for i in 0..3 {
            for j in 0..3 {
                let want = dens(j as f64, i as f64) / max;
                assert!((z[i * 3 + j] - want).abs() < 1e-12 * want.max(1e-300));
            }
        }
    }

    #[test]
    fn zero_and_single_pixel_views() {
        assert_eq!(kde(&[0.0; 6], 2, 3).unwrap(), vec![0.0; 6]);
        let mut v = [0.0f32; 25];
        v[12] = 0.7;
        let z = kde_f64(&v, 5, 5).unwrap();
        // neff = 1, factor = 1, covariance = 1/12 I: exp(-d^2 * 6).
        for (p, &zv) in z.iter().enumerate() {
            let d2 = ((p / 5) as f64 - 2.0).powi(2) + ((p % 5) as f64 - 2.0).powi(2);
            assert!((zv - (-6.0 * d2).exp()).abs() < 1e-12);
        }
        assert!(kde(&[-1.0, 1.0], 1, 2).is_err());
    }
}
