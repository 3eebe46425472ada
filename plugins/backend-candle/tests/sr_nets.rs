//! Small SR networks through the whole backend (ONNX file -> `Backend::load` -> `Model`):
//! forward against a naive float64 implementation written here with plain loops, and the
//! input gradient against central finite differences of that implementation; plus the
//! backend's errors and model info.

mod common;

use common::{ints, Rng, G};
use srlens_core::abi_stable::std_types::{RSlice, RSome, RString};
use srlens_core::{BackendBox, ErrorKind, LoadRequest, ModelBox, Tensor};
use srlens_onnx::{Attribute, Graph};
use srlens_plugin_candle::CandleBackend;
use srlens_plugin_kit::{component::backend_box, testing::objective_box};
use srlens_test_support::objective::Linear;

/// The backend as the host sees it: through the ABI, with the kit's checks.
fn backend() -> BackendBox {
    backend_box("candle", CandleBackend)
}

/// A 4-D array in f64 with its shape.
#[derive(Clone, Debug)]
struct A {
    s: [usize; 4],
    v: Vec<f64>,
}

impl A {
    fn zeros(s: [usize; 4]) -> Self {
        A {
            s,
            v: vec![0.0; s.iter().product()],
        }
    }
    fn at(&self, n: usize, c: usize, h: usize, w: usize) -> f64 {
        self.v[((n * self.s[1] + c) * self.s[2] + h) * self.s[3] + w]
    }
    fn set(&mut self, n: usize, c: usize, h: usize, w: usize, x: f64) {
        let i = ((n * self.s[1] + c) * self.s[2] + h) * self.s[3] + w;
        self.v[i] = x;
    }
}

/// Convolution with a `co x ci x k x k` kernel, stride 1, zero padding `p`.
fn conv(x: &A, w: &[f64], b: &[f64], co: usize, k: usize, p: usize) -> A {
    let [n, ci, h, wd] = x.s;
    let (oh, ow) = (h + 2 * p - k + 1, wd + 2 * p - k + 1);
    let mut y = A::zeros([n, co, oh, ow]);
    for b_ in 0..n {
        for o in 0..co {
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = b[o];
                    for c in 0..ci {
                        for u in 0..k {
                            for v in 0..k {
                                let (ii, jj) = (i + u, j + v);
                                if ii < p || jj < p || ii - p >= h || jj - p >= wd {
                                    continue;
                                }
                                acc +=
                                    w[((o * ci + c) * k + u) * k + v] * x.at(b_, c, ii - p, jj - p);
                            }
                        }
                    }
                    y.set(b_, o, i, j, acc);
                }
            }
        }
    }
    y
}

fn relu(x: &A) -> A {
    A {
        s: x.s,
        v: x.v.iter().map(|&v| v.max(0.0)).collect(),
    }
}

/// TensorFlow's depth_to_space (ONNX DCR): out[c, h*r+i, w*r+j] = in[(i*r+j)*C' + c, h, w].
fn depth_to_space(x: &A, r: usize) -> A {
    let [n, c, h, w] = x.s;
    let co = c / (r * r);
    let mut y = A::zeros([n, co, h * r, w * r]);
    for b in 0..n {
        for o in 0..co {
            for i in 0..h * r {
                for j in 0..w * r {
                    let src = ((i % r) * r + (j % r)) * co + o;
                    y.set(b, o, i, j, x.at(b, src, i / r, j / r));
                }
            }
        }
    }
    y
}

fn upsample(x: &A, r: usize) -> A {
    let [n, c, h, w] = x.s;
    let mut y = A::zeros([n, c, h * r, w * r]);
    for b in 0..n {
        for o in 0..c {
            for i in 0..h * r {
                for j in 0..w * r {
                    y.set(b, o, i, j, x.at(b, o, i / r, j / r));
                }
            }
        }
    }
    y
}

/// Net A: conv 3->8, relu, conv 8->12, DepthToSpace 2; net B: Resize nearest x2, conv 3->3.
struct Net {
    graph: Graph,
    w: Vec<Vec<f64>>,
    kind: char,
    range: [f64; 2],
}

