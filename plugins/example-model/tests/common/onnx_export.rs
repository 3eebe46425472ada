//! The example network as an ONNX graph (Conv, PRelu, Concat, Add, DepthToSpace), built with
//! srlens-onnx's `GraphBuilder`: the same function as `Fsrcnn::forward`, for any ONNX backend.

use srlens_onnx::builder::GraphBuilder;
use srlens_onnx::{Attribute, Dim, Graph, TensorData};
use srlens_plugin_example_model::Fsrcnn;

fn data(t: &candle_core::Tensor) -> (Vec<i64>, Vec<f32>) {
    let dims = t.dims().iter().map(|&d| d as i64).collect();
    let values = t
        .flatten_all()
        .and_then(|f| f.to_vec1::<f32>())
        .expect("f32 weights");
    (dims, values)
}

/// Exports `net` as an ONNX graph reading `input` (`N x 3 x H x W`, `[0, 1]`) and writing
/// `output`.
pub fn export(net: &Fsrcnn, name: &str) -> Graph {
    let mut b = GraphBuilder::new(name);
    let sym = |s: &str| Dim::Symbolic(s.to_string());
    b.input_dims("input", vec![sym("N"), Dim::Fixed(3), sym("H"), sym("W")]);
    let mut y = "input".to_string();
    for (i, l) in net.layers().iter().enumerate() {
        let (wd, wv) = data(&l.weight);
        let k = wd[2];
        let (bd, bv) = data(&l.bias);
        b.initializer(&format!("body.{i}.weight"), TensorData::f32(wd, wv));
        b.initializer(&format!("body.{i}.bias"), TensorData::f32(bd, bv));
        y = b.op(
            "Conv",
            &[&y, &format!("body.{i}.weight"), &format!("body.{i}.bias")],
            &[
                ("kernel_shape", Attribute::Ints(vec![k, k])),
                ("pads", Attribute::Ints(vec![k / 2; 4])),
            ],
        );
        if let Some(p) = &l.prelu {
            let (pd, pv) = data(p);
            // PRelu's slope broadcasts unidirectionally: one slope per channel is C x 1 x 1.
            b.initializer(
                &format!("body.{i}.prelu"),
                TensorData::f32(vec![pd[0], 1, 1], pv),
            );
            y = b.op("PRelu", &[&y, &format!("body.{i}.prelu")], &[]);
        }
    }
    let s = net.scale() as i64;
    // Nearest-neighbour skip: the input repeated s^2 times along channels, before DCR.
    let copies: Vec<&str> = vec!["input"; (s * s) as usize];
    let skip = b.op("Concat", &copies, &[("axis", Attribute::Int(1))]);
    let sum = b.op("Add", &[&y, &skip], &[]);
    let out = b.op(
        "DepthToSpace",
        &[&sum],
        &[
            ("blocksize", Attribute::Int(s)),
            ("mode", Attribute::String("DCR".into())),
        ],
    );
    b.node(srlens_onnx::Node::new(
        "output",
        "Identity",
        &[&out],
        &["output"],
    ));
    b.output_dims(
        "output",
        vec![sym("N"), Dim::Fixed(3), sym("H_out"), sym("W_out")],
    );
    b.metadata("srlens.scale", &s.to_string());
    b.metadata("srlens.input_range", "0,1");
    b.metadata("srlens.architecture", "fsrcnn");
    b.metadata(
        "srlens.source",
        "srlens-plugin-example-model (exported from its safetensors weights)",
    );
    b.build().expect("the exported graph is valid")
}
