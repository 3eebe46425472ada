//! Each operator's input gradient (candle autograd through the interpreter, F64) against
//! central finite differences.

mod common;

use common::{check_gradient, ints, Rng, G};
use srlens_onnx::Attribute;

const TOL: f64 = 1e-6;

fn shape_len(s: &[usize]) -> usize {
    s.iter().product()
}

/// A single-op graph on `x` with extra constant inputs.
fn single(
    op: &str,
    extra: &[(&[i64], Vec<f32>)],
    attrs: Vec<(&str, Attribute)>,
) -> srlens_onnx::Graph {
    let mut g = G::new();
    let mut names = vec!["x".to_string()];
    for (dims, v) in extra {
        names.push(g.init(dims, v.clone()));
    }
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let y = g.op(op, &refs, attrs);
    g.finish(&y)
}

fn check(graph: srlens_onnx::Graph, shape: &[usize], seed: u64) {
    let x = Rng(seed).signed(shape_len(shape));
    check_gradient(graph, shape, &x, seed + 1, TOL);
}

fn conv_case(x: &[usize], w: &[i64], attrs: Vec<(&str, Attribute)>, seed: u64) {
    let mut rng = Rng(seed);
    let n = w.iter().product::<i64>() as usize;
    let wv = rng.vec32(n, -0.5, 0.5);
    let b = rng.vec32(w[0] as usize, -0.1, 0.1);
    let g = single("Conv", &[(w, wv), (&[w[0]], b)], attrs);
    check(g, x, seed + 7);
}

#[test]
fn conv_same_padding() {
    conv_case(
        &[2, 3, 6, 5],
        &[4, 3, 3, 3],
        vec![("pads", ints(&[1, 1, 1, 1]))],
        1,
    );
}

#[test]
fn conv_asymmetric_padding_stride_2() {
    conv_case(
        &[1, 2, 7, 6],
        &[3, 2, 3, 2],
        vec![("pads", ints(&[1, 0, 0, 1])), ("strides", ints(&[2, 2]))],
        2,
    );
}

#[test]
fn conv_dilation_and_groups() {
    conv_case(
        &[1, 4, 7, 7],
        &[6, 2, 3, 3],
        vec![
            ("pads", ints(&[2, 2, 2, 2])),
            ("dilations", ints(&[2, 2])),
            ("group", Attribute::Int(2)),
        ],
        3,
    );
}

#[test]
fn conv_auto_pad_same_upper_stride_2_and_valid() {
    conv_case(
        &[1, 2, 6, 5],
        &[2, 2, 3, 3],
        vec![
            ("auto_pad", Attribute::String("SAME_UPPER".into())),
            ("strides", ints(&[2, 2])),
        ],
        4,
    );
    conv_case(
        &[1, 2, 5, 5],
        &[2, 2, 2, 2],
        vec![("auto_pad", Attribute::String("VALID".into()))],
        5,
    );
}

#[test]
fn conv_transpose_stride_pads_output_padding() {
    let mut rng = Rng(6);
    let w = rng.vec32(2 * 3 * 3 * 3, -0.5, 0.5);
    let g = single(
        "ConvTranspose",
        &[(&[2, 3, 3, 3], w), (&[3], vec![0.1, -0.2, 0.3])],
        vec![
            ("strides", ints(&[2, 2])),
            ("pads", ints(&[1, 0, 1, 1])),
            ("output_padding", ints(&[1, 0])),
        ],
    );
    check(g, &[1, 2, 4, 3], 7);
    let w = rng.vec32(2 * 2 * 2 * 2, -0.5, 0.5);
    let g = single(
        "ConvTranspose",
        &[(&[2, 2, 2, 2], w)],
        vec![("dilations", ints(&[2, 2]))],
    );
    check(g, &[2, 2, 3, 3], 8);
}

#[test]
fn activations() {
    for op in ["Relu", "Sigmoid", "Tanh", "Exp", "Neg", "Abs"] {
        check(single(op, &[], vec![]), &[1, 2, 3, 3], 10);
    }
    check(
        single("LeakyRelu", &[], vec![("alpha", Attribute::Float(0.2))]),
        &[1, 2, 3, 3],
        11,
    );
    check(
        single("PRelu", &[(&[2, 1, 1], vec![0.1, 0.3])], vec![]),
        &[2, 2, 3, 3],
        12,
    );
    check(
        single("Clip", &[(&[], vec![-0.5]), (&[], vec![0.6])], vec![]),
        &[1, 2, 3, 3],
        13,
    );
}

