//! Every user mistake gives a one-paragraph error, a non-zero exit code, no panic and no
//! backtrace, and leaves results already written intact. Rendered errors are insta snapshots.

mod common;

use std::path::Path;

/// Runs `srlens args` in `dir`, checks it failed cleanly, and returns stderr (normalised).
fn failure(dir: &Path, args: &[&str]) -> String {
    let out = common::srlens(dir, args);
    let err = common::stderr_of(&out, dir);
    assert!(
        !out.status.success(),
        "srlens should have failed; stderr:\n{err}"
    );
    assert_eq!(out.status.code(), Some(1), "exit code; stderr:\n{err}");
    for bad in [
        "panicked at 'main'",
        "RUST_BACKTRACE",
        "stack backtrace",
        "thread 'main' panicked",
    ] {
        assert!(
            !err.contains(bad),
            "stderr shows a panic or backtrace:\n{err}"
        );
    }
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn run_config(dir: &Path, text: &str) -> String {
    std::fs::write(dir.join("run.toml"), text).unwrap();
    failure(dir, &["run", "run.toml", "--quiet"])
}

const LAM: &str = "[[method]]\nname = \"lam\"\nsteps = 2\n";

#[test]
fn missing_config() {
    let dir = common::workspace();
    insta::assert_snapshot!(failure(dir.path(), &["run", "nope.toml"]));
}

#[test]
fn unreadable_config() {
    let dir = common::workspace();
    std::fs::create_dir(dir.path().join("folder.toml")).unwrap();
    insta::assert_snapshot!(failure(dir.path(), &["run", "folder.toml"]));
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let dir = common::workspace();
    let text = common::config("tiny.onnx", LAM).replace("size = 6", "size = = 6");
    insta::assert_snapshot!(run_config(dir.path(), &text));
}

#[test]
fn unknown_key_lists_the_accepted_ones() {
    let dir = common::workspace();
    let text = common::config("tiny.onnx", LAM).replace("size = 6", "size = 6\nzise = 3");
    insta::assert_snapshot!(run_config(dir.path(), &text));
}

#[test]
fn unknown_method_option_is_located_in_the_config() {
    let dir = common::workspace();
    let text = common::config("tiny.onnx", "[[method]]\nname = \"lam\"\nsigmaa = 2.0\n");
    insta::assert_snapshot!(run_config(dir.path(), &text));
}

#[test]
fn unknown_backend_lists_the_loaded_ones() {
    let dir = common::workspace();
    let text =
        common::config("tiny.onnx", LAM).replace("backend = \"candle\"", "backend = \"cnadle\"");
    insta::assert_snapshot!(run_config(dir.path(), &text));
}

#[test]
fn unknown_method_lists_the_loaded_ones() {
    let dir = common::workspace();
    insta::assert_snapshot!(run_config(
        dir.path(),
        &common::config("tiny.onnx", "[[method]]\nname = \"lamm\"\n")
    ));
}

#[test]
fn missing_model() {
    let dir = common::workspace();
    insta::assert_snapshot!(run_config(dir.path(), &common::config("missing.onnx", LAM)));
}

#[test]
fn model_that_is_not_onnx() {
    let dir = common::workspace();
    std::fs::write(dir.path().join("fake.onnx"), b"this is not a protobuf").unwrap();
    insta::assert_snapshot!(run_config(dir.path(), &common::config("fake.onnx", LAM)));
}

#[test]
fn missing_image() {
    let dir = common::workspace();
    let text = common::config("tiny.onnx", LAM).replace("lr.png", "gone.png");
    insta::assert_snapshot!(run_config(dir.path(), &text));
}

#[test]
fn file_that_is_not_an_image() {
    let dir = common::workspace();
    std::fs::write(dir.path().join("notes.png"), b"just text").unwrap();
    let text = common::config("tiny.onnx", LAM).replace("lr.png", "notes.png");
    insta::assert_snapshot!(run_config(dir.path(), &text));
}

#[test]
fn window_outside_the_sr_output() {
    let dir = common::workspace();
    let text = common::config("tiny.onnx", LAM).replace("x = 4", "x = 12");
    insta::assert_snapshot!(run_config(dir.path(), &text));
}

#[test]
fn scale_that_does_not_match_the_model() {
    let dir = common::workspace();
    let text = common::config("tiny.onnx", LAM)
        .replace("path = \"tiny.onnx\"", "path = \"tiny.onnx\"\nscale = 4");
    insta::assert_snapshot!(run_config(dir.path(), &text));
}

#[test]
fn unsupported_onnx_op_names_the_op_and_the_node() {
    let dir = common::workspace();
    let mut b = srlens_onnx::builder::GraphBuilder::new("odd");
    b.input("input", &[1, 3, 8, 8]);
    let y = b.op("Hardmax", &["input"], &[]);
    b.output(&y, &[1, 3, 8, 8]);
    srlens_onnx::write_file(&b.build().unwrap(), &dir.path().join("odd.onnx")).unwrap();
    insta::assert_snapshot!(run_config(dir.path(), &common::config("odd.onnx", LAM)));
}

#[test]
fn bad_override() {
    let dir = common::workspace();
    std::fs::write(
        dir.path().join("run.toml"),
        common::config("tiny.onnx", LAM),
    )
    .unwrap();
    insta::assert_snapshot!(failure(
        dir.path(),
        &["run", "run.toml", "--set", "method.2.steps=3"]
    ));
}

/// A plugin that panics: the host reports it with the plugin's name and message and goes on
/// living; the run is all-or-nothing, so the previous complete run stays as it was, and the
/// failed run leaves nothing behind.
#[test]
fn plugin_that_panics_leaves_the_previous_run_intact() {
    let dir = common::workspace();
    common::plugins_folder(dir.path(), &["srlens_fixture_panic"]);
    // `gradient` is provided by the fixture too: `plugin` says which one is meant.
    let gradient = "[[method]]\nname = \"gradient\"\nplugin = \"ig\"\n";
    std::fs::write(
        dir.path().join("first.toml"),
        common::config("tiny.onnx", gradient),
    )
    .unwrap();
    let first = common::srlens(
        dir.path(),
        &["run", "first.toml", "--quiet", "--plugin-dir", "plugins"],
    );
    assert!(
        first.status.success(),
        "{}",
        common::stderr_of(&first, dir.path())
    );
    let before = common::files_under(&dir.path().join("out"));
    let methods = format!("{gradient}\n[[method]]\nname = \"explode\"\n");
    std::fs::write(
        dir.path().join("run.toml"),
        common::config("tiny.onnx", &methods),
    )
    .unwrap();
    let err = failure(
        dir.path(),
        &["run", "run.toml", "--quiet", "--plugin-dir", "plugins"],
    );
    assert!(err.contains("panicked at"), "{err}");
    insta::assert_snapshot!(err.replace(char::is_numeric, "N"));
    assert_eq!(common::files_under(&dir.path().join("out")), before);
    let (shape, map) = common::read_npy(&dir.path().join("out/gradient/attribution.npy"));
    assert_eq!(shape, vec![3, 8, 8]);
    assert!(map.iter().any(|v| *v != 0.0));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(left.is_empty(), "the failed run left {left:?}");
}

/// A failing run never touches results a previous run wrote.
#[test]
fn a_failing_run_keeps_previous_results() {
    let dir = common::workspace();
    std::fs::write(
        dir.path().join("run.toml"),
        common::config("tiny.onnx", LAM),
    )
    .unwrap();
    let ok = common::srlens(dir.path(), &["run", "run.toml", "--quiet"]);
    assert!(
        ok.status.success(),
        "{}",
        common::stderr_of(&ok, dir.path())
    );
    let files = [
        "out/report.html",
        "out/summary.json",
        "out/lam/attribution.npy",
        "out/lam/report.json",
    ];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(dir.path().join(f)).unwrap())
        .collect();
    for args in [
        vec!["--set", "window.x=100"],
        vec!["--set", "model.path=missing.onnx"],
        vec!["--set", "method.0.steps=0"],
    ] {
        let mut all = vec!["run", "run.toml", "--quiet"];
        all.extend(args);
        failure(dir.path(), &all);
        for (f, b) in files.iter().zip(&before) {
            assert_eq!(
                &std::fs::read(dir.path().join(f)).unwrap(),
                b,
                "{f} changed"
            );
        }
    }
}
