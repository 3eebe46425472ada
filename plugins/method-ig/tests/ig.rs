//! IG, gradient and the straight-line paths against float64 evaluations of the same formulas,
//! run in process through `srlens_plugin_kit::testing`.

use serde_json::{json, Value};
use srlens_core::{
    abi_stable::std_types::{RStr, RVec},
    ErrorKind, PathBox, PathSamples64, PluginError, Tensor, Tensor64,
};
use srlens_plugin_ig::{BlurLinePath, Gradient, Ig, InputXGradient, LinePath};
use srlens_plugin_kit::{
    blur::{correlate, gaussian_kernel, reflect101},
    component::path_box,
    random::SeededRng,
    testing::*,
};

const DIMS: Dims = [2, 3, 4];
const SCALE: usize = 2;
const N_IN: usize = 24;
const N_OUT: usize = N_IN * SCALE * SCALE;

fn window() -> Intensity {
    Intensity::new(2, 1, 4)
}

fn image() -> Tensor {
    let data = (0..N_IN)
        .map(|i| ((i * 7 + 3) % 13) as f32 / 13.0)
        .collect();
    Tensor::new(vec![1, DIMS[0], DIMS[1], DIMS[2]], data).unwrap()
}

/// A fixed mixing matrix `N_OUT x N_IN`.
fn weights(seed: usize) -> Vec<f64> {
    (0..N_OUT * N_IN)
        .map(|k| (((k * 31 + seed * 17) % 23) as f64 - 11.0) / 40.0)
        .collect()
}

