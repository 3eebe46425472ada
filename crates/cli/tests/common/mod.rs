//! Shared helpers for the end-to-end tests: the built binary and plugins, small ONNX networks
//! written with srlens-onnx, images, configs, and an independent float64 LAM.

#![allow(dead_code)]

pub mod reference;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use srlens_onnx::{builder::GraphBuilder, Attribute, TensorData};
use srlens_test_support::binaries::{library_file, require_built};
/// Reads an `attribution.npy` written by srlens: its shape and values.
pub use srlens_test_support::npy::read_npy;
/// The CLI's generator ([`TinyNet`]'s weights, the test pictures, linear nets' weights).
pub use srlens_test_support::rng::Lcg;

/// The repository's root folder (where `zoo/` and `data/` are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// The `srlens` binary under test.
pub fn srlens_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_srlens"))
}

/// The folder holding the binary and the built plugins.
pub fn target_dir() -> PathBuf {
    srlens_bin()
        .parent()
        .expect("the binary is in a folder")
        .to_path_buf()
}

/// A built library of the workspace, e.g. `srlens_plugin_candle`; fails with the fix when
/// it was not built (the tests never skip).
pub fn built_library(name: &str) -> PathBuf {
    let file = library_file(name);
    require_built(
        &target_dir(),
        &[&file],
        "build every plugin first with `cargo build --workspace` (or run `cargo xtask test`)",
    )
    .join(file)
}

/// The plugins every test loads: the default ones (other plugins built next to the binary,
/// such as tch, are left out so that listings do not depend on what else was built).
pub const DEFAULT_PLUGINS: [&str; 4] = [
    "srlens_plugin_candle",
    "srlens_plugin_lam",
    "srlens_plugin_ig",
    "srlens_plugin_smoothgrad",
];

/// A folder of links to the built default plugins, `[TARGET]/srlens-test-plugins`.
///
/// Made once per test process; test processes run side by side, so each link is made under a
/// name unique to this process and renamed into place (a rename replaces atomically).
pub fn default_plugin_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = target_dir().join("srlens-test-plugins");
        std::fs::create_dir_all(&dir).expect("the test plugin folder");
        for p in DEFAULT_PLUGINS {
            let lib = built_library(p);
            let link = dir.join(lib.file_name().expect("a file name"));
            if std::fs::read_link(&link).ok().as_deref() != Some(lib.as_path()) {
                let tmp = dir.join(format!(".{p}.{}", std::process::id()));
                let _ = std::fs::remove_file(&tmp);
                std::os::unix::fs::symlink(&lib, &tmp).expect("a symlink");
                std::fs::rename(&tmp, &link).expect("the link is renamed into place");
            }
        }
        dir
    })
    .clone()
}

/// Runs `srlens` with `args` in `dir`, with only the default plugins (and `--plugin-dir`s
/// given in `args`).
pub fn srlens(dir: &Path, args: &[&str]) -> Output {
    srlens_command(dir, args).output().expect("srlens runs")
}

