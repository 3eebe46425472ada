//! Acceptance: the example plugin, built from its own folder and loaded by `srlens`, gives the
//! same LAM map as its own ONNX export run on the Candle backend.
//!
//! The test builds `srlens`, the LAM method, the Candle backend and this plugin with cargo
//! (not under `cargo xtask test`, which built the workspace first), exports the committed
//! weights to ONNX with srlens-onnx's `GraphBuilder`, runs `srlens run` once per backend on
//! the same synthetic image, and compares the two `attribution.npy` maps.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::onnx_export::export;
use srlens_plugin_example_model::Fsrcnn;
use srlens_test_support::binaries::{library_file, profile_dir, require_built};
use srlens_test_support::compare::rel_l2;
use srlens_test_support::npy::read_npy;

const PACKAGES: [&str; 4] = [
    "srlens",
    "srlens-plugin-lam",
    "srlens-plugin-candle",
    "srlens-plugin-example-model",
];

/// Builds the binaries and plugins (debug) and returns the folder they are in. Under
/// `cargo xtask test` (`SRLENS_WORKSPACE_BUILT` set) the whole workspace was built just
/// before: a build of these packages alone would unify the dependencies' features over fewer
/// packages and compile candle-core and a dozen more again (minutes), so it is skipped.
fn build() -> PathBuf {
    if std::env::var_os("SRLENS_WORKSPACE_BUILT").is_none() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR")).arg("build");
        for p in PACKAGES {
            cmd.args(["-p", p]);
        }
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        assert!(
            status.success(),
            "{cmd:?} failed ({status}): the test needs srlens and these plugins built"
        );
    }
    let libs = [
        "srlens_plugin_lam",
        "srlens_plugin_candle",
        "srlens_plugin_example_model",
    ]
    .map(library_file);
    require_built(
        &profile_dir("debug"),
        &["srlens", &libs[0], &libs[1], &libs[2]],
        &format!("the build did not write it; build it with `cargo build -p ...` ({PACKAGES:?})"),
    )
}

/// A 64 x 64 RGB test picture: smooth shading, a disc and stripes (edges for LAM to find).
fn picture(path: &Path) {
    let img = image::RgbImage::from_fn(64, 64, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let disc = ((fx - 30.0).powi(2) + (fy - 34.0).powi(2)).sqrt() < 13.0;
        let stripe = (x / 4) % 2 == 0 && y > 44;
        let v = |c: f32| {
            (60.0
                + 1.5 * fx
                + c * fy
                + if disc { 90.0 } else { 0.0 }
                + if stripe { 50.0 } else { 0.0 })
            .min(255.0) as u8
        };
        image::Rgb([v(0.8), v(1.2), v(0.4)])
    });
    img.save(path).unwrap();
}

fn config(dir: &Path, label: &str, backend: &str, model: &Path) -> PathBuf {
    let text = format!(
        "out = \"out-{label}\"\n\n[model]\nbackend = \"{backend}\"\npath = \"{}\"\nscale = 4\n\n\
         [image]\npath = \"picture.png\"\nmode = \"hr\"\n\n[window]\nx = 24\ny = 24\nsize = 16\n\n\
         [[method]]\nname = \"lam\"\n",
        model.display()
    );
    let path = dir.join(format!("{label}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn lam_of_the_plugin_matches_lam_of_its_onnx_export_on_candle() {
    let weights = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights/fsrcnn-x4.safetensors");
    assert!(
        weights.is_file(),
        "{} is missing: it is committed; `cargo xtask train-example` rewrites it",
        weights.display()
    );
    let bin = build();
    let dir = tempfile::tempdir().unwrap();
    picture(&dir.path().join("picture.png"));
    let net = Fsrcnn::load(&weights).unwrap();
    let onnx = dir.path().join("fsrcnn-x4.onnx");
    srlens_onnx::write_file(&export(&net, "fsrcnn-x4"), &onnx).unwrap();

    let mut maps = Vec::new();
    for (label, backend, model) in [
        ("plugin", "example-fsrcnn", weights.as_path()),
        ("onnx", "candle", onnx.as_path()),
    ] {
        let cfg = config(dir.path(), label, backend, model);
        let out = Command::new(bin.join("srlens"))
            .args(["run", "--quiet"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "srlens run {} failed:\n{}{}",
            cfg.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let report =
            std::fs::read_to_string(dir.path().join(format!("out-{label}/lam/report.json")))
                .unwrap();
        assert!(
            report.contains(backend),
            "the report does not name the backend `{backend}`"
        );
        maps.push(read_npy(
            &dir.path().join(format!("out-{label}/lam/attribution.npy")),
        ));
    }
    let ((sa, a), (sb, b)) = (&maps[0], &maps[1]);
    assert_eq!(sa, &vec![3, 16, 16]);
    assert_eq!(sa, sb);
    let norm = b.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
    assert!(norm > 1e-6, "the LAM map is zero");
    let err = rel_l2(a, b);
    eprintln!("relative L2 difference {err:.3e} (|map| = {norm:.4e})");
    assert!(err < 1e-4, "relative difference {err} (|map| = {norm})");
}
