//! Times LAM (50 steps) on the UpscalerJS ESRGAN x4 networks traced to TorchScript, against
//! 50 batch-1 forward + input-gradient passes of the same model in the same process.
//!
//! `cargo xtask bench-tch [variants...] [--side N] [--steps N] [--batch N] [--threads N]`, or with the
//! environment xtask sets (`LIBTORCH_USE_PYTORCH=1`, `.venv/bin` first on `PATH`):
//! `cargo run --release -p srlens-plugin-tch --example bench_lam -- slim medium thick`.

use std::time::Instant;

use srlens_core::Tensor;
use srlens_plugin_kit::testing::{model_box, objective_box, Intensity, TestRegistry};
use srlens_plugin_kit::SrModelExt;
use srlens_plugin_lam::{Lam, ProgressiveBlurPath};
use srlens_plugin_tch::TchModel;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let side = arg(&args, "--side", 64);
    let steps = arg(&args, "--steps", 50);
    let threads = arg(&args, "--threads", 0) as u32;
    let batches: Vec<u32> = match arg(&args, "--batch", 0) {
        0 => vec![1, 8],
        b => vec![b as u32],
    };
    let mut variants: Vec<&str> = Vec::new();
    let mut skip = false;
    for a in &args {
        if skip {
            skip = false;
        } else if a.starts_with("--") {
            skip = true;
        } else {
            variants.push(a);
        }
    }
    if variants.is_empty() {
        variants.push("slim");
    }
    let zoo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../zoo");
    // A smooth test image with some texture, in [0, 1].
    let n = 3 * side * side;
    let data: Vec<f32> = (0..n)
        .map(|i| {
            let (c, y, x) = (i / (side * side), (i / side) % side, i % side);
            let v = 0.5 + 0.25 * ((x as f32 * 0.3 + c as f32).sin() + (y as f32 * 0.2).cos());
            v.clamp(0.0, 1.0)
        })
        .collect();
    let image = Tensor::new(vec![1, 3, side, side], data).unwrap();
    for v in variants {
        let range = if v == "thick" { "[0, 1]" } else { "[0, 255]" };
        let path = format!("{zoo}/esrgan-{v}-x4.pt");
        let options = format!(r#"{{"input_range": {range}}}"#);
        let load = || {
            TchModel::load(&path, &options, threads, "cpu")
                .unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        let model = load();
        let s = model.model_info().scale as usize;
        println!("libtorch intra-op threads: {}", tch::get_num_threads());
        let window = Intensity::new(side * s / 2 - 8, side * s / 2 - 8, 16);
        let obj = [objective_box(window)];
        // Warm-up, then the reference: `steps` batch-1 forward + input-gradient passes.
        model.gradients(&image, &obj).unwrap();
        let t = Instant::now();
        for _ in 0..steps {
            model.gradients(&image, &obj).unwrap();
        }
        let reference = t.elapsed().as_secs_f64();
        let params = model.model_info().parameters;
        drop(model);
        for &batch in &batches {
            let host = TestRegistry::new(model_box(load()), objective_box(window))
                .with_path("blur", ProgressiveBlurPath)
                .with_method("lam", Lam)
                .with_batch_size(batch);
            let t = Instant::now();
            let a = host
                .run("lam", &format!(r#"{{"steps": {steps}}}"#), &image)
                .unwrap();
            let lam = t.elapsed().as_secs_f64();
            assert!(a.map.data.iter().any(|v| *v != 0.0));
            println!(
                "esrgan-{v} x4 ({params} parameters), {side}x{side} LR, LAM {steps} steps, batch {batch}: \
                 {lam:.2} s per map; {steps} x batch-1 forward+gradient: {reference:.2} s; ratio {:.2}",
                lam / reference
            );
        }
    }
}
