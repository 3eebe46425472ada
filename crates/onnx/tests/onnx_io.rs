//! Reading and writing ONNX files: round trips, a hand-encoded protobuf, bad files.

use std::collections::BTreeMap;
use std::path::Path;

use srlens_onnx::builder::GraphBuilder;
use srlens_onnx::{
    read_bytes, read_file, read_tensor_pb, to_bytes, write_file, write_tensor_pb, Attribute, Dim,
    Error, Graph, Node, TensorData, TensorValues, ValueInfo,
};

/// A graph that uses every tensor type, every attribute kind and symbolic dimensions.
fn sample_graph() -> Graph {
    let mut b = GraphBuilder::new("sample");
    b.opset(13);
    b.input_dims(
        "x",
        vec![
            Dim::Symbolic("N".into()),
            Dim::Fixed(3),
            Dim::Symbolic(String::new()),
            Dim::Fixed(5),
        ],
    );
    b.initializer(
        "w",
        TensorData::f32(
            vec![2, 3],
            vec![1.5, -2.0, 0.0, 3.25, f32::MIN_POSITIVE, -0.0],
        ),
    );
    b.initializer(
        "d",
        TensorData {
            dims: vec![2],
            values: TensorValues::F64(vec![0.1, -1e300]),
        },
    );
    b.initializer("i", TensorData::i64(vec![3], vec![i64::MIN, 0, i64::MAX]));
    b.initializer(
        "j",
        TensorData {
            dims: vec![1, 2],
            values: TensorValues::I32(vec![-7, 9]),
        },
    );
    b.initializer(
        "b",
        TensorData {
            dims: vec![3],
            values: TensorValues::Bool(vec![true, false, true]),
        },
    );
    b.initializer("s", TensorData::f32(vec![], vec![0.2]));
    b.initializer("e", TensorData::f32(vec![0, 4], vec![]));
    let c = b.constant(TensorData::i64(vec![2], vec![4, -1]));
    let y = b.op(
        "Custom",
        &["x", "w", "", &c],
        &[
            ("an_int", Attribute::Int(-3)),
            ("ints", Attribute::Ints(vec![1, 2, 3])),
            ("a_float", Attribute::Float(0.25)),
            ("floats", Attribute::Floats(vec![0.5, -1.0])),
            ("a_string", Attribute::String("DCR".into())),
            ("strings", Attribute::Strings(vec!["a".into(), "é".into()])),
            (
                "tensor",
                Attribute::Tensor(TensorData {
                    dims: vec![2],
                    values: TensorValues::Bool(vec![false, true]),
                }),
            ),
        ],
    );
    let mut n = Node::new("in_domain", "Thing", &[&y], &["z"]);
    n.domain = "com.example".into();
    b.node(n);
    b.output_dims("z", vec![Dim::Symbolic("N".into()), Dim::Fixed(2)]);
    b.metadata("srlens.scale", "4").metadata("note", "ünïcode");
    b.build().expect("valid graph")
}

#[test]
fn bytes_round_trip_is_exact() {
    let g = sample_graph();
    let bytes = to_bytes(&g).unwrap();
    let back = read_bytes(&bytes, Path::new("mem.onnx")).unwrap();
    assert_eq!(back, g);
    // -0.0 == 0.0 under PartialEq: check the bits of the stored weights too.
    let TensorValues::F32(v) = &back.initializers["w"].values else {
        panic!("f32 expected")
    };
    assert_eq!(v[5].to_bits(), (-0.0f32).to_bits());
    assert_eq!(v[4].to_bits(), f32::MIN_POSITIVE.to_bits());
}

#[test]
fn file_round_trip_is_exact_and_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    let g = sample_graph();
    write_file(&g, &path).unwrap();
    // Overwrite: the rename replaces the file.
    write_file(&g, &path).unwrap();
    assert_eq!(read_file(&path).unwrap(), g);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["m.onnx".to_string()],
        "no temporary files are left behind"
    );
}

