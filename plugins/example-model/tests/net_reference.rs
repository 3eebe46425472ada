//! The network through the Backend/Model ABI against an independent float64 evaluation (a
//! direct convolution loop) and central finite differences of it.

use std::collections::HashMap;

use candle_core::{Device, Tensor as CTensor};
use srlens_core::abi_stable::std_types::{RSlice, RSome, RString};
use srlens_core::{ErrorKind, LoadRequest, ModelBox, Tensor};
use srlens_plugin_example_model::ExampleBackend;
use srlens_plugin_kit::component::backend_box;
use srlens_plugin_kit::testing::{objective_box, Intensity};
use srlens_test_support::rng::Lcg;

/// `(in, out, k)` of a small x2 network.
const LAYERS: [(usize, usize, usize); 4] = [(3, 5, 3), (5, 4, 1), (4, 4, 3), (4, 12, 3)];

/// Deterministic values in `[-amp, amp)`: the LCG started at `seed` itself.
fn values(seed: u64, n: usize, amp: f64) -> Vec<f64> {
    Lcg::from_state(seed).vec(n, amp)
}

/// A layer in f64: weight `out x in x k x k`, bias, PReLU slopes.
struct Layer64 {
    cin: usize,
    cout: usize,
    k: usize,
    w: Vec<f64>,
    b: Vec<f64>,
    a: Option<Vec<f64>>,
}

fn layers() -> Vec<Layer64> {
    LAYERS
        .iter()
        .enumerate()
        .map(|(i, &(cin, cout, k))| {
            let round = |v: Vec<f64>| v.into_iter().map(|x| x as f32 as f64).collect::<Vec<_>>();
            Layer64 {
                cin,
                cout,
                k,
                w: round(values(10 + i as u64, cout * cin * k * k, 0.6)),
                b: round(values(20 + i as u64, cout, 0.2)),
                a: (i + 1 < LAYERS.len()).then(|| round(values(30 + i as u64, cout, 0.5))),
            }
        })
        .collect()
}

fn write_weights(dir: &std::path::Path, layers: &[Layer64]) -> String {
    let mut map = HashMap::new();
    let t = |v: &[f64], shape: &[usize]| {
        let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        CTensor::from_vec(v, shape, &Device::Cpu).unwrap()
    };
    for (i, l) in layers.iter().enumerate() {
        map.insert(
            format!("body.{i}.weight"),
            t(&l.w, &[l.cout, l.cin, l.k, l.k]),
        );
        map.insert(format!("body.{i}.bias"), t(&l.b, &[l.cout]));
        if let Some(a) = &l.a {
            map.insert(format!("body.{i}.prelu"), t(a, &[l.cout]));
        }
    }
    let path = dir.join("net.safetensors");
    candle_core::safetensors::save(&map, &path).unwrap();
    path.to_string_lossy().into_owned()
}

/// The network in f64 on one `3 x h x w` image.
fn forward64(layers: &[Layer64], x: &[f64], h: usize, w: usize) -> Vec<f64> {
    let mut y = x.to_vec();
    for l in layers {
        let p = l.k as isize / 2;
        let mut z = vec![0f64; l.cout * h * w];
        for o in 0..l.cout {
            for i in 0..h {
                for j in 0..w {
                    let mut acc = l.b[o];
                    for c in 0..l.cin {
                        for dy in 0..l.k {
                            for dx in 0..l.k {
                                let (yy, xx) =
                                    (i as isize + dy as isize - p, j as isize + dx as isize - p);
                                if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                                    continue;
                                }
                                acc += l.w[((o * l.cin + c) * l.k + dy) * l.k + dx]
                                    * y[(c * h + yy as usize) * w + xx as usize];
                            }
                        }
                    }
                    z[(o * h + i) * w + j] = match &l.a {
                        Some(a) if acc < 0.0 => a[o] * acc,
                        _ => acc,
                    };
                }
            }
        }
        y = z;
    }
    // Skip (nearest) and DepthToSpace (DCR), scale 2.
    let s = 2;
    let mut out = vec![0f64; 3 * h * s * w * s];
    for c in 0..3 {
        for i in 0..h * s {
            for j in 0..w * s {
                let ch = ((i % s) * s + j % s) * 3 + c;
                out[(c * h * s + i) * w * s + j] =
                    y[(ch * h + i / s) * w + j / s] + x[(c * h + i / s) * w + j / s];
            }
        }
    }
    out
}

fn load_err(path: &str, options: &str, device: &str) -> srlens_core::PluginError {
    match load(path, options, device) {
        Ok(_) => panic!("{path} loaded with options {options:?} on {device:?}"),
        Err(e) => e,
    }
}

fn load(path: &str, options: &str, device: &str) -> Result<ModelBox, srlens_core::PluginError> {
    let req = LoadRequest {
        path: RSome(RString::from(path)),
        options: RString::from(options),
        threads: 0,
        device: RString::from(device),
        config_dir: RString::new(),
    };
    backend_box("example-fsrcnn", ExampleBackend)
        .load(&req)
        .into_result()
}

const H: usize = 5;
const W: usize = 6;

fn image() -> Vec<f64> {
    values(99, 3 * H * W, 0.5)
        .into_iter()
        .map(|v| (v + 0.5) as f32 as f64)
        .collect()
}