/// `1` where an SR pixel (channel, row, col, flattened) is in the window.
fn mask() -> Vec<f64> {
    let (sh, sw) = (DIMS[1] * SCALE, DIMS[2] * SCALE);
    (0..N_OUT)
        .map(|o| {
            if window().contains((o / sw) % sh, o % sw) {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

fn host(model: FnModel) -> TestRegistry {
    TestRegistry::new(model_box(model), objective_box(window()))
        .with_path("line", LinePath)
        .with_path("blur_line", BlurLinePath)
        .with_method("ig", Ig)
        .with_method("gradient", Gradient)
        .with_method("input_x_gradient", InputXGradient)
}

fn linear_host() -> TestRegistry {
    host(FnModel::linear(SCALE, DIMS, weights(1)))
}

/// `y = upsample(tanh(A x + c))`, `A` square: nonlinear and mixing pixels.
fn tanh_model() -> FnModel {
    let a = tanh_matrix();
    let a2 = a.clone();
    FnModel::new(
        SCALE,
        DIMS[0],
        move |x, dims| {
            upsample_nearest(
                &tanh_pre(&a, x).iter().map(|z| z.tanh()).collect::<Vec<_>>(),
                dims,
                SCALE,
            )
        },
        move |x, dims, g| {
            let g: Vec<f64> = g.iter().map(|&v| v as f64).collect();
            let gz = upsample_nearest_adjoint(&g, dims, SCALE);
            let z = tanh_pre(&a2, x);
            let s: Vec<f64> = z
                .iter()
                .zip(&gz)
                .map(|(z, g)| (1.0 - z.tanh().powi(2)) * g)
                .collect();
            (0..N_IN)
                .map(|k| (0..N_IN).map(|r| a2[r * N_IN + k] * s[r]).sum())
                .collect()
        },
    )
}

fn tanh_matrix() -> Vec<f64> {
    (0..N_IN * N_IN)
        .map(|k| {
            let (r, c) = (k / N_IN, k % N_IN);
            if r == c {
                1.5
            } else {
                (((r * 5 + c * 3) % 7) as f64 - 3.0) / 6.0
            }
        })
        .collect()
}

fn tanh_pre(a: &[f64], x: &[f32]) -> Vec<f64> {
    (0..N_IN)
        .map(|r| {
            (0..N_IN)
                .map(|k| a[r * N_IN + k] * x[k] as f64)
                .sum::<f64>()
                - 0.8
        })
        .collect()
}

/// The test's own float64 evaluation of the tanh model's objective and its gradient.
fn tanh_objective_and_grad(p: &[f64]) -> (f64, Vec<f64>) {
    let a = tanh_matrix();
    let m = upsample_nearest_adjoint(&mask(), DIMS, SCALE); // window pixels per LR pixel
    let z: Vec<f64> = (0..N_IN)
        .map(|r| (0..N_IN).map(|k| a[r * N_IN + k] * p[k]).sum::<f64>() - 0.8)
        .collect();
    let value = z.iter().zip(&m).map(|(z, m)| z.tanh() * m).sum();
    let grad = (0..N_IN)
        .map(|k| {
            (0..N_IN)
                .map(|r| a[r * N_IN + k] * (1.0 - z[r].tanh().powi(2)) * m[r])
                .sum()
        })
        .collect();
    (value, grad)
}

/// Independent points and weights: Riemann rules by their definitions, Gauss-Legendre from
/// the closed form for 5 points.
fn rule(name: &str, n: usize) -> Vec<(f64, f64)> {
    let nf = n as f64;
    match name {
        "riemann_left" => (0..n).map(|i| (i as f64 / nf, 1.0 / nf)).collect(),
        "riemann_right" => (1..=n).map(|i| (i as f64 / nf, 1.0 / nf)).collect(),
        "riemann_middle" => (0..n)
            .map(|i| ((2 * i + 1) as f64 / (2.0 * nf), 1.0 / nf))
            .collect(),
        "riemann_trapezoid" => (0..n)
            .map(|i| {
                let end = i == 0 || i == n - 1;
                (
                    i as f64 / (nf - 1.0),
                    if end { 0.5 } else { 1.0 } / (nf - 1.0),
                )
            })
            .collect(),
        "gausslegendre" => {
            assert_eq!(n, 5);
            let a = (5.0 - 2.0 * (10.0f64 / 7.0).sqrt()).sqrt() / 3.0;
            let b = (5.0 + 2.0 * (10.0f64 / 7.0).sqrt()).sqrt() / 3.0;
            let wa = (322.0 + 13.0 * 70f64.sqrt()) / 900.0;
            let wb = (322.0 - 13.0 * 70f64.sqrt()) / 900.0;
            [(-b, wb), (-a, wa), (0.0, 128.0 / 225.0), (a, wa), (b, wb)]
                .iter()
                .map(|&(x, w)| ((1.0 + x) / 2.0, w / 2.0))
                .collect()
        }
        _ => unreachable!(),
    }
}

const QUADRATURES: [&str; 5] = [
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
    "gausslegendre",
];

fn f64s(t: &Tensor) -> Vec<f64> {
    t.data.iter().map(|&v| v as f64).collect()
}

/// `max |got - want| / max |want|`.
fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .fold(0f64, |m, (g, w)| m.max((g - w).abs()))
        / scale
}

fn gap(a: &srlens_core::Attribution) -> f64 {
    let sum: f64 = a.map.data.iter().map(|&v| v as f64).sum();
    a.objective_input - a.objective_baseline.unwrap() - sum
}

fn run(host: &TestRegistry, method: &str, options: Value) -> srlens_core::Attribution {
    host.run(method, &options.to_string(), &image()).unwrap()
}

fn err(host: &TestRegistry, method: &str, options: Value) -> PluginError {
    host.run(method, &options.to_string(), &image())
        .unwrap_err()
}

#[test]
fn ig_on_a_linear_model_is_exact_for_every_quadrature_and_baseline() {
    let host = linear_host();
    let w = weights(1);
    let m = mask();
    // dD/dx = W^T m, the same at every point.
    let g: Vec<f64> = (0..N_IN)
        .map(|k| (0..N_OUT).map(|o| w[o * N_IN + k] * m[o]).sum())
        .collect();
    let x = f64s(&image());
    let blurred = correlate(&image().data, 3, 4, &gaussian_kernel(1.2, 9), 9);
    let baselines: Vec<(Value, Vec<f64>)> = vec![
        (json!({}), vec![0.0; N_IN]),
        (
            json!({"baseline": "constant", "value": 0.3}),
            vec![0.3f32 as f64; N_IN],
        ),
        (
            json!({"baseline": "noise", "seed": 5}),
            SeededRng::new(5)
                .uniform_vec(N_IN)
                .iter()
                .map(|&v| v as f64)
                .collect(),
        ),
        (
            json!({"baseline": "blur"}),
            blurred.iter().map(|&v| v as f64).collect(),
        ),
    ];
    for (opts, b) in &baselines {
        for q in QUADRATURES {
            let mut o = opts.clone();
            o["quadrature"] = q.into();
            o["steps"] = 7.into();
            let a = run(&host, "ig", o.clone());
            let want: Vec<f64> = (0..N_IN).map(|k| (x[k] - b[k]) * g[k]).collect();
            let e = rel_err(&f64s(&a.map), &want);
            assert!(e < 1e-5, "{o}: relative error {e}");
            let obj = |p: &[f64]| -> f64 {
                (0..N_OUT)
                    .map(|o| m[o] * (0..N_IN).map(|k| w[o * N_IN + k] * p[k]).sum::<f64>())
                    .sum()
            };
            assert!((a.objective_input - obj(&x)).abs() < 1e-4, "{o}");
            assert!((a.objective_baseline.unwrap() - obj(b)).abs() < 1e-4, "{o}");
            assert!(gap(&a).abs() < 1e-4, "{o}: gap {}", gap(&a));
        }
    }
}

#[test]
fn ig_on_a_nonlinear_model_matches_a_float64_evaluation_for_every_quadrature() {
    let host = host(tanh_model());
    let x = f64s(&image());
    for (baseline, b) in [
        (json!("black"), vec![0.0; N_IN]),
        (json!("constant"), vec![0.5; N_IN]),
    ] {
        for q in QUADRATURES {
            let n = if q == "gausslegendre" { 5 } else { 9 };
            let mut o = json!({"steps": n, "quadrature": q, "baseline": baseline});
            if b[0] != 0.0 {
                o["value"] = 0.5.into();
            }
            let a = run(&host, "ig", o.clone());
            let mut want = vec![0f64; N_IN];
            for (alpha, w) in rule(q, n) {
                let p: Vec<f64> = (0..N_IN).map(|k| b[k] + alpha * (x[k] - b[k])).collect();
                let (_, g) = tanh_objective_and_grad(&p);
                for k in 0..N_IN {
                    want[k] += w * g[k] * (x[k] - b[k]);
                }
            }
            let e = rel_err(&f64s(&a.map), &want);
            assert!(e < 1e-4, "{o}: relative error {e}");
            assert!((a.objective_input - tanh_objective_and_grad(&x).0).abs() < 1e-4);
            assert!((a.objective_baseline.unwrap() - tanh_objective_and_grad(&b).0).abs() < 1e-4);
        }
    }
}

#[test]
fn the_gap_shrinks_as_steps_grow_and_gauss_legendre_converges_to_the_true_integral() {
    let host = host(tanh_model());
    let gaps: Vec<f64> = [5, 20, 80]
        .iter()
        .map(|&n| {
            gap(&run(
                &host,
                "ig",
                json!({"steps": n, "quadrature": "riemann_right"}),
            ))
            .abs()
        })
        .collect();
    assert!(gaps[0] > 1e-3, "{gaps:?}");
    // First order: the gap falls about 4x per 4x steps.
    assert!(
        gaps[1] < gaps[0] / 2.5 && gaps[2] < gaps[1] / 2.5,
        "{gaps:?}"
    );
    // The true IG, in float64: composite 5-point Gauss-Legendre over 64 pieces.
    let x = f64s(&image());
    let mut exact = vec![0f64; N_IN];
    for piece in 0..64 {
        for (a, w) in rule("gausslegendre", 5) {
            let alpha = (piece as f64 + a) / 64.0;
            let p: Vec<f64> = x.iter().map(|v| alpha * v).collect();
            let (_, g) = tanh_objective_and_grad(&p);
            for k in 0..N_IN {
                exact[k] += w / 64.0 * g[k] * x[k];
            }
        }
    }
    let a = run(&host, "ig", json!({}));
    assert!(rel_err(&f64s(&a.map), &exact) < 1e-4);
    assert!(gap(&a).abs() < 1e-4, "gap {}", gap(&a));
    let r = run(
        &host,
        "ig",
        json!({"steps": 80, "quadrature": "riemann_right"}),
    );
    assert!(rel_err(&f64s(&r.map), &exact) > 1e-3); // first order, visibly worse
}

#[test]
fn batching_does_not_change_the_map_and_progress_adds_up() {
    let one = host(tanh_model()).with_batch_size(1);
    let model = tanh_model();
    let counters = model.counters();
    let many = host(model).with_batch_size(64);
    let a = run(&one, "ig", json!({"steps": 13}));
    let b = run(&many, "ig", json!({"steps": 13}));
    assert_eq!(a.map, b.map);
    assert_eq!(one.progress().total(), 15);
    assert_eq!(one.progress().done(), 15);
    assert_eq!(counters.gradient_calls(), 1);
    assert_eq!(counters.gradient_items(), 13);
    let paths: Vec<_> = one
        .calls()
        .into_iter()
        .filter(|c| c.kind == "path")
        .collect();
    assert_eq!(paths.len(), 13);
    assert_eq!(paths[0].name, "line");
}

#[test]
fn parameters_list_the_options_with_defaults() {
    let host = linear_host();
    let p = |o: Value| -> Value { serde_json::from_str(&run(&host, "ig", o).parameters).unwrap() };
    assert_eq!(
        p(json!({})),
        json!({"baseline": "black", "quadrature": "gausslegendre", "steps": 50, "batch_size": 8})
    );
    assert_eq!(
        p(json!({"baseline": "blur", "steps": 3, "quadrature": "riemann_middle"})),
        json!({"baseline": "blur", "sigma": 1.2, "kernel": 9, "quadrature": "riemann_middle", "steps": 3, "batch_size": 8})
    );
    assert_eq!(
        p(json!({"baseline": "noise", "steps": 2})),
        json!({"baseline": "noise", "seed": 0, "quadrature": "gausslegendre", "steps": 2, "batch_size": 8})
    );
}

fn sample(
    path: &dyn Fn() -> PathBox,
    options: Value,
    steps: u32,
    start: u32,
    end: u32,
) -> srlens_core::PathSamples {
    path()
        .sample(
            &image(),
            RStr::from_str(&options.to_string()),
            RStr::from_str(""),
            steps,
            start,
            end,
        )
        .into_result()
        .unwrap()
}

#[test]
fn the_line_path_gives_points_derivatives_and_weights() {
    let line = || path_box("line", LinePath);
    let x = image();
    let s = sample(
        &line,
        json!({"baseline": "constant", "value": 0.25, "quadrature": "riemann_left"}),
        4,
        1,
        3,
    );
    assert_eq!(s.weights, RVec::from(vec![0.25, 0.25]));
    assert_eq!(s.points.dims(), vec![2, 2, 3, 4]);
    assert!(s.baseline.data.iter().all(|&v| v == 0.25));
    for (k, alpha) in [0.25f64, 0.5].iter().enumerate() {
        for i in 0..N_IN {
            let want = 0.25 + alpha * (x.data[i] as f64 - 0.25);
            assert!((s.points.data[k * N_IN + i] as f64 - want).abs() < 1e-7);
            assert_eq!(s.derivatives.data[k * N_IN + i], x.data[i] - 0.25);
        }
    }
    // A chunk is the same slice of the whole path.
    let all = sample(&line, json!({}), 6, 0, 6);
    let part = sample(&line, json!({}), 6, 2, 5);
    assert_eq!(&all.points.data[2 * N_IN..5 * N_IN], &part.points.data[..]);
    assert_eq!(&all.weights[2..5], &part.weights[..]);
}

#[test]
fn blur_line_is_line_with_a_blur_baseline() {
    let a = sample(
        &|| path_box("blur_line", BlurLinePath),
        json!({"sigma": 2.0, "kernel": 5}),
        5,
        0,
        5,
    );
    let b = sample(
        &|| path_box("line", LinePath),
        json!({"baseline": "blur", "sigma": 2.0, "kernel": 5}),
        5,
        0,
        5,
    );
    assert_eq!(a.points, b.points);
    assert_eq!(a.derivatives, b.derivatives);
    assert_eq!(a.weights, b.weights);
    let want = correlate(&image().data, 3, 4, &gaussian_kernel(2.0, 5), 5);
    assert_eq!(a.baseline.data.to_vec(), want);
    // Defaults: LAM's sigma 1.2, kernel 9.
    let d = sample(&|| path_box("blur_line", BlurLinePath), json!({}), 2, 0, 2);
    assert_eq!(
        d.baseline.data.to_vec(),
        correlate(&image().data, 3, 4, &gaussian_kernel(1.2, 9), 9)
    );
}

#[test]
fn the_noise_baseline_is_seeded() {
    let line = || path_box("line", LinePath);
    let a = sample(&line, json!({"baseline": "noise", "seed": 9}), 2, 0, 2);
    let b = sample(&line, json!({"baseline": "noise", "seed": 9}), 2, 0, 2);
    let c = sample(&line, json!({"baseline": "noise", "seed": 10}), 2, 0, 2);
    assert_eq!(a.baseline, b.baseline);
    assert_ne!(a.baseline, c.baseline);
    assert!(a.baseline.data.iter().all(|&v| (0.0..1.0).contains(&v)));
}

fn write_png(path: &std::path::Path, w: u32, h: u32) -> Vec<u8> {
    let bytes: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i * 37 + 11) % 256) as u8)
        .collect();
    image::RgbImage::from_raw(w, h, bytes.clone())
        .unwrap()
        .save(path)
        .unwrap();
    bytes
}

