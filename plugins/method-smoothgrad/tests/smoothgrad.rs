//! SmoothGrad, SmoothGrad-squared and VarGrad against independent float64 computations of
//! the same noisy samples, run in process through `srlens_plugin_kit::testing`.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use srlens_core::{
    abi_stable::std_types::{RNone, RString, RVec},
    Attribution, ErrorKind, PluginError, Tensor,
};
use srlens_plugin_kit::{random::SeededRng, testing::*, AttributionMethod, Job};
use srlens_plugin_smoothgrad::{
    smoothgrad::{noise_std, noisy_copy},
    SmoothGrad, Variant,
};

const DIMS: Dims = [2, 4, 5];
const N: usize = 40;
const SCALE: usize = 2;

fn window() -> Intensity {
    Intensity::new(1, 2, 6)
}

fn image() -> Tensor {
    let data = (0..N)
        .map(|i| 0.1 + ((i * 7 + 3) % 13) as f32 / 20.0)
        .collect();
    Tensor::new(vec![1, DIMS[0], DIMS[1], DIMS[2]], data).unwrap()
}

fn f(v: f64) -> f64 {
    (3.0 * v - 1.0).tanh()
}

fn df(v: f64) -> f64 {
    3.0 / (3.0 * v - 1.0).cosh().powi(2)
}

/// How many window pixels each LR pixel feeds (nearest upsampling).
fn multiplicity() -> Vec<f64> {
    let (sh, sw) = (DIMS[1] * SCALE, DIMS[2] * SCALE);
    let mask: Vec<f64> = (0..DIMS[0] * sh * sw)
        .map(|o| {
            if window().contains((o / sw) % sh, o % sw) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    upsample_nearest_adjoint(&mask, DIMS, SCALE)
}

/// The test's own float64 gradient of the objective at `p`.
fn grad(p: &[f64]) -> Vec<f64> {
    p.iter()
        .zip(multiplicity())
        .map(|(&v, m)| df(v) * m)
        .collect()
}

/// What an inner method received.
type Seen = Arc<Mutex<Vec<(Tensor, String)>>>;

/// An inner method that records its input and options and returns `sin(5 x) * scale`.
struct Recorder(Seen);

impl AttributionMethod for Recorder {
    type Options = serde_json::Map<String, Value>;

    fn attribute(&self, o: &Self::Options, job: &Job<'_>) -> Result<Vec<Attribution>, PluginError> {
        self.0
            .lock()
            .unwrap()
            .push((job.image().clone(), job.options().to_string()));
        let scale = o.get("scale").and_then(Value::as_f64).unwrap_or(1.0);
        let map: Vec<f32> = job
            .image()
            .data
            .iter()
            .map(|&v| ((5.0 * v as f64).sin() * scale) as f32)
            .collect();
        Ok(vec![Attribution {
            map: Tensor::new(job.image().dims()[1..].to_vec(), map).unwrap(),
            objective_input: 0.0,
            objective_baseline: RNone,
            parameters: RString::from(r#"{"scale_used": true}"#),
            warnings: RVec::new(),
        }])
    }
}

fn host() -> (TestRegistry, Seen) {
    let seen: Seen = Arc::default();
    let h = TestRegistry::new(
        model_box(FnModel::pointwise(SCALE, DIMS[0], f, df)),
        objective_box(window()),
    )
    .with_method("smoothgrad", SmoothGrad(Variant::Mean))
    .with_method("smoothgrad_sq", SmoothGrad(Variant::MeanOfSquares))
    .with_method("vargrad", SmoothGrad(Variant::Variance))
    .with_method("gradient", GradientMethod)
    .with_method("recorder", Recorder(Arc::clone(&seen)));
    (h, seen)
}

fn run(h: &TestRegistry, method: &str, options: Value) -> Attribution {
    h.run(method, &options.to_string(), &image()).unwrap()
}

fn f64s(t: &[f32]) -> Vec<f64> {
    t.iter().map(|&v| v as f64).collect()
}

/// The noisy copies the test expects: `SeededRng::new(seed)`'s normal stream, sample by
/// sample, with std `noise * (max - min)`.
fn noisy_copies(seed: u64, samples: usize, noise: f64) -> Vec<Vec<f64>> {
    let x = image();
    let (lo, hi) = x.data.iter().fold((f64::MAX, f64::MIN), |(l, h), &v| {
        (l.min(v as f64), h.max(v as f64))
    });
    let std = noise * (hi - lo);
    let mut rng = SeededRng::new(seed);
    (0..samples)
        .map(|_| {
            rng.normal_vec(N, std)
                .iter()
                .zip(x.data.iter())
                .map(|(e, x)| (x + e) as f64)
                .collect()
        })
        .collect()
}

fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (*g as f64 - w).abs() <= tol * scale,
            "{what}[{k}]: {g} vs {w}"
        );
    }
}

