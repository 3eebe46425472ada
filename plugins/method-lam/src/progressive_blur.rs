//! The progressive-blur path: `p_i = blur(x, k_{sigma_{i+1}})`, `sigma_i = sigma (1 - i/steps)`.

use serde::{Deserialize, Serialize};
use srlens_core::{abi_stable::std_types::RVec, PathSamples, PathSamples64, PluginError, Tensor64};
use srlens_plugin_kit::{
    blur::{check_kernel, gaussian_blur64, gaussian_kernel_1d},
    invalid_config, invalid_input, parse_options, PathContext, PathFn, Real,
};

/// Options of the `blur` path.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlurPathOptions {
    /// The blur of the baseline (default 1.2, the paper's).
    #[serde(default = "default_sigma")]
    pub sigma: f64,
    /// The kernel's odd side (default 9).
    #[serde(default = "default_kernel")]
    pub kernel: usize,
}

fn default_sigma() -> f64 {
    1.2
}

fn default_kernel() -> usize {
    9
}

impl BlurPathOptions {
    /// Parses and checks options given as a JSON object; `what` names the caller in errors.
    pub fn parse(what: &str, json: &str) -> Result<Self, PluginError> {
        let o: Self = parse_options(what, json)?;
        o.check(what)?;
        Ok(o)
    }

    /// Checks the values.
    pub fn check(&self, what: &str) -> Result<(), PluginError> {
        if !(self.sigma.is_finite() && self.sigma >= 0.0) {
            return Err(invalid_config(format!(
                "{what}: `sigma` must be a finite number >= 0, got {}",
                self.sigma
            ))
            .with_key("sigma"));
        }
        if self.kernel == 0 || self.kernel.is_multiple_of(2) {
            return Err(invalid_config(format!(
                "{what}: `kernel` must be an odd positive size (e.g. 9), got {}",
                self.kernel
            ))
            .with_key("kernel"));
        }
        Ok(())
    }

    /// `sigma_i = sigma (1 - i/steps)`.
    pub fn sigma_at(&self, i: usize, steps: usize) -> f64 {
        self.sigma * (1.0 - i as f64 / steps as f64)
    }
}

/// The `blur` path function.
pub struct ProgressiveBlurPath;

impl PathFn for ProgressiveBlurPath {
    type Options = BlurPathOptions;

    fn check(&self, options: &BlurPathOptions, ctx: &PathContext<'_>) -> Result<(), PluginError> {
        options.check(ctx.what)?;
        let d = ctx.image.dims();
        check_kernel(ctx.what, "kernel", options.kernel, d[2], d[3])
    }

    fn sample(
        &self,
        options: &BlurPathOptions,
        ctx: &PathContext<'_>,
        steps: usize,
        range: std::ops::Range<usize>,
    ) -> Result<PathSamples, PluginError> {
        sample::<f32>(ctx.image, options, steps, range.start, range.end)
    }

    fn sample_f64(
        &self,
        options: &BlurPathOptions,
        _ctx: &PathContext<'_>,
        image: &Tensor64,
        steps: usize,
        range: std::ops::Range<usize>,
    ) -> Result<PathSamples64, PluginError> {
        sample::<f64>(image, options, steps, range.start, range.end)
    }
}

