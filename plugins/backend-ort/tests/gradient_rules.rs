//! Every gradient rule against central finite differences in float64 on small random inputs
//! (issue 11): the generated VJP graph runs in ONNX Runtime, the reference forward in
//! candle's F64 interpreter (or ONNX Runtime in DOUBLE for operators candle lacks).

mod fd;

use fd::{check, check_against, values, Reference};
use srlens_onnx::builder::GraphBuilder;
use srlens_onnx::{Attribute, Dim, Graph, TensorData};

/// The tolerance: float32 backward against float64 differences.
const RTOL: f64 = 1e-4;

/// A graph of input `x` (fixed `dims`) built by `body`, which returns the output's name.
/// The output is declared with free dimensions of the input's rank, or of `out_rank`.
fn net(dims: &[i64], body: impl FnOnce(&mut GraphBuilder) -> String) -> Graph {
    net_r(dims, dims.len(), body)
}

/// [`net`] with an output of rank `out_rank`.
fn net_r(dims: &[i64], out_rank: usize, body: impl FnOnce(&mut GraphBuilder) -> String) -> Graph {
    let mut b = GraphBuilder::new("rule");
    b.input("x", dims);
    let y = body(&mut b);
    b.output_dims(&y, vec![Dim::Symbolic(String::new()); out_rank]);
    b.build().unwrap()
}

/// A float constant of `dims` with random values in `[lo, hi)`.
fn weight(b: &mut GraphBuilder, name: &str, dims: &[i64], seed: u64, lo: f64, hi: f64) -> String {
    let n = dims.iter().product::<i64>() as usize;
    let v = values(n, seed, lo, hi).iter().map(|&x| x as f32).collect();
    b.initializer(name, TensorData::f32(dims.to_vec(), v));
    name.to_string()
}

fn ints(b: &mut GraphBuilder, name: &str, v: &[i64]) -> String {
    b.initializer(name, TensorData::i64(vec![v.len() as i64], v.to_vec()));
    name.to_string()
}

/// Checks `graph` at a random input in `[lo, hi)`.
fn assert_rule(what: &str, graph: &Graph, dims: &[i64], lo: f64, hi: f64) {
    let n = dims.iter().product::<i64>() as usize;
    let x = values(n, 3, lo, hi);
    let c = check(graph, &x, dims, 400).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        c.relative < RTOL,
        "{what}: gradient off by {:.2e} (relative, {} elements)",
        c.relative,
        c.elements
    );
}

fn conv_attrs(
    strides: i64,
    dil: i64,
    group: i64,
    pads: [i64; 4],
) -> Vec<(&'static str, Attribute)> {
    vec![
        ("strides", Attribute::Ints(vec![strides, strides])),
        ("dilations", Attribute::Ints(vec![dil, dil])),
        ("group", Attribute::Int(group)),
        ("pads", Attribute::Ints(pads.to_vec())),
    ]
}

#[test]
fn conv_strided_dilated_grouped_and_padded() {
    for (s, d, g, pads, side) in [
        (1, 1, 1, [1, 1, 1, 1], 5),
        (2, 1, 1, [1, 1, 1, 1], 7),
        (2, 1, 1, [0, 1, 2, 0], 8),
        (3, 1, 1, [0, 0, 0, 0], 8),
        (1, 2, 1, [2, 2, 2, 2], 6),
        (1, 1, 2, [1, 0, 1, 0], 5),
        (2, 2, 2, [1, 1, 1, 1], 9),
    ] {
        let graph = net(&[1, 4, side, side], |b| {
            let w = weight(b, "w", &[6, 4 / g, 3, 3], 11, -1.0, 1.0);
            let bias = weight(b, "bias", &[6], 12, -1.0, 1.0);
            b.op("Conv", &["x", &w, &bias], &conv_attrs(s, d, g, pads))
        });
        assert_rule(
            &format!("Conv s{s} d{d} g{g} {pads:?} on {side}"),
            &graph,
            &[1, 4, side, side],
            -1.0,
            1.0,
        );
    }
}

