//! `cargo xtask bench`: LAM (50 steps) of the esrgan x4 zoo on every backend built, against the
//! ORIGINAL algorithm (the LAM demo's, `xtask/bench/original_lam.py` in the venv's torch: one
//! path step at a time, parameters requiring grad, `backward()`) measured in the same run, so
//! that the ratios survive a noisy machine. Writes `docs/benchmarks.json` and
//! `docs/benchmarks.md`.
//!
//! `cargo xtask bench [--runs N] [--nets slim,medium,thick] [--sizes 64,128] [--backends
//! candle,tch,ort] [--no-sweeps | --sweeps-only] [--no-windows | --windows-only] [--no-ops |
//! --ops-only] [--no-batch | --batch-only]`.
//! What a run does not measure (other networks or sizes, the sweeps, the several-windows
//! comparison of [`windows`], the convolution table of [`ops`], the batch sizes of [`batch`])
//! stays as last measured, each row and section with its own date.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};

mod batch;
mod markdown;
mod ops;
mod windows;

use crate::{paths, run, torch, Result};
use markdown::markdown;

/// What to measure.
struct Plan {
    runs: usize,
    nets: Vec<String>,
    sizes: Vec<usize>,
    backends: Vec<String>,
    /// The sweeps over LR size and steps: `Some(true)` alone, `Some(false)` with the rest.
    sweeps: Option<bool>,
    /// The several-windows comparison: `Some(true)` alone, `Some(false)` with the rest.
    windows: Option<bool>,
    /// The convolution table: `Some(true)` alone, `Some(false)` with the rest.
    ops: Option<bool>,
    /// The batch sizes by time against fixed ones: `Some(true)` alone, `Some(false)` with the
    /// rest.
    batch: Option<bool>,
}

/// The backends measured by default, in the tables' order.
const BACKENDS: [&str; 3] = ["candle", "tch", "ort"];

/// A cell's measurements stop after this many seconds (the first run always completes).
const CELL_BUDGET_S: f64 = 150.0;

fn list(args: &[String], name: &str, default: &[&str]) -> Vec<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect())
}

fn parse(args: &[String]) -> Result<Plan> {
    let sizes = list(args, "--sizes", &["64", "128"])
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| format!("--sizes: `{s}` is not a number"))
        })
        .collect::<Result<Vec<usize>>>()?;
    if let Some(s) = sizes.iter().find(|&&s| !(16..=256).contains(&s)) {
        return Err(format!(
            "--sizes: {s} is outside 16..=256 (the photo is 451 x 300)"
        ));
    }
    let runs = list(args, "--runs", &["3"])[0]
        .parse()
        .map_err(|_| "--runs takes a number".to_string())?;
    Ok(Plan {
        runs,
        nets: list(args, "--nets", &["slim", "medium", "thick"]),
        sizes,
        backends: list(args, "--backends", &BACKENDS),
        sweeps: part(args, "sweeps"),
        windows: part(args, "windows"),
        ops: part(args, "ops"),
        batch: part(args, "batch"),
    })
}