#[test]
fn an_image_baseline_is_read_in_chw_order_and_checked_for_size() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("base.png");
    let hwc = write_png(&png, 4, 3);
    let x = image();
    let mut host = TestRegistry::new(
        model_box(FnModel::linear(
            SCALE,
            [3, 3, 4],
            (0..144 * 36)
                .map(|k| ((k % 9) as f64 - 4.0) / 9.0)
                .collect(),
        )),
        objective_box(window()),
    )
    .with_path("line", LinePath)
    .with_method("ig", Ig);
    let x3 = Tensor::new(
        vec![1, 3, 3, 4],
        (0..36).map(|i| (i % 5) as f32 / 5.0).collect(),
    )
    .unwrap();
    let p = png.to_str().unwrap();
    let a = host
        .run("ig", &json!({"baseline": p, "steps": 3}).to_string(), &x3)
        .unwrap();
    let b = host
        .run(
            "ig",
            &json!({"baseline": {"image": p}, "steps": 3}).to_string(),
            &x3,
        )
        .unwrap();
    assert_eq!(a.map, b.map);
    let s = path_box("line", LinePath)
        .sample(
            &x3,
            RStr::from_str(&json!({"baseline": p}).to_string().to_string()),
            RStr::from_str(""),
            1,
            0,
            1,
        )
        .into_result()
        .unwrap();
    for c in 0..3 {
        for pix in 0..12 {
            assert_eq!(
                s.baseline.data[c * 12 + pix],
                hwc[pix * 3 + c] as f32 / 255.0
            );
        }
    }
    // The wrong size names the file and both sizes.
    let small = dir.path().join("small.png");
    write_png(&small, 5, 3);
    let s = small.to_str().unwrap();
    let e = host
        .run("ig", &json!({"baseline": s}).to_string(), &x3)
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidConfig));
    assert_eq!(
        e.message.as_str(),
        format!("method `ig`: baseline image `{s}` is 5x3 (width x height), the input is 4x3; they must be the same size")
    );
    let missing = dir.path().join("missing.png");
    let m = missing.to_str().unwrap();
    let e = host
        .run("ig", &json!({"baseline": {"image": m}}).to_string(), &x3)
        .unwrap_err();
    assert!(
        e.message
            .starts_with(&format!("method `ig`: cannot read baseline image `{m}`: ")),
        "{}",
        e.message
    );
    // A 2-channel input cannot take an image baseline.
    host = host.with_batch_size(2);
    let x2 = Tensor::new(vec![1, 2, 3, 4], x.data.to_vec()).unwrap();
    let e = host
        .run("ig", &json!({"baseline": p}).to_string(), &x2)
        .unwrap_err();
    assert!(e.message.contains("1- or 3-channel"), "{}", e.message);
}