/// Runs `srlens` with exactly `args` in `dir`.
pub fn srlens_raw(dir: &Path, args: &[&str]) -> Output {
    Command::new(srlens_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("SRLENS_PLUGIN_PATH")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("srlens runs")
}

/// The `srlens` command of [`srlens`] (default plugins only), to spawn.
pub fn srlens_command(dir: &Path, args: &[&str]) -> Command {
    let plugins = default_plugin_dir();
    let mut c = Command::new(srlens_bin());
    c.current_dir(dir)
        .args(args)
        .args(["--no-default-plugins", "--plugin-dir"])
        .arg(plugins)
        .env_remove("SRLENS_PLUGIN_PATH")
        .env_remove("RUST_BACKTRACE");
    c
}

/// Every file under `dir` (relative path -> bytes): to compare a folder before and after.
pub fn files_under(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Stderr as text, with `dir` replaced by `[DIR]` and the target folder by `[TARGET]`.
pub fn stderr_of(out: &Output, dir: &Path) -> String {
    normalise(&String::from_utf8_lossy(&out.stderr), dir)
}

/// Stdout as text, normalised like [`stderr_of`].
pub fn stdout_of(out: &Output, dir: &Path) -> String {
    normalise(&String::from_utf8_lossy(&out.stdout), dir)
}

fn normalise(s: &str, dir: &Path) -> String {
    let target = target_dir().canonicalize().unwrap_or_else(|_| target_dir());
    s.replace(&dir.display().to_string(), "[DIR]")
        .replace(&target.display().to_string(), "[TARGET]")
}

/// A small SR network: conv 3x3 (3 -> 4, bias) + ReLU + conv 3x3 (4 -> 12) + DepthToSpace 2.
#[derive(Debug, Clone)]
pub struct TinyNet {
    /// First conv weights `[4, 3, 3, 3]` and bias.
    pub w1: Vec<f64>,
    /// First bias.
    pub b1: Vec<f64>,
    /// Second conv weights `[3 * s * s, 4, 3, 3]` and bias.
    pub w2: Vec<f64>,
    /// Second bias.
    pub b2: Vec<f64>,
    /// Upscaling: DepthToSpace (DCR) when false, Resize nearest after a 3-channel conv when true.
    pub nearest: bool,
}

/// Hidden channels of [`TinyNet`].
pub const HIDDEN: usize = 4;

impl TinyNet {
    /// Random weights for a x2 network.
    pub fn new(seed: u64, nearest: bool) -> Self {
        let mut r = Lcg::new(seed);
        let out = if nearest { 3 } else { 12 };
        // Values float32 holds exactly: the ONNX file (float32 weights) and the float64
        // reference are the same network.
        let mut weights = |n: usize, scale: f64| -> Vec<f64> {
            r.vec(n, scale)
                .into_iter()
                .map(|v| v as f32 as f64)
                .collect()
        };
        TinyNet {
            w1: weights(HIDDEN * 3 * 9, 0.4),
            b1: weights(HIDDEN, 0.1),
            w2: weights(out * HIDDEN * 9, 0.3),
            b2: weights(out, 0.1),
            nearest,
        }
    }

    /// Writes the network as ONNX to `path`.
    pub fn write_onnx(&self, path: &Path) {
        let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let out = self.b2.len() as i64;
        let mut b = GraphBuilder::new("tiny");
        b.input("input", &[1, 3, 8, 8]);
        b.initializer(
            "w1",
            TensorData::f32(vec![HIDDEN as i64, 3, 3, 3], f(&self.w1)),
        );
        b.initializer("b1", TensorData::f32(vec![HIDDEN as i64], f(&self.b1)));
        b.initializer(
            "w2",
            TensorData::f32(vec![out, HIDDEN as i64, 3, 3], f(&self.w2)),
        );
        b.initializer("b2", TensorData::f32(vec![out], f(&self.b2)));
        let pads = ("pads", Attribute::Ints(vec![1, 1, 1, 1]));
        let h = b.op("Conv", &["input", "w1", "b1"], std::slice::from_ref(&pads));
        let h = b.op("Relu", &[&h], &[]);
        let y = b.op("Conv", &[&h, "w2", "b2"], &[pads]);
        let y = if self.nearest {
            let scales = b.constant(TensorData::f32(vec![4], vec![1.0, 1.0, 2.0, 2.0]));
            b.op(
                "Resize",
                &[&y, "", &scales],
                &[
                    ("mode", Attribute::String("nearest".into())),
                    (
                        "coordinate_transformation_mode",
                        Attribute::String("asymmetric".into()),
                    ),
                    ("nearest_mode", Attribute::String("floor".into())),
                ],
            )
        } else {
            b.op(
                "DepthToSpace",
                &[&y],
                &[
                    ("blocksize", Attribute::Int(2)),
                    ("mode", Attribute::String("DCR".into())),
                ],
            )
        };
        b.output(&y, &[1, 3, 16, 16]);
        b.metadata("srlens.scale", "2");
        let g = b.build().expect("a valid graph");
        srlens_onnx::write_file(&g, path).expect("the model is written");
    }
}

/// A deterministic 3-channel `w x h` test picture with edges and texture, as PNG.
pub fn write_png(path: &Path, w: u32, h: u32, seed: u64) {
    let mut r = Lcg::new(seed);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let stripe = if (x / 3 + y / 2) % 2 == 0 {
            180.0
        } else {
            60.0
        };
        let mut px = [0u8; 3];
        for (c, p) in px.iter_mut().enumerate() {
            *p = (stripe + 40.0 * r.next() + 10.0 * c as f64).clamp(0.0, 255.0) as u8;
        }
        image::Rgb(px)
    });
    img.save(path).expect("the PNG is written");
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// A temporary folder with `tiny.onnx` (x2, DepthToSpace), `nearest.onnx` (x2, Resize nearest
/// last) and `lr.png` (8 x 8).
pub fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    TinyNet::new(7, false).write_onnx(&dir.path().join("tiny.onnx"));
    TinyNet::new(11, true).write_onnx(&dir.path().join("nearest.onnx"));
    write_png(&dir.path().join("lr.png"), 8, 8, 3);
    dir
}

/// A config over `tiny.onnx` and `lr.png` (LR mode), window 4,4,6, with `methods` appended.
pub fn config(model: &str, methods: &str) -> String {
    format!(
        "out = \"out\"\nbatch_size = 3\n\n[model]\nbackend = \"candle\"\npath = \"{model}\"\n\n\
         [image]\npath = \"lr.png\"\nmode = \"lr\"\n\n[window]\nx = 4\ny = 4\nsize = 6\n\n{methods}"
    )
}

