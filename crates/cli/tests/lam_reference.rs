//! LAM through the whole tool (host, Candle backend, LAM plugin) against an independent float64
//! evaluation of the attribution spec.

mod common;

use common::{reference, TinyNet};

fn lr_image(dir: &std::path::Path) -> Vec<f64> {
    let img = image::open(dir.join("lr.png")).expect("lr.png").to_rgb8();
    let (w, h) = img.dimensions();
    let mut x = vec![0.0; 3 * (w * h) as usize];
    for (i, j, p) in img.enumerate_pixels() {
        for c in 0..3 {
            x[(c * h as usize + j as usize) * w as usize + i as usize] = p[c] as f64 / 255.0;
        }
    }
    x
}

/// Runs `srlens run` on `cfg` (written to `dir/run.toml`); it must succeed.
fn run_ok(dir: &std::path::Path, cfg: &str) {
    std::fs::write(dir.join("run.toml"), cfg).unwrap();
    let out = common::srlens(dir, &["run", "run.toml", "--quiet"]);
    assert!(
        out.status.success(),
        "srlens failed: {}",
        common::stderr_of(&out, dir)
    );
}

fn check_lam(model: &str, net: &TinyNet) {
    let dir = common::workspace();
    let steps = 6;
    let cfg = common::config(
        model,
        &format!("[[method]]\nname = \"lam\"\nsteps = {steps}\n"),
    );
    run_ok(dir.path(), &cfg);

    let (shape, map) = common::read_npy(&dir.path().join("out/lam/attribution.npy"));
    assert_eq!(shape, vec![3, 8, 8]);
    let x = lr_image(dir.path());
    let (expected, d_input, d_baseline) = reference::lam64(net, &x, 8, 8, (4, 4, 6), 1.2, steps, 9);
    let got: Vec<f64> = map.iter().map(|&v| v as f64).collect();
    let err = srlens_test_support::compare::rel_l2(&got, &expected);
    assert!(err < 1e-4, "relative error {err} against the float64 LAM");
    assert!(
        expected.iter().any(|v| v.abs() > 1e-6),
        "the reference map is not blank"
    );

    let report = common::read_json(&dir.path().join("out/lam/report.json"));
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    assert!(rel(report["objective_input"].as_f64().unwrap(), d_input) < 1e-5);
    assert!(rel(report["objective_baseline"].as_f64().unwrap(), d_baseline) < 1e-5);
    common::check_figures(&dir.path().join("out/lam"));

    // The window's conditioning (issue 14), from the float64 SR output: the fractions of
    // pixel-channels whose gradient magnitude is exactly zero and below 1e-3.
    let y = net.forward64(&x, 8, 8);
    let (sh, sw) = (16, 16);
    let (mut terms, mut zero, mut small) = (0, 0, 0);
    for c in 0..3 {
        for i in 4..(4 + 6).min(sh - 1) {
            for j in 4..(4 + 6).min(sw - 1) {
                let at = (c * sh + i) * sw + j;
                let s = (y[at] - y[at + sw]).powi(2) + (y[at] - y[at + 1]).powi(2);
                terms += 1;
                zero += usize::from(s == 0.0);
                small += usize::from(s.sqrt() < 1e-3);
            }
        }
    }
    let cond = &report["conditioning"];
    assert_eq!(cond["terms"], terms);
    assert_eq!(
        cond["zero_fraction"].as_f64().unwrap(),
        zero as f64 / terms as f64
    );
    assert_eq!(
        cond["small_fraction"].as_f64().unwrap(),
        small as f64 / terms as f64
    );
    check_curves(&report, net, &x, &map);
    let warned = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("badly conditioned"));
    assert_eq!(
        warned,
        small as f64 / terms as f64 > 0.05,
        "{}",
        report["warnings"]
    );
}

