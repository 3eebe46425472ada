//! The acceptance check of issue 12 through the real `srlens run`: small SwinIR, HAT and DAT
//! networks from spandrel's own architecture code (`tests/fixtures/transformers/`), brought in
//! by `srlens import`, give the LAM map of torch's own autograd in float64
//! (`tests/fixtures/transformers/lam64.py`, from the `.pth` checkpoint) on ort, Candle (the
//! `.onnx` file) and tch (the `.pt` file), each to 1e-4.
//!
//! `cargo xtask test` builds the workspace and writes `target/transformers/` (checkpoints, then
//! `srlens import` of each) before running this.

mod common;

use std::path::Path;

use srlens_test_support::compare::rel_l2;

/// LAM steps (the reference uses the same).
const STEPS: u32 = 6;
/// The LR image's side and the window (x, y, size) in SR pixels: textured, off the border.
const SIDE: u32 = 24;
const WINDOW: (u32, u32, u32) = (36, 40, 16);

/// A file of `target/transformers/`, as a string for a config.
fn network(file: &str) -> String {
    common::transformer(file).to_string_lossy().into_owned()
}

/// Runs LAM with `backend` on `model`: the map and its report.
fn lam(dir: &Path, backend: &str, model: &str) -> (Vec<f32>, serde_json::Value) {
    common::run_lam(dir, backend, model, "{}", WINDOW, STEPS, "")
}

/// torch's float64 LAM of the checkpoint: the map and the objective at the input.
fn reference(dir: &Path, checkpoint: &str) -> (Vec<f32>, f64) {
    let figures = common::torch_lam64(dir, checkpoint, WINDOW, STEPS, &[]);
    let map = srlens_test_support::npy::read_npy(&dir.join("ref.npy")).1;
    (map, figures["objective_input"].as_f64().unwrap())
}

fn check(name: &str, architecture: &str) {
    let dir = tempfile::tempdir().unwrap();
    srlens_test_support::pictures::edges_png(&dir.path().join("lr.png"), SIDE, SIDE);
    let (want, d_input) = reference(dir.path(), &network(&format!("{name}.pth")));
    assert!(want.iter().any(|v| *v != 0.0), "torch's map is blank");
    for (backend, file) in [("ort", "onnx"), ("candle", "onnx"), ("tch", "pt")] {
        let (map, report) = lam(dir.path(), backend, &network(&format!("{name}.{file}")));
        let err = rel_l2(&map, &want);
        assert!(
            err < 1e-4,
            "{name} on {backend}: the LAM map is {err:.2e} (relative L2) from torch's float64 one"
        );
        let d = report["objective_input"].as_f64().unwrap();
        assert!(
            (d - d_input).abs() <= 1e-4 * d_input.abs(),
            "{name} on {backend}: D(input) {d}, torch {d_input}"
        );
        let provenance = &report["provenance"];
        if file == "onnx" {
            // The ONNX export fixed the batch at 1 (TorchScript keeps the batch size the window
            // attention computes as a graph value): srlens found it and ran one image per call.
            assert_eq!(provenance["batch_size"], 1, "{name} on {backend}");
            assert!(
                provenance["batch_note"].as_str().is_some(),
                "{name} on {backend}: no reason for the batch of 1"
            );
        }
        if file == "onnx" {
            assert_eq!(
                provenance["architecture"], architecture,
                "{name} on {backend}"
            );
            let padding = provenance["window_padding"].as_str().unwrap_or_default();
            assert!(padding.contains("multiple of 8"), "{name}: {padding}");
        }
    }
}

#[test]
fn lam_of_a_small_swinir_equals_torchs_float64_lam_on_every_backend() {
    check("swinir", "SwinIR");
}

#[test]
fn lam_of_a_small_hat_equals_torchs_float64_lam_on_every_backend() {
    check("hat", "HAT");
}

#[test]
fn lam_of_a_small_dat_equals_torchs_float64_lam_on_every_backend() {
    check("dat", "DAT");
}
