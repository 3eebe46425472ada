//! `run_graph`: any graph in ONNX Runtime with f32, f64 and i64 tensors in and out, and the
//! joined VJP graph that `srlens_onnx::autodiff` writes, run in ONNX Runtime itself, against
//! the candle backend's gradient.

mod common;

use srlens_onnx::builder::GraphBuilder;
use srlens_onnx::{ElemType, TensorData, TensorValues};
use srlens_plugin_kit::testing::objective_box;
use srlens_plugin_kit::SrModelExt;
use srlens_plugin_ort::run_graph;
use srlens_test_support::objective::Linear;
use srlens_test_support::rng::SplitMix64;

#[test]
fn f32_f64_and_i64_tensors_go_in_and_come_out() {
    let mut b = GraphBuilder::new("types");
    b.input("a", &[2, 3]).input("d", &[3]).input("i", &[2]);
    let sum = b.op("Add", &["a", "a"], &[]);
    let square = b.op("Mul", &["d", "d"], &[]);
    let shape = b.op("Shape", &["a"], &[]);
    let twice = b.op("Add", &["i", "i"], &[]);
    b.output(&sum, &[2, 3])
        .output(&square, &[3])
        .output(&shape, &[2])
        .output(&twice, &[2]);
    let mut g = b.graph().clone();
    g.inputs[1].elem_type = ElemType::F64;
    g.inputs[2].elem_type = ElemType::I64;
    g.outputs[1].elem_type = ElemType::F64;
    g.outputs[2].elem_type = ElemType::I64;
    g.outputs[3].elem_type = ElemType::I64;
    srlens_onnx::validate(&g).unwrap();
    let a = TensorData::f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
    let d = TensorData {
        dims: vec![3],
        values: TensorValues::F64(vec![0.5, -2.0, 1e-3]),
    };
    let i = TensorData::i64(vec![2], vec![7, -40]);
    let out = run_graph(&g, &[("a", a), ("d", d), ("i", i)]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out[0],
        TensorData::f32(vec![2, 3], vec![2.0, 4.0, 6.0, 8.0, 10.0, 13.0])
    );
    assert_eq!(
        out[1],
        TensorData {
            dims: vec![3],
            values: TensorValues::F64(vec![0.25, 4.0, 1e-6]),
        }
    );
    assert_eq!(out[2], TensorData::i64(vec![2], vec![2, 3]));
    assert_eq!(out[3], TensorData::i64(vec![2], vec![14, -80]));
}

#[test]
fn a_wrong_input_is_an_error() {
    let mut b = GraphBuilder::new("one");
    b.input("a", &[2]);
    let y = b.op("Relu", &["a"], &[]);
    b.output(&y, &[2]);
    let g = b.build().unwrap();
    let wrong = TensorData::f32(vec![3], vec![1.0, 2.0, 3.0]);
    let e = run_graph(&g, &[("a", wrong)]).unwrap_err();
    assert!(e.to_string().starts_with("onnxruntime: "), "{e}");
    let bad = TensorData::f32(vec![2, 2], vec![1.0]);
    assert!(run_graph(&g, &[("a", bad)]).is_err());
}

#[test]
fn the_joined_vjp_graph_runs_in_onnx_runtime_and_matches_candle() {
    let net = common::tiny_net(9);
    let vjp = srlens_onnx::autodiff::vjp_graph(&net).unwrap_or_else(|e| panic!("{e}"));
    let x = SplitMix64(1).tensor(&[1, 3, 4, 5], 0.0, 1.0);
    let w = SplitMix64(2).tensor(&[1, 3, 8, 10], -1.0, 1.0);
    let cotangent = vjp.inputs[1].name.clone();
    let out = run_graph(
        &vjp,
        &[
            ("x", TensorData::f32(vec![1, 3, 4, 5], x.data.to_vec())),
            (
                &cotangent,
                TensorData::f32(vec![1, 3, 8, 10], w.data.to_vec()),
            ),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let TensorValues::F32(grad) = &out[1].values else {
        panic!("an f32 gradient, not {:?}", out[1].elem_type());
    };
    assert_eq!(out[1].dims, vec![1, 3, 4, 5]);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write(&net, dir.path(), "tiny.onnx");
    let candle = common::candle(&path);
    let want = candle.gradients(&x, &[objective_box(Linear(w))]).unwrap();
    let err = common::rel_max(grad, &want[0].grad.data);
    assert!(err < 1e-5, "VJP graph vs candle: {err}");
}
