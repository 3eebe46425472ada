//! Times candle's own `Tensor::conv2d` against this backend's f32 kernels
//! (`srlens_plugin_candle::conv_f32`: the direct AVX2 one where the CPU has it, and the
//! im2col + gemm fallback) on the ESRGAN layer shapes: 3x3, stride 1, padding 1, forward and
//! input gradient (for candle: its convolution of the output gradient with the transposed,
//! flipped kernel, as this backend did before). "diff" is the largest difference from
//! candle's result relative to its largest value.
//!
//! `cargo run --release -p srlens-plugin-candle --example conv_bench -- [threads] [C M side batch]`
//! (threads: 0 for rayon's default pool; a shape given as four numbers replaces the list).
//! Prints the median of several repetitions in ms and GFLOP/s, and the speed-up over candle
//! ("x"). The numbers are for comparison within one run: on a shared machine they move.
//!
//! `conv_bench -- --json SHAPES.json THREADS`: the form `cargo xtask bench` runs beside
//! libtorch's `xtask/bench/conv_torch.py`: SHAPES.json is a list of `{"batch", "channels",
//! "out_channels", "kh", "kw", "height", "width", "padding"}`; prints a JSON list of
//! `{"forward_s", "input_gradient_s"}`, this backend's kernels (the default method) only.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use srlens_plugin_candle::conv::ConvKernel;
use srlens_plugin_candle::conv_f32::{self, Geometry, Method};

/// `(C, M, side, batch)`: input and output channels, image side, batch size.
const SHAPES: &[(usize, usize, usize, usize)] = &[
    (64, 64, 64, 1),
    (64, 64, 16, 8),
    (64, 64, 128, 1),
    (64, 64, 256, 1),
    (3, 64, 64, 1),
    (64, 32, 64, 4),
    (96, 32, 64, 1),
    (128, 32, 64, 1),
    (160, 32, 64, 1),
    (192, 64, 64, 1),
    (192, 64, 32, 8),
    (256, 64, 128, 1),
];

/// Deterministic values in [-1, 1).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f64 / (1u64 << 23) as f64 - 1.0) as f32
        })
        .collect()
}