#[test]
fn write_into_missing_folder_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("m.onnx");
    match write_file(&sample_graph(), &path) {
        Err(Error::Io { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected an Io error, got {other:?}"),
    }
}

#[test]
fn bad_files_are_format_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("empty.onnx", &b""[..]),
        (
            "text.onnx",
            &b"this is not a protobuf at all\xff\xff\xff"[..],
        ),
        ("json.onnx", &br#"{"format": "layers-model"}"#[..]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = read_file(&path).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Format { .. }), "{name}: {err:?}");
        assert!(text.contains(name), "{text}");
        assert!(text.contains("not an ONNX model"), "{text}");
        assert!(text.contains("ModelProto"), "{text}");
    }
    let missing = dir.path().join("nope.onnx");
    assert!(matches!(read_file(&missing), Err(Error::Io { .. })));
}

// ---- hand-encoded protobuf (wire format written here, independent of the writer) ----

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}
fn key(field: u32, wire: u8, out: &mut Vec<u8>) {
    varint(((field as u64) << 3) | wire as u64, out);
}
fn int(field: u32, v: i64, out: &mut Vec<u8>) {
    key(field, 0, out);
    varint(v as u64, out);
}
fn bytes(field: u32, v: &[u8], out: &mut Vec<u8>) {
    key(field, 2, out);
    varint(v.len() as u64, out);
    out.extend_from_slice(v);
}
fn f32_field(field: u32, v: f32, out: &mut Vec<u8>) {
    key(field, 5, out);
    out.extend_from_slice(&v.to_le_bytes());
}
fn packed_f32(field: u32, v: &[f32], out: &mut Vec<u8>) {
    let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    bytes(field, &b, out);
}
fn packed_f64(field: u32, v: &[f64], out: &mut Vec<u8>) {
    let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    bytes(field, &b, out);
}
fn packed_varint(field: u32, v: &[i64], out: &mut Vec<u8>) {
    let mut b = Vec::new();
    for x in v {
        varint(*x as u64, &mut b);
    }
    bytes(field, &b, out);
}

/// TensorProto: dims=1, data_type=2, float_data=4, int32_data=5, int64_data=7, name=8,
/// raw_data=9, double_data=10.
fn tensor(name: &str, dims: &[i64], data_type: i64, fill: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut t = Vec::new();
    for d in dims {
        int(1, *d, &mut t); // unpacked dims, as proto2 writers do
    }
    int(2, data_type, &mut t);
    fill(&mut t);
    bytes(8, name.as_bytes(), &mut t);
    t
}

/// ValueInfoProto{name=1, type=2{tensor_type=1{elem_type=1, shape=2{dim=1{value=1|param=2}}}}}.
fn value_info(name: &str, dims: &[Result<i64, &str>]) -> Vec<u8> {
    let mut shape = Vec::new();
    for d in dims {
        let mut dim = Vec::new();
        match d {
            Ok(v) => int(1, *v, &mut dim),
            Err(p) => bytes(2, p.as_bytes(), &mut dim),
        }
        bytes(1, &dim, &mut shape);
    }
    let mut tt = Vec::new();
    int(1, 1, &mut tt);
    bytes(2, &shape, &mut tt);
    let mut ty = Vec::new();
    bytes(1, &tt, &mut ty);
    let mut v = Vec::new();
    bytes(1, name.as_bytes(), &mut v);
    bytes(2, &ty, &mut v);
    v
}

