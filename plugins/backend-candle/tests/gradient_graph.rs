//! The gradient graphs `srlens_onnx::autodiff` generates (what `srlens gradient-graph`
//! writes: inputs the model's input and `d objective / d output`, outputs the model's output
//! and `d objective / d input`) run in this backend's interpreter, against candle's own
//! autograd through the model's graph: the same output and input gradient for a random
//! cotangent, within 1e-4 of the largest value, in float32 as the backend runs.
//!
//! The networks: `zoo/esrgan-slim-x4.onnx` (`cargo xtask setup`) and
//! `target/transformers/swinir.onnx` (or the folder `SRLENS_TRANSFORMERS_DIR` names;
//! `cargo xtask transformers`).

mod common;

use std::path::PathBuf;

use candle_core::{DType, Tensor, Var};
use common::{Rng, G};
use srlens_onnx::Graph;
use srlens_plugin_candle::{convert, CandleModel, GradientMode, Interpreter};
use srlens_test_support::binaries::workspace_root;

const RTOL: f64 = 1e-4;

fn read(path: PathBuf, how: &str) -> Graph {
    assert!(
        path.is_file(),
        "{} is missing: run `{how}` first",
        path.display()
    );
    srlens_onnx::read_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn esrgan_slim() -> Graph {
    read(
        workspace_root().join("zoo/esrgan-slim-x4.onnx"),
        "cargo xtask setup",
    )
}

fn swinir() -> Graph {
    let dir = std::env::var_os("SRLENS_TRANSFORMERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/transformers"));
    read(dir.join("swinir.onnx"), "cargo xtask transformers")
}

fn tensor(shape: &[usize], v: Vec<f32>) -> Tensor {
    Tensor::from_vec(v, shape, &convert::DEVICE).unwrap()
}

fn values(t: &Tensor) -> Vec<f64> {
    convert::floats(t).unwrap()
}

/// The largest difference relative to the largest entry of `want`.
fn relative(got: &Tensor, want: &Tensor) -> f64 {
    assert_eq!(got.dims(), want.dims());
    let (g, w) = (values(got), values(want));
    let scale = w.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
    let d = g
        .iter()
        .zip(&w)
        .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
    d / scale
}

/// The output and `d sum(output * r) / d x` by candle's autograd through `graph`.
fn by_autograd(graph: &Graph, x: &Tensor, r: impl FnOnce(&[usize]) -> Tensor) -> (Tensor, Tensor) {
    let interp = Interpreter::new(graph.clone(), DType::F32).unwrap();
    let var = Var::from_tensor(x).unwrap();
    let y = interp
        .run(std::slice::from_ref(var.as_tensor()))
        .unwrap()
        .swap_remove(0);
    let loss = (&y * r(y.dims())).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let g = grads.get(var.as_tensor()).expect("a gradient").clone();
    (y.detach(), g)
}

/// The same by the generated gradient graph run in the interpreter.
fn by_graph(graph: &Graph, x: &Tensor, r: &Tensor) -> (Tensor, Tensor) {
    let vjp = srlens_onnx::autodiff::vjp_graph(graph).expect("the gradient graph");
    let interp = Interpreter::new(vjp, DType::F32).expect("the interpreter runs every operator");
    assert_eq!(interp.input_names().len(), 2, "the input and the cotangent");
    let mut out = interp.run(&[x.clone(), r.clone()]).unwrap();
    let g = out.pop().unwrap();
    (out.pop().unwrap(), g)
}

/// Both ways on a random input of `shape` and a random cotangent; returns the relative
/// differences of output and gradient.
fn compare(graph: &Graph, shape: &[usize], seed: u64) -> (f64, f64) {
    let mut rng = Rng(seed);
    let n: usize = shape.iter().product();
    let x = tensor(shape, rng.vec32(n, 0.0, 1.0));
    let mut r_rng = Rng(seed + 1);
    let r = |dims: &[usize]| tensor(dims, r_rng.vec32(dims.iter().product(), -1.0, 1.0));
    let (y0, g0) = by_autograd(graph, &x, r);
    let r = Rng(seed + 1).vec32(y0.elem_count(), -1.0, 1.0);
    let (y1, g1) = by_graph(graph, &x, &tensor(y0.dims(), r));
    assert_eq!(g1.dims(), x.dims());
    let d = (relative(&y1, &y0), relative(&g1, &g0));
    eprintln!(
        "{shape:?}: output off by {:.2e}, gradient by {:.2e}",
        d.0, d.1
    );
    d
}