#[test]
fn positive_domain_functions() {
    for (op, extra) in [
        ("Sqrt", vec![]),
        ("Reciprocal", vec![]),
        ("Pow", vec![3.0f32]),
    ] {
        let consts: Vec<(&[i64], Vec<f32>)> = if extra.is_empty() {
            vec![]
        } else {
            vec![(&[] as &[i64], extra)]
        };
        let g = single(op, &consts, vec![]);
        let x = Rng(14).vec(12, 0.3, 1.5);
        check_gradient(g, &[1, 3, 2, 2], &x, 15, TOL);
    }
}

#[test]
fn broadcasting_arithmetic() {
    let mut rng = Rng(16);
    for op in ["Add", "Sub", "Mul", "Div"] {
        let c = rng.vec(3, 0.5, 1.5).into_iter().map(|v| v as f32).collect();
        check(single(op, &[(&[3, 1, 1], c)], vec![]), &[2, 3, 2, 2], 17);
    }
    // x * x and x / (x + 2): gradients flow through both operands.
    let mut g = G::new();
    let sq = g.op("Mul", &["x", "x"], vec![]);
    let two = g.init(&[1], vec![2.0]);
    let den = g.op("Add", &["x", &two], vec![]);
    let q = g.op("Div", &[&sq, &den], vec![]);
    check(g.finish(&q), &[1, 2, 2, 2], 18);
}

#[test]
fn concat_and_shuffles() {
    let c = Rng(19).vec32(2 * 2 * 2, -1.0, 1.0);
    check(
        single(
            "Concat",
            &[(&[1, 2, 2, 2], c)],
            vec![("axis", Attribute::Int(1))],
        ),
        &[1, 3, 2, 2],
        20,
    );
    for mode in ["DCR", "CRD"] {
        let g = single(
            "DepthToSpace",
            &[],
            vec![
                ("blocksize", Attribute::Int(2)),
                ("mode", Attribute::String(mode.into())),
            ],
        );
        check(g, &[2, 8, 2, 3], 21);
    }
    check(
        single("SpaceToDepth", &[], vec![("blocksize", Attribute::Int(2))]),
        &[1, 2, 4, 6],
        22,
    );
}

#[test]
fn resize_and_upsample_nearest() {
    // Integer scales (the reshape + broadcast path) with scales and with sizes.
    let mut g = G::new();
    let roi = g.init(&[0], vec![]);
    let scales = g.init(&[4], vec![1.0, 1.0, 2.0, 3.0]);
    let y = g.op(
        "Resize",
        &["x", &roi, &scales],
        vec![("mode", Attribute::String("nearest".into()))],
    );
    check(g.finish(&y), &[1, 2, 3, 2], 23);
    let mut g = G::new();
    let sizes = g.init_i64(&[1, 2, 5, 7]);
    let y = g.op(
        "Resize",
        &["x", "", "", &sizes],
        vec![
            (
                "coordinate_transformation_mode",
                Attribute::String("asymmetric".into()),
            ),
            ("nearest_mode", Attribute::String("floor".into())),
        ],
    );
    // Non-integer factors (the index-selection path).
    check(g.finish(&y), &[1, 2, 3, 4], 24);
    let mut g = G::with_opset(9);
    let scales = g.init(&[4], vec![1.0, 1.0, 2.0, 2.0]);
    let y = g.op("Upsample", &["x", &scales], vec![]);
    check(g.finish(&y), &[1, 2, 3, 3], 25);
}

