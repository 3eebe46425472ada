//! Deletion and insertion curves of a map (issue 14, part 1): the LR pixels are replaced by
//! the path's baseline in order of attribution, most important first (deletion), or put back
//! into the baseline in that order (insertion), and the objective is recorded after each
//! fraction. This module holds the model-free part: the order, the images at each fraction
//! and the curves' areas; the run evaluates the images through the model.

use srlens_core::{ErrorKind, PluginError, PluginResult, Progress, Tensor};

/// The LR pixel positions (`row * W + col`) of a `C x H x W` map, most important first: by
/// the signed attribution summed over channels (Captum's and LPI's convention: the evidence
/// for the objective first), ties in raster order.
pub fn order(map: &Tensor) -> Vec<usize> {
    let d = map.dims();
    order_within(map, (0..d[1] * d[2]).collect())
}

/// [`order`] of the positions `pixels` alone.
pub fn order_within(map: &Tensor, mut pixels: Vec<usize>) -> Vec<usize> {
    let d = map.dims();
    let (c, hw) = (d[0], d[1] * d[2]);
    let score = |p: usize| -> f64 { (0..c).map(|ch| map.data[ch * hw + p] as f64).sum() };
    pixels.sort_by(|&a, &b| score(b).total_cmp(&score(a)).then(a.cmp(&b)));
    pixels
}

/// The fractions `0, 1/n, ..., 1` of the pixels a curve is recorded at (`n` at least 2).
pub fn fractions(n: usize) -> Vec<f64> {
    let n = n.max(2);
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

/// What the curves of one map are made from.
pub struct CurveInputs<'a> {
    /// The LR input, `1 x C x H x W`.
    pub image: &'a Tensor,
    /// What deleted pixels become, `1 x C x H x W`.
    pub baseline: &'a Tensor,
    /// The curves are recorded at `0, 1/steps, ..., 1`.
    pub steps: usize,
    /// The seed of the random order.
    pub seed: u64,
    /// Images per model call.
    pub batch: usize,
    /// The LR positions (`row * W + col`) the curves move: those that can reach the window
    /// (the others cannot change the objective, and would only stretch the curves).
    pub pixels: &'a [usize],
}

