//! Receptive-field cropping on the tch backend (issue 10): the NaN probe bounds the
//! TorchScript zoo networks' receptive fields exactly as the Candle backend's graph analysis
//! does on their ONNX twins, and LAM maps with and without the crop are equal to float32
//! rounding through the real `srlens run`.
//!
//! `cargo xtask test` builds the workspace (srlens and every plugin) before running this.

mod common;

use std::path::{Path, PathBuf};

use srlens_test_support::compare::rel_l2;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
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
    common::run_lam(dir, label, &config)
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
        // The second load of the file read the probe's answer from the cache.
        let cached = std::fs::read_dir(dir.path().join("cache/tch"))
            .unwrap()
            .flat_map(|v| std::fs::read_dir(v.unwrap().path()).unwrap())
            .count();
        assert!(cached >= 1, "no probe answer was cached");
        let rel = rel_l2(&cropped, &whole);
        assert!(rel <= 1e-5, "{variant}: relative L2 {rel:e}");
    }
}