impl Net {
    fn a(range: Option<[f64; 2]>) -> Net {
        let mut rng = Rng(100);
        let w1 = rng.vec32(8 * 3 * 9, -0.3, 0.3);
        let b1 = rng.vec32(8, -0.1, 0.1);
        let w2 = rng.vec32(12 * 8 * 9, -0.2, 0.2);
        let b2 = rng.vec32(12, -0.1, 0.1);
        let mut g = G::new();
        g.input_shape(&[-1, 3, -1, -1]);
        let pads = || vec![("pads", ints(&[1, 1, 1, 1]))];
        let (w1n, b1n) = (g.init(&[8, 3, 3, 3], w1.clone()), g.init(&[8], b1.clone()));
        let (w2n, b2n) = (
            g.init(&[12, 8, 3, 3], w2.clone()),
            g.init(&[12], b2.clone()),
        );
        let c1 = g.op("Conv", &["x", &w1n, &b1n], pads());
        let r = g.op("Relu", &[&c1], vec![]);
        let c2 = g.op("Conv", &[&r, &w2n, &b2n], pads());
        let y = g.op(
            "DepthToSpace",
            &[&c2],
            vec![("blocksize", Attribute::Int(2))],
        );
        let mut graph = g.finish(&y);
        if let Some([lo, hi]) = range {
            graph
                .metadata
                .insert("srlens.input_range".into(), format!("{lo},{hi}"));
        }
        let f = |v: Vec<f32>| v.into_iter().map(f64::from).collect();
        Net {
            graph,
            w: vec![f(w1), f(b1), f(w2), f(b2)],
            kind: 'a',
            range: range.unwrap_or([0.0, 1.0]),
        }
    }

    fn b() -> Net {
        let mut rng = Rng(200);
        let w = rng.vec32(3 * 3 * 9, -0.3, 0.3);
        let b = rng.vec32(3, -0.1, 0.1);
        let mut g = G::new();
        g.input_shape(&[-1, 3, -1, -1]);
        let roi = g.init(&[0], vec![]);
        let scales = g.init(&[4], vec![1.0, 1.0, 2.0, 2.0]);
        let (wn, bn) = (g.init(&[3, 3, 3, 3], w.clone()), g.init(&[3], b.clone()));
        let u = g.op(
            "Resize",
            &["x", &roi, &scales],
            vec![
                ("mode", Attribute::String("nearest".into())),
                (
                    "coordinate_transformation_mode",
                    Attribute::String("asymmetric".into()),
                ),
                ("nearest_mode", Attribute::String("floor".into())),
            ],
        );
        let y = g.op("Conv", &[&u, &wn, &bn], vec![("pads", ints(&[1, 1, 1, 1]))]);
        let f = |v: Vec<f32>| v.into_iter().map(f64::from).collect();
        Net {
            graph: g.finish(&y),
            w: vec![f(w), f(b)],
            kind: 'b',
            range: [0.0, 1.0],
        }
    }

    /// The network in f64 on an input in [0, 1], output in [0, 1] units.
    fn naive(&self, x: &A) -> A {
        let [lo, hi] = self.range;
        let xs = A {
            s: x.s,
            v: x.v.iter().map(|v| lo + v * (hi - lo)).collect(),
        };
        let y = match self.kind {
            'a' => {
                let h = relu(&conv(&xs, &self.w[0], &self.w[1], 8, 3, 1));
                depth_to_space(&conv(&h, &self.w[2], &self.w[3], 12, 3, 1), 2)
            }
            _ => conv(&upsample(&xs, 2), &self.w[0], &self.w[1], 3, 3, 1),
        };
        A {
            s: y.s,
            v: y.v.iter().map(|v| (v - lo) / (hi - lo)).collect(),
        }
    }
}

