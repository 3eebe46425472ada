//! Several windows in one run against one run per window (`cargo xtask bench --windows`):
//! LAM of esrgan-slim on one LR image with three windows, near each other (their receptive
//! fields overlap) and far apart, with receptive-field cropping on and off. Wall-clock
//! seconds of whole `srlens run` processes (loading, checks, methods, pictures), medians.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};

use super::{median, run_measured};
use crate::{paths, Result};

/// Three 16-pixel windows of an `n x n` x4 output: overlapping ones at the middle, or three
/// corners.
fn layout(n: usize, near: bool) -> [[usize; 2]; 3] {
    let (c, far) = (2 * n - 8, 4 * n - 40);
    if near {
        [[c, c], [c + 8, c], [c, c + 8]]
    } else {
        [[24, 24], [far, far], [24, far]]
    }
}

/// Seconds of one `srlens run` of `config`.
fn seconds(config: &Path) -> Result<f64> {
    let bin = paths::root().join("target/debug/srlens");
    let start = Instant::now();
    run_measured(Command::new(bin).args(["run", config.to_str().unwrap_or_default(), "--quiet"]))?;
    Ok(start.elapsed().as_secs_f64())
}

/// Writes a config of `windows` (TOML) and returns its path.
fn config(
    dir: &Path,
    name: &str,
    backend: &str,
    png: &Path,
    crop: bool,
    windows: &str,
) -> Result<std::path::PathBuf> {
    let model = paths::root().join("zoo/esrgan-slim-x4.onnx");
    let file = dir.join(format!("{name}.toml"));
    let text = format!(
        "out = \"{}\"\ncrop_to_receptive_field = {crop}\n\n[faithfulness]\nsteps = 0\n\n[model]\nbackend = \"{backend}\"\n\
         path = \"{}\"\n\n[image]\npath = \"{}\"\nmode = \"lr\"\n\n{windows}\n\
         [[method]]\nname = \"lam\"\nsteps = 50\n",
        dir.join(format!("out-{name}")).display(),
        model.display(),
        png.display()
    );
    std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(file)
}

/// The four comparisons (near/far x crop on/off) on `backend`, `runs` times each.
pub fn windows(dir: &Path, backend: &str, n: usize, png: &Path, runs: usize) -> Result<Value> {
    let mut cases = Vec::new();
    for near in [true, false] {
        for crop in [true, false] {
            let spots = layout(n, near);
            let tag = format!(
                "{}-{}",
                if near { "near" } else { "far" },
                if crop { "crop" } else { "whole" }
            );
            let list: String = spots
                .iter()
                .enumerate()
                .map(|(i, [x, y])| {
                    format!("[[window]]\nlabel = \"w{i}\"\nx = {x}\ny = {y}\nsize = 16\n\n")
                })
                .collect();
            let many = config(dir, &format!("win3-{tag}"), backend, png, crop, &list)?;
            let singles = spots
                .iter()
                .enumerate()
                .map(|(i, [x, y])| {
                    let one = format!("[window]\nx = {x}\ny = {y}\nsize = 16\n");
                    config(dir, &format!("win1-{tag}-{i}"), backend, png, crop, &one)
                })
                .collect::<Result<Vec<_>>>()?;
            eprintln!("xtask: bench windows esrgan-slim-x4 {n} x {n} on {backend}: {tag}");
            let (mut one_run, mut three_runs) = (Vec::new(), Vec::new());
            for _ in 0..runs.max(1) {
                one_run.push(seconds(&many)?);
                let mut total = 0.0;
                for s in &singles {
                    total += seconds(s)?;
                }
                three_runs.push(total);
            }
            let (a, b) = (median(&one_run), median(&three_runs));
            cases.push(json!({
                "windows": if near { "near (overlapping receptive fields)" } else { "far apart (corners)" },
                "crop_to_receptive_field": crop,
                "one_run_s": a, "three_runs_s": b, "ratio": a / b,
                "one_run_all_s": one_run, "three_runs_all_s": three_runs,
            }));
        }
    }
    Ok(json!({"backend": backend, "net": "esrgan-slim-x4", "lr": n, "steps": 50, "cases": cases}))
}

/// The Markdown section of [`windows`]'s result.
pub fn markdown(w: &Value) -> String {
    let mut s = format!(
        "\n## Three windows in one run\n\nMeasured {}. LAM, 50 steps, of {} on a {} x {} LR crop on {}: one \
         `srlens run` with three `[[window]]`s against three runs of one window each \
         (wall-clock seconds of the whole processes, medians). Near: three overlapping windows \
         at the middle; far: three corners.\n\n\
         | windows | cropping | one run s | three runs s | ratio |\n|---|---|---|---|---|\n",
        w["date"].as_str().unwrap_or(""),
        w["net"].as_str().unwrap_or(""),
        w["lr"],
        w["lr"],
        w["backend"].as_str().unwrap_or("")
    );
    for c in w["cases"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} | {:.2}x |\n",
            c["windows"].as_str().unwrap_or(""),
            if c["crop_to_receptive_field"].as_bool() == Some(true) {
                "on"
            } else {
                "off"
            },
            c["one_run_s"].as_f64().unwrap_or(f64::NAN),
            c["three_runs_s"].as_f64().unwrap_or(f64::NAN),
            c["ratio"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    s.push('\n');
    s
}
