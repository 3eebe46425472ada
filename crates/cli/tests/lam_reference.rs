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

fn check_lam(model: &str, net: &TinyNet) {
    let dir = common::workspace();
    let steps = 6;
    let cfg = common::config(
        model,
        &format!("[[method]]\nname = \"lam\"\nsteps = {steps}\n"),
    );
    std::fs::write(dir.path().join("run.toml"), cfg).unwrap();
    let out = common::srlens(dir.path(), &["run", "run.toml", "--quiet"]);
    assert!(
        out.status.success(),
        "srlens failed: {}",
        common::stderr_of(&out, dir.path())
    );

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

#[test]
fn lam_matches_a_float64_evaluation_of_the_spec() {
    check_lam("tiny.onnx", &TinyNet::new(7, false));
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
