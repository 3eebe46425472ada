//! The shape of the generated gradient graphs (their numbers are checked against finite
//! differences in ONNX Runtime by the ort backend's tests): what the forward graph saves,
//! and the errors for graphs without a rule.

use srlens_onnx::autodiff::{gradient_graphs, vjp_graph};
use srlens_onnx::builder::GraphBuilder;
use srlens_onnx::{Attribute, Dim, ElemType, TensorData};

/// x -> Conv 3x3 -> Relu -> Conv 3x3 -> y, with symbolic H and W.
fn conv_relu_conv() -> srlens_onnx::Graph {
    let mut b = GraphBuilder::new("crc");
    let dims = |c: i64| {
        vec![
            Dim::Symbolic("N".into()),
            Dim::Fixed(c),
            Dim::Symbolic("H".into()),
            Dim::Symbolic("W".into()),
        ]
    };
    b.input_dims("x", dims(2));
    b.initializer("w1", TensorData::f32(vec![4, 2, 3, 3], vec![0.1; 72]));
    b.initializer("w2", TensorData::f32(vec![2, 4, 3, 3], vec![-0.1; 72]));
    let pads = [("pads", Attribute::Ints(vec![1, 1, 1, 1]))];
    let c1 = b.op("Conv", &["x", "w1"], &pads);
    let r = b.op("Relu", &[&c1], &[]);
    let c2 = b.op("Conv", &[&r, "w2"], &pads);
    b.output_dims(&c2, dims(2));
    b.build().unwrap()
}

#[test]
fn a_relu_saves_its_mask_not_its_input() {
    let g = gradient_graphs(&conv_relu_conv()).unwrap();
    // The backward pass needs the Relu's mask only: one bool tensor, computed in the forward.
    assert_eq!(g.saved.len(), 1, "saved: {:?}", g.saved);
    let saved = &g.forward.outputs[1];
    assert_eq!(saved.name, g.saved[0]);
    assert_eq!(saved.elem_type, ElemType::Bool);
    assert_eq!(saved.shape.len(), 4);
    // The backward graph: the saved mask and the cotangent in, the input gradient out; its
    // convolutions are the transposed ones written as convolutions with flipped kernels
    // (made from the forward weights), and there is no weight gradient.
    let names: Vec<&str> = g.backward.inputs.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, [g.saved[0].as_str(), g.cotangent.as_str()]);
    assert_eq!(g.backward.outputs[0].name, g.input_gradient);
    let ops: Vec<&str> = g
        .backward
        .nodes
        .iter()
        .map(|n| n.op_type.as_str())
        .collect();
    assert_eq!(ops.iter().filter(|o| **o == "Conv").count(), 2, "{ops:?}");
    assert!(!ops.contains(&"ConvTranspose"), "{ops:?}");
    let flipped: Vec<&Vec<i64>> = g.backward.initializers.values().map(|t| &t.dims).collect();
    assert!(flipped.contains(&&vec![2, 4, 3, 3]) && flipped.contains(&&vec![4, 2, 3, 3]));
}

#[test]
fn the_joined_graph_takes_the_input_and_the_cotangent() {
    let j = vjp_graph(&conv_relu_conv()).unwrap();
    let ins: Vec<&str> = j.inputs.iter().map(|v| v.name.as_str()).collect();
    let outs: Vec<&str> = j.outputs.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(ins, ["x", "Conv_3_grad"]);
    assert_eq!(outs, ["Conv_3", "x_grad"]);
    srlens_onnx::validate(&j).unwrap();
}

#[test]
fn an_operator_without_a_rule_is_named_with_its_node() {
    let mut b = GraphBuilder::new("odd");
    b.input("x", &[1, 1, 4, 4]);
    let y = b.op("LpNormalization", &["x"], &[]);
    b.output(&y, &[1, 1, 4, 4]);
    let e = gradient_graphs(&b.build().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("node `LpNormalization_1` (op `LpNormalization`)"),
        "{e}"
    );
    assert!(
        e.contains("there is no gradient rule for `LpNormalization`"),
        "{e}"
    );
    assert!(e.contains("forward only"), "{e}");
}

#[test]
fn a_constant_branch_needs_no_rule() {
    // An op without a rule on weights only (never on the path from the input) is fine.
    let mut b = GraphBuilder::new("weights");
    b.input("x", &[1, 1, 4, 4]);
    b.initializer("w", TensorData::f32(vec![1, 1, 1, 1], vec![2.0]));
    let w2 = b.op("LpNormalization", &["w"], &[]);
    let y = b.op("Mul", &["x", &w2], &[]);
    b.output(&y, &[1, 1, 4, 4]);
    gradient_graphs(&b.build().unwrap()).unwrap();
}

#[test]
fn old_opsets_are_refused_with_the_fix() {
    let mut b = GraphBuilder::new("old");
    b.opset(11).input("x", &[1, 1, 4, 4]);
    let y = b.op("Relu", &["x"], &[]);
    b.output(&y, &[1, 1, 4, 4]);
    let e = gradient_graphs(&b.build().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("opset 11 is older than 13"), "{e}");
    assert!(e.contains("opset_version=17"), "{e}");
}

#[test]
fn a_network_whose_output_ignores_the_input_has_a_zero_gradient() {
    let mut b = GraphBuilder::new("const");
    b.input("x", &[1, 1, 2, 2]);
    b.initializer("c", TensorData::f32(vec![1, 1, 2, 2], vec![1.0; 4]));
    let y = b.op("Identity", &["c"], &[]);
    b.output(&y, &[1, 1, 2, 2]);
    let g = gradient_graphs(&b.build().unwrap()).unwrap();
    // The zeros are made in the backward pass from the input's shape, which is all it saves.
    let ops: Vec<&str> = g
        .backward
        .nodes
        .iter()
        .map(|n| n.op_type.as_str())
        .collect();
    assert_eq!(ops, ["ConstantOfShape", "Identity"]);
    assert_eq!(g.forward.outputs[1].elem_type, ElemType::I64);
}