#[test]
fn gradient_and_input_x_gradient_on_a_nonlinear_model() {
    let host = host(tanh_model());
    let x = f64s(&image());
    let (value, g) = tanh_objective_and_grad(&x);
    let a = run(&host, "gradient", json!({}));
    assert!(rel_err(&f64s(&a.map), &g) < 1e-5);
    assert!((a.objective_input - value).abs() < 1e-5);
    assert!(a.objective_baseline.is_none());
    let b = run(&host, "input_x_gradient", json!({}));
    let xg: Vec<f64> = g.iter().zip(&x).map(|(g, x)| g * x).collect();
    assert!(rel_err(&f64s(&b.map), &xg) < 1e-5);
    assert_eq!(host.progress().total(), 2);
    assert_eq!(host.progress().done(), 2);
}

#[test]
fn bad_options_say_what_is_wrong() {
    let host = linear_host();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("ig", json!({"steps": 0}), "method `ig`: `steps` must be at least 1 (default 50), got 0"),
        (
            "ig",
            json!({"baseline": "blak"}),
            "method `ig`: unknown baseline `blak`; accepted: black, blur, noise, constant, or an image path (a .png/.jpg/.jpeg file name, or { image = \"path\" })",
        ),
        ("ig", json!({"baseline": "blur", "sigma": -1.0}), "method `ig`: `sigma` must be a finite number >= 0 (default 1.2), got -1"),
        ("ig", json!({"baseline": "blur", "kernel": 4}), "method `ig`: `kernel` must be an odd positive size (default 9), got 4"),
        ("ig", json!({"sigma": 2.0}), "method `ig`: `sigma` applies only to baseline `blur`, the baseline is `black`"),
        ("ig", json!({"baseline": "noise", "value": 2.0}), "method `ig`: `value` applies only to baseline `constant`, the baseline is `noise`"),
        ("ig", json!({"baseline": "constant"}), "method `ig`: baseline `constant` needs `value` (a number, e.g. 0.5)"),
        ("ig", json!({"baseline": 3}), "method `ig`: `baseline` must be a string or { image = \"path\" }, got 3; accepted: black, blur, noise, constant, or an image path (a .png/.jpg/.jpeg file name, or { image = \"path\" })"),
        ("ig", json!({"baseline": {"img": "a.png"}}), "method `ig`: a table `baseline` must be { image = \"path\" }, got {\"img\":\"a.png\"}"),
        ("ig", json!({"quadrature": "riemann_trapezoid", "steps": 1}), "method `ig`: quadrature `riemann_trapezoid` needs `steps` >= 2, got 1"),
        (
            "ig",
            json!({"quadrature": "simpson"}),
            "method `ig`: `quadrature`: unknown variant `simpson`, expected one of `riemann_left`, `riemann_right`, `riemann_middle`, `riemann_trapezoid`, `gausslegendre`",
        ),
        (
            "ig",
            json!({"stepz": 3}),
            "method `ig`: unknown field `stepz`, expected one of `steps`, `quadrature`, `baseline`, `sigma`, `kernel`, `seed`, `value`",
        ),
        ("ig", json!({"steps": -2}), "method `ig`: `steps`: invalid value: integer `-2`, expected usize"),
        ("gradient", json!({"steps": 3}), "method `gradient`: unknown field `steps`, there are no fields"),
        ("input_x_gradient", json!({"x": 1}), "method `input_x_gradient`: unknown field `x`, there are no fields"),
    ];
    for (method, options, want) in cases {
        let e = err(&host, method, options.clone());
        assert_eq!(e.kind(), Some(ErrorKind::InvalidConfig), "{options}");
        assert_eq!(e.message.as_str(), want, "{options}");
    }
    // Paths used directly name themselves.
    let e = path_box("blur_line", BlurLinePath)
        .sample(
            &image(),
            RStr::from_str(r#"{"baseline": "black"}"#),
            RStr::from_str(""),
            3,
            0,
            3,
        )
        .into_result()
        .unwrap_err();
    assert_eq!(
        e.message.as_str(),
        "path `blur_line`: unknown field `baseline`, expected one of `quadrature`, `sigma`, `kernel`"
    );
    let e = path_box("line", LinePath)
        .sample(&image(), RStr::from_str("{}"), RStr::from_str(""), 3, 2, 4)
        .into_result()
        .unwrap_err();
    assert_eq!(
        e.message.as_str(),
        "path `line`: points 2..4 of a path of 3 points do not exist"
    );
    let e = path_box("line", LinePath)
        .sample(&image(), RStr::from_str("{}"), RStr::from_str(""), 0, 0, 0)
        .into_result()
        .unwrap_err();
    assert_eq!(
        e.message.as_str(),
        "path `line`: a path needs at least 1 point (`steps` >= 1), got 0"
    );
}

