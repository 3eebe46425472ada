//! How alike two maps are: Spearman's rank correlation (ties at their mean rank) of the
//! absolute and signed channel sums, and SSIM of the absolute maps scaled to `[0, 1]`.

use srlens_zoo::metrics::{ssim, Plane};

/// The similarities of two maps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Spearman of `|sum_c A|`.
    pub spearman_abs: f64,
    /// Spearman of `sum_c A`.
    pub spearman_signed: f64,
    /// SSIM of `|sum_c A| / max`.
    pub ssim: f64,
}

/// The ranks of `v` from 1, ties at their mean rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = mean;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation (the Pearson correlation of the ranks); 0 when either is
/// constant.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// SSIM of two `h x w` absolute maps, each divided by its maximum (a zero map stays zero);
/// none when a side is below SSIM's 11-pixel window.
pub fn ssim_of_views(a: &[f64], b: &[f64], h: usize, w: usize) -> Option<f64> {
    let plane = |v: &[f64]| {
        let m = v.iter().copied().fold(0.0, f64::max);
        Plane {
            w,
            h,
            data: v
                .iter()
                .map(|x| if m > 0.0 { x / m } else { 0.0 })
                .collect(),
        }
    };
    ssim(&plane(a), &plane(b), 1.0).ok()
}

/// Of the maps `a` and `b`, both `shape` (`C x H x W`).
pub fn compare(shape: &[usize], a: &[f32], b: &[f32]) -> Similarity {
    let (c, h, w) = (shape[0], shape[1], shape[2]);
    let summed = |m: &[f32]| -> Vec<f64> {
        (0..h * w)
            .map(|p| (0..c).map(|ch| m[ch * h * w + p] as f64).sum())
            .collect()
    };
    let (sa, sb) = (summed(a), summed(b));
    let abs = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x.abs()).collect() };
    let (aa, ab) = (abs(&sa), abs(&sb));
    Similarity {
        spearman_abs: spearman(&aa, &ab),
        spearman_signed: spearman(&sa, &sb),
        ssim: ssim_of_views(&aa, &ab, h, w).unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_is_one_for_monotone_maps_minus_one_reversed_and_ties_share_ranks() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(spearman(&a, &[10.0, 20.0, 30.0, 40.0]), 1.0);
        assert_eq!(spearman(&a, &[4.0, 3.0, 2.0, 1.0]), -1.0);
        assert_eq!(ranks(&[0.0, 5.0, 0.0, 0.0]), [2.0, 4.0, 2.0, 2.0]);
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233
        let r = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5.0, 6.0, 7.0, 8.0, 7.0]);
        assert!((r - 0.8207826816681233).abs() < 1e-12, "{r}");
        assert_eq!(spearman(&a, &[1.0; 4]), 0.0);
    }

    #[test]
    fn a_map_is_identical_to_itself_and_not_to_its_mirror() {
        let (h, w) = (12, 12);
        let m: Vec<f32> = (0..h * w).map(|i| ((i * 37) % 17) as f32 - 8.0).collect();
        let same = compare(&[1, h, w], &m, &m);
        assert_eq!((same.spearman_abs, same.spearman_signed), (1.0, 1.0));
        assert!((same.ssim - 1.0).abs() < 1e-12);
        let mirror: Vec<f32> = m.iter().rev().copied().collect();
        let other = compare(&[1, h, w], &m, &mirror);
        assert!(other.spearman_abs < 0.5 && other.ssim < 0.9, "{other:?}");
    }
}
