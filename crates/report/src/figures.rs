//! The numbers reported for every map: `view`, Gini, Diffusion Index, mass figures.

use crate::error::{check_finite, check_len, Error, Result};
use serde::{Deserialize, Serialize};

/// The figures of one attribution map (spec: "What is reported for every map").
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MapFigures {
    /// Diffusion Index, `(1 - gini) * 100`.
    pub di: f64,
    /// Gini index of `view`.
    pub gini: f64,
    /// Fewest LR pixels (largest first) holding 50% of the mass of `view`.
    pub pixels_50: usize,
    /// Fewest LR pixels (largest first) holding 95% of the mass of `view`.
    pub pixels_95: usize,
    /// Radius (LR pixels) around the window centre holding 50% of the mass.
    pub radius_50: f64,
    /// Radius (LR pixels) around the window centre holding 95% of the mass.
    pub radius_95: f64,
    /// The map is degenerate (all zero, or marked so by the caller): DI, Gini and the mass
    /// figures describe nothing, and the report shows "DI undefined" instead of `di` (which
    /// is 100 for an all-zero map). [`map_figures`] sets it for an all-zero map.
    #[serde(default)]
    pub degenerate: bool,
}

impl MapFigures {
    /// The Diffusion Index, or `None` when the map is [`degenerate`](Self::degenerate).
    pub fn di_defined(&self) -> Option<f64> {
        (!self.degenerate).then_some(self.di)
    }

    /// The Gini index, or `None` when the map is [`degenerate`](Self::degenerate).
    pub fn gini_defined(&self) -> Option<f64> {
        (!self.degenerate).then_some(self.gini)
    }
}

/// `abs(sum over channels of map) / max` for a `c x h x w` map: an `h x w` map in `[0, 1]`.
///
/// An all-zero map gives an all-zero view (never NaN). Non-finite input is an error.
pub fn view(map: &[f32], c: usize, h: usize, w: usize) -> Result<Vec<f32>> {
    check_len("attribution map", map, &[c, h, w])?;
    check_finite("attribution map", map)?;
    let plane = h * w;
    let sums: Vec<f64> = (0..plane)
        .map(|p| {
            (0..c)
                .map(|ch| map[ch * plane + p] as f64)
                .sum::<f64>()
                .abs()
        })
        .collect();
    let max = sums.iter().copied().fold(0.0f64, f64::max);
    if max == 0.0 {
        return Ok(vec![0.0; plane]);
    }
    Ok(sums.iter().map(|&v| (v / max) as f32).collect())
}

/// Gini index exactly as the spec (and the LAM code) defines it, evaluated in f64.
///
/// Values are shifted to be non-negative (minus the minimum, if negative), `1e-7` is added to
/// each, they are sorted ascending and `G = sum_i (2i - n - 1) v_i / (n sum_i v_i)`, `i = 1..n`.
/// An empty slice gives 0.
pub fn gini(values: &[f32]) -> f64 {
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let shift = if min < 0.0 { -min } else { 0.0 };
    for x in &mut v {
        *x += shift + 1e-7;
    }
    v.sort_by(f64::total_cmp);
    let nf = n as f64;
    let mut num = 0.0;
    let mut den = 0.0;
    for (k, &x) in v.iter().enumerate() {
        let i = (k + 1) as f64;
        num += (2.0 * i - nf - 1.0) * x;
        den += x;
    }
    num / (nf * den)
}

/// Diffusion Index from a Gini index: `(1 - gini) * 100`.
pub fn diffusion_index(gini: f64) -> f64 {
    (1.0 - gini) * 100.0
}

/// The explained window: top-left corner and side, in SR-output pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Left column of the window.
    pub x0: usize,
    /// Top row of the window.
    pub y0: usize,
    /// Side length.
    pub size: usize,
}

impl Window {
    /// The window centre in LR pixel coordinates, see [`window_centre`].
    pub fn centre_lr(&self, scale: usize) -> (f64, f64) {
        window_centre(self.x0, self.y0, self.size, scale)
    }
}

/// The window centre in LR pixel coordinates, `((x0 + size/2) / scale, (y0 + size/2) / scale)`.
///
/// Coordinates are continuous: LR pixel `(row i, column j)` covers `[j, j+1) x [i, i+1)`.
pub fn window_centre(x0: usize, y0: usize, size: usize, scale: usize) -> (f64, f64) {
    let s = scale.max(1) as f64;
    let half = size as f64 / 2.0;
    ((x0 as f64 + half) / s, (y0 as f64 + half) / s)
}