fn hand_model() -> Vec<u8> {
    // Initializers with typed storage and one with raw_data.
    let w = tensor("w", &[2, 2], 1, |t| {
        packed_f32(4, &[1.0, -2.5, 3.0, 0.125], t)
    });
    let d = tensor("d", &[2], 11, |t| packed_f64(10, &[2.5, -0.5], t));
    let i = tensor("i", &[3], 7, |t| packed_varint(7, &[-1, 0, 1 << 40], t));
    let j = tensor("j", &[2], 6, |t| packed_varint(5, &[-3, 4], t));
    let b = tensor("b", &[3], 9, |t| packed_varint(5, &[1, 0, 1], t));
    let r = tensor("r", &[2], 1, |t| {
        let raw: Vec<u8> = [7.0f32, -8.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        bytes(9, &raw, t)
    });
    let rb = tensor("rb", &[2], 9, |t| bytes(9, &[0, 1], t));
    let ri = tensor("ri", &[], 7, |t| bytes(9, &(-5i64).to_le_bytes(), t));

    // Constant node (NodeProto: input=1, output=2, name=3, op_type=4, attribute=5) with a
    // TENSOR attribute (AttributeProto: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, type=20).
    let mut cattr = Vec::new();
    bytes(1, b"value", &mut cattr);
    bytes(
        5,
        &tensor("", &[2], 7, |t| packed_varint(7, &[1, 2], t)),
        &mut cattr,
    );
    int(20, 4, &mut cattr);
    let mut cnode = Vec::new();
    bytes(2, b"shape", &mut cnode);
    bytes(3, b"c0", &mut cnode);
    bytes(4, b"Constant", &mut cnode);
    bytes(5, &cattr, &mut cnode);

    let mut mnode = Vec::new();
    bytes(1, b"x", &mut mnode);
    bytes(1, b"w", &mut mnode);
    bytes(2, b"y", &mut mnode);
    bytes(3, b"mm", &mut mnode);
    bytes(4, b"MatMul", &mut mnode);
    let mut a1 = Vec::new();
    bytes(1, b"alpha", &mut a1);
    f32_field(2, 0.5, &mut a1);
    int(20, 1, &mut a1);
    bytes(5, &a1, &mut mnode);
    let mut a2 = Vec::new();
    bytes(1, b"perm", &mut a2);
    for v in [0i64, -1] {
        int(8, v, &mut a2); // unpacked repeated ints
    }
    int(20, 7, &mut a2);
    bytes(5, &a2, &mut mnode);
    let mut a3 = Vec::new();
    bytes(1, b"mode", &mut a3);
    bytes(4, b"DCR", &mut a3);
    int(20, 3, &mut a3);
    bytes(5, &a3, &mut mnode);

    // GraphProto: node=1, name=2, initializer=5, input=11, output=12.
    let mut g = Vec::new();
    bytes(1, &cnode, &mut g);
    bytes(1, &mnode, &mut g);
    bytes(2, b"hand", &mut g);
    for t in [&w, &d, &i, &j, &b, &r, &rb, &ri] {
        bytes(5, t, &mut g);
    }
    bytes(11, &value_info("x", &[Err("N"), Ok(2)]), &mut g);
    bytes(11, &value_info("w", &[Ok(2), Ok(2)]), &mut g); // an initializer listed as input
    bytes(12, &value_info("y", &[Err("N"), Ok(2)]), &mut g);

    // ModelProto: ir_version=1, producer_name=2, graph=7, opset_import=8, metadata_props=14.
    let mut m = Vec::new();
    int(1, 7, &mut m);
    bytes(2, b"by hand", &mut m);
    bytes(7, &g, &mut m);
    let mut other = Vec::new();
    bytes(1, b"com.microsoft", &mut other);
    int(2, 1, &mut other);
    bytes(8, &other, &mut m);
    let mut default = Vec::new();
    int(2, 13, &mut default);
    bytes(8, &default, &mut m);
    let mut kv = Vec::new();
    bytes(1, b"srlens.scale", &mut kv);
    bytes(2, b"2", &mut kv);
    bytes(14, &kv, &mut m);
    m
}

#[test]
fn reads_a_hand_encoded_model() {
    let g = read_bytes(&hand_model(), Path::new("hand.onnx")).unwrap();
    assert_eq!(g.name, "hand");
    assert_eq!(g.opset, 13);
    assert_eq!(
        g.inputs,
        vec![ValueInfo {
            name: "x".into(),
            shape: vec![Dim::Symbolic("N".into()), Dim::Fixed(2)],
            ..Default::default()
        }]
    );
    assert_eq!(g.outputs[0].name, "y");
    assert_eq!(
        g.metadata,
        BTreeMap::from([("srlens.scale".to_string(), "2".to_string())])
    );
    let t = &g.initializers;
    assert_eq!(
        t["w"],
        TensorData::f32(vec![2, 2], vec![1.0, -2.5, 3.0, 0.125])
    );
    assert_eq!(t["d"].values, TensorValues::F64(vec![2.5, -0.5]));
    assert_eq!(t["i"], TensorData::i64(vec![3], vec![-1, 0, 1 << 40]));
    assert_eq!(t["j"].values, TensorValues::I32(vec![-3, 4]));
    assert_eq!(t["b"].values, TensorValues::Bool(vec![true, false, true]));
    assert_eq!(t["r"], TensorData::f32(vec![2], vec![7.0, -8.0]));
    assert_eq!(t["rb"].values, TensorValues::Bool(vec![false, true]));
    assert_eq!(t["ri"], TensorData::i64(vec![], vec![-5]));
    assert_eq!(g.parameter_count(), 4 + 2 + 2);

    assert_eq!(g.nodes.len(), 2);
    let c = &g.nodes[0];
    assert_eq!(
        (c.op_type.as_str(), c.outputs.as_slice()),
        ("Constant", &["shape".to_string()][..])
    );
    assert_eq!(
        c.attributes["value"],
        Attribute::Tensor(TensorData::i64(vec![2], vec![1, 2]))
    );
    let m = &g.nodes[1];
    assert_eq!(m.inputs, vec!["x", "w"]);
    assert_eq!(m.float("alpha", 0.0), 0.5);
    assert_eq!(m.ints("perm"), Some(&[0, -1][..]));
    assert_eq!(m.string("mode"), Some("DCR"));
    srlens_onnx::validate(&g).unwrap();
}

#[test]
fn inconsistent_tensors_are_rejected_with_their_name() {
    let mut g = Vec::new();
    let short = tensor("short", &[3], 1, |t| packed_f32(4, &[1.0, 2.0], t));
    bytes(5, &short, &mut g);
    let mut m = Vec::new();
    bytes(7, &g, &mut m);
    let mut default = Vec::new();
    int(2, 17, &mut default);
    bytes(8, &default, &mut m);
    let err = read_bytes(&m, Path::new("bad.onnx"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.onnx") && err.contains("'short'") && err.contains("need 3"),
        "{err}"
    );

    let mut g = Vec::new();
    bytes(
        5,
        &tensor("half", &[2], 10, |t| bytes(9, &[0, 0, 0, 0], t)),
        &mut g,
    );
    let mut m2 = Vec::new();
    bytes(7, &g, &mut m2);
    bytes(8, &default, &mut m2);
    let err = read_bytes(&m2, Path::new("f16.onnx"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("FLOAT16") && err.contains("'half'"), "{err}");
}

#[test]
fn model_without_default_opset_is_rejected() {
    let mut g = Vec::new();
    bytes(2, b"g", &mut g);
    let mut m = Vec::new();
    bytes(7, &g, &mut m);
    let err = read_bytes(&m, Path::new("noopset.onnx"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("opset_import"), "{err}");
}

#[test]
fn tensor_pb_files_read_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input_0.pb");
    std::fs::write(
        &path,
        tensor("x", &[1, 2], 1, |t| packed_f32(4, &[0.5, 1.5], t)),
    )
    .unwrap();
    assert_eq!(
        read_tensor_pb(&path).unwrap(),
        TensorData::f32(vec![1, 2], vec![0.5, 1.5])
    );

    let t = TensorData {
        dims: vec![2, 1],
        values: TensorValues::F64(vec![1e-310, 3.0]),
    };
    let out = dir.path().join("out.pb");
    write_tensor_pb(&t, "y", &out).unwrap();
    assert_eq!(read_tensor_pb(&out).unwrap(), t);

    let bad = dir.path().join("bad.pb");
    std::fs::write(&bad, b"\xff\xff\xff\xff").unwrap();
    let err = read_tensor_pb(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad.pb") && err.contains("not an ONNX tensor"),
        "{err}"
    );
}

#[test]
fn builder_rejects_undefined_values() {
    let mut b = GraphBuilder::new("broken");
    b.input("x", &[1]);
    b.op("Relu", &["nope"], &[]);
    let err = b.build().unwrap_err().to_string();
    assert!(
        err.contains("'nope'") && err.contains("not defined"),
        "{err}"
    );

    let mut b = GraphBuilder::new("no-output");
    b.input("x", &[1]);
    b.output("y", &[1]);
    assert!(b.build().unwrap_err().to_string().contains("output 'y'"));
}
