//! LAM with non-default `sigma`, `kernel` and `steps` against the test's own float64
//! evaluation of `attribution-spec.md`'s formula, run in process through
//! `srlens_plugin_kit::testing`:
//! `A = (1/steps) sum_i dD(F(p_i))/dp_i * d_i`, `p_i = blur(x, k_{sigma_{i+1}})`,
//! `d_i = blur(x, (k_{sigma_{i+1}} - k_{sigma_i}) steps)`, `sigma_i = sigma (1 - i/steps)`.

use serde_json::json;
use srlens_core::Tensor;
use srlens_plugin_kit::testing::*;
use srlens_plugin_lam::{Lam, ProgressiveBlurPath};
use srlens_test_support::blur64::{blur64, kernel64, path_kernels64};
use srlens_test_support::compare::rel_l2;

const DIMS: Dims = [2, 5, 6];
const SCALE: usize = 2;
const N_IN: usize = 2 * 5 * 6;
const N_OUT: usize = N_IN * SCALE * SCALE;

fn window() -> Intensity {
    Intensity::new(3, 2, 5)
}

fn image() -> Tensor {
    let data = (0..N_IN)
        .map(|i| ((i * 11 + 5) % 17) as f32 / 17.0)
        .collect();
    Tensor::new(vec![1, DIMS[0], DIMS[1], DIMS[2]], data).unwrap()
}

fn host(model: FnModel) -> TestRegistry {
    TestRegistry::new(model_box(model), objective_box(window()))
        .with_path("blur", ProgressiveBlurPath)
        .with_method("lam", Lam)
}

/// `1` where an SR pixel (channel, row, column, flattened) is in the window.
fn mask() -> Vec<f64> {
    let (sh, sw) = (DIMS[1] * SCALE, DIMS[2] * SCALE);
    (0..N_OUT)
        .map(|o| f64::from(u8::from(window().contains((o / sw) % sh, o % sw))))
        .collect()
}

/// A fixed mixing matrix `N_OUT x N_IN`.
fn weights() -> Vec<f64> {
    (0..N_OUT * N_IN)
        .map(|k| (((k * 13 + 7) % 29) as f64 - 14.0) / 50.0)
        .collect()
}

/// The spec's blur of each channel of `x` (`C x H x W`, f64) with `k`, reflect-101 borders.
fn blur(x: &[f64], k: &[Vec<f64>]) -> Vec<f64> {
    let [c, h, w] = DIMS;
    blur64(x, c, h, w, k)
}

/// The spec's LAM map, the objective at `x` and at the baseline, in `f64`, for a model given
/// by its objective `d(p)` and gradient `grad(p)` (both evaluated by the test).
fn lam64(
    sigma: f64,
    kernel: usize,
    steps: usize,
    d: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> Vec<f64>,
) -> (Vec<f64>, f64, f64) {
    let x: Vec<f64> = image().data.iter().map(|&v| v as f64).collect();
    let mut map = vec![0.0; N_IN];
    for i in 0..steps {
        let (k_next, dk) = path_kernels64(sigma, kernel, i, steps);
        let p = blur(&x, &k_next);
        let di = blur(&x, &dk);
        for ((m, g), dv) in map.iter_mut().zip(grad(&p)).zip(&di) {
            *m += g * dv / steps as f64;
        }
    }
    let baseline = blur(&x, &kernel64(sigma, kernel));
    (map, d(&x), d(&baseline))
}

fn check(model: FnModel, want: (Vec<f64>, f64, f64), what: &str) {
    let options = json!({"sigma": 2.0, "kernel": 7, "steps": 10});
    let counters = model.counters();
    let a = host(model)
        .run("lam", &options.to_string(), &image())
        .unwrap();
    // The path's last point is the input (sigma 0): D(x) comes from its gradient call, and
    // only the baseline takes a forward pass of its own.
    assert_eq!(counters.forward_calls(), 1, "{what}");
    assert_eq!(counters.gradient_items(), 10, "{what}");
    assert_eq!(a.map.dims(), DIMS.to_vec(), "{what}");
    let (map, d_input, d_baseline) = want;
    let err = rel_l2(&a.map.data, &map);
    assert!(err < 1e-4, "{what}: relative L2 error {err}");
    let close = |got: f64, want: f64| (got - want).abs() <= 1e-5 * want.abs().max(1.0);
    assert!(
        close(a.objective_input, d_input),
        "{what}: D(x) {} vs {d_input}",
        a.objective_input
    );
    let b = a.objective_baseline.unwrap();
    assert!(
        close(b, d_baseline),
        "{what}: D(baseline) {b} vs {d_baseline}"
    );
    let p: serde_json::Value = serde_json::from_str(&a.parameters).unwrap();
    assert_eq!(
        (
            p["sigma"].as_f64(),
            p["kernel"].as_u64(),
            p["steps"].as_u64()
        ),
        (Some(2.0), Some(7), Some(10))
    );
}

#[test]
fn lam_with_sigma_2_kernel_7_steps_10_matches_float64_on_a_pointwise_model() {
    // y = upsample(sin(3x) + x^2): the gradient differs from point to point of the path.
    let f = |v: f64| (3.0 * v).sin() + v * v;
    let df = |v: f64| 3.0 * (3.0 * v).cos() + 2.0 * v;
    let per_lr = upsample_nearest_adjoint(&mask(), DIMS, SCALE); // window pixels per LR pixel
    let (m1, m2) = (per_lr.clone(), per_lr);
    let want = lam64(
        2.0,
        7,
        10,
        move |p| p.iter().zip(&m1).map(|(v, m)| f(*v) * m).sum(),
        move |p| p.iter().zip(&m2).map(|(v, m)| df(*v) * m).collect(),
    );
    check(FnModel::pointwise(SCALE, DIMS[0], f, df), want, "pointwise");
}

#[test]
fn lam_with_sigma_2_kernel_7_steps_10_matches_float64_on_a_linear_model() {
    let w = weights();
    let m = mask();
    // D = m . (W p): the gradient is W^T m at every point.
    let g: Vec<f64> = (0..N_IN)
        .map(|k| (0..N_OUT).map(|o| w[o * N_IN + k] * m[o]).sum())
        .collect();
    let (w1, m1, g1) = (w.clone(), m.clone(), g);
    let want = lam64(
        2.0,
        7,
        10,
        move |p| {
            (0..N_OUT)
                .map(|o| m1[o] * (0..N_IN).map(|k| w1[o * N_IN + k] * p[k]).sum::<f64>())
                .sum()
        },
        move |_| g1.clone(),
    );
    check(FnModel::linear(SCALE, DIMS, w), want, "linear");
}