/// The deletion and insertion curves in report.json (issue 14) against a float64 evaluation
/// of the same images: the map's pixels of the receptive box, ranked by the channel-summed
/// map, moved between the image and the float64 blurred baseline.
fn check_curves(report: &serde_json::Value, net: &TinyNet, x: &[f64], map: &[f32]) {
    let (h, w) = (8, 8);
    let fa = &report["faithfulness"];
    let list = |k: &str| -> Vec<f64> {
        fa[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let fractions = list("fractions");
    assert_eq!(fractions.len(), 11, "10 steps by default");
    let boxed = &report["provenance"]["receptive_field"]["crop"];
    let [bx, by, bw, bh] = match boxed.as_array() {
        Some(b) => [0, 1, 2, 3].map(|i| b[i].as_u64().unwrap() as usize),
        None => [0, 0, w, h],
    };
    let mut pixels: Vec<usize> = (by..by + bh)
        .flat_map(|i| (bx..bx + bw).map(move |j| i * w + j))
        .collect();
    assert_eq!(fa["pixels"], pixels.len());
    let score = |p: usize| -> f64 { (0..3).map(|c| map[c * h * w + p] as f64).sum() };
    pixels.sort_by(|&a, &b| score(b).partial_cmp(&score(a)).unwrap().then(a.cmp(&b)));
    let baseline = srlens_test_support::blur64::blur64(
        x,
        3,
        h,
        w,
        &srlens_test_support::blur64::kernel64(1.2, 9),
    );
    let objective =
        |p: &[f64]| reference::gradient_energy(&net.forward64(p, h, w), 16, 16, 4, 4, 6);
    let (d_image, d_base) = (objective(x), objective(&baseline));
    // Insertion starts from the image with the moved pixels deleted.
    let mut start = x.to_vec();
    for &p in &pixels {
        for c in 0..3 {
            start[c * h * w + p] = baseline[c * h * w + p];
        }
    }
    let scale = d_image.abs().max(d_base.abs());
    for (key, deletion) in [("deletion", true), ("insertion", false)] {
        let got = list(key);
        let want: Vec<f64> = fractions
            .iter()
            .map(|f| {
                let moved = (f * pixels.len() as f64).round() as usize;
                let (from, to) = if deletion {
                    (x, &baseline[..])
                } else {
                    (&start[..], x)
                };
                let mut img = from.to_vec();
                for &p in &pixels[..moved] {
                    for c in 0..3 {
                        img[c * h * w + p] = to[c * h * w + p];
                    }
                }
                objective(&img)
            })
            .collect();
        assert!(
            want.iter().any(|v| (v - want[0]).abs() > 1e-2 * scale),
            "{key}: a flat curve tests nothing: {want:?}"
        );
        for (k, (g, e)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - e).abs() < 1e-5 * scale,
                "{key}[{k}]: {g} vs float64 {e}"
            );
        }
    }
    // The random-order curves share the ends, and every area is the trapezoid of its curve.
    for key in ["deletion", "insertion"] {
        let (own, random) = (list(key), list(&format!("random_{key}")));
        assert_eq!((own[0], own[10]), (random[0], random[10]));
        for k in [key.to_string(), format!("random_{key}")] {
            let v = list(&k);
            let area: f64 = (0..10).map(|i| 0.1 * (v[i] + v[i + 1]) / 2.0).sum();
            let reported = fa[format!("{k}_area")].as_f64().unwrap();
            assert!(
                (area - reported).abs() < 1e-9 * scale,
                "{k}: {area} vs {reported}"
            );
        }
    }
}

#[test]
fn lam_matches_a_float64_evaluation_of_the_spec() {
    check_lam("tiny.onnx", &TinyNet::new(7, false));
}

/// [`common::config`] over `tiny.onnx` loaded with `precision = "f64"`.
fn config64(methods: &str) -> String {
    common::config("tiny.onnx", methods).replace(
        "path = \"tiny.onnx\"\n",
        "path = \"tiny.onnx\"\noptions = { precision = \"f64\" }\n",
    )
}

/// `precision = "f64"` on Candle: `attribution64.npy` holds the map computed in float64, which
/// matches the float64 evaluation far below float32's rounding (LAM and input x gradient).
#[test]
fn with_precision_f64_the_map_matches_the_float64_evaluation_to_its_accuracy() {
    let net = TinyNet::new(7, false);
    let dir = common::workspace();
    let steps = 6;
    let cfg = config64(&format!(
        "[[method]]\nname = \"lam\"\nsteps = {steps}\n[[method]]\nname = \"input_x_gradient\"\n"
    ));
    run_ok(dir.path(), &cfg);
    let (shape, map) =
        srlens_test_support::npy::read_npy64(&dir.path().join("out/lam/attribution64.npy"));
    assert_eq!(shape, vec![3, 8, 8]);
    let x = lr_image(dir.path());
    let (expected, d_input, _) = reference::lam64(&net, &x, 8, 8, (4, 4, 6), 1.2, steps, 9);
    let err = srlens_test_support::compare::rel_l2(&map, &expected);
    // Measured 2.5e-11 (the float32 map: 1.2e-7); fourth-order differences with a step of
    // 1e-4 are accurate to about 1e-12.
    assert!(err < 1e-9, "relative error {err} against the float64 LAM");
    let report = common::read_json(&dir.path().join("out/lam/report.json"));
    assert_eq!(report["provenance"]["precision"], "float64");
    let d = report["objective_input"].as_f64().unwrap();
    assert!(
        (d - d_input).abs() < 1e-12 * d_input.abs(),
        "{d} vs {d_input}"
    );

    // input x gradient in float64 against x times the finite-difference gradient.
    let objective =
        |p: &[f64]| reference::gradient_energy(&net.forward64(p, 8, 8), 16, 16, 4, 4, 6);
    let expected: Vec<f64> = reference::fd_gradient(&objective, &x, 1e-4)
        .iter()
        .zip(&x)
        .map(|(g, v)| g * v)
        .collect();
    let (_, map) = srlens_test_support::npy::read_npy64(
        &dir.path().join("out/input_x_gradient/attribution64.npy"),
    );
    let err = srlens_test_support::compare::rel_l2(&map, &expected);
    assert!(err < 1e-9, "input x gradient: relative error {err}");
}