/// Fewest pixels, taken largest first, whose values sum to at least `frac` of the total.
///
/// `view` must be non-negative. A map with zero total mass gives 0.
pub fn pixels_for_mass(view: &[f32], frac: f64) -> usize {
    let total: f64 = view.iter().map(|&v| v as f64).sum();
    if total <= 0.0 {
        return 0;
    }
    let mut v: Vec<f64> = view.iter().map(|&x| x as f64).collect();
    v.sort_by(|a, b| b.total_cmp(a));
    let target = frac * total * (1.0 - 1e-12);
    let mut cum = 0.0;
    for (k, x) in v.iter().enumerate() {
        cum += x;
        if cum >= target {
            return k + 1;
        }
    }
    v.len()
}

/// Smallest radius `r` around `centre = (x, y)` (LR pixel coordinates, see
/// [`window_centre`]) such that the pixels whose centres `(j + 0.5, i + 0.5)` lie within `r`
/// hold at least `frac` of the mass of `view` (`h x w`, non-negative). Zero mass gives 0.
pub fn radius_for_mass(view: &[f32], h: usize, w: usize, centre: (f64, f64), frac: f64) -> f64 {
    let total: f64 = view.iter().map(|&v| v as f64).sum();
    if total <= 0.0 || view.len() != h * w {
        return 0.0;
    }
    let mut by_dist: Vec<(f64, f64)> = (0..h * w)
        .map(|p| {
            let (i, j) = (p / w, p % w);
            let d = (j as f64 + 0.5 - centre.0).hypot(i as f64 + 0.5 - centre.1);
            (d, view[p] as f64)
        })
        .collect();
    by_dist.sort_by(|a, b| a.0.total_cmp(&b.0));
    let target = frac * total * (1.0 - 1e-12);
    let mut cum = 0.0;
    for &(d, m) in &by_dist {
        cum += m;
        if cum >= target {
            return d;
        }
    }
    by_dist.last().map_or(0.0, |x| x.0)
}