#[test]
fn conv_transpose_strided_grouped_with_output_padding() {
    for (s, g, op) in [(1, 1, 0), (2, 1, 1), (2, 2, 0), (3, 1, 2)] {
        let graph = net(&[1, 4, 4, 5], |b| {
            let w = weight(b, "w", &[4, 6 / g, 3, 3], 13, -1.0, 1.0);
            let mut attrs = conv_attrs(s, 1, g, [1, 0, 0, 1]);
            attrs.push(("output_padding", Attribute::Ints(vec![op, op])));
            b.op("ConvTranspose", &["x", &w], &attrs)
        });
        assert_rule(
            &format!("ConvTranspose s{s} g{g} op{op}"),
            &graph,
            &[1, 4, 4, 5],
            -1.0,
            1.0,
        );
    }
}

#[test]
fn broadcasting_arithmetic_with_both_operands_from_the_input() {
    for op in ["Add", "Sub", "Mul", "Div"] {
        // b = mean over H, W: [1, 3, 1, 1], broadcast against x [1, 3, 4, 5]; and a
        // constant broadcast from the left ([5]).
        let graph = net(&[1, 3, 4, 5], |b| {
            let m = b.op(
                "ReduceMean",
                &["x"],
                &[
                    ("axes", Attribute::Ints(vec![2, 3])),
                    ("keepdims", Attribute::Int(1)),
                ],
            );
            let z = b.op(op, &["x", &m], &[]);
            let z2 = b.op(op, &[&m, &z], &[]);
            let c = weight(b, "c", &[5], 5, 0.5, 1.5);
            b.op(op, &[&z2, &c], &[])
        });
        assert_rule(op, &graph, &[1, 3, 4, 5], 0.5, 1.5);
    }
    // Pow with a constant exponent.
    let graph = net_r(&[2, 3], 2, |b| {
        let p = weight(b, "p", &[3], 6, 1.5, 2.5);
        b.op("Pow", &["x", &p], &[])
    });
    assert_rule("Pow", &graph, &[2, 3], 0.5, 1.5);
}

#[test]
fn activations_and_elementwise_functions() {
    for (op, lo, hi) in [
        ("Relu", -1.0, 1.0),
        ("LeakyRelu", -1.0, 1.0),
        ("Sigmoid", -3.0, 3.0),
        ("Tanh", -2.0, 2.0),
        ("Exp", -1.0, 1.0),
        ("Sqrt", 0.5, 2.0),
        ("Reciprocal", 0.5, 2.0),
        ("Abs", -1.0, 1.0),
        ("Neg", -1.0, 1.0),
        ("Identity", -1.0, 1.0),
    ] {
        let graph = net(&[1, 2, 3, 3], |b| {
            let attrs = if op == "LeakyRelu" {
                vec![("alpha", Attribute::Float(0.2))]
            } else {
                vec![]
            };
            b.op(op, &["x"], &attrs)
        });
        assert_rule(op, &graph, &[1, 2, 3, 3], lo, hi);
    }
    // Neither candle nor ONNX Runtime has a DOUBLE Erf: the reference is libm's.
    let graph = net(&[1, 2, 3, 3], |b| b.op("Erf", &["x"], &[]));
    let x = values(18, 3, -2.0, 2.0);
    let erf = |x: &[f64]| x.iter().map(|&v| libm::erf(v)).collect();
    let c = check_against(&graph, Reference::Function(erf), &x, &[1, 2, 3, 3], 400).unwrap();
    assert!(c.relative < RTOL, "Erf: off by {:.2e}", c.relative);
    let graph = net(&[1, 3, 2, 2], |b| {
        let slope = weight(b, "slope", &[3, 1, 1], 9, 0.1, 0.5);
        b.op("PRelu", &["x", &slope], &[])
    });
    assert_rule("PRelu", &graph, &[1, 3, 2, 2], -1.0, 1.0);
    let graph = net(&[1, 3, 2, 2], |b| {
        let lo = weight(b, "lo", &[], 1, -0.5, -0.4);
        let hi = weight(b, "hi", &[], 1, 0.4, 0.5);
        b.op("Clip", &["x", &lo, &hi], &[])
    });
    assert_rule("Clip", &graph, &[1, 3, 2, 2], -1.0, 1.0);
}

