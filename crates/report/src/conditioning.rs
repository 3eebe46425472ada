//! How well LAM's gradient-energy objective is conditioned on a window: its derivative with
//! respect to a pixel's differences is `(dv, dh) / sqrt(dv^2 + dh^2)`, a unit vector whose
//! direction rounding sets where `dv^2 + dh^2` is tiny, so the maps of two correct float32
//! backends can differ there by 1e-3 of the map's maximum while agreeing to 1e-6 elsewhere.

use serde::{Deserialize, Serialize};

use crate::figures::Window;

/// A gradient magnitude `sqrt(dv^2 + dh^2)` below this (SR values in `[0, 1]`: a quarter of an
/// 8-bit level) counts as small.
pub const SMALL_GRADIENT: f64 = 1e-3;

/// A window with more than this fraction of small gradients is sensitive to rounding.
pub const SENSITIVE_FRACTION: f64 = 0.05;

/// The window's share of pixel-channels whose gradient magnitude is zero or small.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Conditioning {
    /// The pixel-channels of the objective (`C x` the window's pixels that have a right and a
    /// lower neighbour).
    pub terms: usize,
    /// The fraction whose `dv^2 + dh^2` is exactly zero (its derivative is then 0 by
    /// convention: that pixel says nothing).
    pub zero_fraction: f64,
    /// The fraction whose `sqrt(dv^2 + dh^2)` is below [`SMALL_GRADIENT`] (zeros included).
    pub small_fraction: f64,
    /// [`SMALL_GRADIENT`], written out.
    pub threshold: f64,
}

impl Conditioning {
    /// Of the gradient-energy objective on `window` of the SR image `sr` (`C x H x W` values
    /// in `[0, 1]`, row-major), with the objective's own bounds (forward differences, the
    /// last row and column excluded).
    pub fn of_window(sr: &[f32], c: usize, h: usize, w: usize, window: Window) -> Self {
        let (i1, j1) = (
            (window.y0 + window.size).min(h.saturating_sub(1)),
            (window.x0 + window.size).min(w.saturating_sub(1)),
        );
        let (mut terms, mut zero, mut small) = (0usize, 0usize, 0usize);
        for ch in 0..c {
            for i in window.y0..i1 {
                for j in window.x0..j1 {
                    let at = (ch * h + i) * w + j;
                    let dv = sr[at] as f64 - sr[at + w] as f64;
                    let dh = sr[at] as f64 - sr[at + 1] as f64;
                    let s = dv * dv + dh * dh;
                    terms += 1;
                    zero += usize::from(s == 0.0);
                    small += usize::from(s.sqrt() < SMALL_GRADIENT);
                }
            }
        }
        let frac = |n: usize| {
            if terms == 0 {
                0.0
            } else {
                n as f64 / terms as f64
            }
        };
        Conditioning {
            terms,
            zero_fraction: frac(zero),
            small_fraction: frac(small),
            threshold: SMALL_GRADIENT,
        }
    }

    /// What to tell the user when the window is sensitive to rounding, for a map computed in
    /// `precision` (`float32` or `float64`, as report.json names it).
    pub fn warning(&self, precision: &str) -> Option<String> {
        let consequence = if precision == "float64" {
            "this map was computed in float64 (precision = \"f64\"), so rounding moves it by \
             about 1e-12 of its maximum"
        } else {
            "so float32 maps of different backends can differ by about 1e-3 of the map's \
             maximum; the backend option precision = \"f64\" (candle, tch) computes the map in \
             float64"
        };
        (self.small_fraction > SENSITIVE_FRACTION).then(|| {
            format!(
                "{:.1} % of the window's pixel-channels have a gradient magnitude below {:e} \
                 ({:.1} % exactly zero): LAM's objective is badly conditioned there (its \
                 derivative's direction is set by rounding), {consequence}. A window with more \
                 structure is better conditioned.",
                100.0 * self.small_fraction,
                self.threshold,
                100.0 * self.zero_fraction
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_window_is_all_zero_and_a_ramp_is_well_conditioned() {
        let (h, w) = (6, 6);
        let flat = vec![0.5f32; h * w];
        let window = Window {
            x0: 1,
            y0: 1,
            size: 3,
        };
        let f = Conditioning::of_window(&flat, 1, h, w, window);
        assert_eq!(f.terms, 9);
        assert_eq!((f.zero_fraction, f.small_fraction), (1.0, 1.0));
        assert!(f.warning("float32").unwrap().starts_with("100.0 %"));
        assert!(f
            .warning("float32")
            .unwrap()
            .contains("precision = \"f64\""));
        assert!(f
            .warning("float64")
            .unwrap()
            .contains("computed in float64"));
        let ramp: Vec<f32> = (0..h * w).map(|k| (k % w) as f32 * 0.1).collect();
        let r = Conditioning::of_window(&ramp, 1, h, w, window);
        assert_eq!((r.zero_fraction, r.small_fraction), (0.0, 0.0));
        assert!(r.warning("float32").is_none());
        // The last row and column have no lower or right neighbour: they are not terms.
        let edge = Window {
            x0: 4,
            y0: 4,
            size: 4,
        };
        assert_eq!(Conditioning::of_window(&ramp, 1, h, w, edge).terms, 1);
    }
}