#[test]
fn the_variants_match_an_independent_computation_of_the_same_samples() {
    let (h, _) = host();
    let (samples, seed, noise) = (12usize, 42u64, 0.2);
    let opts = json!({"samples": samples, "seed": seed, "noise": noise});
    let grads: Vec<Vec<f64>> = noisy_copies(seed, samples, noise)
        .iter()
        .map(|p| grad(p))
        .collect();
    let mean: Vec<f64> = (0..N)
        .map(|k| grads.iter().map(|g| g[k]).sum::<f64>() / samples as f64)
        .collect();
    let sq: Vec<f64> = (0..N)
        .map(|k| grads.iter().map(|g| g[k] * g[k]).sum::<f64>() / samples as f64)
        .collect();
    // Two-pass population variance.
    let var: Vec<f64> = (0..N)
        .map(|k| grads.iter().map(|g| (g[k] - mean[k]).powi(2)).sum::<f64>() / samples as f64)
        .collect();
    assert_close(
        &run(&h, "smoothgrad", opts.clone()).map.data,
        &mean,
        1e-5,
        "smoothgrad",
    );
    assert_close(
        &run(&h, "smoothgrad_sq", opts.clone()).map.data,
        &sq,
        1e-5,
        "smoothgrad_sq",
    );
    assert_close(
        &run(&h, "vargrad", opts.clone()).map.data,
        &var,
        1e-5,
        "vargrad",
    );
    // The noise is not negligible here: the maps differ from the plain gradient.
    let plain = grad(&f64s(&image().data));
    let diff = mean
        .iter()
        .zip(&plain)
        .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff > 0.05, "{diff}");
}

#[test]
fn the_inner_method_sees_the_noisy_copies_and_its_options() {
    let (h, seen) = host();
    let a = run(
        &h,
        "smoothgrad",
        json!({"samples": 200, "seed": 3, "inner": "recorder", "inner_options": {"scale": 2.0}}),
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 200);
    let want = noisy_copies(3, 200, 0.15);
    let x = image();
    let mut residuals = Vec::new();
    for ((img, opts), w) in seen.iter().zip(&want) {
        assert_eq!(opts, r#"{"scale":2.0}"#);
        assert_eq!(f64s(&img.data), *w);
        residuals.extend(
            img.data
                .iter()
                .zip(x.data.iter())
                .map(|(n, x)| (n - x) as f64),
        );
    }
    // The noise level is 0.15 of the range (max - min = 0.6): std 0.09 (8000 values).
    let m = residuals.iter().sum::<f64>() / residuals.len() as f64;
    let sd =
        (residuals.iter().map(|r| (r - m).powi(2)).sum::<f64>() / residuals.len() as f64).sqrt();
    assert!(m.abs() < 0.004, "{m}");
    assert!((sd - 0.09).abs() < 0.003, "{sd}");
    // And the aggregate is the mean of the recorder's maps.
    let mean: Vec<f64> = (0..N)
        .map(|k| {
            want.iter()
                .map(|p| (5.0 * p[k] as f32 as f64).sin() * 2.0)
                .sum::<f64>()
                / 200.0
        })
        .collect();
    assert_close(&a.map.data, &mean, 1e-5, "mean");
    let p: Value = serde_json::from_str(&a.parameters).unwrap();
    assert_eq!(p["inner"], "recorder");
    assert_eq!(p["inner_options"], json!({"scale": 2.0}));
    assert_eq!(p["inner_parameters"], json!({"scale_used": true}));
    assert!((p["noise_std"].as_f64().unwrap() - 0.09).abs() < 1e-6);
}

#[test]
fn the_same_seed_gives_the_same_map_and_other_seeds_differ() {
    let (h, _) = host();
    let a = run(&h, "smoothgrad", json!({"samples": 5, "seed": 7}));
    let b = run(&h, "smoothgrad", json!({"samples": 5, "seed": 7}));
    let c = run(&h, "smoothgrad", json!({"samples": 5, "seed": 8}));
    assert_eq!(a.map, b.map);
    assert_ne!(a.map, c.map);
    let (h2, _) = host(); // a fresh host: nothing carried over
    assert_eq!(
        run(&h2, "smoothgrad", json!({"samples": 5, "seed": 7})).map,
        a.map
    );
}

#[test]
fn one_sample_without_noise_is_the_inner_method_exactly() {
    let (h, _) = host();
    let inner = run(&h, "gradient", json!({}));
    let one = json!({"samples": 1, "noise": 0.0});
    let a = run(&h, "smoothgrad", one.clone());
    assert_eq!(a.map, inner.map);
    let sq = run(&h, "smoothgrad_sq", one.clone());
    let want: Vec<f32> = inner
        .map
        .data
        .iter()
        .map(|&v| ((v as f64) * (v as f64)) as f32)
        .collect();
    assert_eq!(sq.map.data.to_vec(), want);
    let var = run(&h, "vargrad", one);
    assert!(var.map.data.iter().all(|&v| v == 0.0));
    // Zero noise with many samples: the same map again, and zero variance.
    let many = run(&h, "vargrad", json!({"samples": 4, "noise": 0.0}));
    assert!(many.map.data.iter().all(|&v| v == 0.0));
}

#[test]
fn objective_input_is_the_objective_at_the_clean_input_and_progress_adds_up() {
    let (h, _) = host();
    let a = run(&h, "smoothgrad", json!({"samples": 3}));
    let m = multiplicity();
    let want: f64 = image()
        .data
        .iter()
        .zip(&m)
        .map(|(&v, m)| f(v as f64) * m)
        .sum();
    assert!(
        (a.objective_input - want).abs() < 1e-4,
        "{} vs {want}",
        a.objective_input
    );
    assert!(a.objective_baseline.is_none());
    // One forward for the objective, one gradient per sample (GradientMethod reports none).
    assert_eq!(h.progress().total(), 1);
    assert_eq!(h.progress().done(), 1);
    let calls = h.calls();
    assert_eq!(calls.len(), 3);
    assert!(calls
        .iter()
        .all(|c| c.kind == "method" && c.name == "gradient" && c.options == "{}"));
    let p: Value = serde_json::from_str(&a.parameters).unwrap();
    assert_eq!(p["samples"], 3);
    assert_eq!(p["noise"], 0.15);
    assert_eq!(p["seed"], 0);
    assert_eq!(p["inner"], "gradient");
}

#[test]
fn errors_name_the_method_the_key_and_the_inner_method() {
    let (h, _) = host();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("smoothgrad", json!({"samples": 0}), "method `smoothgrad`: `samples` must be at least 1 (default 25), got 0"),
        (
            "vargrad",
            json!({"noise": -0.1}),
            "method `vargrad`: `noise` must be a finite number >= 0 (a fraction of the input's range, default 0.15), got -0.1",
        ),
        (
            "smoothgrad_sq",
            json!({"sample": 3}),
            "method `smoothgrad_sq`: unknown field `sample`, expected one of `samples`, `noise`, `seed`, `inner`, `inner_options`",
        ),
        ("smoothgrad", json!({"inner_options": 3}), "method `smoothgrad`: `inner_options`: invalid type: integer `3`, expected a map"),
        (
            "smoothgrad",
            json!({"inner": "foo"}),
            "method `smoothgrad`: inner method `foo`: unknown method `foo`; available: smoothgrad, smoothgrad_sq, vargrad, gradient, recorder",
        ),
        ("smoothgrad", json!({"inner": ""}), "method `smoothgrad`: `inner` must name a method"),
    ];
    for (method, options, want) in cases {
        let e = h.run(method, &options.to_string(), &image()).unwrap_err();
        assert_eq!(e.kind(), Some(ErrorKind::InvalidConfig), "{options}");
        assert_eq!(e.message.as_str(), want, "{options}");
    }
    // An inner method's own error keeps its kind and text.
    let e = h
        .run(
            "smoothgrad",
            &json!({"inner": "smoothgrad", "inner_options": {"samples": 0}}).to_string(),
            &image(),
        )
        .unwrap_err();
    assert_eq!(
        e.message.as_str(),
        "method `smoothgrad`: inner method `smoothgrad`: method `smoothgrad`: `samples` must be at least 1 (default 25), got 0"
    );
}

