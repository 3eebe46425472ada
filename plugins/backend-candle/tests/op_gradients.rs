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

// The operators of the transformer networks (SwinIR, HAT, DAT as PyTorch exports them).

#[test]
fn softmax_and_log_softmax() {
    for op in ["Softmax", "LogSoftmax"] {
        check(single(op, &[], vec![]), &[2, 3, 4], 60);
        check(
            single(op, &[], vec![("axis", Attribute::Int(1))]),
            &[2, 3, 2, 2],
            61,
        );
    }
    // Before opset 13: over the flattened dimensions from `axis` on.
    let mut g = G::with_opset(11);
    let y = g.op("Softmax", &["x"], vec![("axis", Attribute::Int(1))]);
    check(g.finish(&y), &[2, 3, 4], 62);
}

#[test]
fn layer_and_instance_normalization() {
    let mut rng = Rng(63);
    let (s, b) = (rng.vec32(5, 0.5, 1.5), rng.vec32(5, -0.5, 0.5));
    check(
        single(
            "LayerNormalization",
            &[(&[5], s), (&[5], b)],
            vec![("epsilon", Attribute::Float(1e-5))],
        ),
        &[2, 3, 5],
        64,
    );
    // Over the last three dimensions, without a bias.
    let s = rng.vec32(12, 0.5, 1.5);
    check(
        single(
            "LayerNormalization",
            &[(&[3, 2, 2], s)],
            vec![("axis", Attribute::Int(1))],
        ),
        &[2, 3, 2, 2],
        65,
    );
    let (s, b) = (rng.vec32(3, 0.5, 1.5), rng.vec32(3, -0.5, 0.5));
    check(
        single(
            "InstanceNormalization",
            &[(&[3], s), (&[3], b)],
            vec![("epsilon", Attribute::Float(1e-3))],
        ),
        &[2, 3, 3, 4],
        66,
    );
}

#[test]
fn erf_floor_ceil() {
    check(single("Erf", &[], vec![]), &[2, 3, 4], 67);
    // GELU as the exporter writes it: x * 0.5 * (1 + erf(x / sqrt 2)).
    let mut g = G::new();
    let r2 = g.init(&[], vec![std::f32::consts::SQRT_2]);
    let (one, half) = (g.init(&[], vec![1.0]), g.init(&[], vec![0.5]));
    let d = g.op("Div", &["x", &r2], vec![]);
    let e = g.op("Erf", &[&d], vec![]);
    let a = g.op("Add", &[&e, &one], vec![]);
    let m = g.op("Mul", &["x", &a], vec![]);
    let y = g.op("Mul", &[&m, &half], vec![]);
    check(g.finish(&y), &[2, 3, 4], 68);
    // Piecewise constant: x + floor(3x) has gradient 1, x * ceil(3x) has gradient ceil(3x).
    for op in ["Floor", "Ceil"] {
        let mut g = G::new();
        let three = g.init(&[], vec![3.0]);
        let t = g.op("Mul", &["x", &three], vec![]);
        let f = g.op(op, &[&t], vec![]);
        let y = g.op(
            if op == "Floor" { "Add" } else { "Mul" },
            &["x", &f],
            vec![],
        );
        check(g.finish(&y), &[2, 3, 4], 69);
    }
}