/// `ig` in float64 on Candle against the float64 IG of the reference gradient at the same
/// quadrature points and weights: the black baseline with 3-point Gauss-Legendre (the
/// default rule), and the blur baseline with the 4-point trapezoid rule.
#[test]
fn ig_in_float64_matches_the_float64_ig_of_the_reference_gradient() {
    let net = TinyNet::new(7, false);
    let dir = common::workspace();
    let methods = "[[method]]\nname = \"ig\"\nsteps = 3\n\n\
                   [[method]]\nname = \"ig\"\nlabel = \"ig_blur\"\nsteps = 4\n\
                   baseline = \"blur\"\nquadrature = \"riemann_trapezoid\"\n";
    run_ok(dir.path(), &config64(methods));
    let x = lr_image(dir.path());
    // The reference's backpropagated gradient against fourth-order finite differences, at
    // the image and halfway from black, where no ReLU kink is within their step.
    let objective =
        |p: &[f64]| reference::gradient_energy(&net.forward64(p, 8, 8), 16, 16, 4, 4, 6);
    for p in [x.clone(), x.iter().map(|v| v / 2.0).collect()] {
        let fd = reference::fd_gradient(&objective, &p, 1e-4);
        let err = srlens_test_support::compare::rel_l2(
            &reference::gradient64(&net, &p, 8, 8, (4, 4, 6)),
            &fd,
        );
        eprintln!("reference gradient vs finite differences: {err:.2e}");
        assert!(
            err < 1e-8,
            "the reference gradient is {err} from finite differences"
        );
    }
    // Gauss-Legendre with 3 nodes on [-1, 1] (0, +-sqrt(3/5); weights 8/9, 5/9), mapped to
    // [0, 1]; the trapezoid rule on 0, 1/3, 2/3, 1.
    let r = (3.0f64 / 5.0).sqrt();
    let gauss = [(-r, 5.0 / 9.0), (0.0, 8.0 / 9.0), (r, 5.0 / 9.0)]
        .map(|(a, w)| ((1.0 + a) / 2.0, w / 2.0));
    let trapezoid = [
        (0.0, 1.0 / 6.0),
        (1.0 / 3.0, 1.0 / 3.0),
        (2.0 / 3.0, 1.0 / 3.0),
        (1.0, 1.0 / 6.0),
    ];
    let blurred = srlens_test_support::blur64::blur64(
        &x,
        3,
        8,
        8,
        &srlens_test_support::blur64::kernel64(1.2, 9),
    );
    for (label, baseline, rule) in [
        ("ig", vec![0.0; x.len()], &gauss[..]),
        ("ig_blur", blurred, &trapezoid[..]),
    ] {
        let run = dir.path().join("out").join(label);
        let (shape, map) = srlens_test_support::npy::read_npy64(&run.join("attribution64.npy"));
        assert_eq!(shape, vec![3, 8, 8], "{label}");
        let (expected, d_input, d_baseline) =
            reference::ig64(&net, &x, &baseline, (8, 8), (4, 4, 6), rule);
        assert!(expected.iter().any(|v| v.abs() > 1e-6), "{label}: blank");
        let err = srlens_test_support::compare::rel_l2(&map, &expected);
        let (_, map32) = common::read_npy(&run.join("attribution.npy"));
        let err32 = srlens_test_support::compare::rel_l2(&map32, &expected);
        eprintln!(
            "{label}: float64 map {err:.2e}, its float32 rounding {err32:.2e} from the reference"
        );
        // Measured 5.3e-16 (black) and 1.0e-15 (blur); rounded to float32, 2e-8.
        assert!(
            err < 1e-12,
            "{label}: relative error {err} against the float64 IG"
        );
        let report = common::read_json(&run.join("report.json"));
        assert_eq!(report["provenance"]["precision"], "float64", "{label}");
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        let (di, db) = (
            report["objective_input"].as_f64().unwrap(),
            report["objective_baseline"].as_f64().unwrap(),
        );
        assert!(rel(di, d_input) < 1e-12, "{label}: {di} vs {d_input}");
        assert!(rel(db, d_baseline) < 1e-12, "{label}: {db} vs {d_baseline}");
    }
}

