//! The acceptance check of the ort backend through the real `srlens run`: the same networks
//! give the same LAM map on ort (gradients from the generated ONNX graph), Candle (its own
//! autograd) and tch (libtorch's autograd), on a pretrained UpscalerJS network and on a
//! torch-exported network with PReLU, PixelShuffle and channel attention.
//!
//! `cargo xtask test` builds the workspace (srlens and every plugin) before running this.

mod common;

use std::path::Path;

use srlens_test_support::compare::rel_l2;

/// A zoo file, as a string for a config.
fn zoo(file: &str) -> String {
    common::zoo_file(file).to_string_lossy().into_owned()
}

/// A fixture of the tch backend's tests (`gen_models.py`).
fn tch_fixture(name: &str) -> String {
    common::root()
        .join("plugins/backend-tch/tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs LAM (5 steps, window 8 at 10,12) with `backend` on `model`; the map and its report.
fn lam(dir: &Path, backend: &str, model: &str, options: &str) -> (Vec<f32>, serde_json::Value) {
    common::run_lam(
        dir,
        backend,
        model,
        options,
        (10, 12, 8),
        5,
        "batch_size = 2",
    )
}

fn check(onnx: &str, tch: &str, tch_options: &str) {
    let dir = tempfile::tempdir().unwrap();
    srlens_test_support::pictures::edges_png(&dir.path().join("lr.png"), 12, 10);
    let (o, or) = lam(dir.path(), "ort", onnx, "{}");
    let (c, cr) = lam(dir.path(), "candle", onnx, "{}");
    let (t, _) = lam(dir.path(), "tch", tch, tch_options);
    assert!(o.iter().any(|v| *v != 0.0), "the ort map is blank");
    for (other, map) in [("candle", &c), ("tch", &t)] {
        let err = rel_l2(&o, map);
        assert!(
            err < 1e-4,
            "ort's LAM map differs from {other}'s: relative error {err}"
        );
    }
    for key in ["objective_input", "objective_baseline"] {
        let (a, b) = (or[key].as_f64().unwrap(), cr[key].as_f64().unwrap());
        assert!(
            (a - b).abs() <= 1e-4 * b.abs().max(1e-6),
            "{key}: ort {a}, candle {b}"
        );
    }
}

#[test]
fn lam_on_esrgan_slim_x4_is_the_same_on_ort_candle_and_tch() {
    check(
        &zoo("esrgan-slim-x4.onnx"),
        &zoo("esrgan-slim-x4.pt"),
        "{ input_range = [0, 255] }",
    );
}

#[test]
fn lam_on_a_torch_exported_prelu_pixelshuffle_attention_net_is_the_same_everywhere() {
    check(
        &tch_fixture("small_net.onnx"),
        &tch_fixture("small_net.pt"),
        "{}",
    );
}
