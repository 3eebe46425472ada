//! Helpers shared by the tch backend's tests: fixtures, a linear objective, comparisons.
// Each test binary uses a part of this module.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};

use srlens_core::{ObjectiveBox, Tensor};
use srlens_test_support::npy::read_npy_tensor;

/// A file next to `gen_models.py`.
pub fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A file of the model zoo (`cargo xtask setup` writes it); a clear failure when missing.
pub fn zoo(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../zoo")
        .join(name);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo xtask setup`",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

/// A float32 `.npy` fixture (C order, little-endian, as numpy writes it) as a tensor.
pub fn npy(name: &str) -> Tensor {
    read_npy_tensor(Path::new(&fixture(name)))
}

/// The backends' generator (SplitMix64): `Rng(seed)`.
pub use srlens_test_support::rng::SplitMix64 as Rng;

/// `sum(w * sr)` per batch item: its gradient is `w`.
pub use srlens_test_support::objective::Linear;

/// `||a - b|| / ||b||`, after checking the shapes.
pub use srlens_test_support::compare::rel_l2_tensor as rel_err;

/// The objective as a gradient call takes it.
pub fn obj(o: &Linear) -> ObjectiveBox {
    srlens_plugin_kit::testing::objective_box(o.clone())
}

/// The folder holding the built `srlens` and the lam, candle and tch plugins (fails with the
/// fix when they are not built).
pub fn target_debug() -> PathBuf {
    use srlens_test_support::binaries::{library_file, profile_dir, require_built};
    let libs = [
        "srlens_plugin_lam",
        "srlens_plugin_candle",
        "srlens_plugin_tch",
    ]
    .map(library_file);
    require_built(
        &profile_dir("debug"),
        &["srlens", &libs[0], &libs[1], &libs[2]],
        "build the workspace first (`cargo xtask test` does)",
    )
}

/// Writes `config` as `dir/<label>.toml`, runs it with the built `srlens` (its `out` must be
/// `out-<label>`, its one method `lam`) and returns the map and its report.json.
pub fn run_lam(dir: &Path, label: &str, config: &str) -> (Vec<f32>, serde_json::Value) {
    std::fs::write(dir.join(format!("{label}.toml")), config).unwrap();
    let out = std::process::Command::new(target_debug().join("srlens"))
        .current_dir(dir)
        .args(["run", &format!("{label}.toml"), "--quiet"])
        // A cache of the test's own: the tch backend's NaN probe runs on the first load of
        // each file (later loads read its answer), not only the first time on this machine.
        .env("SRLENS_CACHE", dir.join("cache"))
        .output()
        .expect("srlens runs");
    assert!(
        out.status.success(),
        "{label}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = dir.join(format!("out-{label}/lam"));
    let (shape, map) = srlens_test_support::npy::read_npy(&out.join("attribution.npy"));
    assert_eq!(shape.len(), 3);
    let report = std::fs::read(out.join("report.json")).unwrap();
    (map, serde_json::from_slice(&report).unwrap())
}