#[test]
fn pixel_shuffles_in_both_modes_and_space_to_depth() {
    for mode in ["DCR", "CRD"] {
        let graph = net(&[1, 8, 2, 3], |b| {
            b.op(
                "DepthToSpace",
                &["x"],
                &[
                    ("blocksize", Attribute::Int(2)),
                    ("mode", Attribute::String(mode.into())),
                ],
            )
        });
        assert_rule(
            &format!("DepthToSpace {mode}"),
            &graph,
            &[1, 8, 2, 3],
            -1.0,
            1.0,
        );
    }
    let graph = net(&[1, 2, 4, 6], |b| {
        b.op("SpaceToDepth", &["x"], &[("blocksize", Attribute::Int(2))])
    });
    assert_rule("SpaceToDepth", &graph, &[1, 2, 4, 6], -1.0, 1.0);
}

#[test]
fn nearest_resizing_by_whole_factors() {
    for (ctm, nm, s) in [
        ("asymmetric", "floor", 2.0),
        ("half_pixel", "round_prefer_floor", 2.0),
        ("half_pixel", "round_prefer_floor", 3.0),
        ("pytorch_half_pixel", "round_prefer_ceil", 4.0),
    ] {
        let graph = net(&[1, 2, 3, 4], |b| {
            b.initializer("scales", TensorData::f32(vec![4], vec![1.0, 1.0, s, s]));
            b.op(
                "Resize",
                &["x", "", "scales"],
                &[
                    ("mode", Attribute::String("nearest".into())),
                    (
                        "coordinate_transformation_mode",
                        Attribute::String(ctm.into()),
                    ),
                    ("nearest_mode", Attribute::String(nm.into())),
                ],
            )
        });
        assert_rule(
            &format!("Resize {ctm} {nm} x{s}"),
            &graph,
            &[1, 2, 3, 4],
            -1.0,
            1.0,
        );
    }
}

#[test]
fn layout_operators() {
    let d = [1, 2, 3, 4];
    type Body = Box<dyn Fn(&mut GraphBuilder) -> String>;
    let cases: Vec<(&str, usize, Body)> = vec![
        (
            "Pad",
            4,
            Box::new(|b| {
                let p = ints(b, "pads", &[0, 1, 2, 0, 0, 0, 1, 3]);
                b.op("Pad", &["x", &p], &[])
            }),
        ),
        (
            "Slice",
            4,
            Box::new(|b| {
                let s = ints(b, "s", &[1, -3, 0]);
                let e = ints(b, "e", &[100, -1, 1]);
                let a = ints(b, "a", &[1, 3, -2]);
                b.op("Slice", &["x", &s, &e, &a], &[])
            }),
        ),
        (
            "Concat",
            4,
            Box::new(|b| {
                let r = b.op("Relu", &["x"], &[]);
                b.op("Concat", &["x", &r, "x"], &[("axis", Attribute::Int(-3))])
            }),
        ),
        (
            "Transpose",
            4,
            Box::new(|b| {
                b.op(
                    "Transpose",
                    &["x"],
                    &[("perm", Attribute::Ints(vec![2, 0, 3, 1]))],
                )
            }),
        ),
        (
            "Reshape",
            3,
            Box::new(|b| {
                let s = ints(b, "s", &[0, -1, 2]);
                b.op("Reshape", &["x", &s], &[])
            }),
        ),
        (
            "Flatten",
            2,
            Box::new(|b| b.op("Flatten", &["x"], &[("axis", Attribute::Int(2))])),
        ),
        (
            "Squeeze+Unsqueeze",
            4,
            Box::new(|b| {
                let a = ints(b, "a", &[0]);
                let s = b.op("Squeeze", &["x", &a], &[]);
                let a2 = ints(b, "a2", &[-1]);
                b.op("Unsqueeze", &[&s, &a2], &[])
            }),
        ),
        (
            "Expand",
            4,
            Box::new(|b| {
                let axes = ints(b, "axes", &[3]);
                let m = b.op(
                    "ReduceSum",
                    &["x", &axes],
                    &[("keepdims", Attribute::Int(1))],
                );
                let s = ints(b, "s", &[2, 2, 3, 5]);
                b.op("Expand", &[&m, &s], &[])
            }),
        ),
    ];
    for (what, rank, body) in cases {
        let graph = net_r(&d, rank, body);
        assert_rule(what, &graph, &d, -1.0, 1.0);
    }
}

