//! The ort backend against the tch backend (libtorch's autograd on the zoo's TorchScript
//! files, loaded as a plugin the way `srlens` loads it) on the twelve UpscalerJS networks:
//! the same SR output and the same input gradient, within 1e-4 of tch's largest magnitude.
//!
//! `cargo xtask test` builds the tch plugin before running this.

#[macro_use]
mod common;

use srlens_core::abi_stable::std_types::RSlice;
use srlens_core::Tensor;
use srlens_plugin_kit::testing::objective_box;
use srlens_plugin_kit::SrModelExt;
use srlens_test_support::binaries::{library_file, profile_dir, require_built};
use srlens_test_support::objective::Linear;
use srlens_test_support::rng::SplitMix64;

/// The tch plugin, loaded once.
fn tch() -> &'static srlens_host::plugins::LoadedPlugin {
    static PLUGIN: std::sync::OnceLock<srlens_host::plugins::LoadedPlugin> =
        std::sync::OnceLock::new();
    PLUGIN.get_or_init(|| {
        let lib = library_file("srlens_plugin_tch");
        let dir = require_built(
            &profile_dir("debug"),
            &[&lib],
            "build the workspace first (`cargo xtask test` does)",
        );
        srlens_host::plugins::load_file(&dir.join(&lib)).unwrap_or_else(|r| panic!("{}", r.reason))
    })
}

fn check(name: &str) {
    let onnx = common::zoo(name);
    // The TorchScript files take the networks' own range (thick: [0, 1]; the others:
    // [0, 255]); the ONNX files say it in their metadata.
    let hi = if name.contains("thick") { 1 } else { 255 };
    compare(name, &onnx, hi);
}

/// ort on `onnx` against tch on the TorchScript file beside it (model range `[0, hi]`).
fn compare(name: &str, onnx: &std::path::Path, hi: u32) {
    let pt = onnx.with_extension("pt");
    let t = tch()
        .load_model("tch", Some(&pt), &format!("{{\"input_range\": [0, {hi}]}}"))
        .unwrap_or_else(|e| panic!("{name}: tch: {e}"));
    let o = common::ort(onnx, "");
    let x: Tensor = SplitMix64(5).tensor(&[1, 3, 9, 11], 0.0, 1.0);
    let s = o.model_info().scale as usize;
    let w = SplitMix64(6).tensor(&[1, 3, 9 * s, 11 * s], -1.0, 1.0);
    let objective = [objective_box(Linear(w))];

    let sr_t = t.forward(&x).into_result().unwrap();
    let sr_o = o.checked_forward(&x).unwrap();
    let err = common::rel_max(&sr_o.data, &sr_t.data);
    assert!(
        err < 1e-4,
        "{name}: SR outputs differ by {err} of tch's largest"
    );

    let g_t = t
        .gradient(&x, RSlice::from_slice(&objective))
        .into_result()
        .unwrap();
    let g_o = o.gradients(&x, &objective).unwrap();
    let err = common::rel_max(&g_o[0].grad.data, &g_t[0].grad.data);
    assert!(
        err < 1e-4,
        "{name}: input gradients differ by {err} of tch's largest"
    );
}

zoo_tests!(zoo, super::check);

/// The torch-exported (opset 17, dynamic H and W) network with PReLU, PixelShuffle and
/// RCAN-style channel attention, beside its TorchScript trace.
#[test]
fn prelu_pixelshuffle_channel_attention_net() {
    let onnx = common::root().join("plugins/backend-tch/tests/fixtures/small_net.onnx");
    compare("small_net", &onnx, 1);
}