/// The test image in float64, with values float32 does not hold (`k/13`, plus `1e-9 i`).
fn image64() -> Tensor64 {
    let data = (0..N_IN)
        .map(|i| ((i * 7 + 3) % 13) as f64 / 13.0 + 1e-9 * i as f64)
        .collect();
    Tensor64::new(vec![1, DIMS[0], DIMS[1], DIMS[2]], data).unwrap()
}

/// Points `start..end` of the `steps`-point path `path()` to `x` in float64.
fn sample64(
    path: &dyn Fn() -> PathBox,
    options: Value,
    x: &Tensor64,
    steps: u32,
    start: u32,
    end: u32,
) -> Result<PathSamples64, PluginError> {
    path()
        .sample_f64(
            x,
            RStr::from_str(&options.to_string()),
            RStr::from_str(""),
            steps,
            start,
            end,
        )
        .into_result()
}

/// The test's own float64 blur: the 2-D Gaussian `kernel x kernel` correlated with every
/// plane of `x` (`planes x h x w`), reflect-101 borders.
fn blur2d64(x: &[f64], h: usize, w: usize, sigma: f64, kernel: usize) -> Vec<f64> {
    let k = gaussian_kernel(sigma, kernel);
    let r = (kernel / 2) as i64;
    let mut out = vec![0.0; x.len()];
    for p in 0..x.len() / (h * w) {
        for i in 0..h {
            for j in 0..w {
                let mut acc = 0.0;
                for u in -r..=r {
                    for v in -r..=r {
                        let (ii, jj) = (reflect101(i as i64 + u, h), reflect101(j as i64 + v, w));
                        acc += k[((u + r) * kernel as i64 + v + r) as usize]
                            * x[(p * h + ii) * w + jj];
                    }
                }
                out[(p * h + i) * w + j] = acc;
            }
        }
    }
    out
}