/// Median seconds of `f` over repetitions filling about half a second (3 to 15 of them),
/// after one warm-up call.
fn median(mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    f();
    let once = t.elapsed().as_secs_f64();
    let reps = ((0.5 / once.max(1e-9)) as usize).clamp(3, 15);
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

/// Largest difference between `a` and `b` relative to the largest entry of `b`.
fn rel_diff(a: &[f32], b: &[f32]) -> f64 {
    let scale = b.iter().fold(1e-30f64, |m, v| m.max(v.abs() as f64));
    let d = a
        .iter()
        .zip(b)
        .fold(0f64, |m, (x, y)| m.max((x - y).abs() as f64));
    d / scale
}

fn bench(c: usize, m: usize, side: usize, batch: usize) -> candle_core::Result<()> {
    let dev = Device::Cpu;
    let g = Geometry::padded([batch, c, side, side], [m, c, 3, 3], 1, 1)
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let gg = g.input_gradient();
    let xv = noise(g.input_len(), 1);
    let wv = noise(g.weight_len(), 2);
    let gyv = noise(g.output_len(), 3);
    let x = Tensor::from_slice(&xv, (batch, c, side, side), &dev)?;
    let w = Tensor::from_slice(&wv, (m, c, 3, 3), &dev)?;
    let gy = Tensor::from_slice(&gyv, (batch, m, side, side), &dev)?;
    let flipped = ConvKernel::new(&w)?.flipped().clone();
    let fv: Vec<f32> = flipped.flatten_all()?.to_vec1()?;

    let mut y_candle = None;
    let t_cf = median(|| y_candle = Some(x.conv2d(&w, 1, 1, 1, 1).unwrap()));
    let mut gx_candle = None;
    let t_cb = median(|| gx_candle = Some(gy.conv2d(&flipped, 1, 1, 1, 1).unwrap()));
    let flat = |t: Option<Tensor>| -> candle_core::Result<Vec<f32>> {
        t.map_or(Ok(Vec::new()), |t| {
            t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()
        })
    };
    let (y_candle, gx_candle) = (flat(y_candle)?, flat(gx_candle)?);
    let mut methods = vec![("im2col+gemm", Method::Im2colGemm)];
    if conv_f32::direct_available() {
        methods.insert(0, ("direct", Method::Direct));
        if conv_f32::direct_isa() == Some(conv_f32::DirectIsa::Avx512) {
            methods.insert(1, ("avx2", Method::DirectAvx2));
        }
    }
    let name = format!("{c}->{m} {side}x{side} b{batch}");
    let gf = |t: f64| g.flops() / t / 1e9;
    for (pass, t_candle, want) in [("forward", t_cf, &y_candle), ("in-grad", t_cb, &gx_candle)] {
        let (xs, ws, geo) = if pass == "forward" {
            (&xv, &wv, &g)
        } else {
            (&gyv, &fv, &gg)
        };
        print!(
            "{name:<18} {pass:<8} candle {:>8.2} ms {:>5.1} GF/s",
            t_candle * 1e3,
            gf(t_candle)
        );
        for &(label, method) in &methods {
            let mut got = Vec::new();
            let t = median(|| got = conv_f32::conv2d_with(xs, ws, None, geo, method).unwrap());
            print!(
                " | {label} {:>8.2} ms {:>5.1} GF/s x{:<5.2} (diff {:.0e})",
                t * 1e3,
                gf(t),
                t_candle / t,
                rel_diff(&got, want)
            );
        }
        println!();
    }
    Ok(())
}

/// One layer of `--json`'s list.
#[derive(serde::Deserialize)]
struct Layer {
    batch: usize,
    channels: usize,
    out_channels: usize,
    kh: usize,
    kw: usize,
    height: usize,
    width: usize,
    padding: usize,
}

/// `--json`: the seconds of the forward convolution and its input gradient per layer.
fn json(shapes: &str, threads: usize) -> Result<(), String> {
    let text = std::fs::read_to_string(shapes).map_err(|e| format!("{shapes}: {e}"))?;
    let layers: Vec<Layer> = serde_json::from_str(&text).map_err(|e| format!("{shapes}: {e}"))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for l in &layers {
        let g = Geometry::padded(
            [l.batch, l.channels, l.height, l.width],
            [l.out_channels, l.channels, l.kh, l.kw],
            l.padding,
            1,
        )
        .map_err(|e| e.to_string())?;
        let gg = g.input_gradient();
        let (x, w, gy) = (
            noise(g.input_len(), 1),
            noise(g.weight_len(), 2),
            noise(gg.input_len(), 3),
        );
        let time = |geo: &Geometry, a: &[f32]| {
            pool.install(|| median(|| drop(conv_f32::conv2d(a, &w, None, geo).unwrap())))
        };
        // The input gradient's kernel has the forward one's shape transposed; its values do
        // not change the time.
        let wg = noise(gg.weight_len(), 4);
        let gradient =
            pool.install(|| median(|| drop(conv_f32::conv2d(&gy, &wg, None, &gg).unwrap())));
        out.push(serde_json::json!({"forward_s": time(&g, &x), "input_gradient_s": gradient}));
    }
    println!("{}", serde_json::Value::Array(out));
    Ok(())
}

fn main() -> candle_core::Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, shapes, threads] = raw.as_slice() {
        if flag == "--json" {
            let threads = threads.parse().unwrap_or(1);
            return json(shapes, threads).map_err(candle_core::Error::Msg);
        }
    }
    let args: Vec<usize> = raw.iter().map(|a| a.parse().unwrap_or(0)).collect();
    let threads = args.first().copied().unwrap_or(0);
    let shapes: Vec<_> = match args.get(1..5) {
        Some(&[c, m, side, batch]) => vec![(c, m, side, batch)],
        _ => SHAPES.to_vec(),
    };
    let run = || -> candle_core::Result<()> {
        println!(
            "3x3 conv, stride 1, padding 1, f32; {} rayon threads; median of 3-15 runs",
            rayon::current_num_threads()
        );
        for &(c, m, side, batch) in &shapes {
            bench(c, m, side, batch)?;
        }
        Ok(())
    };
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?
            .install(run)
    } else {
        run()
    }
}