/// `smoothgrad`, `smoothgrad_sq` and `vargrad` in float64 on Candle: the same seeded noise
/// as in float32 (drawn here with the plugin's generator, `x + sigma_n z` with
/// `sigma_n = 0.15 (max - min)`), each map against the same combination of the reference
/// gradients at those noisy copies, and against the float32 run's map.
#[test]
fn smoothgrad_in_float64_matches_the_float64_combinations_of_the_reference_gradients() {
    let net = TinyNet::new(7, false);
    let (samples, seed) = (3, 5);
    let variants = ["smoothgrad", "smoothgrad_sq", "vargrad"];
    let methods: String = variants
        .iter()
        .map(|v| format!("[[method]]\nname = \"{v}\"\nsamples = {samples}\nseed = {seed}\n\n"))
        .collect();
    let dir64 = common::workspace();
    run_ok(dir64.path(), &config64(&methods));
    let dir32 = common::workspace();
    run_ok(dir32.path(), &common::config("tiny.onnx", &methods));

    let x = lr_image(dir64.path());
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let std = 0.15 * (hi - lo);
    let mut rng = srlens_plugin_kit::random::SeededRng::new(seed);
    let noises: Vec<Vec<f64>> = (0..samples)
        .map(|_| (0..x.len()).map(|_| rng.normal_f64() * std).collect())
        .collect();
    let references = reference::smoothgrad64(&net, &x, (8, 8), (4, 4, 6), &noises);
    let objective =
        |p: &[f64]| reference::gradient_energy(&net.forward64(p, 8, 8), 16, 16, 4, 4, 6);
    for (variant, expected) in variants.iter().zip(&references) {
        assert!(
            expected.iter().any(|v| v.abs() > 1e-6),
            "{variant}: blank reference"
        );
        let run = dir64.path().join("out").join(variant);
        let (shape, map) = srlens_test_support::npy::read_npy64(&run.join("attribution64.npy"));
        assert_eq!(shape, vec![3, 8, 8], "{variant}");
        let err = srlens_test_support::compare::rel_l2(&map, expected);
        let (_, map32) = common::read_npy(
            &dir32
                .path()
                .join("out")
                .join(variant)
                .join("attribution.npy"),
        );
        let err32 = srlens_test_support::compare::rel_l2(&map32, expected);
        let spread = srlens_test_support::compare::rel_l2(&map32, &map);
        eprintln!(
            "{variant}: float64 map {err:.2e} from the reference, the float32 run's {err32:.2e}, \
             float32 vs float64 {spread:.2e}"
        );
        // Measured 4e-16 to 2e-15 (the float32 runs' maps: 1.6e-7 to 6e-7).
        assert!(
            err < 1e-12,
            "{variant}: relative error {err} against the float64 reference"
        );
        // The float32 run used the same noise (rounded): its map is float32-close, not equal.
        assert!(
            spread < 1e-5,
            "{variant}: float32 vs float64 maps: {spread}"
        );
        assert!(
            map32.iter().zip(&map).any(|(&a, &b)| a as f64 != b),
            "{variant}: the float64 map is the float32 one"
        );
        let report = common::read_json(&run.join("report.json"));
        assert_eq!(report["provenance"]["precision"], "float64", "{variant}");
        let (d, want) = (report["objective_input"].as_f64().unwrap(), objective(&x));
        assert!(
            (d - want).abs() < 1e-12 * want.abs(),
            "{variant}: {d} vs {want}"
        );
        // The noise's standard deviation, from the image's own float64 values.
        let noise_std = report["params"]["noise_std"].as_f64().unwrap();
        assert!(
            (noise_std - std).abs() < 1e-15,
            "{variant}: {noise_std} vs {std}"
        );
    }
}

/// Nearest upsampling as the last op: the output has exactly equal neighbours, where the
/// original demo's NaN handling blanks the whole map. Ours follows the zero-subgradient rule.
#[test]
fn equal_neighbouring_outputs_give_a_non_blank_map() {
    check_lam("nearest.onnx", &TinyNet::new(11, true));
    // Nearest upsampling makes every other difference exactly zero: the report says so.
    let dir = common::workspace();
    let cfg = common::config("nearest.onnx", "[[method]]\nname = \"lam\"\nsteps = 2\n");
    std::fs::write(dir.path().join("run.toml"), cfg).unwrap();
    assert!(common::srlens(dir.path(), &["run", "run.toml", "--quiet"])
        .status
        .success());
    let report = common::read_json(&dir.path().join("out/lam/report.json"));
    assert!(report["conditioning"]["zero_fraction"].as_f64().unwrap() > 0.0);
}