#[test]
fn in_float64_the_line_paths_are_the_f64_formula_for_every_baseline_and_quadrature() {
    let x64 = image64();
    let x = &x64.data;
    let (h, w) = (DIMS[1], DIMS[2]);
    let line = || path_box("line", LinePath);
    let baselines: Vec<(Value, Vec<f64>)> = vec![
        (json!({}), vec![0.0; N_IN]),
        // 0.3 itself, not its float32 rounding.
        (
            json!({"baseline": "constant", "value": 0.3}),
            vec![0.3; N_IN],
        ),
        (
            json!({"baseline": "noise", "seed": 5}),
            SeededRng::new(5)
                .uniform_vec(N_IN)
                .iter()
                .map(|&v| v as f64)
                .collect(),
        ),
        (json!({"baseline": "blur"}), blur2d64(x, h, w, 1.2, 9)),
        (
            json!({"baseline": "blur", "sigma": 2.0, "kernel": 5}),
            blur2d64(x, h, w, 2.0, 5),
        ),
    ];
    let mut worst = 0f64;
    for (opts, b) in &baselines {
        for q in QUADRATURES {
            let n = if q == "gausslegendre" { 5 } else { 7 };
            let mut o = opts.clone();
            o["quadrature"] = q.into();
            let s = sample64(&line, o.clone(), &x64, n as u32, 0, n as u32).unwrap();
            assert_eq!(s.points.dims(), vec![n, DIMS[0], DIMS[1], DIMS[2]], "{o}");
            for (k, (alpha, weight)) in rule(q, n).into_iter().enumerate() {
                assert!((s.weights[k] - weight).abs() < 1e-15, "{o}: weight {k}");
                for i in 0..N_IN {
                    let (p, d) = (
                        s.points.data[k * N_IN + i],
                        s.derivatives.data[k * N_IN + i],
                    );
                    let (want_p, want_d) = (b[i] + alpha * (x[i] - b[i]), x[i] - b[i]);
                    worst = worst.max((p - want_p).abs()).max((d - want_d).abs());
                    assert!(
                        (p - want_p).abs() < 1e-14,
                        "{o}: point {k}[{i}] {p} vs {want_p}"
                    );
                    assert!(
                        (d - want_d).abs() < 1e-14,
                        "{o}: derivative {k}[{i}] {d} vs {want_d}"
                    );
                }
            }
            for (got, want) in s.baseline.data.iter().zip(b) {
                assert!((got - want).abs() < 1e-15, "{o}: baseline {got} vs {want}");
            }
            // Float64 values, not float32 ones widened.
            assert!(
                s.points
                    .data
                    .iter()
                    .any(|&p| (p - p as f32 as f64).abs() > 1e-12),
                "{o}: the points are float32 values"
            );
        }
    }
    eprintln!("float64 line path: largest error {worst:.1e}");
    // A chunk is the same slice of the whole path.
    let all = sample64(&line, json!({}), &x64, 6, 0, 6).unwrap();
    let part = sample64(&line, json!({}), &x64, 6, 2, 5).unwrap();
    assert_eq!(&all.points.data[2 * N_IN..5 * N_IN], &part.points.data[..]);
    assert_eq!(&all.weights[2..5], &part.weights[..]);
    // `blur_line` is the line from the blurred image.
    let bl = sample64(
        &|| path_box("blur_line", BlurLinePath),
        json!({"quadrature": "riemann_middle", "sigma": 2.0, "kernel": 5}),
        &x64,
        4,
        0,
        4,
    )
    .unwrap();
    let same = sample64(
        &line,
        json!({"baseline": "blur", "sigma": 2.0, "kernel": 5, "quadrature": "riemann_middle"}),
        &x64,
        4,
        0,
        4,
    )
    .unwrap();
    assert_eq!(bl.points, same.points);
    assert_eq!(bl.derivatives, same.derivatives);
    assert_eq!(bl.baseline, same.baseline);
    // Bad requests are refused in float64 as in float32.
    let e = sample64(&line, json!({}), &x64, 3, 2, 4).unwrap_err();
    assert_eq!(
        e.message.as_str(),
        "path `line`: points 2..4 of a path of 3 points do not exist"
    );
    let e = sample64(&line, json!({"baseline": "blak"}), &x64, 3, 0, 3).unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidConfig));
}

