//! Inputs that used to give a wrong result with exit 0 or a crash (issue 9): a model whose
//! output is NaN, a blur kernel of 100001, VarGrad of one sample.

mod common;

use std::path::Path;

fn run(dir: &Path, config: &str) -> (Option<i32>, String) {
    std::fs::write(dir.join("run.toml"), config).unwrap();
    let o = common::srlens(dir, &["run", "run.toml", "--quiet"]);
    (o.status.code(), common::stderr_of(&o, dir))
}

#[test]
fn a_model_whose_output_is_nan_is_an_error_naming_the_model() {
    let dir = common::workspace();
    common::write_nan_model(&dir.path().join("nan.onnx"));
    let (code, err) = run(
        dir.path(),
        &common::config("nan.onnx", "[[method]]\nname = \"lam\"\n"),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("model `nan`: the SR output holds 768 non-finite value(s) of 768"),
        "{err}"
    );
    assert!(err.contains("(non-finite values)"), "{err}");
    // The Candle backend names the node that made them: the Sqrt of a negative number.
    assert!(
        err.contains("the first node to produce them is `Sqrt_3` (Sqrt)"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists(), "nothing is written");
}

#[test]
fn a_huge_blur_kernel_is_refused_before_any_allocation() {
    let dir = common::workspace();
    let (code, err) = run(
        dir.path(),
        &common::config("tiny.onnx", "[[method]]\nname = \"lam\"\nkernel = 100001\n"),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("`kernel` must be an odd size of at most 33 for this 8 x 8 input"),
        "{err}"
    );
    assert!(
        err.contains("kernel = 100001"),
        "the config line is quoted: {err}"
    );
}

#[test]
fn vargrad_of_one_sample_warns_that_its_map_is_zero() {
    let dir = common::workspace();
    let (code, err) = run(
        dir.path(),
        &common::config("tiny.onnx", "[[method]]\nname = \"vargrad\"\nsamples = 1\n"),
    );
    assert_eq!(code, Some(0), "{err}");
    let report = common::read_json(&dir.path().join("out/vargrad/report.json"));
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("vargrad with samples = 1")),
        "{warnings:?}"
    );
    assert_eq!(report["figures"]["degenerate"], true);
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(
        html.contains("DI undefined"),
        "the report shows DI as undefined"
    );
}