#[test]
fn where_min_max_and_mod() {
    // A LeakyReLU written with a comparison: where(x > 0, x, 0.1 x).
    let mut g = G::new();
    let (zero, tenth) = (g.init(&[], vec![0.0]), g.init(&[], vec![0.1]));
    let c = g.op("Greater", &["x", &zero], vec![]);
    let s = g.op("Mul", &["x", &tenth], vec![]);
    let y = g.op("Where", &[&c, "x", &s], vec![]);
    check(g.finish(&y), &[2, 3, 4], 70);
    // The masked fill of shifted windows: where(mask != 0, -100, x), mask broadcast.
    let mut g = G::new();
    let m = g.init(&[1, 3, 1], vec![0.0, 2.0, 0.0]);
    let zero = g.init(&[], vec![0.0]);
    let fill = g.init(&[], vec![-100.0]);
    let e = g.op("Equal", &[&m, &zero], vec![]);
    let ne = g.op("Not", &[&e], vec![]);
    let y = g.op("Where", &[&ne, &fill, "x"], vec![]);
    check(g.finish(&y), &[2, 3, 4], 71);
    // Min and Max against a constant and against a function of x.
    let c = Rng(72).vec32(4, -0.5, 0.5);
    check(single("Max", &[(&[4], c.clone())], vec![]), &[2, 3, 4], 73);
    let mut g = G::new();
    let k = g.init(&[4], c);
    let (half, two) = (g.init(&[], vec![0.5]), g.init(&[], vec![2.0]));
    let h = g.op("Mul", &["x", &half], vec![]);
    let t = g.op("Mul", &["x", &two], vec![]);
    let y = g.op("Min", &["x", &h, &t, &k], vec![]);
    check(g.finish(&y), &[2, 3, 4], 74);
    // Float Mod, both conventions: gradient 1 in the dividend, -q in the divisor.
    for fmod in [0, 1] {
        let mut g = G::new();
        let d = g.init(&[4], vec![0.3, -0.45, 0.7, -0.25]);
        let y = g.op("Mod", &["x", &d], vec![("fmod", Attribute::Int(fmod))]);
        check(g.finish(&y), &[2, 3, 4], 75);
        let mut g = G::new();
        let n = g.init(&[4], vec![1.3, -2.45, 3.7, -0.9]);
        let three = g.init(&[], vec![3.0]);
        let b = g.op("Add", &["x", &three], vec![]);
        let y = g.op("Mod", &[&n, &b], vec![("fmod", Attribute::Int(fmod))]);
        check(g.finish(&y), &[2, 3, 4], 76);
    }
}

#[test]
fn expand_and_scatter_nd() {
    let mut g = G::new();
    let s = g.init_i64(&[2, 4, 3]);
    let y = g.op("Expand", &["x", &s], vec![]);
    check(g.finish(&y), &[2, 1, 3], 77);
    // Rows 2 and 0 of x replaced by twice rows 1 and 3: the gradient reaches rows 1 and 3
    // through the updates (times 2) and rows 1 and 3 of the data, never rows 0 and 2.
    let mut g = G::new();
    let rows = g.init_i64_shaped(&[2, 1], &[2, 0]);
    let from = g.init_i64(&[1, 3]);
    let two = g.init(&[], vec![2.0]);
    let u = g.op("Gather", &["x", &from], vec![("axis", Attribute::Int(0))]);
    let u2 = g.op("Mul", &[&u, &two], vec![]);
    let y = g.op("ScatterND", &["x", &rows, &u2], vec![]);
    check(g.finish(&y), &[4, 3, 5], 78);
    // A window mask: zeros with single elements written from x (indices of depth 4).
    let mut g = G::new();
    let z = g.init(&[1, 4, 5, 1], vec![0.0; 20]);
    let idx = g.init_i64_shaped(&[1, 2, 1, 1, 4], &[0, 1, 2, 0, 0, 3, 4, 0]);
    let y = g.op("ScatterND", &[&z, &idx, "x"], vec![]);
    check(g.finish(&y), &[1, 2, 1, 1], 79);
}

