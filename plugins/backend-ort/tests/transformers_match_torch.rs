//! The acceptance check of issue 12 through the real `srlens run`: small SwinIR, HAT and DAT
//! networks from spandrel's own architecture code (`tests/fixtures/transformers/`), brought in
//! by `srlens import`, give the LAM map of torch's own autograd in float64
//! (`tests/fixtures/transformers/lam64.py`, from the `.pth` checkpoint) on ort, Candle (the
//! `.onnx` file) and tch (the `.pt` file), each to 1e-4.
//!
//! `cargo xtask test` builds the workspace and writes `target/transformers/` (checkpoints, then
//! `srlens import` of each) before running this.

use std::path::{Path, PathBuf};
use std::process::Command;

use srlens_test_support::binaries::{library_file, profile_dir, require_built};
use srlens_test_support::compare::rel_l2;

/// LAM steps (the reference uses the same).
const STEPS: u32 = 6;
/// The LR image's side and the window (x, y, size) in SR pixels: textured, off the border.
const SIDE: u32 = 24;
const WINDOW: (u32, u32, u32) = (36, 40, 16);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of `target/transformers/`; a clear failure when missing.
fn network(file: &str) -> String {
    let p = root().join("target/transformers").join(file);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo xtask transformers` (`cargo xtask test` does)",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

/// Runs LAM with `backend` on `model`: the map and its report.
fn lam(dir: &Path, backend: &str, model: &str) -> (Vec<f32>, serde_json::Value) {
    let bin = require_built(
        &profile_dir("debug"),
        &[
            "srlens",
            &library_file("srlens_plugin_lam"),
            &library_file(&format!("srlens_plugin_{backend}")),
        ],
        "build the workspace first (`cargo xtask test` does)",
    );
    let (x, y, size) = WINDOW;
    let config = format!(
        "out = \"out-{backend}\"\n\n[model]\nbackend = \"{backend}\"\npath = \"{model}\"\n\n\
         [image]\npath = \"lr.png\"\nmode = \"lr\"\n\n[window]\nx = {x}\ny = {y}\nsize = {size}\n\n\
         [[method]]\nname = \"lam\"\nsteps = {STEPS}\n"
    );
    std::fs::write(dir.join(format!("{backend}.toml")), config).unwrap();
    let out = Command::new(bin.join("srlens"))
        .current_dir(dir)
        .args(["run", &format!("{backend}.toml"), "--quiet"])
        .output()
        .expect("srlens runs");
    assert!(
        out.status.success(),
        "{backend} on {model}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = dir.join(format!("out-{backend}/lam"));
    let map = srlens_test_support::npy::read_npy(&run.join("attribution.npy")).1;
    let report = serde_json::from_slice(&std::fs::read(run.join("report.json")).unwrap()).unwrap();
    (map, report)
}

/// torch's float64 LAM of the checkpoint: the map and the objective at the input.
fn reference(dir: &Path, checkpoint: &str) -> (Vec<f32>, f64) {
    let python = root().join(".venv/bin/python");
    let (x, y, size) = WINDOW;
    let out = Command::new(&python)
        .arg(root().join("tests/fixtures/transformers/lam64.py"))
        .args([checkpoint, "lr.png", "ref.npy", "--window"])
        .args([x, y, size].map(|v| v.to_string()))
        .args(["--steps", &STEPS.to_string()])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask setup`)", python.display()));
    assert!(
        out.status.success(),
        "lam64.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