#[test]
fn reductions_and_softmax() {
    let d = [2, 3, 2, 4];
    for (op, axes, keep, rank) in [
        ("ReduceSum", Some(vec![1, -1]), 0, 2),
        ("ReduceSum", None, 0, 0),
        ("ReduceMean", Some(vec![2]), 1, 4),
        ("ReduceMean", Some(vec![0, 3]), 0, 2),
    ] {
        let graph = net_r(&d, rank, |b| {
            // At opset 17, ReduceSum takes its axes as an input, ReduceMean as an attribute.
            let mut inputs = vec!["x".to_string()];
            let mut attrs = vec![("keepdims", Attribute::Int(keep))];
            match &axes {
                Some(a) if op == "ReduceSum" => inputs.push(ints(b, "axes", a)),
                Some(a) => attrs.push(("axes", Attribute::Ints(a.clone()))),
                None => {}
            }
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            let r = b.op(op, &refs, &attrs);
            // Squared so that the cotangent of the sum is not constant.
            b.op("Mul", &[&r, &r], &[])
        });
        assert_rule(
            &format!("{op} {axes:?} keepdims={keep}"),
            &graph,
            &d,
            -1.0,
            1.0,
        );
    }
    let graph = net(&d, |b| b.op("GlobalAveragePool", &["x"], &[]));
    assert_rule("GlobalAveragePool", &graph, &d, -1.0, 1.0);
    for axis in [1, -1] {
        let graph = net(&d, |b| {
            b.op("Softmax", &["x"], &[("axis", Attribute::Int(axis))])
        });
        assert_rule(&format!("Softmax axis {axis}"), &graph, &d, -2.0, 2.0);
    }
}

