//! The ort backend against the candle backend on the twelve UpscalerJS networks of the zoo and
//! on the small SwinIR, HAT and DAT of `target/transformers/` (issue 12): the same SR output,
//! and the same input gradient (ort's through the VJP graphs that `srlens_onnx::autodiff`
//! generates, candle's from its autograd for the transformers), within 1e-4 of the reference's
//! largest magnitude, on a small LR input.

#[macro_use]
mod common;

use std::path::Path;

use srlens_core::Tensor;
use srlens_plugin_kit::testing::objective_box;
use srlens_plugin_kit::SrModelExt;
use srlens_test_support::objective::Linear;
use srlens_test_support::rng::SplitMix64;

/// The LR input's height and width: small for the zoo, above the transformers' minimum (16)
/// and no multiple of their window (8) for them.
const ZOO_SIZE: [usize; 2] = [10, 12];
const TRANSFORMER_SIZE: [usize; 2] = [19, 21];

/// A 1 x 3 x h x w input in `[0, 1]`.
fn input(seed: u64, [h, w]: [usize; 2]) -> Tensor {
    SplitMix64(seed).tensor(&[1, 3, h, w], 0.0, 1.0)
}

fn same_sr_output(name: &str) {
    same_sr_output_at(name, &common::zoo(name), ZOO_SIZE);
}

fn same_input_gradient(name: &str) {
    same_input_gradient_at(name, &common::zoo(name), ZOO_SIZE);
}

fn same_sr_output_at(name: &str, path: &Path, size: [usize; 2]) {
    let (o, c) = (common::ort(path, ""), common::candle(path));
    assert_eq!(o.model_info().scale, c.model_info().scale, "{name}: scale");
    assert_eq!(o.model_info().input_range, c.model_info().input_range);
    assert_eq!(
        o.model_info().receptive_field,
        c.model_info().receptive_field
    );
    let x = input(7, size);
    let (a, b) = (
        o.checked_forward(&x).unwrap(),
        c.checked_forward(&x).unwrap(),
    );
    assert_eq!(a.dims(), b.dims(), "{name}");
    let err = common::rel_max(&a.data, &b.data);
    assert!(
        err < 1e-4,
        "{name}: SR outputs differ by {err} of the largest"
    );
}

fn same_input_gradient_at(name: &str, path: &Path, size: [usize; 2]) {
    let (o, c) = (common::ort(path, ""), common::candle(path));
    let x = input(11, size);
    let s = c.model_info().scale as usize;
    let w = SplitMix64(3).tensor(&[1, 3, size[0] * s, size[1] * s], -1.0, 1.0);
    let objective = [objective_box(Linear(w))];
    let go = o
        .gradients(&x, &objective)
        .unwrap_or_else(|e| panic!("{name}: ort gradient: {}", e.message));
    let gc = c.gradients(&x, &objective).unwrap();
    let err = common::rel_max(&go[0].grad.data, &gc[0].grad.data);
    assert!(
        err < 1e-4,
        "{name}: input gradients differ by {err} of the largest"
    );
    let (vo, vc) = (go[0].values[0], gc[0].values[0]);
    assert!(
        (vo - vc).abs() <= 1e-4 * vc.abs().max(1.0),
        "{name}: objective {vo} on ort, {vc} on candle"
    );
}

zoo_tests!(sr_output, super::same_sr_output);
zoo_tests!(input_gradient, super::same_input_gradient);

#[test]
fn transformers_give_the_same_sr_output_and_input_gradient() {
    for name in ["swinir", "hat", "dat"] {
        let path = common::transformer(&format!("{name}.onnx"));
        same_sr_output_at(name, &path, TRANSFORMER_SIZE);
        same_input_gradient_at(name, &path, TRANSFORMER_SIZE);
    }
}

#[test]
fn the_zoo_list_is_the_whole_zoo() {
    assert_eq!(common::ZOO.len(), 12);
    for name in common::ZOO {
        common::zoo(name);
    }
}

/// `randomize_layers` (issue 14's sanity check) re-draws the same weights in both ONNX
/// backends (`srlens_onnx::randomize`, seeded): the same SR output, far from the trained
/// network's; and the gradient graphs of the randomised network are not the trained one's
/// from the cache (the gradients agree with candle's autograd-free graph path too).
#[test]
fn randomised_layers_are_the_same_network_in_ort_and_candle() {
    let path = common::zoo("esrgan-slim-x4");
    let options = r#"{"randomize_layers": 3, "randomize_seed": 5}"#;
    let o = common::ort(&path, options);
    let c = srlens_plugin_candle::CandleModel::load(&path.to_string_lossy(), options, 1, "cpu")
        .unwrap();
    let trained = common::ort(&path, "");
    let x = input(3, ZOO_SIZE);
    let (a, b) = (
        o.checked_forward(&x).unwrap(),
        c.checked_forward(&x).unwrap(),
    );
    let err = common::rel_max(&a.data, &b.data);
    assert!(err < 1e-4, "randomised SR outputs differ by {err}");
    let t = trained.checked_forward(&x).unwrap();
    assert!(
        common::rel_max(&a.data, &t.data) > 0.1,
        "randomising the last 3 layers left the output as it was"
    );
    let s = c.model_info().scale as usize;
    let w = SplitMix64(13).tensor(&[1, 3, ZOO_SIZE[0] * s, ZOO_SIZE[1] * s], -1.0, 1.0);
    let objective = [objective_box(Linear(w))];
    let (ga, gb, gt) = (
        o.gradients(&x, &objective).unwrap(),
        c.gradients(&x, &objective).unwrap(),
        trained.gradients(&x, &objective).unwrap(),
    );
    let err = common::rel_max(&ga[0].grad.data, &gb[0].grad.data);
    assert!(err < 1e-4, "randomised gradients differ by {err}");
    assert!(common::rel_max(&ga[0].grad.data, &gt[0].grad.data) > 0.1);
    let meta: serde_json::Value = serde_json::from_str(&o.model_info().metadata).unwrap();
    assert_eq!(meta["randomized_layers"], 3);
    let err = srlens_plugin_candle::CandleModel::load(
        &path.to_string_lossy(),
        r#"{"randomize_layers": 999}"#,
        1,
        "cpu",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("randomize_layers") && err.contains("choose 0 to"),
        "{err}"
    );
}
