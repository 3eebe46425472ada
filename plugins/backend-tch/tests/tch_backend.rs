//! The tch backend against torch's own float64 results, central finite differences, the candle
//! backend on the same networks exported to ONNX, and its error messages.

mod common;

use common::*;
use srlens_core::abi_stable::std_types::{RSome, RString};
use srlens_core::{ErrorKind, LoadRequest, Tensor};
use srlens_plugin_candle::CandleModel;
use srlens_plugin_kit::{component::backend_box, SrModel, SrModelExt};
use srlens_plugin_tch::{TchBackend, TchModel};

fn load(path: &str, options: &str) -> TchModel {
    TchModel::load(path, options, 0, "cpu").unwrap_or_else(|e| panic!("load {path}: {e}"))
}

fn load_err(path: &str, options: &str, device: &str) -> srlens_core::PluginError {
    let request = LoadRequest {
        path: RSome(RString::from(path)),
        options: RString::from(options),
        threads: 0,
        device: RString::from(device),
        config_dir: RString::new(),
    };
    match backend_box("tch", TchBackend).load(&request).into_result() {
        Ok(_) => panic!("{path} with {options} on `{device}` loaded"),
        Err(e) => e,
    }
}

#[test]
fn small_net_matches_torch_float64() {
    let m = load(&fixture("small_net.pt"), "");
    let x = npy("small_net_x.npy");
    let sr = m.forward_abi(&x).unwrap();
    let e = rel_err(&sr, &npy("small_net_sr.npy"));
    assert!(e < 1e-5, "SR relative error {e}");
    let w = Linear(npy("small_net_w.npy"));
    let g = m.gradients(&x, &[obj(&w)]).unwrap();
    let e = rel_err(&g[0].grad, &npy("small_net_grad.npy"));
    assert!(e < 1e-5, "gradient relative error {e}");
    let want = w.values(&npy("small_net_sr.npy"));
    for (a, b) in g[0].values.iter().zip(&want) {
        assert!((a - b).abs() < 1e-4 * b.abs().max(1.0), "value {a} vs {b}");
    }
}

