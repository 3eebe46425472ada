//! Deletion and insertion curves of a map (issue 14, part 1): the LR pixels are replaced by
//! the path's baseline in order of attribution, most important first (deletion), or put back
//! into the baseline in that order (insertion), and the objective is recorded after each
//! fraction. This module holds the model-free part: the order, the images at each fraction
//! and the curves' areas; the run evaluates the images through the model.

use srlens_core::Tensor;

/// The LR pixel positions (`row * W + col`) of a `C x H x W` map, most important first: by
/// the signed attribution summed over channels (Captum's and LPI's convention: the evidence
/// for the objective first), ties in raster order.
pub fn order(map: &Tensor) -> Vec<usize> {
    let d = map.dims();
    let (c, hw) = (d[0], d[1] * d[2]);
    let score: Vec<f64> = (0..hw)
        .map(|p| (0..c).map(|ch| map.data[ch * hw + p] as f64).sum())
        .collect();
    let mut idx: Vec<usize> = (0..hw).collect();
    idx.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    idx
}

/// The fractions `0, 1/n, ..., 1` of the pixels a curve is recorded at.
pub fn fractions(n: usize) -> Vec<f64> {
    let n = n.max(1);
    (0..=n).map(|k| k as f64 / n as f64).collect()
}

/// How many of `pixels` pixels a fraction removes (deletion) or restores (insertion).
fn count(fraction: f64, pixels: usize) -> usize {
    ((fraction * pixels as f64).round() as usize).min(pixels)
}

/// The batch (`len(fractions) x C x H x W`) of images along a curve: for deletion, `image`
/// with its first `fraction` of `order` replaced by `baseline`; for insertion, `baseline`
/// with the first `fraction` of `order` taken from `image`. `image` and `baseline` are
/// `1 x C x H x W`.
pub fn curve_images(
    image: &Tensor,
    baseline: &Tensor,
    order: &[usize],
    fractions: &[f64],
    deletion: bool,
) -> Tensor {
    let d = image.dims();
    let (c, h, w) = (d[1], d[2], d[3]);
    let hw = h * w;
    let (from, to) = if deletion {
        (image, baseline)
    } else {
        (baseline, image)
    };
    let mut data = Vec::with_capacity(fractions.len() * c * hw);
    for &f in fractions {
        let mut one = from.data.to_vec();
        for &p in &order[..count(f, order.len())] {
            for ch in 0..c {
                one[ch * hw + p] = to.data[ch * hw + p];
            }
        }
        data.extend(one);
    }
    Tensor::new(vec![fractions.len(), c, h, w], data).expect("the curve's shape")
}

/// The area under a curve (trapezoid rule over the fractions).
pub fn area(fractions: &[f64], values: &[f64]) -> f64 {
    fractions
        .windows(2)
        .zip(values.windows(2))
        .map(|(f, v)| (f[1] - f[0]) * (v[0] + v[1]) / 2.0)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A linear objective `D(x) = sum w * x` and its exact IG map `w * (x - b)`: deleting the
    /// set S gives `D(x) - sum_{S} map`, inserting it gives `D(b) + sum_{S} map`.
    #[test]
    fn curves_of_a_linear_objective_equal_the_closed_form() {
        let (c, h, w) = (3, 4, 5);
        let n = c * h * w;
        let x: Vec<f32> = (0..n).map(|i| ((i * 37) % 11) as f32 / 10.0).collect();
        let b: Vec<f32> = (0..n).map(|i| ((i * 13) % 7) as f32 / 20.0).collect();
        let wt: Vec<f64> = (0..n).map(|i| ((i * 29) % 9) as f64 - 4.0).collect();
        let d = |img: &[f32]| -> f64 { img.iter().zip(&wt).map(|(&v, &k)| v as f64 * k).sum() };
        let map: Vec<f32> = (0..n)
            .map(|i| (wt[i] * (x[i] as f64 - b[i] as f64)) as f32)
            .collect();
        let image = Tensor::new(vec![1, c, h, w], x.clone()).unwrap();
        let baseline = Tensor::new(vec![1, c, h, w], b.clone()).unwrap();
        let map = Tensor::new(vec![c, h, w], map).unwrap();
        let ord = order(&map);
        let fr = fractions(8);
        let pixel_sum =
            |p: usize| -> f64 { (0..c).map(|ch| map.data[ch * h * w + p] as f64).sum() };
        // Any other order deletes no more of the objective at any fraction (the top-k sums
        // are the largest k sums); checked against the reverse order.
        let reverse: Vec<usize> = ord.iter().rev().copied().collect();
        let worst = curve_images(&image, &baseline, &reverse, &fr, true);
        for deletion in [true, false] {
            let batch = curve_images(&image, &baseline, &ord, &fr, deletion);
            let one = c * h * w;
            for (k, &f) in fr.iter().enumerate() {
                let got = d(&batch.data[k * one..(k + 1) * one]);
                let moved: f64 = ord[..count(f, h * w)].iter().map(|&p| pixel_sum(p)).sum();
                let want = if deletion {
                    d(&x) - moved
                } else {
                    d(&b) + moved
                };
                assert!((got - want).abs() < 1e-4, "{deletion} {f}: {got} vs {want}");
                if deletion {
                    let other = d(&worst.data[k * one..(k + 1) * one]);
                    assert!(got <= other + 1e-4, "at {f}: {got} > {other}");
                }
            }
        }
        // The endpoints are the image and the baseline.
        let del = curve_images(&image, &baseline, &ord, &[0.0, 1.0], true);
        assert_eq!(&del.data[..n], &x[..]);
        assert_eq!(&del.data[n..], &b[..]);
    }

    #[test]
    fn order_puts_the_largest_summed_attribution_first_and_area_is_the_trapezoid() {
        let map = Tensor::new(vec![2, 1, 3], vec![1.0, -2.0, 0.5, 0.0, 5.0, 0.5]).unwrap();
        assert_eq!(order(&map), [1, 0, 2]);
        assert_eq!(area(&[0.0, 0.5, 1.0], &[2.0, 1.0, 0.0]), 1.0);
        assert_eq!(fractions(4), [0.0, 0.25, 0.5, 0.75, 1.0]);
    }
}