/// A 4 x 3 RGB PNG with 16-bit samples; returns them in HWC order.
fn write_png16(path: &std::path::Path) -> Vec<u16> {
    let samples: Vec<u16> = (0..4 * 3 * 3)
        .map(|i| ((i * 7919 + 13) % 65536) as u16)
        .collect();
    image::ImageBuffer::<image::Rgb<u16>, _>::from_raw(4, 3, samples.clone())
        .unwrap()
        .save(path)
        .unwrap();
    samples
}

#[test]
fn the_float64_baselines_are_the_float32_ones_to_float32_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("base.png");
    let hwc = write_png(&png, 4, 3);
    let png16 = dir.path().join("base16.png");
    let hwc16 = write_png16(&png16);
    let line = || path_box("line", LinePath);
    let three = |c: usize| {
        let data = (0..c * 12)
            .map(|i| ((i * 5 + 1) % 11) as f64 / 11.0)
            .collect();
        Tensor64::new(vec![1, c, 3, 4], data).unwrap()
    };
    let p = png.to_str().unwrap();
    let p16 = png16.to_str().unwrap();
    let cases: Vec<(Value, Tensor64)> = vec![
        (json!({}), image64()),
        (json!({"baseline": "constant", "value": 0.3}), image64()),
        (json!({"baseline": "noise", "seed": 9}), image64()),
        (json!({"baseline": "blur"}), image64()),
        (
            json!({"baseline": "blur", "sigma": 0.7, "kernel": 3}),
            image64(),
        ),
        (json!({"baseline": p}), three(3)),
        // An RGB file as the baseline of a 1-channel input: its luma.
        (json!({"baseline": {"image": p}}), three(1)),
        (json!({"baseline": p16}), three(3)),
        (json!({"baseline": p16}), three(1)),
    ];
    for (o, x64) in &cases {
        let x32 = x64.to_f32();
        let s32 = path_box("line", LinePath)
            .sample(
                &x32,
                RStr::from_str(&o.to_string()),
                RStr::from_str(""),
                2,
                0,
                2,
            )
            .into_result()
            .unwrap();
        let s64 = sample64(&line, o.clone(), x64, 2, 0, 2).unwrap();
        let (b32, b64) = (&s32.baseline.data, &s64.baseline.data);
        assert_eq!(b32.len(), b64.len(), "{o}");
        if o["baseline"] == "blur" {
            // The blur of the image against the blur of its float32 rounding.
            let scale = b64.iter().fold(0f64, |m, v| m.max(v.abs()));
            let worst = b32
                .iter()
                .zip(b64.iter())
                .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
            assert!(worst <= 1.5e-7 * scale, "{o}: {worst:e}");
            assert!(worst > 0.0, "{o}: the float64 blur is the float32 one");
        } else {
            // The same values: the float64 ones round to the float32 ones exactly.
            let rounded: Vec<f32> = b64.iter().map(|&v| v as f32).collect();
            assert_eq!(&rounded[..], &b32[..], "{o}");
        }
        // The points and derivatives round to the float32 ones (up to the rounding of x).
        for (a, b) in s32.points.data.iter().zip(s64.points.data.iter()) {
            assert!((*a as f64 - b).abs() <= 2e-7 * b.abs().max(1.0), "{o}");
        }
    }
    // The file's samples divided in float64: v / 255 and v / 65535 exactly.
    let s = sample64(&line, json!({"baseline": p}), &three(3), 1, 0, 1).unwrap();
    let s16 = sample64(&line, json!({"baseline": p16}), &three(3), 1, 0, 1).unwrap();
    for c in 0..3 {
        for pix in 0..12 {
            assert_eq!(
                s.baseline.data[c * 12 + pix],
                hwc[pix * 3 + c] as f64 / 255.0
            );
            assert_eq!(
                s16.baseline.data[c * 12 + pix],
                hwc16[pix * 3 + c] as f64 / 65535.0
            );
        }
    }
}