#[test]
fn matrix_products_and_batch_norm() {
    // MatMul with both operands from the input and a broadcast batch axis.
    let graph = net(&[2, 3, 4], |b| {
        let t = b.op(
            "Transpose",
            &["x"],
            &[("perm", Attribute::Ints(vec![0, 2, 1]))],
        );
        let p = b.op("MatMul", &["x", &t], &[]);
        let w = weight(b, "w", &[3, 5], 4, -1.0, 1.0);
        b.op("MatMul", &[&p, &w], &[])
    });
    assert_rule("MatMul", &graph, &[2, 3, 4], -1.0, 1.0);
    for (ta, tb) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let graph = net_r(&[3, 4], 2, |b| {
            // op(A) is 3 x 4 (A is 4 x 3 with transA); op(B) is 4 x 5.
            let k = if ta == 1 { 3 } else { 4 };
            let dims = if tb == 1 { [5, k] } else { [k, 5] };
            let w = weight(b, "w", &dims, 8, -1.0, 1.0);
            let c = weight(b, "c", &[5], 9, -1.0, 1.0);
            let g1 = b.op(
                "Gemm",
                &["x", &w, &c],
                &[
                    ("transA", Attribute::Int(ta)),
                    ("transB", Attribute::Int(tb)),
                    ("alpha", Attribute::Float(0.7)),
                    ("beta", Attribute::Float(1.3)),
                ],
            );
            b.op("Mul", &[&g1, &g1], &[])
        });
        assert_rule(
            &format!("Gemm transA={ta} transB={tb}"),
            &graph,
            &[3, 4],
            -1.0,
            1.0,
        );
    }
    let graph = net(&[2, 3, 2, 2], |b| {
        let s = weight(b, "s", &[3], 1, 0.5, 1.5);
        let bias = weight(b, "b", &[3], 2, -1.0, 1.0);
        let m = weight(b, "m", &[3], 3, -1.0, 1.0);
        let v = weight(b, "v", &[3], 4, 0.5, 1.5);
        b.op(
            "BatchNormalization",
            &["x", &s, &bias, &m, &v],
            &[("epsilon", Attribute::Float(1e-3))],
        )
    });
    assert_rule("BatchNormalization", &graph, &[2, 3, 2, 2], -1.0, 1.0);
}

#[test]
fn where_with_a_constant_condition() {
    let graph = net_r(&[2, 3], 2, |b| {
        b.initializer(
            "c",
            TensorData {
                dims: vec![3],
                values: srlens_onnx::TensorValues::Bool(vec![true, false, true]),
            },
        );
        let r = b.op("Sigmoid", &["x"], &[]);
        b.op("Where", &["c", "x", &r], &[])
    });
    assert_rule("Where", &graph, &[2, 3], -1.0, 1.0);
}

#[test]
fn symbolic_sizes_are_differentiated_at_run_time() {
    // A network declared with free H and W, checked at two sizes with the same graph.
    let mut b = GraphBuilder::new("free");
    b.input_dims(
        "x",
        vec![
            Dim::Fixed(1),
            Dim::Fixed(2),
            Dim::Symbolic("H".into()),
            Dim::Symbolic("W".into()),
        ],
    );
    let w = weight(&mut b, "w", &[8, 2, 3, 3], 1, -1.0, 1.0);
    let c = b.op("Conv", &["x", &w], &conv_attrs(2, 1, 1, [1, 1, 1, 1]));
    let r = b.op("LeakyRelu", &[&c], &[]);
    let d = b.op("DepthToSpace", &[&r], &[("blocksize", Attribute::Int(2))]);
    let s = b.op("Add", &[&d, "x"], &[]);
    b.output_dims(&s, vec![Dim::Symbolic(String::new()); 4]);
    let g = b.build().unwrap();
    for side in [4, 6] {
        assert_rule(
            &format!("free size {side}"),
            &g,
            &[1, 2, side, side],
            -1.0,
            1.0,
        );
    }
}

