//! Helpers shared by the ort backend's tests: the zoo, loading models on both backends, and
//! comparisons.
// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use srlens_plugin_candle::CandleModel;
use srlens_plugin_ort::OrtModel;

/// The twelve UpscalerJS networks of the zoo.
pub const ZOO: [&str; 12] = [
    "esrgan-slim-x2",
    "esrgan-slim-x3",
    "esrgan-slim-x4",
    "esrgan-slim-x8",
    "esrgan-medium-x2",
    "esrgan-medium-x3",
    "esrgan-medium-x4",
    "esrgan-medium-x8",
    "esrgan-thick-x2",
    "esrgan-thick-x3",
    "esrgan-thick-x4",
    "esrgan-thick-x8",
];

/// A module `$module` of one `#[test]` per network of [`ZOO`], each calling `$check(name)`
/// (a path as seen from inside the module, e.g. `super::check`).
#[allow(unused_macros)]
macro_rules! zoo_tests {
    ($module:ident, $check:path) => {
        mod $module {
            #[test]
            fn slim_x2() {
                $check("esrgan-slim-x2");
            }
            #[test]
            fn slim_x3() {
                $check("esrgan-slim-x3");
            }
            #[test]
            fn slim_x4() {
                $check("esrgan-slim-x4");
            }
            #[test]
            fn slim_x8() {
                $check("esrgan-slim-x8");
            }
            #[test]
            fn medium_x2() {
                $check("esrgan-medium-x2");
            }
            #[test]
            fn medium_x3() {
                $check("esrgan-medium-x3");
            }
            #[test]
            fn medium_x4() {
                $check("esrgan-medium-x4");
            }
            #[test]
            fn medium_x8() {
                $check("esrgan-medium-x8");
            }
            #[test]
            fn thick_x2() {
                $check("esrgan-thick-x2");
            }
            #[test]
            fn thick_x3() {
                $check("esrgan-thick-x3");
            }
            #[test]
            fn thick_x4() {
                $check("esrgan-thick-x4");
            }
            #[test]
            fn thick_x8() {
                $check("esrgan-thick-x8");
            }
        }
    };
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `zoo/<name>.onnx` (`cargo xtask setup` writes it); a clear failure when missing.
pub fn zoo(name: &str) -> PathBuf {
    zoo_file(&format!("{name}.onnx"))
}

/// `zoo/<file>` (`cargo xtask setup` writes the `.onnx` and `.pt` files); a clear failure
/// when missing.
pub fn zoo_file(file: &str) -> PathBuf {
    let p = root().join("zoo").join(file);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo xtask setup`",
        p.display()
    );
    p
}

/// The model on the ort backend (CPU, one thread), failing with the backend's message (a
/// missing ONNX Runtime says to run `cargo xtask setup`).
pub fn ort(path: &Path, options: &str) -> OrtModel {
    OrtModel::load(path, options, 1, "cpu", Path::new(""))
        .unwrap_or_else(|e| panic!("ort: {}: {e}", path.display()))
}

/// The same model on the candle backend (one thread).
pub fn candle(path: &Path) -> CandleModel {
    CandleModel::load(&path.to_string_lossy(), "", 1, "cpu")
        .unwrap_or_else(|e| panic!("candle: {}: {e}", path.display()))
}

/// `max |a - b| / max |b|`, after checking the lengths.
pub fn rel_max(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths");
    let diff = a
        .iter()
        .zip(b)
        .fold(0f64, |m, (x, y)| m.max((*x as f64 - *y as f64).abs()));
    let top = b.iter().fold(0f64, |m, y| m.max((*y as f64).abs()));
    assert!(top > 0.0, "the reference is all zeros");
    diff / top
}

/// Replaces the machine's paths in an error message (the workspace root, `tmp`) for a
/// snapshot.
pub fn redact(message: &str, tmp: Option<&Path>) -> String {
    let mut m = message.to_string();
    if let Some(t) = tmp {
        m = m.replace(&t.display().to_string(), "[TMP]");
    }
    let workspace = root().canonicalize().unwrap();
    m.replace(&workspace.display().to_string(), "[ROOT]")
}

/// A small x2 network: `Conv 3 -> 12 (3 x 3, padding 1) -> Relu -> DepthToSpace 2`, weights
/// from `seed`, on `N x 3 x H x W` inputs, with `srlens.scale = 2`.
pub fn tiny_net(seed: u64) -> srlens_onnx::Graph {
    use srlens_onnx::{builder::GraphBuilder, Attribute, Dim, TensorData};
    let mut rng = srlens_test_support::rng::SplitMix64(seed);
    let mut b = GraphBuilder::new("tiny");
    let sym = |s: &str| Dim::Symbolic(s.to_string());
    b.input_dims("x", vec![sym("N"), Dim::Fixed(3), sym("H"), sym("W")]);
    b.initializer(
        "w",
        TensorData::f32(vec![12, 3, 3, 3], rng.vec32(324, -0.5, 0.5)),
    );
    b.initializer("b", TensorData::f32(vec![12], rng.vec32(12, -0.1, 0.1)));
    let c = b.op(
        "Conv",
        &["x", "w", "b"],
        &[
            ("kernel_shape", Attribute::Ints(vec![3, 3])),
            ("pads", Attribute::Ints(vec![1, 1, 1, 1])),
        ],
    );
    let r = b.op("Relu", &[&c], &[]);
    let y = b.op(
        "DepthToSpace",
        &[&r],
        &[
            ("blocksize", Attribute::Int(2)),
            ("mode", Attribute::String("DCR".into())),
        ],
    );
    b.output_dims(&y, vec![sym("N"), Dim::Fixed(3), sym("H2"), sym("W2")]);
    b.metadata("srlens.scale", "2");
    b.build().expect("a valid graph")
}

/// Writes `graph` as `dir/<file>` and returns the path.
pub fn write(graph: &srlens_onnx::Graph, dir: &Path, file: &str) -> PathBuf {
    let p = dir.join(file);
    srlens_onnx::write_file(graph, &p).expect("the model is written");
    p
}

/// `target/transformers/<file>` (`cargo xtask transformers`, which `cargo xtask test` runs,
/// writes them); a clear failure when missing.
pub fn transformer(file: &str) -> PathBuf {
    let p = root().join("target/transformers").join(file);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo xtask transformers` (`cargo xtask test` does)",
        p.display()
    );
    p
}