#[test]
fn esrgan_slim_input_gradient_by_the_generated_graph_matches_autograd() {
    let (dy, dg) = compare(&esrgan_slim(), &[1, 3, 24, 20], 1);
    assert!(
        dy < RTOL && dg < RTOL,
        "output off by {dy:.2e}, gradient by {dg:.2e}"
    );
}

#[test]
fn swinir_input_gradient_by_the_generated_graph_matches_autograd() {
    // Neither a multiple of the windows (8) nor square: the network pads and crops.
    let (dy, dg) = compare(&swinir(), &[1, 3, 13, 18], 2);
    assert!(
        dy < RTOL && dg < RTOL,
        "output off by {dy:.2e}, gradient by {dg:.2e}"
    );
}

/// A small graph whose gradient graph uses the operators added for them: a Concat (its
/// cotangent a Split), a value read three times (Sum), a broadcast Add of an active value
/// (NonZero for the axes to sum), a Slice and a Gather (ScatterND with add, CastLike).
#[test]
fn a_graph_using_the_added_operators_matches_autograd() {
    use srlens_onnx::Attribute;
    let mut g = G::new();
    g.input_shape(&[2, 3, 4, 5]);
    let ax = g.init_i64(&[3]);
    let m = g.op(
        "ReduceSum",
        &["x", &ax],
        vec![("keepdims", Attribute::Int(1))],
    );
    let b = g.op("Add", &["x", &m], vec![]);
    let sq = g.op("Mul", &[&b, &b], vec![]);
    let c = g.op("Concat", &[&b, &sq], vec![("axis", Attribute::Int(1))]);
    let (s, e, a) = (g.init_i64(&[1]), g.init_i64(&[4]), g.init_i64(&[3]));
    let sl = g.op("Slice", &[&c, &s, &e, &a], vec![]);
    let idx = g.init_i64(&[2, 0, 2]);
    let y = g.op("Gather", &[&sl, &idx], vec![("axis", Attribute::Int(2))]);
    let mut graph = g.finish(&y);
    graph.inputs[0].elem_type = srlens_onnx::ElemType::F32;
    let vjp = srlens_onnx::autodiff::vjp_graph(&graph).unwrap();
    let ops: Vec<&str> = vjp.nodes.iter().map(|n| n.op_type.as_str()).collect();
    for op in ["NonZero", "Split", "Sum", "CastLike", "ScatterND"] {
        assert!(
            ops.contains(&op),
            "{op} not in the generated graph: {ops:?}"
        );
    }
    let (dy, dg) = compare(&graph, &[2, 3, 4, 5], 3);
    assert!(
        dy < 1e-6 && dg < 1e-5,
        "output off by {dy:.2e}, gradient by {dg:.2e}"
    );
}

/// The model's gradient both ways, through the backend's `gradient` option: `lr` random in
/// `[0, 1]`, two random cotangents (one forward pass, two backward passes).
fn model_gradients(path: &std::path::Path, options: &str, dims: [usize; 4]) -> Vec<Vec<f32>> {
    let model = CandleModel::load(&path.to_string_lossy(), options, 0, "cpu").unwrap();
    let n: usize = dims.iter().product();
    let lr = srlens_core::Tensor::new(dims.to_vec(), Rng(5).vec32(n, 0.0, 1.0)).unwrap();
    let mut rng = Rng(6);
    let mut cotangents = |sr: &srlens_core::Tensor| {
        Ok((0..2)
            .map(|_| {
                srlens_core::Tensor::new(sr.dims(), rng.vec32(sr.data.len(), -1.0, 1.0)).unwrap()
            })
            .collect())
    };
    model
        .vjp_abi(&lr, &mut cotangents)
        .unwrap()
        .into_iter()
        .map(|t| t.data.to_vec())
        .collect()
}