#[test]
fn norms_and_extrema() {
    for op in [
        "ReduceL2",
        "ReduceL1",
        "ReduceSumSquare",
        "ReduceMax",
        "ReduceMin",
    ] {
        check(single(op, &[], vec![("axes", ints(&[-1]))]), &[2, 3, 4], 80);
        let mut g = G::new();
        let a = g.init_i64(&[0, 2]);
        let y = g.op(op, &["x", &a], vec![("keepdims", Attribute::Int(0))]);
        check(g.finish(&y), &[2, 3, 4], 81);
    }
    // DAT's normalisation: x / max(||x||, eps) along the last axis.
    let mut g = G::new();
    let n = g.op(
        "ReduceL2",
        &["x"],
        vec![("axes", ints(&[-1])), ("keepdims", Attribute::Int(1))],
    );
    let eps = g.init(&[], vec![1e-12]);
    let c = g.op("Clip", &[&n, &eps], vec![]);
    let s = g.op("Shape", &["x"], vec![]);
    let e = g.op("Expand", &[&c, &s], vec![]);
    let y = g.op("Div", &["x", &e], vec![]);
    check(g.finish(&y), &[2, 2, 3, 5], 82);
}

#[test]
fn gathers_with_index_matrices_and_batched_products() {
    // HAT's unfold as a Gather of a float tensor with an index matrix (a repeated index).
    let mut g = G::new();
    let idx = g.init_i64_shaped(&[2, 3], &[0, 5, -1, 2, 2, 3]);
    let y = g.op("Gather", &["x", &idx], vec![("axis", Attribute::Int(2))]);
    check(g.finish(&y), &[2, 3, 6, 4], 83);
    // A relative position bias table looked up by an index matrix.
    let mut g = G::new();
    let idx = g.init_i64_shaped(&[2, 3], &[0, 1, 14, 7, 7, 3]);
    let y = g.op("Gather", &["x", &idx], vec![]);
    check(g.finish(&y), &[15, 3], 84);
    // Rank 4 against a matrix, against its own transpose, and against a rank-3 batch.
    let w = Rng(85).vec32(5 * 6, -1.0, 1.0);
    check(single("MatMul", &[(&[5, 6], w)], vec![]), &[2, 3, 4, 5], 86);
    let mut g = G::new();
    let t = g.op("Transpose", &["x"], vec![("perm", ints(&[0, 1, 3, 2]))]);
    let y = g.op("MatMul", &["x", &t], vec![]);
    check(g.finish(&y), &[2, 3, 4, 5], 87);
    let w = Rng(88).vec32(3 * 5 * 6, -1.0, 1.0);
    check(
        single("MatMul", &[(&[3, 5, 6], w)], vec![]),
        &[2, 1, 4, 5],
        89,
    );
}

#[test]
fn window_attention_block() {
    // softmax(q k^T * scale + bias[index]) v with q, k, v from a layer-normalised x, as in a
    // Swin block (one window of 4 tokens, 2 heads of 3 channels).
    let mut rng = Rng(90);
    let mut g = G::new();
    let (ln_s, ln_b) = (
        g.init(&[6], rng.vec32(6, 0.5, 1.5)),
        g.init(&[6], rng.vec32(6, -0.2, 0.2)),
    );
    let wqkv = g.init(&[6, 18], rng.vec32(6 * 18, -0.5, 0.5));
    let table = g.init(&[7, 2], rng.vec32(14, -1.0, 1.0));
    let index = g.init_i64_shaped(&[16], &[3, 2, 1, 0, 4, 3, 2, 1, 5, 4, 3, 2, 6, 5, 4, 3]);
    let ln = g.op("LayerNormalization", &["x", &ln_s, &ln_b], vec![]);
    let qkv = g.op("MatMul", &[&ln, &wqkv], vec![]);
    let shape = g.init_i64(&[1, 4, 3, 2, 3]);
    let r = g.op("Reshape", &[&qkv, &shape], vec![]);
    let p = g.op("Transpose", &[&r], vec![("perm", ints(&[2, 0, 3, 1, 4]))]);
    let pick = |g: &mut G, i: i64| {
        let k = g.init_i64_shaped(&[], &[i]);
        g.op("Gather", &[&p, &k], vec![("axis", Attribute::Int(0))])
    };
    let (q, k, v) = (pick(&mut g, 0), pick(&mut g, 1), pick(&mut g, 2));
    let kt = g.op("Transpose", &[&k], vec![("perm", ints(&[0, 1, 3, 2]))]);
    let scale = g.init(&[], vec![0.577]);
    let qs = g.op("Mul", &[&q, &scale], vec![]);
    let a = g.op("MatMul", &[&qs, &kt], vec![]);
    let bias = g.op("Gather", &[&table, &index], vec![]);
    let bshape = g.init_i64(&[4, 4, 2]);
    let b = g.op("Reshape", &[&bias, &bshape], vec![]);
    let bt = g.op("Transpose", &[&b], vec![("perm", ints(&[2, 0, 1]))]);
    let ab = g.op("Add", &[&a, &bt], vec![]);
    let s = g.op("Softmax", &[&ab], vec![("axis", Attribute::Int(-1))]);
    let y = g.op("MatMul", &[&s, &v], vec![]);
    check(g.finish(&y), &[1, 4, 6], 91);
}