/// Samples points `start..end` of the progressive-blur path of `steps` points.
pub fn sample<R: Real>(
    image: &R::Tensor,
    o: &BlurPathOptions,
    steps: usize,
    start: usize,
    end: usize,
) -> Result<R::Samples, PluginError> {
    let dims = R::dims(image);
    if dims.len() != 4 || dims[0] != 1 {
        return Err(invalid_input(format!(
            "path `blur`: expected one image 1 x C x H x W, got shape {dims:?}"
        )));
    }
    if steps == 0 || start > end || end > steps {
        return Err(invalid_config(format!(
            "path `blur`: `steps` must be >= 1 and the range inside it, got steps {steps}, \
             points {start}..{end}"
        )));
    }
    let (h, w) = (dims[2], dims[3]);
    let x = R::data(image);
    // blur(x, k_i) for i = start..=end, each once: point i is blur i + 1, derivative i is
    // steps (blur i + 1 - blur i), the difference taken in f64.
    let blur_at =
        |i: usize| gaussian_blur64(x, h, w, &gaussian_kernel_1d(o.sigma_at(i, steps), o.kernel));
    let blurs: Vec<Vec<f64>> = (start..=end).map(blur_at).collect();
    let round = |v: &[f64]| v.iter().map(|&a| R::from_f64(a)).collect::<Vec<R>>();
    let mut points = Vec::with_capacity((end - start) * x.len());
    let mut derivatives = Vec::with_capacity((end - start) * x.len());
    for pair in blurs.windows(2) {
        points.extend(round(&pair[1]));
        derivatives.extend(
            pair[1]
                .iter()
                .zip(&pair[0])
                .map(|(a, b)| R::from_f64((a - b) * steps as f64)),
        );
    }
    let baseline = if start == 0 {
        round(&blurs[0])
    } else {
        round(&blur_at(0))
    };
    let n = end - start;
    let mut batch_dims = dims.clone();
    batch_dims[0] = n;
    Ok(R::samples(
        R::tensor(batch_dims.clone(), points).expect("n images"),
        R::tensor(batch_dims, derivatives).expect("n images"),
        RVec::from(vec![1.0 / steps as f64; n]),
        R::tensor(dims, baseline).expect("one image"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use srlens_core::Tensor;
    use srlens_test_support::blur64::{blur64, kernel64, path_kernels64};

    fn image() -> Tensor {
        let (c, h, w) = (3, 7, 6);
        let data = (0..c * h * w)
            .map(|i| ((i * 37 % 101) as f32) / 100.0)
            .collect();
        Tensor::new(vec![1, c, h, w], data).unwrap()
    }

    #[test]
    fn derivatives_telescope_from_baseline_to_image() {
        let x = image();
        let o = BlurPathOptions {
            sigma: 1.2,
            kernel: 9,
        };
        let steps = 10;
        let s = sample::<f32>(&x, &o, steps, 0, steps).unwrap();
        let per = x.len();
        // The last point is x itself (sigma 0, up to the kernel's 1e-5).
        for (a, b) in s.points.data[(steps - 1) * per..].iter().zip(x.data.iter()) {
            assert!((a - b).abs() < 1e-6);
        }
        // sum_i w_i d_i = p_last - baseline.
        for j in 0..per {
            let total: f64 = (0..steps)
                .map(|i| s.weights[i] * s.derivatives.data[i * per + j] as f64)
                .sum();
            let expected = x.data[j] as f64 - s.baseline.data[j] as f64;
            assert!((total - expected).abs() < 1e-5, "{total} vs {expected}");
        }
    }

    #[test]
    fn a_middle_point_and_its_derivative_match_an_independent_f64_blur() {
        let x = image();
        let (c, h, w) = (x.dims()[1], x.dims()[2], x.dims()[3]);
        let x64: Vec<f64> = x.data.iter().map(|&v| v as f64).collect();
        let per = x.len();
        for (sigma, kernel, steps) in [(1.2, 9, 10), (2.0, 7, 11), (0.8, 5, 4), (3.0, 11, 7)] {
            let o = BlurPathOptions { sigma, kernel };
            let s = sample::<f32>(&x, &o, steps, 0, steps).unwrap();
            for i in [steps / 2, 1, steps - 2] {
                let (k_next, dk) = path_kernels64(sigma, kernel, i, steps);
                let point = blur64(&x64, c, h, w, &k_next);
                let derivative = blur64(&x64, c, h, w, &dk);
                let scale = derivative.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
                for j in 0..per {
                    let (p, d) = (
                        s.points.data[i * per + j] as f64,
                        s.derivatives.data[i * per + j] as f64,
                    );
                    assert!(
                        (p - point[j]).abs() < 1e-6,
                        "sigma {sigma} kernel {kernel} steps {steps}: point {i}[{j}] {p} vs {}",
                        point[j]
                    );
                    assert!(
                        (d - derivative[j]).abs() < 1e-6 * scale,
                        "sigma {sigma} kernel {kernel} steps {steps}: derivative {i}[{j}] {d} vs {}",
                        derivative[j]
                    );
                }
            }
            let baseline = blur64(&x64, c, h, w, &kernel64(sigma, kernel));
            for (b, want) in s.baseline.data.iter().zip(&baseline) {
                assert!((*b as f64 - want).abs() < 1e-6, "baseline {b} vs {want}");
            }
            assert!(s.weights.iter().all(|&wt| wt == 1.0 / steps as f64));
        }
    }

    #[test]
    fn in_float64_points_and_derivatives_match_the_f64_blur_to_rounding() {
        let x = image().to_f64();
        let (c, h, w) = (x.dims()[1], x.dims()[2], x.dims()[3]);
        let per = x.len();
        let (sigma, kernel, steps) = (1.2, 9, 10);
        let o = BlurPathOptions { sigma, kernel };
        let s = sample::<f64>(&x, &o, steps, 0, steps).unwrap();
        for i in [1, steps / 2, steps - 2] {
            let (k_next, dk) = path_kernels64(sigma, kernel, i, steps);
            let point = blur64(&x.data, c, h, w, &k_next);
            let derivative = blur64(&x.data, c, h, w, &dk);
            for j in 0..per {
                let (p, d) = (s.points.data[i * per + j], s.derivatives.data[i * per + j]);
                assert!(
                    (p - point[j]).abs() < 1e-12,
                    "point {i}[{j}] {p} vs {}",
                    point[j]
                );
                assert!((d - derivative[j]).abs() < 1e-12, "derivative {i}[{j}] {d}");
            }
        }
    }

    #[test]
    fn a_sub_range_matches_the_whole_path() {
        let x = image();
        let o = BlurPathOptions {
            sigma: 2.0,
            kernel: 5,
        };
        let whole = sample::<f32>(&x, &o, 8, 0, 8).unwrap();
        let part = sample::<f32>(&x, &o, 8, 3, 5).unwrap();
        let per = x.len();
        assert_eq!(&part.points.data[..], &whole.points.data[3 * per..5 * per]);
        assert_eq!(
            &part.derivatives.data[..],
            &whole.derivatives.data[3 * per..5 * per]
        );
    }

    #[test]
    fn bad_options_are_named() {
        let e = BlurPathOptions::parse("path `blur`", r#"{"kernel": 4}"#).unwrap_err();
        assert!(
            e.message.contains("`kernel` must be an odd positive size"),
            "{}",
            e.message
        );
    }
}