fn max_relative(got: &[f32], want: &[f32]) -> f64 {
    let scale = want.iter().fold(1e-30f64, |m, v| m.max(v.abs() as f64));
    let d = got
        .iter()
        .zip(want)
        .fold(0f64, |m, (a, b)| m.max((a - b).abs() as f64));
    d / scale
}

/// `gradient = "graph"` and `gradient = "autograd"` give the same input gradients (unset: the
/// graphs for the convolutional network, autograd for the transformers), with the models' input and output ranges ([0, 255] for esrgan-slim) applied:
/// esrgan-slim and the three transformers (`target/transformers/{swinir,hat,dat}.onnx`).
#[test]
fn the_gradient_option_gives_the_same_gradient_both_ways() {
    let dir = std::env::var_os("SRLENS_TRANSFORMERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/transformers"));
    let nets = [
        (
            workspace_root().join("zoo/esrgan-slim-x4.onnx"),
            [1, 3, 20, 24],
        ),
        (dir.join("swinir.onnx"), [1, 3, 13, 18]),
        (dir.join("hat.onnx"), [1, 3, 13, 18]),
        (dir.join("dat.onnx"), [1, 3, 13, 18]),
    ];
    for (path, dims) in nets {
        assert!(path.is_file(), "{} is missing", path.display());
        let default = CandleModel::load(&path.to_string_lossy(), "", 0, "cpu").unwrap();
        let convolutional = path.to_string_lossy().contains("esrgan");
        let want = if convolutional {
            GradientMode::Graph
        } else {
            GradientMode::Autograd
        };
        assert_eq!(default.gradient_mode(), want, "{}", path.display());
        let auto = model_gradients(&path, r#"{"gradient": "autograd"}"#, dims);
        let graph = model_gradients(&path, r#"{"gradient": "graph"}"#, dims);
        let unset = model_gradients(&path, "", dims);
        assert_eq!(unset, if convolutional { &graph } else { &auto }.clone());
        for (k, (g, a)) in graph.iter().zip(&auto).enumerate() {
            let d = max_relative(g, a);
            eprintln!("{}: cotangent {k}: {d:.2e}", path.display());
            assert!(d < RTOL, "{}: cotangent {k} off by {d:.2e}", path.display());
        }
    }
}

/// A model with an operator that has no gradient rule (element-wise `Max` of the input):
/// autograd by default; `gradient = "graph"` is a load error naming the operator.
#[test]
fn without_a_gradient_rule_the_default_is_autograd_and_graph_is_refused() {
    let mut g = G::new();
    g.input_shape(&[1, 3, -1, -1]);
    g.graph.inputs[0].elem_type = srlens_onnx::ElemType::F32;
    let c = g.init(&[], vec![0.25]);
    let y = g.op("Max", &["x", &c], vec![]);
    let path = std::env::temp_dir().join(format!("srlens-candle-max-{}.onnx", std::process::id()));
    srlens_onnx::write_file(&g.finish(&y), &path).unwrap();
    let p = path.to_string_lossy();
    let model = CandleModel::load(&p, "", 0, "cpu").unwrap();
    assert_eq!(model.gradient_mode(), GradientMode::Autograd);
    let grads = model_gradients(&path, "", [1, 3, 4, 4]);
    assert!(grads[0].iter().any(|&v| v != 0.0));
    let e = CandleModel::load(&p, r#"{"gradient": "graph"}"#, 0, "cpu").unwrap_err();
    assert!(
        matches!(e, srlens_plugin_candle::Error::Unsupported(_)),
        "{e}"
    );
    assert!(e.to_string().contains("Max"), "{e}");
    let e = CandleModel::load(&p, r#"{"gradient": "tape"}"#, 0, "cpu").unwrap_err();
    assert!(e.to_string().contains("tape"), "{e}");
    let _ = std::fs::remove_file(&path);
}