/// A part of the bench that `--NAME-only` runs alone and `--no-NAME` leaves out.
fn part(args: &[String], name: &str) -> Option<bool> {
    let flag = |f: String| args.contains(&f);
    if flag(format!("--{name}-only")) {
        Some(true)
    } else if flag(format!("--no-{name}")) {
        None
    } else {
        Some(false)
    }
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Runs `cmd`, returning its stdout and its peak resident memory (MiB).
fn run_measured(cmd: &mut Command) -> Result<(String, f64)> {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let output = std::thread::spawn(move || {
        use std::io::Read;
        let mut child = child;
        let (mut out, mut err) = (String::new(), String::new());
        let _ = child.stdout.take().map(|mut s| s.read_to_string(&mut out));
        let _ = child.stderr.take().map(|mut s| s.read_to_string(&mut err));
        (out, err, child)
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let (out, err, child) = output.join().map_err(|_| "a reader thread failed")?;
    std::mem::forget(child); // already reaped by wait4
    if waited != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{cmd:?} failed:\n{err}"));
    }
    Ok((out, usage.ru_maxrss as f64 / 1024.0))
}

/// One cell of the table: seconds per map (median), peak memory, GFLOP/s.
#[derive(Debug, Clone)]
struct Cell {
    seconds: Vec<f64>,
    peak_mib: f64,
    gflops: Option<f64>,
    crop: Value,
    /// Images per model call the run chose.
    batch: usize,
    /// How it chose them (report.json's `provenance.batch_tuning`).
    tuning: Value,
}

impl Cell {
    fn json(&self) -> Value {
        json!({
            "seconds": self.seconds,
            "median_s": median(&self.seconds),
            "peak_mib": self.peak_mib,
            "gflop_per_s": self.gflops,
            "crop": self.crop,
        })
    }
}

/// Repeats `one` up to `runs` times within [`CELL_BUDGET_S`].
fn repeat(runs: usize, mut one: impl FnMut() -> Result<Cell>) -> Result<Cell> {
    let start = Instant::now();
    let mut cell = one()?;
    while cell.seconds.len() < runs && start.elapsed().as_secs_f64() < CELL_BUDGET_S {
        let next = one()?;
        cell.seconds.extend(next.seconds);
        cell.peak_mib = cell.peak_mib.max(next.peak_mib);
    }
    let s = median(&cell.seconds);
    cell.gflops = cell.gflops.map(|flops| flops / s / 1e9);
    Ok(cell)
}

/// The bench's inputs: an `n x n` LR crop of the photo (PNG for srlens, raw f32 for Python).
fn input(dir: &Path, n: usize) -> Result<(PathBuf, PathBuf, [usize; 2])> {
    let photo = paths::root().join("data/images/chelsea.png");
    let img = image::open(&photo)
        .map_err(|e| format!("{}: {e} (run `cargo xtask setup`)", photo.display()))?
        .to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (x0, y0) = ((w - n) / 2, (h - n) / 2);
    let crop = image::imageops::crop_imm(&img, x0 as u32, y0 as u32, n as u32, n as u32).to_image();
    let png = dir.join(format!("lr{n}.png"));
    crop.save(&png)
        .map_err(|e| format!("{}: {e}", png.display()))?;
    let mut raw = Vec::with_capacity(3 * n * n * 4);
    for c in 0..3 {
        for y in 0..n {
            for x in 0..n {
                let v = crop.get_pixel(x as u32, y as u32)[c] as f32 / 255.0;
                raw.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    let f32s = dir.join(format!("lr{n}.f32"));
    std::fs::write(&f32s, raw).map_err(|e| format!("{}: {e}", f32s.display()))?;
    Ok((png, f32s, [x0, y0]))
}

/// The window: 16 SR pixels at the middle of the x4 output.
fn window(n: usize) -> [usize; 3] {
    [2 * n - 8, 2 * n - 8, 16]
}

/// The zoo's input range for the TorchScript twin (the ONNX files carry it as metadata).
fn input_range(net: &str) -> f64 {
    if net == "thick" {
        1.0
    } else {
        255.0
    }
}

/// Removes from `cmd`'s environment the OpenMP variables this process set (when `set_here`):
/// torch's own programs run as torch's users run them.
fn without_our_openmp(cmd: &mut Command, set_here: bool) {
    if set_here {
        for v in srlens_host::openmp::VARIABLES {
            cmd.env_remove(v);
        }
    }
}

/// The original algorithm's cell; `plain_openmp`: without the OpenMP variables this process
/// set for the plugins' pass timings.
fn original(
    net: &str,
    n: usize,
    steps: usize,
    f32s: &Path,
    runs: usize,
    plain_openmp: bool,
) -> Result<Cell> {
    let [x, y, size] = window(n);
    let model = paths::root().join(format!("zoo/esrgan-{net}-x4.pt"));
    repeat(runs, || {
        let mut cmd = Command::new(torch::venv_python());
        without_our_openmp(&mut cmd, plain_openmp);
        cmd.arg(paths::root().join("xtask/bench/original_lam.py"))
            .arg(&model)
            .arg(f32s)
            .arg(n.to_string())
            .args([
                "--window",
                &x.to_string(),
                &y.to_string(),
                &size.to_string(),
            ])
            .args(["--steps", &steps.to_string(), "--runs", "1"])
            .args(["--range", &input_range(net).to_string()]);
        let (out, _) = run_measured(&mut cmd)?;
        let v: Value = serde_json::from_str(out.trim())
            .map_err(|e| format!("original_lam.py printed no JSON ({e}): {out}"))?;
        let seconds = v["seconds"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        Ok(Cell {
            seconds,
            // The script's own peak: a child's rusage also counts what it inherited at fork.
            peak_mib: v["peak_mib"].as_f64().unwrap_or(f64::NAN),
            gflops: None,
            crop: Value::Null,
            batch: 1,
            tuning: Value::Null,
        })
    })
}

/// srlens's cell: `map`, `runs` times (within [`CELL_BUDGET_S`]). A run finds the size an
/// earlier run of the same calls timed (the user cache's `batch/`), except with `forget`,
/// where every run times it anew.
fn srlens(dir: &Path, map: &Map<'_>, runs: usize, forget: bool) -> Result<Cell> {
    repeat(runs, || {
        if forget {
            forget_batch_sizes()?;
        }
        srlens_once(dir, map)
    })
}

/// One map of srlens for the bench: LAM of `steps` points of `esrgan-<net>-x4` on `backend`
/// on the `n x n` input `png`, with `batch_size = batch` (TOML; `"auto"` when none).
struct Map<'a> {
    backend: &'a str,
    net: &'a str,
    n: usize,
    steps: usize,
    png: &'a Path,
    batch: Option<&'a str>,
}

/// Runs `map` once: its seconds, peak memory, floating-point operations (not yet a rate: see
/// [`repeat`]), crop and batch size.
fn srlens_once(dir: &Path, map: &Map<'_>) -> Result<Cell> {
    let Map {
        backend,
        net,
        n,
        steps,
        png,
        batch,
    } = *map;
    let [x, y, size] = window(n);
    let ext = if backend == "tch" { "pt" } else { "onnx" };
    let model = paths::root().join(format!("zoo/esrgan-{net}-x4.{ext}"));
    let options = if backend == "tch" {
        format!("options = {{ input_range = [0, {}] }}\n", input_range(net))
    } else {
        String::new()
    };
    let tag = batch.map_or("auto".into(), |b| b.trim_matches('"').to_string());
    let out = dir.join(format!("out-{backend}-{net}-{n}-{steps}-{tag}"));
    // LAM alone, as the original algorithm: no deletion/insertion curves.
    let config = dir.join(format!("{backend}-{net}-{n}-{steps}-{tag}.toml"));
    std::fs::write(
        &config,
        format!(
            "out = \"{}\"\nbatch_size = {}\n\n[faithfulness]\nsteps = 0\n\n[model]\nbackend = \"{backend}\"\npath = \"{}\"\n{options}\n\
             [image]\npath = \"{}\"\nmode = \"lr\"\n\n[window]\nx = {x}\ny = {y}\nsize = {size}\n\n\
             [[method]]\nname = \"lam\"\nsteps = {steps}\n",
            out.display(),
            batch.unwrap_or("\"auto\""),
            model.display(),
            png.display()
        ),
    )
    .map_err(|e| format!("{}: {e}", config.display()))?;
    let graph = srlens_onnx::read_file(&paths::root().join(format!("zoo/esrgan-{net}-x4.onnx")))
        .map_err(|e| e.to_string())?;
    let bin = paths::root().join("target/debug/srlens");
    let mut cmd = Command::new(&bin);
    cmd.args(["run", config.to_str().unwrap_or_default(), "--quiet"]);
    run_measured(&mut cmd)?;
    let report: Value = serde_json::from_slice(
        &std::fs::read(out.join("lam/report.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let crop = report["provenance"]["receptive_field"]["crop"].clone();
    let (h, w) = match crop.as_array() {
        Some(b) => (
            b[3].as_u64().unwrap_or(0) as usize,
            b[2].as_u64().unwrap_or(0) as usize,
        ),
        None => (n, n),
    };
    // One forward and one input gradient (about the forward's cost) per step.
    let flops = srlens_onnx::conv_flops(&graph, h, w)
        .ok()
        .map(|f| 2.0 * f * steps as f64);
    Ok(Cell {
        seconds: vec![report["seconds"].as_f64().unwrap_or(f64::NAN)],
        // srlens's own peak while the methods ran: a child's rusage also counts what it
        // inherited from this process at fork.
        peak_mib: report["provenance"]["peak_rss_mib"]
            .as_f64()
            .unwrap_or(f64::NAN),
        gflops: flops,
        crop,
        batch: report["provenance"]["batch_size"].as_u64().unwrap_or(1) as usize,
        tuning: report["provenance"]["batch_tuning"].clone(),
    })
}

/// Removes the batch sizes earlier runs timed (the user cache's `batch/`).
fn forget_batch_sizes() -> Result<()> {
    let dir = paths::user_cache().join("batch");
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("{}: {e}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// The seconds of model calls (a forward and the input gradient of the window's objective)
/// on `batch` copies of the LR input (the crop `crop` of the `n x n` image, when given), in
/// this process through the plugin: the floor a map of `steps` points cannot beat is
/// `ceil(steps / batch)` of them. Also the seconds of forward passes alone on the same batch:
/// a gradient call's cost as a multiple of a forward's. After a warm-up call, at least 2 of
/// each and at most 8, within about `budget_s`.
fn pass_times(
    backend: &str,
    net: &str,
    png: &Path,
    crop: &Value,
    batch: usize,
    budget_s: f64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    use srlens_core::abi_stable::std_types::RSlice;
    let lib = paths::root().join(format!("target/debug/libsrlens_plugin_{backend}.so"));
    let plugin = srlens_host::plugins::load_file(&lib).map_err(|r| r.reason)?;
    let ext = if backend == "tch" { "pt" } else { "onnx" };
    let options = if backend == "tch" {
        format!("{{\"input_range\": [0, {}]}}", input_range(net))
    } else {
        "{}".into()
    };
    let file = paths::root().join(format!("zoo/esrgan-{net}-x4.{ext}"));
    let model = plugin
        .load_model(backend, Some(&file), &options)
        .map_err(|e| e.to_string())?;
    let img = image::open(png).map_err(|e| e.to_string())?.to_rgb8();
    let n = img.width() as usize;
    let (mut x0, mut y0, mut w, mut h) = (0, 0, n, img.height() as usize);
    if let Some(b) = crop.as_array() {
        let v: Vec<usize> = b.iter().map(|v| v.as_u64().unwrap_or(0) as usize).collect();
        (x0, y0, w, h) = (v[0], v[1], v[2], v[3]);
    }
    let mut data = Vec::with_capacity(batch * 3 * w * h);
    for _ in 0..batch {
        for c in 0..3 {
            for y in y0..y0 + h {
                for x in x0..x0 + w {
                    data.push(img.get_pixel(x as u32, y as u32)[c] as f32 / 255.0);
                }
            }
        }
    }
    let x = srlens_core::Tensor::new(vec![batch, 3, h, w], data).ok_or("a batch's shape")?;
    let [wx, wy, size] = window(n);
    let objectives = [srlens_host::objective::WindowObjective {
        kind: srlens_host::config::ObjectiveKind::GradientEnergy,
        window: srlens_host::objective::Window {
            x0: wx - 4 * x0,
            y0: wy - 4 * y0,
            size,
        },
    }
    .boxed()];
    let (mut times, mut forward) = (Vec::new(), Vec::new());
    // One call of a small network is a few milliseconds, and three of them moved by 2x from
    // run to run: up to 8.
    let begun = Instant::now();
    for i in 0..9 {
        if i > 2 && begun.elapsed().as_secs_f64() > budget_s {
            break;
        }
        let start = Instant::now();
        model
            .gradient(&x, RSlice::from_slice(&objectives))
            .into_result()
            .map_err(|e| e.message.to_string())?;
        times.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        model
            .forward(&x)
            .into_result()
            .map_err(|e| e.message.to_string())?;
        forward.push(start.elapsed().as_secs_f64());
    }
    // The first call warms caches up.
    Ok((times.split_off(1), forward.split_off(1)))
}

/// The machine, in words: the CPU model and its logical CPUs.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{}, {cpus} logical CPUs, no GPU",
        srlens_host::machine::cpu_model()
    )
}

pub fn main(args: &[String]) -> Result<()> {
    let plan = parse(args)?;
    // The in-process pass timings run as srlens itself does: the allocator keeps freed memory,
    // OpenMP threads wait as srlens's do.
    // The original algorithm runs as its users run it: without the variables set here.
    srlens_host::allocator::keep_freed_memory();
    let set_here = srlens_host::openmp::short_spin_then_sleep();
    crate::zoo::prepare(&["esrgan-slim", "esrgan-medium", "esrgan-thick"])?;
    crate::fetch::photos()?;
    torch::setup()?;
    let mut build = crate::cargo();
    torch::cargo_env(&mut build).args(["build", "-p", "srlens", "-p", "srlens-plugin-lam"]);
    for b in &plan.backends {
        build.args(["-p", &format!("srlens-plugin-{b}")]);
    }
    run(&mut build)?;
    let dir = paths::root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let docs = paths::root().join("docs");
    // What this run does not measure stays as last measured (each row and section keeps
    // its own date), so that a part of the bench can be rerun alone.
    let previous: Value = std::fs::read(docs.join("benchmarks.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let now = || humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    // With a `--NAME-only`, that part alone runs; else every part not left out.
    let only = [plan.windows, plan.ops, plan.sweeps, plan.batch].contains(&Some(true));
    let runs = |part: Option<bool>| part == Some(true) || (part == Some(false) && !only);
    let ops = match plan.ops {
        p if runs(p) => {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let mut o = ops::convolutions(&plan.nets, threads, set_here)?;
            o["date"] = json!(now());
            ops::keep_other_nets(&mut o, &previous["convolutions"]);
            o
        }
        _ => previous["convolutions"].clone(),
    };
    let windows = match plan.windows {
        p if runs(p) => {
            let (png, _, _) = input(&dir, 64)?;
            let b = plan.backends.first().map_or("candle", String::as_str);
            let mut w = windows::windows(&dir, b, 64, &png, plan.runs)?;
            w["date"] = json!(now());
            w
        }
        _ => previous["windows"].clone(),
    };
    let batch = match plan.batch {
        p if runs(p) => {
            let mut b = batch::batch(&dir, &plan.backends, plan.runs)?;
            b["date"] = json!(now());
            b
        }
        _ => previous["batch"].clone(),
    };
    let mut rows = Vec::new();
    for &n in plan.sizes.iter().filter(|_| !only) {
        let (png, f32s, _) = input(&dir, n)?;
        for net in &plan.nets {
            eprintln!("xtask: bench esrgan-{net}-x4 {n} x {n}: original");
            let orig = original(net, n, 50, &f32s, plan.runs, set_here)?;
            let mut row = json!({
                "net": format!("esrgan-{net}-x4"), "lr": n, "steps": 50,
                "original": orig.json(), "date": now(),
            });
            for b in &plan.backends {
                eprintln!("xtask: bench esrgan-{net}-x4 {n} x {n}: {b}");
                // After each map, the model calls of its floor timed alone: both see the
                // machine as it was then (one call of a large network moved by 25 % from
                // minute to minute).
                let map = Map {
                    backend: b,
                    net,
                    n,
                    steps: 50,
                    png: &png,
                    batch: None,
                };
                let (mut passes, mut forwards) = (Vec::new(), Vec::new());
                // The first map times the batch sizes, the next ones start at its choice.
                forget_batch_sizes()?;
                let cell = repeat(plan.runs, || {
                    let cell = srlens_once(&dir, &map)?;
                    let (p, f) = pass_times(b, net, &png, &cell.crop, cell.batch.max(1), 10.0)?;
                    passes.extend(p);
                    forwards.extend(f);
                    Ok(cell)
                })?;
                let mut j = cell.json();
                j["ratio"] = json!(median(&cell.seconds) / median(&orig.seconds));
                let batch = cell.batch.max(1);
                let (pass, forward) = (median(&passes), median(&forwards));
                let floor = 50usize.div_ceil(batch) as f64 * pass;
                j["batch"] = json!(batch);
                j["batch_tuning"] = cell.tuning.clone();
                j["pass_s"] = json!(pass);
                j["pass_calls"] = json!(passes.len());
                j["forward_s"] = json!(forward);
                j["gradient_over_forward"] = json!(pass / forward);
                j["overhead"] = json!(median(&cell.seconds) / floor);
                row[b.as_str()] = j;
            }
            rows.push(row);
        }
    }
    let measured = |r: &Value| {
        rows.iter()
            .any(|m| m["net"] == r["net"] && m["lr"] == r["lr"])
    };
    let kept: Vec<Value> = previous["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| !measured(r))
        .map(|r| {
            // Rows from before rows had dates were measured on the page's date.
            let mut r = r.clone();
            if r["date"].is_null() {
                r["date"] = previous["date"].clone();
            }
            r
        })
        .collect();
    rows.extend(kept);
    rows.sort_by_key(|r| (r["lr"].as_u64(), r["net"].as_str().map(net_order)));
    let mut sweeps = previous["sweeps"].clone();
    if sweeps.is_object() && sweeps["date"].is_null() {
        sweeps["date"] = previous["date"].clone();
    }
    if runs(plan.sweeps) {
        let b = plan
            .backends
            .first()
            .cloned()
            .unwrap_or_else(|| "candle".into());
        let mut by_size = Vec::new();
        for n in [32usize, 64, 128, 256] {
            let (png, _, _) = input(&dir, n)?;
            eprintln!("xtask: bench sweep esrgan-slim-x4 {n} x {n} on {b}");
            by_size.push(
                json!({"lr": n, "cell": srlens(&dir, &Map { backend: &b, net: "slim", n, steps: 50, png: &png, batch: None }, 1, false)?.json()}),
            );
        }
        let (png, _, _) = input(&dir, 64)?;
        let mut by_steps = Vec::new();
        for steps in [10usize, 25, 50, 100] {
            eprintln!("xtask: bench sweep esrgan-slim-x4 {steps} steps on {b}");
            by_steps.push(json!({"steps": steps, "cell": srlens(&dir, &Map { backend: &b, net: "slim", n: 64, steps, png: &png, batch: None }, 1, false)?.json()}));
        }
        sweeps = json!({"backend": b, "net": "esrgan-slim-x4", "by_lr_size": by_size, "by_steps": by_steps, "date": now()});
    }
    let result = json!({
        "machine": machine(),
        "date": now(),
        "profile": "dev (dependencies and the numeric plugins at opt-level 3; see Cargo.toml)",
        "rows": rows,
        "sweeps": sweeps,
        "windows": windows,
        "convolutions": ops,
        "batch": batch,
    });
    write_results(&docs, &result, &plan.backends)
}

/// slim, medium, thick: the table's order.
fn net_order(net: &str) -> usize {
    ["slim", "medium", "thick"]
        .iter()
        .position(|n| net.contains(n))
        .unwrap_or(3)
}

/// Writes `docs/benchmarks.json` and the Markdown page made from it, and prints the page.
fn write_results(docs: &Path, result: &Value, backends: &[String]) -> Result<()> {
    let text = serde_json::to_string_pretty(result).map_err(|e| e.to_string())?;
    std::fs::write(docs.join("benchmarks.json"), text).map_err(|e| e.to_string())?;
    // A column for every backend a row holds, also those this run did not measure.
    let mut columns = backends.to_vec();
    for row in result["rows"].as_array().into_iter().flatten() {
        for b in BACKENDS {
            if row.get(b).is_some() && !columns.iter().any(|c| c == b) {
                columns.push(b.to_string());
            }
        }
    }
    columns.sort_by_key(|c| BACKENDS.iter().position(|b| b == c).unwrap_or(usize::MAX));
    let mut md = markdown(result, &columns);
    if result["windows"].is_object() {
        md.push_str(&windows::markdown(&result["windows"]));
    }
    if result["convolutions"].is_object() {
        md.push_str(&ops::markdown(&result["convolutions"]));
    }
    if result["batch"].is_object() {
        md.push_str(&batch::markdown(&result["batch"]));
    }
    std::fs::write(docs.join("benchmarks.md"), &md).map_err(|e| e.to_string())?;
    println!("{md}");
    Ok(())
}
