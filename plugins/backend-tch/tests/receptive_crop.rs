//! Receptive-field cropping on the tch backend (issue 10): the NaN probe bounds the
//! TorchScript zoo networks' receptive fields exactly as the Candle backend's graph analysis
//! does on their ONNX twins, and LAM maps with and without the crop are equal to float32
//! rounding through the real `srlens run`.
//!
//! `cargo xtask test` builds the workspace (srlens and every plugin) before running this.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use srlens_test_support::compare::rel_l2;
use srlens_test_support::npy::read_npy;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn srlens() -> PathBuf {
    common::target_debug().join("srlens")
}

/// LAM (3 steps) of `model` on a 40 x 40 LR crop of the photo; the map and report.json.
fn lam(
    dir: &Path,
    label: &str,
    backend: &str,
    model: &str,
    crop: bool,
) -> (Vec<f32>, serde_json::Value) {
    let root = root();
    let config = format!(
        "out = \"out-{label}\"\nbatch_size = 2\ncrop_to_receptive_field = {crop}\n\n[model]\n\
         backend = \"{backend}\"\npath = \"{}\"\n\n[image]\npath = \"{}\"\nmode = \"lr\"\n\
         crop = [150, 100, 48, 48]\n\n[window]\nx = 88\ny = 90\nsize = 16\n\n\
         [[method]]\nname = \"lam\"\nsteps = 3\n",
        root.join("zoo").join(model).display(),
        root.join("data/images/chelsea.png").display()
    );
    std::fs::write(dir.join(format!("{label}.toml")), config).unwrap();
    let out = Command::new(srlens())
        .current_dir(dir)
        .args(["run", &format!("{label}.toml"), "--quiet"])
        .output()
        .expect("srlens runs");
    assert!(
        out.status.success(),
        "{label}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = dir.join(format!("out-{label}/lam"));
    let (_, map) = read_npy(&out.join("attribution.npy"));
    let report = std::fs::read(out.join("report.json")).unwrap();
    (map, serde_json::from_slice(&report).unwrap())
}

#[test]
fn the_nan_probe_bounds_the_receptive_field_and_the_crop_changes_no_number() {
    assert!(
        root().join("zoo/esrgan-slim-x4.pt").is_file(),
        "the zoo is missing: run `cargo xtask setup` first"
    );
    let dir = tempfile::tempdir().unwrap();
    for variant in ["slim", "medium"] {
        let (cropped, report) = lam(
            dir.path(),
            &format!("{variant}-crop"),
            "tch",
            &format!("esrgan-{variant}-x4.pt"),
            true,
        );
        let rf = &report["provenance"]["receptive_field"];
        assert!(rf["crop"].is_array(), "{variant}: {rf}");
        // The Candle backend's graph analysis of the same network as ONNX.
        let (_, onnx) = lam(
            dir.path(),
            &format!("{variant}-onnx"),
            "candle",
            &format!("esrgan-{variant}-x4.onnx"),
            true,
        );
        assert_eq!(
            rf["radius"], onnx["provenance"]["receptive_field"]["radius"],
            "{variant}"
        );
        let (whole, _) = lam(
            dir.path(),
            &format!("{variant}-whole"),
            "tch",
            &format!("esrgan-{variant}-x4.pt"),
            false,
        );
        assert!(whole.iter().any(|&v| v != 0.0));
        let rel = rel_l2(&cropped, &whole);
        assert!(rel <= 1e-5, "{variant}: relative L2 {rel:e}");
    }
}
