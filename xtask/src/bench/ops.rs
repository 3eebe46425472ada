//! The convolution table of `cargo xtask bench` (`--ops-only`, `--no-ops`): every convolution
//! of the esrgan x4 networks on a 64 x 64 LR image, forward and input gradient, timed by the
//! candle plugin's own kernels (its `conv_bench` example in `--json` form) and by libtorch
//! (`xtask/bench/conv_torch.py` in the venv's torch) on the same threads, in the same run. A
//! network's time is the sum over its layers (each distinct shape timed once, counted as often
//! as it occurs).

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::{json, Value};

use super::run_measured;
use crate::{paths, run, torch, Result};

/// The LR side the layers are taken at.
const SIDE: usize = 64;

/// `[batch, channels, out_channels, kh, kw, height, width, padding]` of a layer.
type Shape = [usize; 8];

/// The distinct convolution shapes of `net` (`esrgan-NET-x4`) at `SIDE`, with their counts.
fn layers(net: &str) -> Result<BTreeMap<Shape, usize>> {
    let file = paths::root().join(format!("zoo/esrgan-{net}-x4.onnx"));
    let graph = srlens_onnx::read_file(&file).map_err(|e| e.to_string())?;
    let mut shapes = BTreeMap::new();
    for l in srlens_onnx::conv_layers(&graph, SIDE, SIDE)? {
        if l.groups != 1 {
            return Err(format!("{}: a grouped convolution", file.display()));
        }
        let s = [
            1,
            l.channels,
            l.out_channels,
            l.kh,
            l.kw,
            l.height,
            l.width,
            l.padding,
        ];
        *shapes.entry(s).or_insert(0) += 1;
    }
    Ok(shapes)
}

/// Runs `cmd` and reads its JSON list of `{"forward_s", "input_gradient_s"}`, one per shape.
fn timings(cmd: &mut Command, what: &str, n: usize) -> Result<Vec<(f64, f64)>> {
    let (out, _) = run_measured(cmd)?;
    let v: Value = serde_json::from_str(out.trim())
        .map_err(|e| format!("{what} printed no JSON list ({e}): {out}"))?;
    let list = v
        .as_array()
        .filter(|a| a.len() == n)
        .ok_or_else(|| format!("{what} printed {out}: expected {n} timings"))?;
    Ok(list
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_f64().unwrap_or(f64::NAN);
            (s("forward_s"), s("input_gradient_s"))
        })
        .collect())
}

/// The table's JSON: per network, candle's and libtorch's seconds for all its layers,
/// forward and input gradient, on `threads` threads; `plain_openmp`: libtorch without the
/// OpenMP variables the bench set for srlens (as torch's users run it).
pub fn convolutions(nets: &[String], threads: usize, plain_openmp: bool) -> Result<Value> {
    run(crate::cargo().args([
        "build",
        "-p",
        "srlens-plugin-candle",
        "--example",
        "conv_bench",
    ]))?;
    let dir = paths::root().join("target/bench");
    let mut rows = Vec::new();
    for net in nets {
        eprintln!("xtask: bench the convolutions of esrgan-{net}-x4 at {SIDE} x {SIDE}");
        let shapes: Vec<(Shape, usize)> = layers(net)?.into_iter().collect();
        let list: Vec<Value> = shapes
            .iter()
            .map(|(s, _)| {
                json!({"batch": s[0], "channels": s[1], "out_channels": s[2], "kh": s[3],
                       "kw": s[4], "height": s[5], "width": s[6], "padding": s[7]})
            })
            .collect();
        let file = dir.join(format!("conv-{net}.json"));
        std::fs::write(&file, Value::Array(list).to_string())
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let candle = timings(
            Command::new(paths::root().join("target/debug/examples/conv_bench"))
                .arg("--json")
                .arg(&file)
                .arg(threads.to_string()),
            "conv_bench",
            shapes.len(),
        )?;
        let mut python = Command::new(torch::venv_python());
        super::without_our_openmp(&mut python, plain_openmp);
        let torch = timings(
            python
                .arg(paths::root().join("xtask/bench/conv_torch.py"))
                .arg(&file)
                .args(["--threads", &threads.to_string()]),
            "conv_torch.py",
            shapes.len(),
        )?;
        let total = |t: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| -> f64 {
            t.iter()
                .zip(&shapes)
                .map(|(v, (_, n))| pick(v) * *n as f64)
                .sum()
        };
        let layers: usize = shapes.iter().map(|(_, n)| n).sum();
        let (cf, cg) = (total(&candle, |t| t.0), total(&candle, |t| t.1));
        let (tf, tg) = (total(&torch, |t| t.0), total(&torch, |t| t.1));
        rows.push(json!({
            "net": format!("esrgan-{net}-x4"), "layers": layers, "shapes": shapes.len(),
            "candle_forward_s": cf, "torch_forward_s": tf, "forward_ratio": cf / tf,
            "candle_input_gradient_s": cg, "torch_input_gradient_s": tg,
            "input_gradient_ratio": cg / tg,
        }));
    }
    Ok(json!({"lr": SIDE, "threads": threads, "rows": rows}))
}

/// Keeps the rows of `previous` (the last table) for the networks `table` did not measure,
/// in the networks' order, so that `--nets` remeasures some rows only.
pub fn keep_other_nets(table: &mut Value, previous: &Value) {
    let Some(rows) = table["rows"].as_array().cloned() else {
        return;
    };
    let measured = |r: &Value| rows.iter().any(|m| m["net"] == r["net"]);
    let mut all: Vec<Value> = previous["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| !measured(r))
        .cloned()
        .collect();
    all.extend(rows);
    all.sort_by_key(|r| r["net"].as_str().map(super::net_order));
    table["rows"] = Value::Array(all);
}

/// The section of `docs/benchmarks.md`.
pub fn markdown(v: &Value) -> String {
    let mut md = format!(
        "\n## Convolutions: candle's kernels against libtorch's\n\nMeasured {}. Every \
         convolution of the network on a {} x {} LR image (batch 1), on {} threads: the candle \
         plugin's f32 kernels (`conv_bench --json`) and libtorch's (`xtask/bench/conv_torch.py`: \
         `conv2d` and `torch.nn.grad.conv2d_input`), each distinct shape timed (median of 3-15) \
         and counted as often as the network has it. Ratio: candle's time over libtorch's.\n\n\
         | network | convolutions | candle forward s | libtorch forward s | ratio | candle input \
         gradient s | libtorch input gradient s | ratio |\n|---|---|---|---|---|---|---|---|\n",
        v["date"].as_str().unwrap_or("-"),
        v["lr"],
        v["lr"],
        v["threads"]
    );
    for r in v["rows"].as_array().into_iter().flatten() {
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        md.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:.2}x | {:.3} | {:.3} | {:.2}x |\n",
            r["net"].as_str().unwrap_or("-"),
            r["layers"],
            f("candle_forward_s"),
            f("torch_forward_s"),
            f("forward_ratio"),
            f("candle_input_gradient_s"),
            f("torch_input_gradient_s"),
            f("input_gradient_ratio"),
        ));
    }
    md
}
