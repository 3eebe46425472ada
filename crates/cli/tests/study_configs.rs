//! The ready study configs, reduced with `--set` (one photo, a 64 x 64 crop, one window, LAM
//! with 3 steps): configs/di-table.toml (the three esrgan x4 networks) and
//! configs/compare-architectures.toml (esrgan-thick beside SwinIR, HAT and DAT on Candle)
//! run and write the table, the plots and the report.

mod common;

use std::time::Instant;

const REDUCED: [&str; 8] = [
    "--set",
    "images=[\"../data/images/chelsea.png\"]",
    "--set",
    "crop=[100, 20, 64, 64]",
    "--set",
    "windows.auto=1",
    "--set",
    "method.0.steps=3",
];

fn run(config: &str, models: &[&str]) {
    let root = common::repo_root();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut args = vec!["study", config, "--quiet", "--out"];
    let out_s = out.display().to_string();
    args.push(&out_s);
    args.extend_from_slice(&REDUCED);
    let started = Instant::now();
    let o = common::srlens(&root, &args);
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir.path()));
    eprintln!(
        "{config} (reduced): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let summary: serde_json::Value = common::read_json(&out.join("summary.json"));
    let rows: Vec<&str> = summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["model"].as_str().unwrap())
        .collect();
    assert_eq!(rows, models);
    for r in summary["rows"].as_array().unwrap() {
        assert_eq!(r["ok"], 1, "{r}");
        assert!(r["di"]["mean"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["psnr"].as_f64().is_some(), "{r}");
    }
    assert!(summary["windows_rule"]
        .as_str()
        .unwrap()
        .contains("highest HR gradient energy"));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.starts_with("| Model | Method |"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(
        html.matches("data:image/svg+xml;base64,").count(),
        5,
        "five plots"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing to fetch"
    );
}

#[test]
fn the_di_table_config_runs_reduced() {
    assert!(
        common::repo_root()
            .join("zoo/esrgan-thick-x4.onnx")
            .is_file(),
        "the zoo is missing: run `cargo xtask setup`"
    );
    run(
        "configs/di-table.toml",
        &["esrgan-slim", "esrgan-medium", "esrgan-thick"],
    );
}

#[test]
fn the_compare_architectures_config_runs_reduced() {
    let root = common::repo_root();
    for n in ["swinir", "hat", "dat"] {
        assert!(
            root.join(format!("target/transformers/{n}.onnx")).is_file(),
            "target/transformers/{n}.onnx is missing: `cargo xtask transformers` (part of \
             `cargo xtask test`) writes it"
        );
    }
    run(
        "configs/compare-architectures.toml",
        &["esrgan-thick", "swinir", "hat", "dat"],
    );
}
