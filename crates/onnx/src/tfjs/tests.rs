//! Converter tests on small synthetic TF.js models.
#![allow(clippy::too_many_arguments)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::convert;
use super::layers::{hwio_to_oihw, nhwc_axis_to_nchw, pixel_shuffle_scale};
use crate::ir::{Graph, TensorValues};

/// A deterministic pseudo-random value in [-1, 1).
fn noise(k: usize) -> f32 {
    let x = (k as u64)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

/// A Conv2D layer config.
fn conv(
    name: &str,
    src: &str,
    k: [usize; 2],
    filters: usize,
    padding: &str,
    strides: usize,
    dil: usize,
    act: &str,
) -> Value {
    json!({"class_name": "Conv2D", "name": name, "config": {
        "name": name, "filters": filters, "kernel_size": k, "strides": [strides, strides],
        "padding": padding, "data_format": "channels_last", "dilation_rate": [dil, dil],
        "groups": 1, "activation": act, "use_bias": true},
        "inbound_nodes": [[[src, 0, 0, {}]]]})
}

fn input_layer(channels: usize) -> Value {
    json!({"class_name": "InputLayer", "name": "LR", "config": {
        "batch_input_shape": [null, null, null, channels], "dtype": "float32", "name": "LR"},
        "inbound_nodes": []})
}

/// Writes `model.json` and one shard into `dir`; returns the model.json path.
fn write_model(
    dir: &Path,
    layers: Vec<Value>,
    output: &str,
    weights: &[(String, Vec<usize>)],
    extra_bytes: isize,
) -> PathBuf {
    let mut bytes = Vec::new();
    let mut k = 0;
    for (_, shape) in weights {
        for _ in 0..shape.iter().product::<usize>() {
            bytes.extend_from_slice(&noise(k).to_le_bytes());
            k += 1;
        }
    }
    if extra_bytes >= 0 {
        bytes.extend(std::iter::repeat_n(0u8, extra_bytes as usize));
    } else {
        bytes.truncate(bytes.len() - (-extra_bytes) as usize);
    }
    std::fs::write(dir.join("group1-shard1of1.bin"), bytes).unwrap();
    let manifest: Vec<Value> = weights
        .iter()
        .map(|(n, s)| json!({"name": n, "shape": s, "dtype": "float32"}))
        .collect();
    let model = json!({
        "format": "layers-model",
        "modelTopology": {"model_config": {"class_name": "Functional", "config": {
            "name": "m", "layers": layers,
            "input_layers": [["LR", 0, 0]], "output_layers": [[output, 0, 0]]}}},
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": manifest}]
    });
    let path = dir.join("model.json");
    std::fs::write(&path, serde_json::to_vec(&model).unwrap()).unwrap();
    path
}

fn conv_weights(name: &str, k: [usize; 2], cin: usize, cout: usize) -> Vec<(String, Vec<usize>)> {
    vec![
        (format!("{name}/kernel"), vec![k[0], k[1], cin, cout]),
        (format!("{name}/bias"), vec![cout]),
    ]
}

fn f32s(g: &Graph, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = &g.initializers[name];
    let TensorValues::F32(v) = &t.values else {
        panic!("f32 expected")
    };
    (t.dims.iter().map(|d| *d as usize).collect(), v.clone())
}

/// TensorFlow's Conv2D in NHWC with an HWIO kernel, in f64, following TF's documented
/// "same" rule: out = ceil(in / s), pad_total = max((out - 1) s + (k - 1) d + 1 - in, 0),
/// pad_before = pad_total / 2.
fn tf_conv_nhwc(
    x: &[f64],
    h: usize,
    w: usize,
    cin: usize,
    k: &[f32],
    kh: usize,
    kw: usize,
    cout: usize,
    bias: &[f32],
    d: usize,
) -> Vec<f64> {
    let pad = |n: usize, kk: usize| ((n - 1) + (kk - 1) * d + 1 - n) / 2;
    let (pt, pl) = (pad(h, kh), pad(w, kw));
    let mut out = vec![0.0; h * w * cout];
    for oy in 0..h {
        for ox in 0..w {
            for o in 0..cout {
                let mut acc = bias[o] as f64;
                for y in 0..kh {
                    for xx in 0..kw {
                        let iy = (oy + y * d) as isize - pt as isize;
                        let ix = (ox + xx * d) as isize - pl as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        for i in 0..cin {
                            acc += x[((iy as usize) * w + ix as usize) * cin + i]
                                * k[((y * kw + xx) * cin + i) * cout + o] as f64;
                        }
                    }
                }
                out[(oy * w + ox) * cout + o] = acc;
            }
        }
    }
    out
}

/// ONNX Conv (NCHW, OIHW kernel, `pads` = [top, left, bottom, right], stride 1), in f64.
fn onnx_conv_nchw(
    x: &[f64],
    h: usize,
    w: usize,
    cin: usize,
    wt: &[f32],
    dims: &[usize],
    bias: &[f32],
    pads: &[i64],
    dil: &[i64],
) -> (Vec<f64>, usize, usize) {
    let (cout, kh, kw) = (dims[0], dims[2], dims[3]);
    let (d0, d1) = (dil[0] as usize, dil[1] as usize);
    let oh = h + (pads[0] + pads[2]) as usize - (kh - 1) * d0;
    let ow = w + (pads[1] + pads[3]) as usize - (kw - 1) * d1;
    let mut out = vec![0.0; cout * oh * ow];
    for o in 0..cout {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = bias[o] as f64;
                for i in 0..cin {
                    for y in 0..kh {
                        for xx in 0..kw {
                            let iy = (oy + y * d0) as isize - pads[0] as isize;
                            let ix = (ox + xx * d1) as isize - pads[1] as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            acc += x[(i * h + iy as usize) * w + ix as usize]
                                * wt[((o * cin + i) * kh + y) * kw + xx] as f64;
                        }
                    }
                }
                out[(o * oh + oy) * ow + ox] = acc;
            }
        }
    }
    (out, oh, ow)
}