/// Runs `srlens run` in `dir` with LAM (`steps`, the window `(x, y, size)`) on `model` with
/// `backend` and its `options` (a TOML inline table) on `dir/lr.png` as the LR image, with
/// `extra` top-level config lines: the map and its report.json.
pub fn run_lam(
    dir: &Path,
    backend: &str,
    model: &str,
    options: &str,
    (x, y, size): (u32, u32, u32),
    steps: u32,
    extra: &str,
) -> (Vec<f32>, serde_json::Value) {
    let bin = built(&["lam", backend]);
    let config = format!(
        "out = \"out-{backend}\"\n{extra}\n\n[model]\nbackend = \"{backend}\"\npath = \"{model}\"\n\
         options = {options}\n\n[image]\npath = \"lr.png\"\nmode = \"lr\"\n\n[window]\nx = {x}\n\
         y = {y}\nsize = {size}\n\n[[method]]\nname = \"lam\"\nsteps = {steps}\n"
    );
    std::fs::write(dir.join(format!("{backend}.toml")), config).unwrap();
    let out = std::process::Command::new(bin.join("srlens"))
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

/// The folder of the built `srlens` binary, checked to hold it and the plugins `plugins`
/// (`lam`, `candle`...); a clear failure when they are not built.
fn built(plugins: &[&str]) -> PathBuf {
    use srlens_test_support::binaries::{library_file, profile_dir, require_built};
    let mut files = vec!["srlens".to_string()];
    files.extend(
        plugins
            .iter()
            .map(|p| library_file(&format!("srlens_plugin_{p}"))),
    );
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    require_built(
        &profile_dir("debug"),
        &files,
        "build the workspace first (`cargo xtask test` does)",
    )
}

/// Runs `srlens run` on `config` (written to `dir/failing.toml`), which needs the plugins
/// `plugins`: it must fail, and its stderr is returned.
pub fn srlens_fails(dir: &Path, plugins: &[&str], config: &str) -> String {
    let bin = built(plugins);
    std::fs::write(dir.join("failing.toml"), config).unwrap();
    let out = std::process::Command::new(bin.join("srlens"))
        .current_dir(dir)
        .args(["run", "failing.toml", "--quiet"])
        .output()
        .expect("srlens runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "srlens succeeded: {stderr}");
    stderr
}

/// Runs torch's float64 LAM (`tests/fixtures/transformers/lam64.py`) in `dir` on `model` (a
/// `.pt` file or a checkpoint) and `dir/lr.png`, with the window `(x, y, size)`, `steps` and
/// the script's `extra` arguments; the map is in `dir/ref.npy`, and the figures it prints
/// (`objective_input`, `objective_baseline`) are returned.
pub fn torch_lam64(
    dir: &Path,
    model: &str,
    (x, y, size): (u32, u32, u32),
    steps: u32,
    extra: &[&str],
) -> serde_json::Value {
    let python = root().join(".venv/bin/python");
    let out = std::process::Command::new(&python)
        .arg(root().join("tests/fixtures/transformers/lam64.py"))
        .args([model, "lr.png", "ref.npy", "--window"])
        .args([x, y, size].map(|v| v.to_string()))
        .args(["--steps", &steps.to_string()])
        .args(extra)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask setup`)", python.display()));
    assert!(
        out.status.success(),
        "lam64.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
