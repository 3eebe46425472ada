//! `srlens gradient-graph`: the file it writes runs in ONNX Runtime and gives candle's input
//! gradient; a model it cannot differentiate, or cannot read, is one clear error and no file.
//!
//! `cargo xtask test` builds `srlens` before running this.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use srlens_onnx::TensorData;
use srlens_plugin_kit::testing::objective_box;
use srlens_plugin_kit::SrModelExt;
use srlens_test_support::binaries::{profile_dir, require_built};
use srlens_test_support::objective::Linear;
use srlens_test_support::rng::SplitMix64;

fn srlens(dir: &Path, args: &[&str]) -> Output {
    let bin = require_built(
        &profile_dir("debug"),
        &["srlens"],
        "build the workspace first (`cargo xtask test` does)",
    );
    std::process::Command::new(bin.join("srlens"))
        .current_dir(dir)
        .arg("gradient-graph")
        .args(args)
        .output()
        .expect("srlens runs")
}

#[test]
fn the_written_graph_gives_candles_input_gradient_in_onnx_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::write(&common::tiny_net(4), dir.path(), "tiny.onnx");
    let o = srlens(dir.path(), &["tiny.onnx", "tiny.vjp.onnx", "--split"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "tiny.vjp.onnx",
        "tiny.vjp.forward.onnx",
        "tiny.vjp.backward.onnx",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} is missing");
    }
    let vjp = srlens_onnx::read_file(&dir.path().join("tiny.vjp.onnx")).unwrap();
    // It says what the graph takes and returns: the input and `<output>_grad`, the output
    // and `<input>_grad`.
    let y = &common::tiny_net(4).outputs[0].name;
    let signature = format!("inputs `x`, `{y}_grad` -> outputs `{y}`, `x_grad`");
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(printed.contains(&signature), "{printed}");
    let x = SplitMix64(1).tensor(&[2, 3, 5, 6], 0.0, 1.0);
    let w = SplitMix64(2).tensor(&[2, 3, 10, 12], -1.0, 1.0);
    let as_data = |t: &srlens_core::Tensor| {
        TensorData::f32(t.shape.iter().map(|&d| d as i64).collect(), t.data.to_vec())
    };
    let out = srlens_plugin_ort::run_graph(
        &vjp,
        &[
            (&vjp.inputs[0].name, as_data(&x)),
            (&vjp.inputs[1].name, as_data(&w)),
        ],
    )
    .unwrap();
    let dx = match &out[1].values {
        srlens_onnx::TensorValues::F32(v) => v.clone(),
        other => panic!("{other:?}"),
    };
    let candle = common::candle(&model);
    let g = candle.gradients(&x, &[objective_box(Linear(w))]).unwrap();
    let err = common::rel_max(&dx, &g[0].grad.data);
    assert!(
        err < 1e-5,
        "the written graph's gradient differs from candle's by {err}"
    );
}

#[test]
fn a_model_without_a_rule_is_an_error_naming_the_node_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = common::tiny_net(4);
    let relu = g.nodes.iter_mut().find(|n| n.op_type == "Relu").unwrap();
    relu.op_type = "HardSwish".into();
    relu.name = "act".into();
    common::write(&g, dir.path(), "odd.onnx");
    let o = srlens(dir.path(), &["odd.onnx", "odd.vjp.onnx"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.starts_with("error: odd.onnx: "), "{e}");
    assert!(e.contains("node `act` (op `HardSwish`)"), "{e}");
    assert!(!e.contains("panicked") && !e.contains("backtrace"), "{e}");
    assert!(!dir.path().join("odd.vjp.onnx").exists());
}

#[test]
fn a_missing_or_broken_model_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let o = srlens(dir.path(), &["nowhere.onnx", "out.onnx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nowhere.onnx"));
    std::fs::write(dir.path().join("junk.onnx"), b"not a model").unwrap();
    let o = srlens(dir.path(), &["junk.onnx", "out.onnx"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        e.contains("junk.onnx") && e.contains("not an ONNX model"),
        "{e}"
    );
    assert!(!PathBuf::from(dir.path()).join("out.onnx").exists());
}