#[test]
fn normalizations_of_transformers_and_cnns() {
    for axis in [-1, 1] {
        let d = [2, 3, 4];
        let graph = net(&d, |b| {
            let shape: Vec<i64> = if axis == -1 { vec![4] } else { vec![3, 4] };
            let s = weight(b, "s", &shape, 1, 0.5, 1.5);
            let bias = weight(b, "bias", &shape, 2, -1.0, 1.0);
            let y = b.op(
                "LayerNormalization",
                &["x", &s, &bias],
                &[
                    ("axis", Attribute::Int(axis)),
                    ("epsilon", Attribute::Float(1e-3)),
                ],
            );
            // Weighted so that the cotangent is not constant along the normalized axes.
            let w = weight(b, "w", &[4], 3, -1.0, 1.0);
            b.op("Mul", &[&y, &w], &[])
        });
        assert_rule(
            &format!("LayerNormalization axis {axis}"),
            &graph,
            &d,
            -1.0,
            1.0,
        );
    }
    // InstanceNormalization has no DOUBLE kernel in ONNX Runtime and none in candle: the
    // float64 reference is the same normalization written out in operators candle runs.
    let d = [2, 3, 2, 3];
    let params = |b: &mut GraphBuilder| {
        (
            weight(b, "s", &[3], 1, 0.5, 1.5),
            weight(b, "bias", &[3], 2, -1.0, 1.0),
        )
    };
    let graph = net(&d, |b| {
        let (s, bias) = params(b);
        let w = weight(b, "w", &[3], 3, -1.0, 1.0);
        let y = b.op(
            "InstanceNormalization",
            &["x", &s, &bias],
            &[("epsilon", Attribute::Float(1e-3))],
        );
        b.op("Mul", &[&y, &w], &[])
    });
    let written_out = net(&d, |b| {
        let (s, bias) = params(b);
        let w = weight(b, "w", &[3], 3, -1.0, 1.0);
        let axes = [
            ("axes", Attribute::Ints(vec![2, 3])),
            ("keepdims", Attribute::Int(1)),
        ];
        let m = b.op("ReduceMean", &["x"], &axes);
        let xc = b.op("Sub", &["x", &m], &[]);
        let sq = b.op("Mul", &[&xc, &xc], &[]);
        let var = b.op("ReduceMean", &[&sq], &axes);
        b.initializer("eps", TensorData::f32(vec![], vec![1e-3]));
        let v = b.op("Add", &[&var, "eps"], &[]);
        let sd = b.op("Sqrt", &[&v], &[]);
        let xh = b.op("Div", &[&xc, &sd], &[]);
        let shape = ints(b, "chw", &[3, 1, 1]);
        let s3 = b.op("Reshape", &[&s, &shape], &[]);
        let b3 = b.op("Reshape", &[&bias, &shape], &[]);
        let y = b.op("Mul", &[&xh, &s3], &[]);
        let y = b.op("Add", &[&y, &b3], &[]);
        b.op("Mul", &[&y, &w], &[])
    });
    let x = values(36, 3, -1.0, 1.0);
    let c = check_against(&graph, Reference::new(&written_out), &x, &d, 400).unwrap();
    assert!(
        c.relative < RTOL,
        "InstanceNormalization: off by {:.2e}",
        c.relative
    );
}

#[test]
fn gather_on_data_and_split() {
    // A relative-position-bias style lookup: a 2-D index table, repeated and negative indices.
    let d = [3, 5, 2];
    let graph = net_r(&d, 4, |b| {
        b.initializer("i", TensorData::i64(vec![2, 3], vec![0, 4, -1, 2, 2, -5]));
        b.op("Gather", &["x", "i"], &[("axis", Attribute::Int(1))])
    });
    assert_rule("Gather axis 1", &graph, &d, -1.0, 1.0);
    let graph = net(&d, |b| {
        b.initializer("i", TensorData::i64(vec![2], vec![2, 0]));
        b.op("Gather", &["x", "i"], &[("axis", Attribute::Int(0))])
    });
    assert_rule("Gather axis 0", &graph, &d, -1.0, 1.0);
    let graph = net(&d, |b| {
        let sizes = ints(b, "sizes", &[2, 3]);
        let parts = b.fresh("split");
        let (p0, p1) = (format!("{parts}_0"), format!("{parts}_1"));
        b.node(
            srlens_onnx::Node::new("split", "Split", &["x", &sizes], &[&p0, &p1])
                .with("axis", Attribute::Int(1)),
        );
        // Only the second part reaches the output: the first gets zeros.
        b.op("Sigmoid", &[&p1], &[])
    });
    assert_rule("Split", &graph, &d, -1.0, 1.0);
}