/// A node with several outputs (`Split`); returns their names.
fn multi(
    g: &mut G,
    op: &str,
    inputs: &[&str],
    n: usize,
    attrs: Vec<(&str, Attribute)>,
) -> Vec<String> {
    let first = g.op(op, inputs, attrs);
    let outs: Vec<String> = (0..n).map(|k| format!("{first}_{k}")).collect();
    let node = g.graph.nodes.last_mut().unwrap();
    node.outputs = outs.clone();
    outs
}

/// The operators of the generated gradient graphs (`srlens gradient-graph`): Split at a
/// sizes input (an empty part among them) and into `num_outputs` uneven parts, variadic
/// broadcasting Sum, CastLike between floats.
#[test]
fn split_sum_and_cast_like() {
    let mut g = G::new();
    let sizes = g.init_i64(&[3, 0, 4]);
    let p = multi(
        &mut g,
        "Split",
        &["x", &sizes],
        3,
        vec![("axis", Attribute::Int(1))],
    );
    let two = g.init(&[], vec![2.0]);
    let a2 = g.op("Mul", &[&p[0], &two], vec![]);
    let c2 = g.op("Mul", &[&p[2], &p[2]], vec![]);
    let y = g.op(
        "Concat",
        &[&c2, &a2, &p[1]],
        vec![("axis", Attribute::Int(1))],
    );
    check(g.finish(&y), &[2, 7, 3], 92);

    let mut g = G::with_opset(18);
    let p = multi(
        &mut g,
        "Split",
        &["x"],
        3,
        vec![
            ("axis", Attribute::Int(-1)),
            ("num_outputs", Attribute::Int(3)),
        ],
    );
    let sq = g.op("Mul", &[&p[1], &p[1]], vec![]);
    let y = g.op(
        "Concat",
        &[&p[2], &sq, &p[0]],
        vec![("axis", Attribute::Int(-1))],
    );
    check(g.finish(&y), &[2, 8], 93);

    let mut g = G::new();
    let sq = g.op("Mul", &["x", "x"], vec![]);
    let c = g.init(&[3], vec![0.5, -1.0, 2.0]);
    let cx = g.op("Mul", &["x", &c], vec![]);
    let y = g.op("Sum", &["x", &sq, &c, &cx], vec![]);
    check(g.finish(&y), &[2, 3], 94);

    let mut g = G::new();
    let like = g.init(&[1], vec![0.0]);
    let sq = g.op("Mul", &["x", "x"], vec![]);
    let y = g.op("CastLike", &[&sq, &like], vec![]);
    check(g.finish(&y), &[2, 3], 95);
}