#[test]
fn shape_ops() {
    let mut g = G::new();
    let s = g.init_i64(&[0, -1]);
    let y = g.op("Reshape", &["x", &s], vec![]);
    check(g.finish(&y), &[2, 3, 2, 2], 26);
    check(
        single("Transpose", &[], vec![("perm", ints(&[0, 2, 3, 1]))]),
        &[1, 2, 3, 2],
        27,
    );
    check(
        single("Flatten", &[], vec![("axis", Attribute::Int(2))]),
        &[1, 2, 3, 2],
        28,
    );
    let mut g = G::new();
    let (st, en, ax, sp) = (
        g.init_i64(&[1, -1]),
        g.init_i64(&[4, 0]),
        g.init_i64(&[2, 3]),
        g.init_i64(&[2, -2]),
    );
    let y = g.op("Slice", &["x", &st, &en, &ax, &sp], vec![]);
    check(g.finish(&y), &[1, 2, 5, 5], 29);
    let mut g = G::new();
    let idx = g.init_i64(&[2, 0, -1]);
    let y = g.op("Gather", &["x", &idx], vec![("axis", Attribute::Int(1))]);
    check(g.finish(&y), &[1, 4, 2, 2], 30);
    let mut g = G::new();
    let a = g.init_i64(&[0]);
    let u = g.op("Unsqueeze", &["x", &a], vec![]);
    let b = g.init_i64(&[0]);
    let y = g.op("Squeeze", &[&u, &b], vec![]);
    check(g.finish(&y), &[2, 3, 2], 31);
    let mut g = G::new();
    let a = g.init_i64(&[0, 0, 1, 2, 0, 0, 3, 1]);
    let p = g.op(
        "Pad",
        &["x", &a],
        vec![("mode", Attribute::String("reflect".into()))],
    );
    let p2 = g.init_i64(&[0, 0, 1, 0, 0, 0, 0, 2]);
    let y = g.op(
        "Pad",
        &[&p, &p2],
        vec![("mode", Attribute::String("edge".into()))],
    );
    let _ = a;
    check(g.finish(&y), &[1, 1, 4, 4], 32);
}

#[test]
fn pad_constant_value() {
    let mut g = G::new();
    let p = g.init_i64(&[0, 0, 1, 2, 0, 0, 2, 1]);
    let v = g.init(&[], vec![0.5]);
    let y = g.op("Pad", &["x", &p, &v], vec![]);
    check(g.finish(&y), &[1, 2, 3, 3], 33);
}

#[test]
fn reductions_and_products() {
    check(single("GlobalAveragePool", &[], vec![]), &[2, 3, 3, 2], 34);
    let mut g = G::new();
    let a = g.init_i64(&[2, 3]);
    let y = g.op(
        "ReduceSum",
        &["x", &a],
        vec![("keepdims", Attribute::Int(0))],
    );
    check(g.finish(&y), &[1, 2, 3, 3], 35);
    check(
        single("ReduceMean", &[], vec![("axes", ints(&[-1]))]),
        &[1, 2, 3, 3],
        36,
    );
    let w = Rng(37).vec32(4 * 3, -1.0, 1.0);
    check(
        single("MatMul", &[(&[4, 3], w.clone())], vec![]),
        &[2, 2, 4],
        38,
    );
    let c = Rng(39).vec32(3, -1.0, 1.0);
    let g = single(
        "Gemm",
        &[(&[3, 4], w), (&[3], c)],
        vec![
            ("transB", Attribute::Int(1)),
            ("alpha", Attribute::Float(0.5)),
        ],
    );
    check(g, &[2, 4], 40);
    let p = |v: [f32; 2]| (&[2i64][..], v.to_vec());
    let g = single(
        "BatchNormalization",
        &[p([1.5, 0.5]), p([0.1, -0.2]), p([0.3, -0.1]), p([2.0, 0.5])],
        vec![],
    );
    check(g, &[2, 2, 2, 2], 41);
}

#[test]
fn channel_attention_block() {
    // x * sigmoid(conv(relu(conv(gap(x))))): the gradient flows through both branches.
    let mut rng = Rng(42);
    let mut g = G::new();
    let w1 = g.init(&[2, 4, 1, 1], rng.vec32(8, -1.0, 1.0));
    let w2 = g.init(&[4, 2, 1, 1], rng.vec32(8, -1.0, 1.0));
    let p = g.op("GlobalAveragePool", &["x"], vec![]);
    let a = g.op("Conv", &[&p, &w1], vec![]);
    let r = g.op("Relu", &[&a], vec![]);
    let b = g.op("Conv", &[&r, &w2], vec![]);
    let s = g.op("Sigmoid", &[&b], vec![]);
    let y = g.op("Mul", &["x", &s], vec![]);
    check(g.finish(&y), &[2, 4, 3, 3], 43);
}

#[test]
fn unequal_strides_and_grouped_conv_transpose() {
    conv_case(
        &[1, 2, 7, 6],
        &[2, 2, 3, 3],
        vec![("strides", ints(&[2, 1])), ("pads", ints(&[1, 1, 1, 1]))],
        50,
    );
    let w = Rng(51).vec32(4 * 3 * 2, -0.5, 0.5);
    let g = single(
        "ConvTranspose",
        &[(&[4, 1, 3, 2], w)],
        vec![
            ("strides", ints(&[3, 2])),
            ("group", Attribute::Int(2)),
            ("output_shape", ints(&[10, 8])),
        ],
    );
    check(g, &[1, 4, 3, 3], 52);
}
