//! Times one input gradient (forward + backward into the input, for a random cotangent) two
//! ways in this backend, in one process: candle's own autograd through the model's graph
//! (what `CandleModel::vjp` does), and the interpreter running the gradient graph that
//! `srlens_onnx::autodiff::vjp_graph` generates (what `srlens gradient-graph MODEL OUT`
//! writes: the joined graph, inputs the model's input and the cotangent, outputs the model's
//! output and the input gradient). Also the forward pass alone, for scale; the split forward
//! and backward graphs the backend's `gradient = "graph"` option runs (the saved values
//! handed from one to the other); and how far the gradients are from autograd's (the larger
//! of the two graph ways, relative to the largest entry).
//!
//! `cargo run --release -p srlens-plugin-candle --example gradient_graph_bench -- [threads] [reps]
//! [network...]` (default 2 threads, the median of 5 rounds after a warm-up, each round timing the three
//! in turn; every network;
//! names given keep the networks whose names contain one of them). The networks:
//! `zoo/esrgan-{slim,medium,thick}-x4.onnx` on 1x3x64x64 (`cargo xtask setup`) and
//! `target/transformers/{swinir,hat,dat}.onnx` on 1x3x32x32 (`cargo xtask transformers`); a
//! missing file is skipped with a note. The numbers are for comparison within one run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Tensor, Var};
use srlens_plugin_candle::{convert, Interpreter};

/// Deterministic values in `[lo, hi)`.
fn noise(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

/// The median seconds of each of `fs` over `reps` rounds, after one warm-up round; each round
/// calls every function once, in turn, so that a change in the machine's load (a shared
/// machine) touches them alike.
fn medians(reps: usize, fs: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    for f in fs.iter_mut() {
        f();
    }
    let mut times = vec![Vec::with_capacity(reps); fs.len()];
    for _ in 0..reps {
        for (f, t) in fs.iter_mut().zip(&mut times) {
            let start = Instant::now();
            f();
            t.push(start.elapsed().as_secs_f64());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_by(f64::total_cmp);
            t[reps / 2]
        })
        .collect()
}

/// Largest difference relative to the largest entry of `b`.
fn rel_diff(a: &Tensor, b: &Tensor) -> f64 {
    let (a, b) = (convert::floats(a).unwrap(), convert::floats(b).unwrap());
    let scale = b.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
    let d = a
        .iter()
        .zip(&b)
        .fold(0f64, |m, (x, y)| m.max((x - y).abs()));
    d / scale
}

struct Row {
    name: String,
    input: [usize; 4],
    forward: f64,
    autograd: f64,
    graph: f64,
    split: f64,
    diff: f64,
}

fn bench(name: &str, path: &Path, input: [usize; 4], reps: usize) -> Result<Row, String> {
    let graph = srlens_onnx::read_file(path).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let graphs = srlens_onnx::autodiff::gradient_graphs(&graph).map_err(|e| e.to_string())?;
    let generated = t.elapsed().as_secs_f64();
    let vjp = graphs.joined(&graph);
    let model = Interpreter::new(graph, DType::F32).map_err(|e| e.to_string())?;
    let grad = Interpreter::new(vjp, DType::F32).map_err(|e| e.to_string())?;
    let forward_graph = Interpreter::new(graphs.forward, DType::F32).map_err(|e| e.to_string())?;
    let backward_graph =
        Interpreter::new(graphs.backward, DType::F32).map_err(|e| e.to_string())?;
    let n: usize = input.iter().product();
    let x = Tensor::from_vec(noise(n, 1, 0.0, 1.0), &input[..], &convert::DEVICE)
        .map_err(|e| e.to_string())?;
    let y = model
        .run(std::slice::from_ref(&x))
        .map_err(|e| e.to_string())?
        .remove(0);
    let r = Tensor::from_vec(
        noise(y.elem_count(), 2, -1.0, 1.0),
        y.dims(),
        &convert::DEVICE,
    )
    .map_err(|e| e.to_string())?;
    let by_autograd = || -> Tensor {
        let var = Var::from_tensor(&x).unwrap();
        let y = model
            .run(std::slice::from_ref(var.as_tensor()))
            .unwrap()
            .remove(0);
        let grads = (y * &r).unwrap().sum_all().unwrap().backward().unwrap();
        grads.get(var.as_tensor()).unwrap().clone()
    };
    let by_graph = || -> Tensor { grad.run(&[x.clone(), r.clone()]).unwrap().remove(1) };
    // The two graphs the `gradient = "graph"` option runs: the forward one returns the model
    // output and the saved values, which the backward one reads by name with the cotangent.
    let by_split = || -> Tensor {
        let outs = forward_graph.run(std::slice::from_ref(&x)).unwrap();
        let names = &forward_graph.graph().outputs;
        let feed: Vec<Tensor> = backward_graph
            .input_names()
            .iter()
            .map(|n| {
                if *n == graphs.cotangent {
                    return r.clone();
                }
                match names.iter().position(|o| o.name == *n) {
                    Some(k) => outs[k].clone(),
                    None => x.clone(),
                }
            })
            .collect();
        backward_graph.run(&feed).unwrap().remove(0)
    };
    let g0 = by_autograd();
    let diff = rel_diff(&by_graph(), &g0).max(rel_diff(&by_split(), &g0));
    let t = medians(
        reps,
        &mut [
            &mut || {
                model.run(std::slice::from_ref(&x)).unwrap();
            },
            &mut || {
                by_autograd();
            },
            &mut || {
                by_graph();
            },
            &mut || {
                by_split();
            },
        ],
    );
    let (forward, autograd, graph, split) = (t[0], t[1], t[2], t[3]);
    eprintln!("{name}: gradient graph generated in {generated:.2} s");
    Ok(Row {
        name: name.to_string(),
        input,
        forward,
        autograd,
        graph,
        split,
        diff,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let threads: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2);
    let reps: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let nets: Vec<(&str, PathBuf, [usize; 4])> = vec![
        (
            "esrgan-slim-x4",
            root.join("zoo/esrgan-slim-x4.onnx"),
            [1, 3, 64, 64],
        ),
        (
            "esrgan-medium-x4",
            root.join("zoo/esrgan-medium-x4.onnx"),
            [1, 3, 64, 64],
        ),
        (
            "esrgan-thick-x4",
            root.join("zoo/esrgan-thick-x4.onnx"),
            [1, 3, 64, 64],
        ),
        (
            "swinir",
            root.join("target/transformers/swinir.onnx"),
            [1, 3, 32, 32],
        ),
        (
            "hat",
            root.join("target/transformers/hat.onnx"),
            [1, 3, 32, 32],
        ),
        (
            "dat",
            root.join("target/transformers/dat.onnx"),
            [1, 3, 32, 32],
        ),
    ];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    println!("threads = {threads}, median of {reps} (seconds per input gradient)");
    println!(
        "| network | input | forward | autograd | joined graph | graph / autograd | split graphs \
         | gradient diff |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let only = &args[args.len().min(2)..];
    for (name, path, input) in nets {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        if !path.is_file() {
            println!("| {name} | missing: {} | | | | | | |", path.display());
            continue;
        }
        match pool.install(|| bench(name, &path, input, reps)) {
            Ok(r) => println!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.2} | {:.3} | {:.1e} |",
                r.name,
                r.input.map(|d| d.to_string()).join("x"),
                r.forward,
                r.autograd,
                r.graph,
                r.graph / r.autograd,
                r.split,
                r.diff
            ),
            Err(e) => println!("| {name} | error: {e} | | | | | | |"),
        }
    }
}