/// ScatterElements (a Slice's cotangent written into zeros; x as data and as updates; `add`
/// with repeated indices) and ScatterND with `add` (a Gather's cotangent).
#[test]
fn scatter_elements_and_scatter_nd_add() {
    // x [2, 3, 5]: rows 4 and 1 (or 0 and 2, -1 = 4...) of each column replaced by three times
    // rows 0 and 1 of x; the replaced entries of the data get no gradient.
    let idx: Vec<i64> = [4, 1, 0, 2, -1, 3, 2, 0, 1, -2, 3, 4]
        .iter()
        .flat_map(|&v| [v, v])
        .collect();
    let mut g = G::new();
    let idx = g.init_i64_shaped(&[2, 3, 2, 2], &idx[..24]);
    let (s, e, ax) = (g.init_i64(&[0]), g.init_i64(&[2]), g.init_i64(&[2]));
    let head = g.op("Slice", &["x", &s, &e, &ax], vec![]);
    let three = g.init(&[], vec![3.0]);
    let u = g.op("Mul", &[&head, &three], vec![]);
    let y = g.op(
        "ScatterElements",
        &["x", &idx, &u],
        vec![("axis", Attribute::Int(2))],
    );
    check(g.finish(&y), &[2, 3, 5, 2], 96);

    // The slice cotangent: zeros with x written at columns 1, 3, 5 of 8.
    let mut g = G::new();
    let z = g.init(&[1, 2, 3, 8], vec![0.0; 48]);
    let cols: Vec<i64> = (0..6).flat_map(|_| [1, 3, 5]).collect();
    let idx = g.init_i64_shaped(&[1, 2, 3, 3], &cols);
    let y = g.op(
        "ScatterElements",
        &[&z, &idx, "x"],
        vec![("axis", Attribute::Int(3))],
    );
    check(g.finish(&y), &[1, 2, 3, 3], 97);

    // `add` with repeated indices: every update reaches the output.
    let mut g = G::new();
    let idx = g.init_i64_shaped(&[2, 4], &[0, 0, 5, 0, 1, 1, 1, 2]);
    let (s, e, ax) = (g.init_i64(&[0]), g.init_i64(&[4]), g.init_i64(&[1]));
    let head = g.op("Slice", &["x", &s, &e, &ax], vec![]);
    let u = g.op("Mul", &[&head, &head], vec![]);
    let y = g.op(
        "ScatterElements",
        &["x", &idx, &u],
        vec![
            ("axis", Attribute::Int(1)),
            ("reduction", Attribute::String("add".into())),
        ],
    );
    check(g.finish(&y), &[2, 6], 98);

    // ScatterND add: rows of x into zeros, row 2 twice.
    let mut g = G::new();
    let z = g.init(&[6, 2, 3], vec![0.0; 36]);
    let idx = g.init_i64_shaped(&[5, 1], &[2, 0, 2, 5, 2]);
    let add = vec![("reduction", Attribute::String("add".into()))];
    let y = g.op("ScatterND", &[&z, &idx, "x"], add.clone());
    check(g.finish(&y), &[5, 2, 3], 99);
    // ... and into x itself, the updates twice rows 1, 3, 1 of x.
    let mut g = G::new();
    let idx = g.init_i64_shaped(&[3, 1], &[2, 0, 2]);
    let from = g.init_i64(&[1, 3, 1]);
    let two = g.init(&[], vec![2.0]);
    let rows = g.op("Gather", &["x", &from], vec![("axis", Attribute::Int(0))]);
    let u = g.op("Mul", &[&rows, &two], vec![]);
    let y = g.op("ScatterND", &["x", &idx, &u], add);
    check(g.finish(&y), &[4, 3, 5], 100);
}

/// ReduceProd over one axis (attribute), two axes (input, opset 18) and everything.
#[test]
fn reduce_prod() {
    check(
        single("ReduceProd", &[], vec![("axes", ints(&[-1]))]),
        &[2, 3, 4],
        101,
    );
    let mut g = G::with_opset(18);
    let a = g.init_i64(&[0, 2]);
    let y = g.op(
        "ReduceProd",
        &["x", &a],
        vec![("keepdims", Attribute::Int(0))],
    );
    check(g.finish(&y), &[2, 3, 4], 102);
    check(
        single("ReduceProd", &[], vec![("keepdims", Attribute::Int(0))]),
        &[2, 3],
        103,
    );
}