#[test]
fn pad_in_every_mode() {
    let d = [1, 2, 4, 5];
    for mode in ["constant", "reflect", "edge", "wrap"] {
        let graph = net(&d, |b| {
            let p = ints(b, "pads", &[0, 0, 2, 1, 0, 0, 1, 3]);
            b.op(
                "Pad",
                &["x", &p],
                &[("mode", Attribute::String(mode.into()))],
            )
        });
        assert_rule(&format!("Pad {mode}"), &graph, &d, -1.0, 1.0);
    }
}

#[test]
fn bounds_and_pads_computed_at_run_time() {
    // What exporters write for `x[..., 1:-1, ::2]` on a free size and for padding to a
    // multiple of a window (SwinIR's `check_image_size`): bounds from `Shape` at run time.
    let d = [1, 2, 5, 7];
    let graph = net(&d, |b| {
        let shape = b.op("Shape", &["x"], &[]);
        let hw = {
            let (s, e) = (ints(b, "s", &[2]), ints(b, "e", &[4]));
            b.op("Slice", &[&shape, &s, &e], &[])
        };
        let less = ints(b, "less", &[1, 0]);
        let ends = b.op("Sub", &[&hw, &less], &[]);
        let starts = ints(b, "starts", &[1, -6]);
        let axes = ints(b, "axes", &[2, 3]);
        let steps = ints(b, "steps", &[1, 2]);
        b.op("Slice", &["x", &starts, &ends, &axes, &steps], &[])
    });
    assert_rule("Slice, run-time ends and a step", &graph, &d, -1.0, 1.0);
    let graph = net(&d, |b| {
        let (s, e, ax, st) = (
            ints(b, "s", &[-1]),
            ints(b, "e", &[i64::MIN]),
            ints(b, "a", &[3]),
            ints(b, "st", &[-2]),
        );
        b.op("Slice", &["x", &s, &e, &ax, &st], &[])
    });
    assert_rule("Slice, a negative step", &graph, &d, -1.0, 1.0);
    for mode in ["reflect", "constant"] {
        let graph = net(&d, |b| {
            // pad = (4 - size % 4) % 4 at the end of H and W.
            let shape = b.op("Shape", &["x"], &[]);
            let (s, e) = (ints(b, "s", &[2]), ints(b, "e", &[4]));
            let hw = b.op("Slice", &[&shape, &s, &e], &[]);
            let four = ints(b, "four", &[4]);
            let m = b.op("Mod", &[&hw, &four], &[]);
            let r = b.op("Sub", &[&four, &m], &[]);
            let pad = b.op("Mod", &[&r, &four], &[]);
            let zeros = ints(b, "zeros", &[0, 0, 0, 0, 0, 0]);
            let pads = b.op("Concat", &[&zeros, &pad], &[("axis", Attribute::Int(0))]);
            b.op(
                "Pad",
                &["x", &pads],
                &[("mode", Attribute::String(mode.into()))],
            )
        });
        assert_rule(&format!("Pad {mode}, run-time pads"), &graph, &d, -1.0, 1.0);
    }
}

#[test]
fn gather_with_a_scalar_index_and_l2_norms() {
    // `q, k, v = qkv[0], qkv[1], qkv[2]` in attention: a scalar index drops the axis.
    let d = [3, 2, 4];
    for i in [1, -1] {
        let graph = net_r(&d, 2, |b| {
            b.initializer("i", TensorData::i64(vec![], vec![i]));
            b.op("Gather", &["x", "i"], &[("axis", Attribute::Int(0))])
        });
        assert_rule(&format!("Gather scalar {i}"), &graph, &d, -1.0, 1.0);
    }
    for keep in [0, 1] {
        let graph = net_r(&d, 2 + keep as usize, |b| {
            b.op(
                "ReduceL2",
                &["x"],
                &[
                    ("axes", Attribute::Ints(vec![-1])),
                    ("keepdims", Attribute::Int(keep)),
                ],
            )
        });
        assert_rule(&format!("ReduceL2 keepdims {keep}"), &graph, &d, -1.0, 1.0);
    }
}
