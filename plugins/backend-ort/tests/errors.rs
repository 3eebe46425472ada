//! The ort backend's errors: options, devices, model files, and a graph that runs forward
//! but has no gradient rule for one of its operators. Every message is one sentence with the
//! fix; none panics.

mod common;

use std::path::Path;

use srlens_core::abi_stable::std_types::{RSome, RString};
use srlens_core::{ErrorKind, LoadRequest, PluginError};
use srlens_onnx::builder::GraphBuilder;
use srlens_onnx::Dim;
use srlens_plugin_kit::component::backend_box;
use srlens_plugin_kit::testing::objective_box;
use srlens_plugin_kit::SrModelExt;
use srlens_plugin_ort::{OrtBackend, OrtModel};
use srlens_test_support::objective::Linear;
use srlens_test_support::rng::SplitMix64;

/// Loads `path` through the ABI, as the host does, and returns the error.
fn load_err(path: &Path, options: &str, device: &str) -> PluginError {
    let request = LoadRequest {
        path: RSome(RString::from(path.to_string_lossy().as_ref())),
        options: RString::from(options),
        threads: 1,
        device: RString::from(device),
        config_dir: RString::new(),
    };
    match backend_box("ort", OrtBackend).load(&request).into_result() {
        Ok(_) => panic!("{} with {options} on `{device}` loaded", path.display()),
        Err(e) => e,
    }
}

/// `kind: message`, with the machine's paths replaced.
fn shown(e: &PluginError, tmp: &Path) -> String {
    format!(
        "{:?}: {}",
        e.kind,
        common::redact(e.message.as_str(), Some(tmp))
    )
}

#[test]
fn option_device_and_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let model = common::write(&common::tiny_net(1), tmp, "tiny.onnx");
    let cases = [
        ("unknown key", r#"{"librar": "x.so"}"#, "cpu", model.clone()),
        (
            "bad optimization",
            r#"{"optimization": "fast"}"#,
            "cpu",
            model.clone(),
        ),
        (
            "bad range type",
            r#"{"input_range": "0,255"}"#,
            "cpu",
            model.clone(),
        ),
        (
            "empty range",
            r#"{"input_range": [1, 1]}"#,
            "cpu",
            model.clone(),
        ),
        ("bad device", "", "tpu:0", model.clone()),
        ("no model file", "", "cpu", tmp.join("missing.onnx")),
    ];
    let mut report = String::new();
    for (label, options, device, path) in cases {
        let e = load_err(&path, options, device);
        report.push_str(&format!("{label}: {}\n", shown(&e, tmp)));
    }
    std::fs::write(tmp.join("text.onnx"), "not a model").unwrap();
    let e = load_err(&tmp.join("text.onnx"), "", "cpu");
    report.push_str(&format!("not onnx: {}\n", shown(&e, tmp)));
    insta::assert_snapshot!("load_errors", report);
}

#[test]
fn cuda_without_its_execution_provider_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::write(&common::tiny_net(1), dir.path(), "tiny.onnx");
    // The `onnxruntime` wheel that `cargo xtask setup` installs is the CPU build.
    let e = load_err(&model, "", "cuda:0");
    assert_eq!(e.kind, ErrorKind::Unsupported, "{}", e.message);
    insta::assert_snapshot!("cuda_refused", shown(&e, dir.path()));
}

#[test]
fn a_graph_without_a_gradient_rule_runs_forward_and_reports_the_operator() {
    let mut b = GraphBuilder::new("sine");
    let sym = |s: &str| Dim::Symbolic(s.to_string());
    b.input_dims("x", vec![sym("N"), Dim::Fixed(3), sym("H"), sym("W")]);
    let y = b.op("Sin", &["x"], &[]);
    b.output_dims(&y, vec![sym("N"), Dim::Fixed(3), sym("H"), sym("W")]);
    b.metadata("srlens.scale", "1");
    let dir = tempfile::tempdir().unwrap();
    let path = common::write(&b.build().unwrap(), dir.path(), "sine.onnx");
    let m = common::ort(&path, "");
    let x = SplitMix64(5).tensor(&[1, 3, 4, 5], 0.0, 1.0);
    let y = m.checked_forward(&x).unwrap();
    for (a, b) in y.data.iter().zip(x.data.iter()) {
        assert!((a - b.sin()).abs() < 1e-6, "sin({b}) = {a}");
    }
    let w = Linear(SplitMix64(6).tensor(&[1, 3, 4, 5], -1.0, 1.0));
    for _ in 0..2 {
        // The second call reports the same error without trying again.
        let e = m.gradients(&x, &[objective_box(w.clone())]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported, "{}", e.message);
        assert!(e.message.contains("`Sin`"), "{}", e.message);
        assert!(e.message.contains("model `sine`"), "{}", e.message);
    }
    assert!(m.gradient_source().is_none());
}

#[test]
fn model_info_reports_the_metadata_and_the_library() {
    let path = common::zoo("esrgan-slim-x4");
    let m: OrtModel = common::ort(&path, "");
    let info = m.model_info();
    assert_eq!(info.scale, 4);
    assert_eq!(info.input_range, [0.0, 255.0]);
    assert_eq!(info.name.as_str(), "esrgan-slim-x4");
    let meta: serde_json::Value = serde_json::from_str(info.metadata.as_str()).unwrap();
    assert_eq!(meta["receptive_field"]["from"], "onnx graph");
    assert_eq!(
        meta["receptive_field"]["radius"].as_u64(),
        info.receptive_field.into_option().map(u64::from)
    );
    let lib = meta["onnxruntime"]["library"].as_str().unwrap();
    assert!(lib.ends_with("libonnxruntime.so.1.31.1"), "{lib}");
    assert!(
        meta["onnxruntime"]["version"]
            .as_str()
            .unwrap()
            .starts_with("1.31."),
        "{meta}"
    );
    // The input_range option replaces the file's ranges.
    let m = common::ort(
        &path,
        r#"{"input_range": [0, 1], "optimization": "disable"}"#,
    );
    assert_eq!(m.model_info().input_range, [0.0, 1.0]);
}