/// The noisy copies in both precisions: float32 `x + e` with `e` the float32 rounding of the
/// stream's normals (as the maps above expect), float64 `x + e` with the normals themselves;
/// the same stream, so the two agree to float32 rounding.
#[test]
fn the_float64_noisy_copies_are_the_float32_ones_without_rounding() {
    let x32 = image();
    // The image's own values, which float32 rounds.
    let x64: Vec<f64> = (0..N)
        .map(|i| 0.1 + ((i * 7 + 3) % 13) as f64 / 20.0 + 1e-9 * i as f64)
        .collect();
    let std64 = noise_std(0.15, &x64);
    let std32 = noise_std(0.15, &x32.data);
    assert!((std64 - std32).abs() < 1e-7 * std64, "{std64} vs {std32}");
    assert!(std64 != std32);
    let (mut rng32, mut rng64, mut reference) =
        (SeededRng::new(4), SeededRng::new(4), SeededRng::new(4));
    let mut normals32 = SeededRng::new(4);
    for sample in 0..3 {
        let a = noisy_copy::<f32>(&x32.data, &mut rng32, std32);
        let b = noisy_copy::<f64>(&x64, &mut rng64, std64);
        let e32 = normals32.normal_vec(N, std32);
        for i in 0..N {
            // Bitwise the float32 formula, and exactly x + z std in float64.
            assert_eq!(a[i], x32.data[i] + e32[i], "sample {sample}[{i}]");
            let want = x64[i] + reference.normal_f64() * std64;
            assert_eq!(b[i], want, "sample {sample}[{i}]");
            assert!(
                (a[i] as f64 - b[i]).abs() <= 3e-7 * b[i].abs().max(1.0),
                "sample {sample}[{i}]: {} vs {}",
                a[i],
                b[i]
            );
        }
        assert!(b.iter().any(|&v| v != v as f32 as f64), "float64 values");
    }
}