/// All figures of one `c x h x w` map, with the window centre in LR pixel coordinates
/// (`(x, y)`, see [`window_centre`]). An all-zero map is marked
/// [`degenerate`](MapFigures::degenerate) (its `di` is 100 by the formula, but undefined).
pub fn map_figures(
    map: &[f32],
    c: usize,
    h: usize,
    w: usize,
    centre: (f64, f64),
) -> Result<MapFigures> {
    if !(centre.0.is_finite() && centre.1.is_finite()) {
        return Err(Error::Invalid(format!(
            "window centre {centre:?} is not finite"
        )));
    }
    let v = view(map, c, h, w)?;
    let g = gini(&v);
    Ok(MapFigures {
        di: diffusion_index(g),
        gini: g,
        pixels_50: pixels_for_mass(&v, 0.5),
        pixels_95: pixels_for_mass(&v, 0.95),
        radius_50: radius_for_mass(&v, h, w, centre, 0.5),
        radius_95: radius_for_mass(&v, h, w, centre, 0.95),
        degenerate: v.iter().all(|&x| x == 0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Textbook Gini: mean absolute difference / (2 mean), in f64, with the spec's +1e-7.
    fn gini_textbook(x: &[f64]) -> f64 {
        let v: Vec<f64> = x.iter().map(|a| a + 1e-7).collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let mut mad = 0.0;
        for a in &v {
            for b in &v {
                mad += (a - b).abs();
            }
        }
        mad /= n * n;
        mad / (2.0 * mean)
    }

    #[test]
    fn view_sums_channels_takes_abs_and_normalises() {
        // 2 channels, 1 x 3: sums = [-4, 1, 0.5] -> abs / 4.
        let map = [-1.0, 2.0, 0.25, -3.0, -1.0, 0.25];
        let v = view(&map, 2, 1, 3).unwrap();
        assert_eq!(v, vec![1.0, 0.25, 0.125]);
    }

    #[test]
    fn zero_map_stays_zero() {
        let v = view(&[0.0; 12], 3, 2, 2).unwrap();
        assert_eq!(v, vec![0.0; 4]);
        let f = map_figures(&[0.0; 12], 3, 2, 2, (1.0, 1.0)).unwrap();
        assert!(f.gini.is_finite() && f.di.is_finite());
        assert!(f.gini.abs() < 1e-12);
        assert_eq!((f.pixels_50, f.pixels_95), (0, 0));
        assert_eq!((f.radius_50, f.radius_95), (0.0, 0.0));
        assert!(f.degenerate);
        assert_eq!((f.di_defined(), f.gini_defined()), (None, None));
        // A map with any mass is not degenerate; old JSON without the field parses as false.
        let g = map_figures(&[0.0, 1e-30, 0.0, 0.0], 1, 2, 2, (1.0, 1.0)).unwrap();
        assert!(!g.degenerate && g.di_defined() == Some(g.di));
        let old: MapFigures = serde_json::from_str(
            r#"{"di":12.5,"gini":0.875,"pixels_50":1,"pixels_95":2,"radius_50":0.5,"radius_95":1.0}"#,
        )
        .unwrap();
        assert!(!old.degenerate);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(view(&[1.0; 5], 1, 2, 3), Err(Error::Shape { .. })));
        assert!(matches!(view(&[], 1, 0, 3), Err(Error::Invalid(_))));
        assert!(matches!(
            view(&[1.0, f32::NAN], 1, 1, 2),
            Err(Error::NonFinite { index: 1, .. })
        ));
    }

    #[test]
    fn gini_one_hot_and_constant() {
        let mut one_hot = vec![0.0f32; 1000];
        one_hot[17] = 1.0;
        // Closed form with the +1e-7: (n-1)/n * 1/(1 + n*1e-7) approximately.
        let g = gini(&one_hot);
        assert!((g - 0.999 / (1.0 + 1e-4)).abs() < 1e-6, "{g}");
        assert!(gini(&[0.3f32; 64]).abs() < 1e-12);
    }

    #[test]
    fn gini_matches_textbook_formula() {
        let x = [0.1f32, 0.7, 0.0, 0.25, 1.0, 0.4, 0.4, 0.05];
        let xf: Vec<f64> = x.iter().map(|&a| a as f64).collect();
        assert!((gini(&x) - gini_textbook(&xf)).abs() < 1e-12);
        // Negative values are shifted by the minimum first.
        let y = [-0.5f32, 0.5, 0.25, -0.25];
        let yf: Vec<f64> = y.iter().map(|&a| a as f64 + 0.5).collect();
        assert!((gini(&y) - gini_textbook(&yf)).abs() < 1e-12);
        assert!((diffusion_index(0.25) - 75.0).abs() < 1e-12);
    }

    #[test]
    fn pixel_counts_for_mass() {
        // Sorted desc: 4, 3, 2, 1 (total 10): 50% needs 4+3=7 -> 2; 95% needs all 4.
        let v = [1.0f32, 4.0, 2.0, 3.0];
        assert_eq!(pixels_for_mass(&v, 0.5), 2);
        assert_eq!(pixels_for_mass(&v, 0.95), 4);
        // Exactly half in the first pixel counts as reached.
        assert_eq!(pixels_for_mass(&[1.0, 0.5, 0.5], 0.5), 1);
    }

    #[test]
    fn radius_on_a_synthetic_ring_map() {
        // 21 x 21 map, centre of pixel (10, 10) is (10.5, 10.5). Mass 1 at the centre pixel and
        // mass 1 on each of the 4 pixels at distance 5 along the axes: total 5.
        let (h, w) = (21, 21);
        let mut v = vec![0.0f32; h * w];
        v[10 * w + 10] = 1.0;
        for (i, j) in [(5, 10), (15, 10), (10, 5), (10, 15)] {
            v[i * w + j] = 1.0;
        }
        let c = (10.5, 10.5);
        // 50% = 2.5: centre (1) is not enough, the ring at r = 5 gives 5 -> r = 5.
        assert!((radius_for_mass(&v, h, w, c, 0.5) - 5.0).abs() < 1e-12);
        assert!((radius_for_mass(&v, h, w, c, 0.95) - 5.0).abs() < 1e-12);
        // 20% = 1: the centre alone, at distance 0.
        assert!(radius_for_mass(&v, h, w, c, 0.2).abs() < 1e-12);
        // Off-centre: centre (0, 0) (a corner); pixel (i, j) at hypot(j+.5, i+.5).
        let d_far = (15.5f64).hypot(10.5);
        let f = map_figures(&v, 1, h, w, (0.0, 0.0)).unwrap();
        assert!((f.radius_95 - d_far).abs() < 1e-12, "{}", f.radius_95);
        // Sorted distances: (10,5) 11.85, (5,10) 11.85, (10,10) 14.85, ... -> 50% = 2.5 at third.
        let d3 = (10.5f64).hypot(10.5);
        assert!((f.radius_50 - d3).abs() < 1e-12, "{}", f.radius_50);
        assert_eq!((f.pixels_50, f.pixels_95), (3, 5));
    }

    #[test]
    fn window_centre_in_lr_pixels() {
        assert_eq!(window_centre(110, 150, 16, 4), (29.5, 39.5));
        let w = Window {
            x0: 0,
            y0: 2,
            size: 4,
        };
        assert_eq!(w.centre_lr(2), (1.0, 2.0));
    }
}