fn load_err(req: &LoadRequest) -> srlens_core::PluginError {
    match backend().load(req).into_result() {
        Ok(_) => panic!("the load succeeded"),
        Err(e) => e,
    }
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("srlens-candle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn request(path: &std::path::Path, options: &str, device: &str) -> LoadRequest {
    LoadRequest {
        path: RSome(RString::from(path.to_string_lossy().as_ref())),
        options: RString::from(options),
        threads: 0,
        device: RString::from(device),
        config_dir: RString::new(),
    }
}

fn load(graph: &Graph, file: &str, options: &str) -> ModelBox {
    let path = temp_path(file);
    srlens_onnx::write_file(graph, &path).unwrap();
    backend().load(&request(&path, options, "cpu")).unwrap()
}

fn input(shape: [usize; 4], seed: u64) -> (A, Tensor) {
    let v = Rng(seed).vec(shape.iter().product(), 0.0, 1.0);
    let t = Tensor::new(shape.to_vec(), v.iter().map(|&x| x as f32).collect()).unwrap();
    // The naive net sees exactly the f32 values the backend sees.
    (
        A {
            s: shape,
            v: t.data.iter().map(|&x| x as f64).collect(),
        },
        t,
    )
}

fn assert_close(got: &[f32], want: &[f64], rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: sizes differ");
    let scale = want.iter().fold(1e-6f64, |m, v| m.max(v.abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= rtol * scale,
            "{what}[{i}]: got {g}, want {w} (scale {scale})"
        );
    }
}

#[test]
fn forward_matches_naive_float64() {
    for (net, file) in [
        (Net::a(None), "a.onnx"),
        (Net::a(Some([0.0, 255.0])), "a255.onnx"),
        (Net::b(), "b.onnx"),
    ] {
        let model = load(&net.graph, file, "");
        let (xa, xt) = input([2, 3, 5, 6], 7);
        let y = model.forward(&xt).unwrap();
        let want = net.naive(&xa);
        assert_eq!(y.dims(), want.s.to_vec(), "{file}: output shape");
        assert_close(&y.data, &want.v, 2e-5, file);
    }
}

#[test]
fn option_overrides_the_metadata_range() {
    // The file says [0, 1]; the option says [0, 255]: the result must be the [0, 255] net.
    let net = Net::a(Some([0.0, 255.0]));
    let mut plain = net.graph.clone();
    plain.metadata.clear();
    let model = load(&plain, "a_opt.onnx", r#"{"input_range": [0, 255]}"#);
    assert_eq!(model.info().input_range, [0.0, 255.0]);
    let (xa, xt) = input([1, 3, 4, 4], 8);
    let y = model.forward(&xt).unwrap();
    assert_close(&y.data, &net.naive(&xa).v, 2e-5, "overridden range");
}

#[test]
fn input_gradient_matches_finite_differences() {
    for (net, file, range) in [
        (Net::a(Some([0.0, 255.0])), "ga.onnx", [0.0, 255.0]),
        (Net::b(), "gb.onnx", [0.0, 1.0]),
    ] {
        let model = load(&net.graph, file, "");
        let shape = [2, 3, 4, 5];
        let (xa, xt) = input(shape, 9);
        let y0 = net.naive(&xa);
        let mut rng = Rng(10);
        let r1 = rng.vec32(y0.v.len(), -1.0, 1.0);
        let r2 = rng.vec32(y0.v.len(), -1.0, 1.0);
        let objs = [
            objective_box(Linear(Tensor::new(y0.s.to_vec(), r1.clone()).unwrap())),
            objective_box(Linear(Tensor::new(y0.s.to_vec(), r2.clone()).unwrap())),
        ];
        let grads = model.gradient(&xt, RSlice::from_slice(&objs)).unwrap();
        assert_eq!(grads.len(), 2);
        for (g, r) in grads.iter().zip([&r1, &r2]) {
            // Values: sum(r * F(x)) per item, against the naive net.
            let per = y0.v.len() / shape[0];
            for b in 0..shape[0] {
                let want: f64 = (b * per..(b + 1) * per)
                    .map(|i| r[i] as f64 * y0.v[i])
                    .sum();
                assert!(
                    (g.values[b] - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{file} value"
                );
            }
            // Gradient: central differences of the naive f64 net.
            let f = |x: &A| -> f64 {
                net.naive(x)
                    .v
                    .iter()
                    .zip(r.iter())
                    .map(|(a, &b)| a * b as f64)
                    .sum()
            };
            let eps = 1e-5 / f64::max(range[1] - range[0], 1.0);
            let mut fd = vec![0.0; xa.v.len()];
            let mut xp = xa.clone();
            for (i, d) in fd.iter_mut().enumerate() {
                xp.v[i] = xa.v[i] + eps;
                let fp = f(&xp);
                xp.v[i] = xa.v[i] - eps;
                let fm = f(&xp);
                xp.v[i] = xa.v[i];
                *d = (fp - fm) / (2.0 * eps);
            }
            assert_eq!(g.grad.dims(), shape.to_vec());
            assert_close(&g.grad.data, &fd, 1e-4, &format!("{file} gradient"));
        }
    }
}

#[test]
fn info_reports_scale_channels_parameters() {
    let net = Net::a(None);
    let model = load(&net.graph, "info.onnx", "");
    let info = model.info();
    assert_eq!(info.name.as_str(), "info");
    assert_eq!(info.scale, 2);
    assert_eq!(info.channels, 3);
    assert_eq!(info.parameters, (8 * 27 + 8 + 12 * 72 + 12) as u64);
    assert_eq!(info.input_range, [0.0, 1.0]);
    let mut g = Net::b().graph;
    g.metadata.insert("srlens.scale".into(), "2".into());
    assert_eq!(load(&g, "meta.onnx", "").info().scale, 2);
}

#[test]
fn unsupported_op_is_reported_at_load_with_the_node() {
    let mut g = G::new();
    let a = g.op("Relu", &["x"], vec![]);
    let y = g.op("LpNormalization", &[&a], vec![]);
    let graph = g.finish(&y);
    let path = temp_path("unsupported.onnx");
    srlens_onnx::write_file(&graph, &path).unwrap();
    let e = load_err(&request(&path, "", "cpu"));
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.message.contains("LpNormalization"), "{}", e.message);
    assert!(
        e.message.contains("LpNormalization_2"),
        "names the node: {}",
        e.message
    );
    assert!(
        e.message.contains("Conv") && e.message.contains("DepthToSpace"),
        "{}",
        e.message
    );
    let mut g = G::new();
    let y = g.op(
        "Resize",
        &["x"],
        vec![("mode", Attribute::String("cubic".into()))],
    );
    let e = srlens_plugin_candle::Interpreter::new(g.finish(&y), candle_core::DType::F32)
        .expect_err("an error");
    assert!(e.to_string().contains("cubic"), "{e}");
}

/// The load error for `Net::b()` with the metadata `key = value`.
fn metadata_load_err(key: &str, value: &str, file: &str) -> srlens_core::PluginError {
    let mut g = Net::b().graph;
    g.metadata.insert(key.into(), value.into());
    let path = temp_path(file);
    srlens_onnx::write_file(&g, &path).unwrap();
    load_err(&request(&path, "", "cpu"))
}

#[test]
fn a_bad_range_in_the_metadata_names_its_own_key() {
    let e = metadata_load_err("srlens.output_range", "0;255", "bad_out_range.onnx");
    assert_eq!(e.kind, ErrorKind::ModelLoad);
    assert!(
        e.message.contains("srlens.output_range") && e.message.contains("0;255"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("srlens.input_range"), "{}", e.message);
    let e = metadata_load_err("srlens.input_range", "zero,one", "bad_in_range.onnx");
    assert_eq!(e.kind, ErrorKind::ModelLoad);
    assert!(
        e.message.contains("srlens.input_range") && e.message.contains("zero,one"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("srlens.output_range"), "{}", e.message);
}

#[test]
fn a_scale_that_is_not_a_positive_integer_is_refused_at_load() {
    for (value, file) in [
        ("0", "scale0.onnx"),
        ("two", "scale_two.onnx"),
        ("-2", "scale_neg.onnx"),
        ("1.5", "scale_frac.onnx"),
        ("", "scale_empty.onnx"),
    ] {
        let e = metadata_load_err("srlens.scale", value, file);
        assert_eq!(
            e.kind,
            ErrorKind::ModelLoad,
            "scale `{value}`: {}",
            e.message
        );
        assert!(
            e.message.contains("srlens.scale")
                && e.message.contains(&format!("`{value}`"))
                && e.message.contains("positive integer"),
            "scale `{value}`: {}",
            e.message
        );
    }
}

#[test]
fn load_errors_name_the_problem() {
    let missing = temp_path("missing.onnx");
    let e = load_err(&request(&missing, "", "cpu"));
    assert_eq!(e.kind, ErrorKind::ModelLoad);
    assert!(e.message.contains("missing.onnx"), "{}", e.message);
    let junk = temp_path("junk.onnx");
    std::fs::write(&junk, b"this is not a protobuf \xff\xff\xff").unwrap();
    let e = load_err(&request(&junk, "", "cpu"));
    assert_eq!(e.kind, ErrorKind::ModelLoad);
    assert!(e.message.contains("junk.onnx"), "{}", e.message);
    let path = temp_path("dev.onnx");
    srlens_onnx::write_file(&Net::b().graph, &path).unwrap();
    let e = load_err(&request(&path, "", "cuda:0"));
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(
        e.message.contains("cuda:0") && e.message.contains("cpu"),
        "{}",
        e.message
    );
    let e = load_err(&request(&path, r#"{"range": [0, 1]}"#, "cpu"));
    assert_eq!(e.kind, ErrorKind::InvalidConfig);
    assert!(e.message.contains("input_range"), "{}", e.message);
}

#[test]
fn wrong_input_shape_is_an_input_error() {
    let model = load(&Net::b().graph, "shape.onnx", "");
    let x = Tensor::zeros(vec![1, 4, 5, 5]);
    let e = model.forward(&x).into_result().expect_err("an error");
    assert_eq!(e.kind, ErrorKind::InvalidInput);
}

#[test]
fn threads_option_runs_in_a_pool_with_the_same_result() {
    let net = Net::a(None);
    let path = temp_path("threads.onnx");
    srlens_onnx::write_file(&net.graph, &path).unwrap();
    let mut req = request(&path, "", "cpu");
    req.threads = 1;
    let model = backend().load(&req).unwrap();
    let (xa, xt) = input([1, 3, 4, 4], 11);
    let y = model.forward(&xt).unwrap();
    assert_close(&y.data, &net.naive(&xa).v, 2e-5, "one thread");
}