#[test]
fn same_padding_and_kernel_layout_match_tensorflow() {
    // Even, odd, non-square and dilated kernels on a non-square input.
    for (k, dil) in [
        ([2, 2], 1),
        ([2, 3], 1),
        ([4, 1], 1),
        ([3, 3], 2),
        ([2, 2], 3),
        ([5, 5], 1),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (cin, cout, h, w) = (3, 2, 5, 7);
        let path = write_model(
            dir.path(),
            vec![
                input_layer(cin),
                conv("C", "LR", k, cout, "same", 1, dil, "linear"),
            ],
            "C",
            &conv_weights("C", k, cin, cout),
            0,
        );
        let g = convert(&path).unwrap();
        let node = &g.nodes[0];
        assert_eq!(node.op_type, "Conv");
        let (dims, wt) = f32s(&g, "C/kernel");
        let (_, bias) = f32s(&g, "C/bias");
        // The TF kernel as written to the shard: the first k*k*cin*cout noise values.
        let tf_kernel: Vec<f32> = (0..k[0] * k[1] * cin * cout).map(noise).collect();
        let tf_bias: Vec<f32> = (0..cout)
            .map(|i| noise(k[0] * k[1] * cin * cout + i))
            .collect();
        assert_eq!(bias, tf_bias);
        let x_nhwc: Vec<f64> = (0..h * w * cin).map(|i| noise(1000 + i) as f64).collect();
        let mut x_nchw = vec![0.0; x_nhwc.len()];
        for y in 0..h {
            for xx in 0..w {
                for c in 0..cin {
                    x_nchw[(c * h + y) * w + xx] = x_nhwc[(y * w + xx) * cin + c];
                }
            }
        }
        let expect = tf_conv_nhwc(
            &x_nhwc, h, w, cin, &tf_kernel, k[0], k[1], cout, &tf_bias, dil,
        );
        let pads = node.ints("pads").unwrap();
        let dl = node.ints("dilations").unwrap();
        let (got, oh, ow) = onnx_conv_nchw(&x_nchw, h, w, cin, &wt, &dims, &bias, pads, dl);
        assert_eq!(
            (oh, ow),
            (h, w),
            "kernel {k:?} dilation {dil}: pads {pads:?}"
        );
        for y in 0..h {
            for xx in 0..w {
                for o in 0..cout {
                    let (a, b) = (got[(o * h + y) * w + xx], expect[(y * w + xx) * cout + o]);
                    assert!(
                        (a - b).abs() < 1e-9,
                        "kernel {k:?} d {dil} at ({o},{y},{xx}): {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn strided_same_uses_same_upper_and_valid_has_no_padding() {
    let dir = tempfile::tempdir().unwrap();
    let mut weights = conv_weights("S", [3, 3], 3, 4);
    weights.extend(conv_weights("V", [3, 3], 4, 4));
    let path = write_model(
        dir.path(),
        vec![
            input_layer(3),
            conv("S", "LR", [3, 3], 4, "same", 2, 1, "relu"),
            conv("V", "S", [3, 3], 4, "valid", 1, 1, "linear"),
        ],
        "V",
        &weights,
        0,
    );
    let g = convert(&path).unwrap();
    let ops: Vec<&str> = g.nodes.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["Conv", "Relu", "Conv"]);
    assert_eq!(g.nodes[0].string("auto_pad"), Some("SAME_UPPER"));
    assert_eq!(g.nodes[0].ints("strides"), Some(&[2, 2][..]));
    assert_eq!(g.nodes[1].inputs, ["S/conv"]);
    assert_eq!(g.nodes[1].outputs, ["S"]);
    assert_eq!(g.nodes[2].ints("pads"), Some(&[0, 0, 0, 0][..]));
    assert_eq!(g.nodes[2].outputs, ["output"]);
    assert_eq!(g.metadata["srlens.scale"], "0.5");
    assert_eq!(g.metadata["srlens.input_range"], "0,255");
}

#[test]
fn concat_add_upsample_and_shuffle_translate() {
    let dir = tempfile::tempdir().unwrap();
    let mut weights = conv_weights("A", [1, 1], 3, 4);
    weights.extend(conv_weights("B", [1, 1], 7, 12));
    let layers = vec![
        input_layer(3),
        conv("A", "LR", [1, 1], 4, "same", 1, 1, "linear"),
        json!({"class_name": "Concatenate", "name": "cat", "config": {"axis": -1},
               "inbound_nodes": [[["LR", 0, 0, {}], ["A", 0, 0, {}]]]}),
        conv("B", "cat", [1, 1], 12, "same", 1, 1, "linear"),
        json!({"class_name": "PixelShuffle2x", "name": "ps", "config": {"scale": 2},
               "inbound_nodes": [[["B", 0, 0, {}]]]}),
        json!({"class_name": "MultiplyBeta", "name": "mb", "config": {"beta": 0.2},
               "inbound_nodes": [[["ps", 0, 0, {}]]]}),
        json!({"class_name": "UpSampling2D", "name": "up", "config": {"size": [3, 3], "interpolation": "nearest", "data_format": "channels_last"},
               "inbound_nodes": [[["ps", 0, 0, {}]]]}),
        json!({"class_name": "UpSampling2D", "name": "up2", "config": {"size": [3, 3], "interpolation": "nearest"},
               "inbound_nodes": [[["mb", 0, 0, {}]]]}),
        json!({"class_name": "Add", "name": "sum", "config": {},
               "inbound_nodes": [[["up", 0, 0, {}], ["up2", 0, 0, {}], ["up", 0, 0, {}]]]}),
    ];
    let path = write_model(dir.path(), layers, "sum", &weights, 0);
    let g = convert(&path).unwrap();
    let find = |name: &str| g.nodes.iter().find(|n| n.name == name).unwrap();
    assert_eq!(find("cat").int("axis", 0), 1);
    assert_eq!(find("cat").inputs, ["input", "A"]);
    assert_eq!(find("ps").string("mode"), Some("DCR"));
    assert_eq!(find("ps").int("blocksize", 0), 2);
    // One shared scales constant for both UpSampling2D layers.
    assert_eq!(find("up").inputs[2], find("up2").inputs[2]);
    assert_eq!(find("up").inputs[1], "");
    // A three-input Add becomes a chain ending in the output.
    assert_eq!(find("sum/1").inputs, ["up", "up2"]);
    assert_eq!(find("sum/2").inputs, ["sum/Add_1", "up"]);
    assert_eq!(find("sum/2").outputs, ["output"]);
    assert_eq!(g.outputs[0].shape[1], crate::Dim::Fixed(3));
    assert_eq!(g.metadata["srlens.scale"], "6");
    assert_eq!(g.metadata["srlens.input_range"], "0,1");
    assert_eq!(g.parameter_count(), (3 * 4 + 4 + 7 * 12 + 12) as u64);
}

#[test]
fn errors_name_the_layer_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let weights = conv_weights("A", [3, 3], 3, 3);
    let odd = json!({"class_name": "BatchNormalization", "name": "bn", "config": {},
                     "inbound_nodes": [[["A", 0, 0, {}]]]});
    let base = |extra: Vec<Value>| {
        let mut l = vec![
            input_layer(3),
            conv("A", "LR", [3, 3], 3, "same", 1, 1, "linear"),
        ];
        l.extend(extra);
        l
    };
    let p = write_model(dir.path(), base(vec![odd]), "bn", &weights, 0);
    let e = convert(&p).unwrap_err().to_string();
    assert!(
        e.contains("'bn'") && e.contains("BatchNormalization") && e.contains("not supported"),
        "{e}"
    );
    assert!(e.contains("model.json"), "{e}");

    let p = write_model(dir.path(), base(vec![]), "A", &weights, 4);
    let e = convert(&p).unwrap_err().to_string();
    assert!(
        e.contains("hold 340 bytes") && e.contains("describes 336"),
        "{e}"
    );

    let p = write_model(dir.path(), base(vec![]), "A", &weights, -4);
    assert!(convert(&p).unwrap_err().to_string().contains("needs more"));

    let mut more = weights.clone();
    more.push(("extra/kernel".into(), vec![2]));
    let p = write_model(dir.path(), base(vec![]), "A", &more, 0);
    let e = convert(&p).unwrap_err().to_string();
    assert!(e.contains("not used") && e.contains("extra/kernel"), "{e}");

    let bad_act = conv("A", "LR", [3, 3], 3, "same", 1, 1, "swish");
    let p = write_model(dir.path(), vec![input_layer(3), bad_act], "A", &weights, 0);
    assert!(convert(&p)
        .unwrap_err()
        .to_string()
        .contains("activation 'swish'"));

    let wrong_in = conv_weights("A", [3, 3], 4, 3);
    let p = write_model(dir.path(), base(vec![]), "A", &wrong_in, 0);
    assert!(convert(&p)
        .unwrap_err()
        .to_string()
        .contains("input channels"));

    std::fs::write(dir.path().join("model.json"), b"{\"nope\": 1}").unwrap();
    let e = convert(&dir.path().join("model.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a TF.js layers model"), "{e}");
}

#[test]
fn kernel_transpose_and_helpers() {
    let (kh, kw, ci, co) = (2, 3, 4, 5);
    let src: Vec<f32> = (0..kh * kw * ci * co).map(|v| v as f32).collect();
    let dst = hwio_to_oihw(&src, kh, kw, ci, co);
    // Element [o, i, y, x] of the result is element [y, x, i, o] of the source.
    assert_eq!(
        dst[((4 * ci + 3) * kh + 1) * kw + 2],
        src[((kw + 2) * ci + 3) * co + 4]
    );
    assert_eq!(dst[1], src[ci * co]); // [o0, i0, y0, x1] <- [y0, x1, i0, o0]
    let mut sorted = dst.clone();
    sorted.sort_by(f32::total_cmp);
    assert_eq!(sorted, src);
    assert_eq!(pixel_shuffle_scale("PixelShuffle4x"), Some(4));
    assert_eq!(pixel_shuffle_scale("PixelShuffle0x"), None);
    assert_eq!(pixel_shuffle_scale("PixelShufflex"), None);
    assert_eq!(
        [3, -1, 1, -3, 2, -2, 0].map(|a| nhwc_axis_to_nchw(a).unwrap()),
        [1, 1, 2, 2, 3, 3, 0]
    );
    assert!(nhwc_axis_to_nchw(4).is_err());
}