#[test]
fn an_end_on_the_path_takes_its_value_from_the_paths_call() {
    // Gauss-Legendre has neither end among its nodes, `riemann_right` ends at the input,
    // `riemann_trapezoid` has both: each end not on the path costs one forward pass.
    let x = f64s(&image());
    let (at_input, _) = tanh_objective_and_grad(&x);
    let (at_zero, _) = tanh_objective_and_grad(&[0.0; N_IN]);
    for (quadrature, forwards) in [
        ("gausslegendre", 2),
        ("riemann_right", 1),
        ("riemann_trapezoid", 0),
    ] {
        let model = tanh_model();
        let counters = model.counters();
        let host = host(model);
        let a = run(&host, "ig", json!({"steps": 7, "quadrature": quadrature}));
        assert_eq!(counters.forward_calls(), forwards, "{quadrature}");
        assert_eq!(counters.gradient_items(), 7, "{quadrature}");
        let (input, baseline) = (a.objective_input, a.objective_baseline.unwrap());
        assert!(
            (input - at_input).abs() < 1e-5 * at_input.abs(),
            "{quadrature}: {input} against {at_input}"
        );
        assert!(
            (baseline - at_zero).abs() < 1e-5 * at_zero.abs(),
            "{quadrature}: {baseline} against {at_zero}"
        );
    }
}