/// The deletion, insertion, random-order deletion and random-order insertion curves of
/// `map` (`C x H x W`) at [`fractions`]`(steps)` of `inputs.pixels`, with `objective` giving the objective of
/// each image of a batch. The curves share their ends (deletion at 0 is insertion at 1, the
/// image), which are evaluated once: `4 * steps - 2` images in all.
pub fn curves(
    map: &Tensor,
    inputs: &CurveInputs<'_>,
    objective: &mut dyn FnMut(&Tensor) -> PluginResult<Vec<f64>>,
    progress: &dyn Progress,
) -> PluginResult<[Vec<f64>; 4]> {
    let fr = fractions(inputs.steps);
    let n = fr.len() - 1;
    let ranked = order_within(map, inputs.pixels.to_vec());
    let mut random = inputs.pixels.to_vec();
    srlens_plugin_kit::random::SeededRng::new(inputs.seed).shuffle(&mut random);
    let inner = &fr[1..n];
    let (img, base) = (inputs.image, inputs.baseline);
    // Insertion starts where deletion ends: the pixels moved replaced, the others (which
    // cannot reach the window) left as they are.
    let start = curve_images(img, base, inputs.pixels, &[1.0], true);
    let parts = [
        curve_images(img, base, &ranked, &fr, true),
        curve_images(img, &start, &ranked, inner, false),
        curve_images(img, base, &random, inner, true),
        curve_images(img, &start, &random, inner, false),
    ];
    let d = img.dims();
    let one = d[1] * d[2] * d[3];
    let all: Vec<f32> = parts.iter().flat_map(|p| p.data.iter().copied()).collect();
    let count = all.len() / one;
    progress.add_total(count as u64);
    let mut values = Vec::with_capacity(count);
    for chunk in all.chunks(one * inputs.batch.max(1)) {
        let k = chunk.len() / one;
        let batch = Tensor::new(vec![k, d[1], d[2], d[3]], chunk.to_vec()).expect("whole images");
        match objective(&batch).into_result() {
            Ok(v) if v.len() == k => values.extend(v),
            Ok(v) => {
                return PluginResult::RErr(PluginError::new(
                    ErrorKind::Backend,
                    format!("the objective gave {} values for {k} images", v.len()),
                ))
            }
            Err(e) => return PluginResult::RErr(e),
        }
        progress.advance(k as u64);
    }
    let deletion = values[..=n].to_vec();
    let (at_image, at_baseline) = (deletion[0], deletion[n]);
    let rest = &values[n + 1..];
    let m = n - 1;
    let framed = |from: f64, middle: &[f64], to: f64| -> Vec<f64> {
        std::iter::once(from)
            .chain(middle.iter().copied())
            .chain(std::iter::once(to))
            .collect()
    };
    PluginResult::ROk([
        deletion,
        framed(at_baseline, &rest[..m], at_image),
        framed(at_image, &rest[m..2 * m], at_baseline),
        framed(at_baseline, &rest[2 * m..], at_image),
    ])
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

    struct Quiet;
    impl Progress for Quiet {
        fn add_total(&self, _: u64) {}
        fn advance(&self, _: u64) {}
    }

    /// The four curves from batches of 3 with shared ends are those of each image on its own.
    #[test]
    fn curves_share_their_ends_and_batching_changes_nothing() {
        let (c, h, w) = (2, 3, 4);
        let n = c * h * w;
        let x: Vec<f32> = (0..n).map(|i| ((i * 7) % 5) as f32 / 4.0).collect();
        let b: Vec<f32> = (0..n).map(|i| ((i * 3) % 4) as f32 / 8.0).collect();
        let map: Vec<f32> = (0..n).map(|i| ((i * 11) % 13) as f32 - 6.0).collect();
        let image = Tensor::new(vec![1, c, h, w], x).unwrap();
        let baseline = Tensor::new(vec![1, c, h, w], b).unwrap();
        let map = Tensor::new(vec![c, h, w], map).unwrap();
        // A non-linear objective, so that any mix-up of images shows.
        let value = |img: &[f32]| -> f64 {
            img.iter()
                .enumerate()
                .map(|(i, &v)| (v as f64 + i as f64 / 10.0).powi(2))
                .sum()
        };
        let pixels: Vec<usize> = vec![1, 2, 5, 6, 9, 10];
        let inputs = CurveInputs {
            image: &image,
            baseline: &baseline,
            steps: 4,
            seed: 9,
            batch: 3,
            pixels: &pixels,
        };
        let mut calls = 0;
        let mut objective = |t: &Tensor| -> PluginResult<Vec<f64>> {
            calls += 1;
            let k = t.dims()[0];
            assert!(k <= 3);
            PluginResult::ROk((0..k).map(|i| value(&t.data[i * n..(i + 1) * n])).collect())
        };
        let got = curves(&map, &inputs, &mut objective, &Quiet).unwrap();
        assert_eq!(calls, (4 * 4 - 2usize).div_ceil(3));
        let fr = fractions(4);
        let ranked = order_within(&map, pixels.clone());
        let mut random = pixels.clone();
        srlens_plugin_kit::random::SeededRng::new(9).shuffle(&mut random);
        let mut sorted = random.clone();
        sorted.sort();
        assert_eq!(sorted, pixels, "the random order is a permutation");
        let start = curve_images(&image, &baseline, &pixels, &[1.0], true);
        for (k, (ord, deletion)) in [
            (&ranked, true),
            (&ranked, false),
            (&random, true),
            (&random, false),
        ]
        .into_iter()
        .enumerate()
        {
            let from = if deletion { &baseline } else { &start };
            let batch = curve_images(&image, from, ord, &fr, deletion);
            let want: Vec<f64> = (0..fr.len())
                .map(|f| value(&batch.data[f * n..(f + 1) * n]))
                .collect();
            assert_eq!(got[k], want, "curve {k}");
        }
    }

    #[test]
    fn order_puts_the_largest_summed_attribution_first_() {
        let map = Tensor::new(vec![2, 1, 3], vec![1.0, -2.0, 0.5, 0.0, 5.0, 0.5]).unwrap();
        assert_eq!(order(&map), [1, 0, 2]);
        assert_eq!(fractions(4), [0.0, 0.25, 0.5, 0.75, 1.0]);
    }
}