#[test]
fn forward_matches_a_float64_direct_convolution() {
    let dir = tempfile::tempdir().unwrap();
    let layers = layers();
    let model = load(&write_weights(dir.path(), &layers), "", "cpu").unwrap();
    let info = model.info();
    assert_eq!(info.scale, 2);
    assert_eq!(info.channels, 3);
    let params: usize = LAYERS
        .iter()
        .map(|&(i, o, k)| o * i * k * k + o)
        .sum::<usize>()
        + 5
        + 4
        + 4;
    assert_eq!(info.parameters, params as u64);
    assert_eq!(info.receptive_field.into_option(), Some(1 + 2 + 2 + 2));

    let x = image();
    let lr = Tensor::new(vec![1, 3, H, W], x.iter().map(|&v| v as f32).collect()).unwrap();
    let sr = model.forward(&lr).unwrap();
    assert_eq!(sr.dims(), vec![1, 3, 2 * H, 2 * W]);
    let want = forward64(&layers, &x, H, W);
    let worst = sr
        .data
        .iter()
        .zip(&want)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-5, "largest difference {worst}");
}

#[test]
fn gradients_match_finite_differences_for_each_objective() {
    let dir = tempfile::tempdir().unwrap();
    let layers = layers();
    let model = load(&write_weights(dir.path(), &layers), "{}", "").unwrap();
    let x = image();
    let lr = Tensor::new(vec![1, 3, H, W], x.iter().map(|&v| v as f32).collect()).unwrap();
    let windows = [Intensity::new(2, 3, 4), Intensity::new(0, 0, 2)];
    let objs: Vec<_> = windows.iter().map(|w| objective_box(*w)).collect();
    let grads = model.gradient(&lr, RSlice::from_slice(&objs)).unwrap();
    assert_eq!(grads.len(), 2);
    let eps = 1e-4;
    for (win, g) in windows.iter().zip(grads.iter()) {
        let f = |x: &[f64]| -> f64 {
            let y = forward64(&layers, x, H, W);
            let mut v = 0.0;
            for c in 0..3 {
                for i in 0..2 * H {
                    for j in 0..2 * W {
                        if win.contains(i, j) {
                            v += y[(c * 2 * H + i) * 2 * W + j];
                        }
                    }
                }
            }
            v
        };
        assert!(
            (g.values[0] - f(&x)).abs() < 1e-4,
            "value {} vs {}",
            g.values[0],
            f(&x)
        );
        assert_eq!(g.grad.dims(), vec![1, 3, H, W]);
        let scale = g
            .grad
            .data
            .iter()
            .map(|v| v.abs() as f64)
            .fold(0.0, f64::max);
        assert!(scale > 0.1, "the gradient is not trivial");
        for k in 0..x.len() {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[k] += eps;
            down[k] -= eps;
            let fd = (f(&up) - f(&down)) / (2.0 * eps);
            let got = g.grad.data[k] as f64;
            assert!(
                (got - fd).abs() <= 1e-4 * scale.max(1.0),
                "pixel {k}: {got} vs {fd}"
            );
        }
    }
}

#[test]
fn bad_files_options_and_devices_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_err(
        &dir.path().join("none.safetensors").to_string_lossy(),
        "",
        "cpu",
    );
    assert_eq!(e.kind, ErrorKind::ModelLoad);
    assert!(e.message.contains("does not exist"), "{}", e.message);

    let not = dir.path().join("not.safetensors");
    std::fs::write(&not, b"hello").unwrap();
    let e = load_err(&not.to_string_lossy(), "", "cpu");
    assert_eq!(e.kind, ErrorKind::ModelLoad);
    assert!(
        e.message.contains("not a safetensors file"),
        "{}",
        e.message
    );

    let good = write_weights(dir.path(), &layers());
    let e = load_err(&good, r#"{"scale": 2}"#, "cpu");
    assert_eq!(e.kind, ErrorKind::InvalidConfig);
    assert!(e.message.contains("unknown field `scale`"), "{}", e.message);
    let e = load_err(&good, "", "cuda:0");
    assert_eq!(e.kind, ErrorKind::Unsupported);

    let mut map = HashMap::new();
    map.insert(
        "body.0.weight".to_string(),
        CTensor::zeros((12, 3, 3, 3), candle_core::DType::F32, &Device::Cpu).unwrap(),
    );
    map.insert(
        "body.0.bias".to_string(),
        CTensor::zeros(12, candle_core::DType::F32, &Device::Cpu).unwrap(),
    );
    map.insert(
        "extra".to_string(),
        CTensor::zeros(1, candle_core::DType::F32, &Device::Cpu).unwrap(),
    );
    let odd = dir.path().join("odd.safetensors");
    candle_core::safetensors::save(&map, &odd).unwrap();
    let e = load_err(&odd.to_string_lossy(), "", "cpu");
    assert!(
        e.message.contains("unexpected tensor `extra`"),
        "{}",
        e.message
    );

    let model = load(&good, "", "cpu").unwrap();
    let e = model.forward(&Tensor::zeros(vec![1, 1, 4, 4])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(e.message.contains("N x 3 x H x W"), "{}", e.message);
}