#[test]
fn input_range_maps_to_the_model_range() {
    // conv_net is used on [0, 255]: the reference applies the same mapping in float64.
    let m = load(&fixture("conv_net.pt"), r#"{"input_range": [0, 255]}"#);
    assert_eq!(m.model_info().input_range, [0.0, 255.0]);
    assert_eq!(m.model_info().scale, 3);
    let x = npy("conv_net_x.npy");
    let e = rel_err(&m.forward_abi(&x).unwrap(), &npy("conv_net_sr.npy"));
    assert!(e < 1e-5, "SR relative error {e}");
    let w = Linear(npy("conv_net_w.npy"));
    let g = m.gradients(&x, &[obj(&w)]).unwrap();
    let e = rel_err(&g[0].grad, &npy("conv_net_grad.npy"));
    assert!(e < 1e-5, "gradient relative error {e}");
}

#[test]
fn gradient_matches_central_finite_differences() {
    let m = load(&fixture("small_net.pt"), "");
    let mut rng = Rng(11);
    let x = rng.tensor(&[1, 3, 5, 6], 0.0, 1.0);
    let w = Linear(rng.tensor(&[1, 3, 10, 12], -1.0, 1.0));
    let g = m.gradients(&x, &[obj(&w)]).unwrap().remove(0);
    let f = |x: &Tensor| w.values(&m.forward_abi(x).unwrap())[0];
    let eps = 5e-3;
    let max_g = g.grad.data.iter().fold(0f32, |a, v| a.max(v.abs())) as f64;
    assert!(max_g > 1e-2, "a degenerate gradient ({max_g})");
    let mut worst = 0f64;
    for i in 0..x.len() {
        let (mut plus, mut minus) = (x.clone(), x.clone());
        plus.data[i] += eps as f32;
        minus.data[i] -= eps as f32;
        let h = (plus.data[i] - minus.data[i]) as f64;
        let fd = (f(&plus) - f(&minus)) / h;
        worst = worst.max((fd - g.grad.data[i] as f64).abs());
    }
    assert!(
        worst < 5e-3 * max_g,
        "finite differences differ by {worst} (max |g| {max_g})"
    );
}

#[test]
fn several_objectives_share_one_forward() {
    let m = load(&fixture("small_net.pt"), "");
    let mut rng = Rng(5);
    let x = rng.tensor(&[2, 3, 4, 5], 0.0, 1.0);
    let w1 = Linear(rng.tensor(&[2, 3, 8, 10], -1.0, 1.0));
    let w2 = Linear(rng.tensor(&[2, 3, 8, 10], -1.0, 1.0));
    let both = m.gradients(&x, &[obj(&w1), obj(&w2)]).unwrap();
    let one = m.gradients(&x, &[obj(&w1)]).unwrap().remove(0);
    let two = m.gradients(&x, &[obj(&w2)]).unwrap().remove(0);
    assert_eq!(both.len(), 2);
    assert!(rel_err(&both[0].grad, &one.grad) < 1e-6);
    assert!(rel_err(&both[1].grad, &two.grad) < 1e-6);
    assert_eq!(both[1].values.as_slice(), two.values.as_slice());
    assert!(m.gradients(&x, &[]).unwrap().is_empty());
}

/// Forward and gradient of the same network in tch and candle agree to `tol`.
fn compare_with_candle(tch: &TchModel, candle: &CandleModel, x: &Tensor, seed: u64, tol: f64) {
    let a = tch.forward_abi(x).unwrap();
    let b = candle.forward_abi(x).unwrap();
    let e = rel_err(&a, &b);
    assert!(e < tol, "SR outputs differ: relative error {e}");
    let w = Linear(Rng(seed).tensor(&b.dims(), -1.0, 1.0));
    let ga = tch.gradients(x, &[obj(&w)]).unwrap().remove(0);
    let gb = candle.gradients(x, &[obj(&w)]).unwrap().remove(0);
    let e = rel_err(&ga.grad, &gb.grad);
    assert!(e < tol, "input gradients differ: relative error {e}");
}

#[test]
fn tch_and_candle_agree_on_the_small_nets() {
    let x = Rng(3).tensor(&[2, 3, 6, 7], 0.0, 1.0);
    let tch = load(&fixture("small_net.pt"), "");
    let candle = CandleModel::load(&fixture("small_net.onnx"), "", 0, "cpu").unwrap();
    assert_eq!(tch.model_info().scale, candle.model_info().scale);
    compare_with_candle(&tch, &candle, &x, 1, 1e-4);

    let range = r#"{"input_range": [0, 255]}"#;
    let tch = load(&fixture("conv_net.pt"), range);
    let candle = CandleModel::load(&fixture("conv_net.onnx"), range, 0, "cpu").unwrap();
    compare_with_candle(&tch, &candle, &x, 2, 1e-4);
}

/// The UpscalerJS network `name` traced to TorchScript by `gen_models.py zoo` (from the ONNX
/// that `cargo xtask setup` converts) against the candle backend on that ONNX file.
fn compare_zoo_model(name: &str, scale: u32, range: &str, seed: u64) {
    let options = format!(r#"{{"input_range": {range}}}"#);
    let tch = load(&zoo(&format!("{name}.pt")), &options);
    let candle = CandleModel::load(&zoo(&format!("{name}.onnx")), "", 0, "cpu").unwrap();
    let (ti, ci) = (tch.model_info(), candle.model_info());
    assert_eq!(
        (ti.scale, ti.channels, ti.parameters),
        (scale, 3, ci.parameters),
        "{name}"
    );
    assert_eq!(ti.input_range, ci.input_range, "{name}");
    let x = Rng(seed).tensor(&[1, 3, 12, 10], 0.0, 1.0);
    compare_with_candle(&tch, &candle, &x, seed + 1, 1e-4);
}

#[test]
fn tch_and_candle_agree_on_esrgan_slim_x4() {
    // RDN on [0, 255], nearest upsampling (Resize).
    compare_zoo_model("esrgan-slim-x4", 4, "[0, 255]", 9);
}

#[test]
fn tch_and_candle_agree_on_esrgan_medium_x2() {
    compare_zoo_model("esrgan-medium-x2", 2, "[0, 255]", 19);
}

#[test]
fn tch_and_candle_agree_on_esrgan_thick_x4() {
    // RRDN on [0, 1], with MultiplyBeta (Mul) and pixel shuffle (DepthToSpace DCR).
    compare_zoo_model("esrgan-thick-x4", 4, "[0, 1]", 29);
}

#[test]
fn info_describes_the_network() {
    let m = load(&fixture("small_net.pt"), r#"{"scale": 2}"#);
    let info = m.info();
    assert_eq!(info.name.as_str(), "small_net");
    assert_eq!((info.scale, info.channels), (2, 3));
    assert_eq!(info.input_range, [0.0, 1.0]);
    // head 3*8*9+8, PReLU 8, body 8*8*9+8, attention 8*2+2 and 2*8+8, tail 8*12*9+12.
    assert_eq!(info.parameters, 224 + 8 + 584 + 18 + 24 + 876);
}

#[test]
fn a_pickle_that_is_not_torchscript_is_refused() {
    let e = load_err(&fixture("state_dict.pt"), "", "cpu");
    assert_eq!(e.kind, ErrorKind::ModelLoad);
    assert!(
        e.message.contains("is not a TorchScript file"),
        "{}",
        e.message
    );
    assert!(e.message.contains("torch.jit.trace"), "{}", e.message);
    assert!(!e.message.contains("frame #"), "{}", e.message);
    let e = load_err(&fixture("missing.pt"), "", "cpu");
    assert!(e.message.contains("does not exist"), "{}", e.message);
}

#[test]
fn an_output_that_is_not_an_image_is_refused() {
    let e = load_err(&fixture("not_4d.pt"), "", "cpu");
    assert_eq!(e.kind, ErrorKind::ModelLoad);
    assert!(
        e.message.contains("output has shape [1, 768]"),
        "{}",
        e.message
    );
    assert!(e.message.contains("N x C x H x W"), "{}", e.message);
}

#[test]
fn a_wrong_scale_option_is_refused() {
    let e = load_err(&fixture("small_net.pt"), r#"{"scale": 4}"#, "cpu");
    assert_eq!(e.kind, ErrorKind::InvalidConfig);
    assert!(
        e.message
            .contains("option scale = 4, but the model upscales by 2"),
        "{}",
        e.message
    );
}

#[test]
fn bad_options_inputs_and_devices_are_refused() {
    let e = load_err(&fixture("small_net.pt"), r#"{"range": [0, 1]}"#, "cpu");
    assert_eq!(e.kind, ErrorKind::InvalidConfig);
    assert!(e.message.contains("unknown field `range`"), "{}", e.message);
    let e = load_err(&fixture("small_net.pt"), "", "tpu:0");
    assert_eq!(e.kind, ErrorKind::InvalidConfig);
    let e = load_err(&fixture("small_net.pt"), r#"{"channels": 1}"#, "cpu");
    assert_eq!(e.kind, ErrorKind::ModelLoad);
    assert!(e.message.contains("probe failed"), "{}", e.message);

    let m = load(&fixture("small_net.pt"), "");
    let bad = Tensor::zeros(vec![1, 1, 4, 4]);
    let e = m.forward(&bad).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(e.message.contains("N x 3 x H x W"), "{}", e.message);
}

/// The wheel's libtorch is a CUDA build: its CUDA library must be loaded with the plugin
/// (the linker drops it unless told otherwise), or `device = "cuda"` could never work.
#[test]
fn libtorch_cuda_support_is_linked_in() {
    assert!(
        tch::utils::has_cudart(),
        "libtorch_cuda.so is not loaded: the plugin must link libtorch with --no-as-needed"
    );
}

#[test]
fn cuda_works_or_says_it_is_unavailable() {
    if tch::Cuda::is_available() {
        let gpu = TchModel::load(&fixture("small_net.pt"), "", 0, "cuda:0").unwrap();
        let cpu = load(&fixture("small_net.pt"), "");
        let x = npy("small_net_x.npy");
        let e = rel_err(&gpu.forward_abi(&x).unwrap(), &cpu.forward_abi(&x).unwrap());
        assert!(e < 1e-4, "cuda vs cpu: {e}");
        // The gradient on the GPU against torch's own float64 gradient.
        let w = Linear(npy("small_net_w.npy"));
        let g = gpu.gradients(&x, &[obj(&w)]).unwrap();
        let e = rel_err(&g[0].grad, &npy("small_net_grad.npy"));
        assert!(e < 1e-4, "cuda gradient vs torch float64: {e}");
    } else {
        let e = load_err(&fixture("small_net.pt"), "", "cuda");
        assert_eq!(e.kind, ErrorKind::Unsupported);
        assert!(e.message.contains("CUDA is not available"), "{}", e.message);
        assert!(e.message.contains("no NVIDIA GPU"), "{}", e.message);
    }
}

/// `randomize_layers` (issue 14's sanity check) on TorchScript: the modules that own a
/// weight are the ONNX graph's parameterised layers (the same count as candle's for the
/// same network), the last k are re-drawn (the output moves), 0 is the trained network, and
/// too many is an error that says how many there are.
#[test]
fn randomised_layers_are_counted_as_in_onnx_and_change_the_output() {
    let pt = zoo("esrgan-slim-x4.pt");
    let onnx = zoo("esrgan-slim-x4.onnx");
    let facts = |info: &srlens_core::ModelInfo| -> serde_json::Value {
        serde_json::from_str(&info.metadata).unwrap()
    };
    let trained = load(&pt, "");
    let candle = CandleModel::load(&onnx, "", 1, "cpu").unwrap();
    let layers = facts(trained.model_info())["layers"].as_u64().unwrap();
    assert_eq!(
        layers,
        facts(candle.model_info())["layers"].as_u64().unwrap()
    );
    let x = srlens_test_support::rng::SplitMix64(4).tensor(&[1, 3, 10, 12], 0.0, 1.0);
    let t = trained.checked_forward(&x).unwrap();
    let zero = load(&pt, r#"{"randomize_layers": 0}"#)
        .checked_forward(&x)
        .unwrap();
    assert_eq!(t.data, zero.data);
    let random = load(&pt, r#"{"randomize_layers": 2, "randomize_seed": 1}"#);
    assert_eq!(facts(random.model_info())["randomized_layers"], 2);
    let r = random.checked_forward(&x).unwrap();
    let moved = r
        .data
        .iter()
        .zip(&t.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(moved > 0.05, "the output moved by {moved} only");
    let e = load_err(&pt, r#"{"randomize_layers": 999}"#, "cpu");
    assert!(
        e.message
            .contains(&format!("has {layers} parameterised layers")),
        "{}",
        e.message
    );
}
