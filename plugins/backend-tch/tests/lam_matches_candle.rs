//! The acceptance check of the tch backend: the same network as TorchScript (tch) and as ONNX
//! (Candle) gives the same LAM map and the same SR output through the real `srlens run`, on a
//! pretrained UpscalerJS network and on a network with ops the zoo lacks (PReLU, PixelShuffle,
//! RCAN-style channel attention).
//!
//! `cargo xtask test` builds the workspace (srlens and every plugin) before running this.

mod common;

use std::path::Path;

use srlens_test_support::compare::rel_l2;

/// Runs LAM with `backend` on `model` and returns the map and the SR window's report.
fn lam(
    dir: &Path,
    label: &str,
    backend: &str,
    model: &str,
    options: &str,
) -> (Vec<f32>, serde_json::Value) {
    let config = format!(
        "out = \"out-{label}\"\nbatch_size = 2\n\n[model]\nbackend = \"{backend}\"\npath = \"{model}\"\n\
         options = {options}\n\n[image]\npath = \"lr.png\"\nmode = \"lr\"\n\n[window]\nx = 10\ny = 12\nsize = 8\n\n\
         [[method]]\nname = \"lam\"\nsteps = 5\n"
    );
    common::run_lam(dir, label, &config)
}

fn check(tch_model: &str, onnx_model: &str, options: &str) {
    let dir = tempfile::tempdir().unwrap();
    srlens_test_support::pictures::edges_png(&dir.path().join("lr.png"), 12, 10);
    let (t, tr) = lam(dir.path(), "tch", "tch", tch_model, options);
    let (c, cr) = lam(dir.path(), "candle", "candle", onnx_model, "{}");
    assert!(c.iter().any(|v| *v != 0.0), "the candle map is blank");
    let err = rel_l2(&t, &c);
    assert!(err < 1e-4, "LAM maps differ: relative error {err}");
    for key in ["objective_input", "objective_baseline"] {
        let (a, b) = (tr[key].as_f64().unwrap(), cr[key].as_f64().unwrap());
        assert!(
            (a - b).abs() <= 1e-4 * b.abs().max(1e-6),
            "{key}: tch {a}, candle {b}"
        );
    }
}

#[test]
fn lam_on_esrgan_slim_x4_is_the_same_on_tch_and_candle() {
    check(
        &common::zoo("esrgan-slim-x4.pt"),
        &common::zoo("esrgan-slim-x4.onnx"),
        "{ input_range = [0, 255] }",
    );
}

#[test]
fn lam_on_a_prelu_pixelshuffle_channel_attention_net_is_the_same_on_tch_and_candle() {
    check(
        &common::fixture("small_net.pt"),
        &common::fixture("small_net.onnx"),
        "{}",
    );
}