/// Recomputes, in float64 from `attribution.npy` in `dir`, the figures of the spec's "What is
/// reported for every map" (view, Gini, DI, pixels and radii holding 50 % and 95 % of the
/// mass, around the window's centre in LR pixels) and asserts that `dir/report.json` holds
/// them. Returns the DI.
pub fn check_figures(dir: &Path) -> f64 {
    let (shape, map) = read_npy(&dir.join("attribution.npy"));
    let report = read_json(&dir.join("report.json"));
    let (c, h, w) = (shape[0], shape[1], shape[2]);
    let sums: Vec<f64> = (0..h * w)
        .map(|p| {
            (0..c)
                .map(|ch| map[ch * h * w + p] as f64)
                .sum::<f64>()
                .abs()
        })
        .collect();
    let max = sums.iter().cloned().fold(0.0, f64::max);
    assert!(max > 0.0, "{}: the map is all zero", dir.display());
    let view: Vec<f64> = sums.iter().map(|s| s / max).collect();
    let mut sorted: Vec<f64> = view.iter().map(|v| v + 1e-7).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let gini = sorted
        .iter()
        .enumerate()
        .map(|(i, v)| (2.0 * (i as f64 + 1.0) - n - 1.0) * v)
        .sum::<f64>()
        / (n * sorted.iter().sum::<f64>());
    let total: f64 = view.iter().sum();
    let mut desc = view.clone();
    desc.sort_by(|a, b| b.total_cmp(a));
    let pixels = |frac: f64| {
        let mut cum = 0.0;
        desc.iter()
            .position(|v| {
                cum += v;
                cum >= frac * total * (1.0 - 1e-12)
            })
            .map_or(desc.len(), |k| k + 1) as u64
    };
    let scale = report["scale"].as_f64().unwrap();
    let win = &report["window"];
    let half = win["size"].as_f64().unwrap() / 2.0;
    let centre = (
        (win["x0"].as_f64().unwrap() + half) / scale,
        (win["y0"].as_f64().unwrap() + half) / scale,
    );
    let mut by_distance: Vec<(f64, f64)> = (0..h * w)
        .map(|p| {
            let (i, j) = ((p / w) as f64 + 0.5, (p % w) as f64 + 0.5);
            ((j - centre.0).hypot(i - centre.1), view[p])
        })
        .collect();
    by_distance.sort_by(|a, b| a.0.total_cmp(&b.0));
    let radius = |frac: f64| {
        let mut cum = 0.0;
        by_distance
            .iter()
            .find(|(_, m)| {
                cum += m;
                cum >= frac * total * (1.0 - 1e-12)
            })
            .map_or(0.0, |(d, _)| *d)
    };
    let figures = &report["figures"];
    let close = |key: &str, want: f64| {
        let got = figures[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {report}"));
        assert!(
            // The report's view is float32: agreement to its rounding.
            (got - want).abs() <= 1e-6 * want.abs().max(1.0),
            "{}: {key} is {got} in report.json, {want} recomputed",
            dir.display()
        );
    };
    close("gini", gini);
    close("di", (1.0 - gini) * 100.0);
    close("radius_50", radius(0.5));
    close("radius_95", radius(0.95));
    assert_eq!(
        figures["pixels_50"].as_u64(),
        Some(pixels(0.5)),
        "{}",
        dir.display()
    );
    assert_eq!(
        figures["pixels_95"].as_u64(),
        Some(pixels(0.95)),
        "{}",
        dir.display()
    );
    assert_eq!(figures["degenerate"], false);
    (1.0 - gini) * 100.0
}

/// The folder `dir/plugins` holding copies of the built workspace libraries `libs` (e.g.
/// `srlens_fixture_panic`), for `--plugin-dir plugins`.
pub fn plugins_folder(dir: &Path, libs: &[&str]) -> PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("the plugin folder");
    for lib in libs {
        std::fs::copy(built_library(lib), plugins.join(format!("lib{lib}.so")))
            .expect("the library is copied");
    }
    plugins
}

/// A x2 model whose output is `sqrt(x - 2)`: NaN for every input in `[0, 1]`.
pub fn write_nan_model(path: &Path) {
    let mut b = GraphBuilder::new("nan");
    b.input("input", &[1, 3, 8, 8]);
    let two = b.constant(TensorData::f32(vec![1], vec![2.0]));
    let d = b.op("Sub", &["input", &two], &[]);
    let s = b.op("Sqrt", &[&d], &[]);
    let scales = b.constant(TensorData::f32(vec![4], vec![1.0, 1.0, 2.0, 2.0]));
    let y = b.op(
        "Resize",
        &[&s, "", &scales],
        &[("mode", Attribute::String("nearest".into()))],
    );
    b.output(&y, &[1, 3, 16, 16]);
    b.metadata("srlens.scale", "2");
    srlens_onnx::write_file(&b.build().unwrap(), path).unwrap();
}
