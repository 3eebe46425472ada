//! `srlens import`: SwinIR, HAT and DAT checkpoints from spandrel's own architecture code
//! (`tests/fixtures/transformers/make_checkpoints.py`) become ONNX and TorchScript files with
//! the srlens metadata whose outputs equal torch's, checked here by an independent Python
//! snippet on an input size the import never used; checkpoints it cannot import get one
//! sentence, a non-zero exit code and no files.
//!
//! Needs the project's venv with torch 2.13, spandrel 0.4.2 and onnxruntime (`cargo xtask
//! setup`); the checkpoints are written into `target/transformers/` when missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The venv's Python (the tests never skip: without it they fail with the fix).
fn venv_python() -> PathBuf {
    let python = common::repo_root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run `cargo xtask setup` (torch, onnxruntime and spandrel in .venv)",
        python.display()
    );
    python
}

/// `target/transformers/`, with the checkpoints of `make_checkpoints.py` (written once per
/// test process when one is missing or older than the script; the script writes each file
/// under a temporary name and renames it, so test processes side by side do not collide).
fn checkpoints() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = common::target_dir()
            .parent()
            .expect("the target folder")
            .join("transformers");
        let script = common::repo_root().join("tests/fixtures/transformers/make_checkpoints.py");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let fresh = ["swinir", "hat", "dat", "denoise", "unknown", "corrupt"]
            .iter()
            .all(|f| modified(&dir.join(format!("{f}.pth"))) >= modified(&script));
        if !fresh {
            let out = Command::new(venv_python())
                .arg(&script)
                .arg(&dir)
                .output()
                .expect("python runs");
            assert!(
                out.status.success(),
                "{} failed:\n{}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        dir
    })
    .clone()
}

/// Runs `srlens import args...` in `dir` with the venv's Python as SRLENS_PYTHON (unless
/// `python` says otherwise).
fn import_with(dir: &Path, args: &[&str], python: Option<&str>) -> Output {
    let mut c = Command::new(common::srlens_bin());
    c.current_dir(dir)
        .arg("import")
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("VIRTUAL_ENV")
        .env(
            "SRLENS_PYTHON",
            python.map_or_else(|| venv_python().into_os_string(), Into::into),
        );
    c.output().expect("srlens runs")
}

fn import(dir: &Path, args: &[&str]) -> Output {
    import_with(dir, args, None)
}

/// A temporary folder holding a copy of `target/transformers/<name>`.
fn folder_with(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::copy(checkpoints().join(name), dir.path().join(name)).expect("the copy");
    dir
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Checks that `out` failed cleanly with one `error:` line, and returns stderr (the folder's
/// path replaced by `[DIR]`).
fn failure(out: &Output, dir: &Path) -> String {
    let err = common::stderr_of(out, dir);
    assert!(
        !out.status.success(),
        "srlens import should have failed:\n{err}"
    );
    assert_eq!(out.status.code(), Some(1), "exit code; stderr:\n{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line:\n{err}");
    for bad in ["Traceback", "panicked", "srlens-import-"] {
        assert!(!err.contains(bad), "stderr shows `{bad}`:\n{err}");
    }
    err
}

/// The independent check: torch's output of the checkpoint loaded by spandrel on a 23 x 18
/// input (the import exported at 20 x 20 and checked 19 x 27), against ONNX Runtime on the
/// written `.onnx` and the written `.pt` on a batch of two; prints the differences as JSON.
const COMPARE: &str = r#"
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, onnxruntime, spandrel, torch
pth, onnx_path, pt_path = sys.argv[1:4]
model = spandrel.ModelLoader().load_from_file(pth).model.eval()
g = torch.Generator().manual_seed(5)
x = torch.rand(2, 3, 23, 18, generator=g)
with torch.no_grad():
    want = model(x[:1]), model(x[1:])
    pt = torch.jit.load(pt_path)(x)
session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
(got,) = session.run(None, {"input": x[:1].numpy()})
try:
    session.run(None, {"input": x.numpy()})
    batch_two = "ran"
except Exception:
    batch_two = "refused"
diff = lambda a, b: float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
print(json.dumps({
    "shape": list(got.shape),
    "onnx": diff(got, want[0]),
    "pt": max(diff(pt[0], want[0][0]), diff(pt[1], want[1][0])),
    "max": float(max(want[0].abs().max(), want[1].abs().max())),
    "onnx_input": [str(d) for d in session.get_inputs()[0].shape],
    "onnx_batch_two": batch_two,
}))
"#;

/// Imports `<net>.pth` (into the checkpoint's own folder, or `--out` a new folder) and checks
/// the files, their metadata and their outputs; returns the ONNX graph and the folder.
fn imports(
    net: &str,
    architecture: &str,
    window_multiple: &str,
    with_out: bool,
) -> (srlens_onnx::Graph, tempfile::TempDir) {
    let dir = folder_with(&format!("{net}.pth"));
    let pth = dir.path().join(format!("{net}.pth"));
    let out_dir = if with_out {
        dir.path().join("out/nested")
    } else {
        dir.path().to_path_buf()
    };
    let out = if with_out {
        import(dir.path(), &[&format!("{net}.pth"), "--out", "out/nested"])
    } else {
        import(dir.path(), &[&format!("{net}.pth")])
    };
    let stdout = common::stdout_of(&out, dir.path());
    assert!(
        out.status.success(),
        "import {net}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let onnx = out_dir.join(format!("{net}.onnx"));
    let pt = out_dir.join(format!("{net}.pt"));
    assert!(
        stdout.starts_with(&format!("{architecture} x4, ")),
        "{stdout}"
    );
    for file in [&onnx, &pt] {
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(
            stdout.lines().any(|l| l.ends_with(&*name)),
            "{name} in {stdout}"
        );
    }
    let mut want = vec![format!("{net}.onnx"), format!("{net}.pt")];
    if !with_out {
        want.push(format!("{net}.pth"));
        want.sort();
    }
    assert_eq!(
        names_in(&out_dir),
        want,
        "nothing else is left in the folder"
    );

    let graph = srlens_onnx::read_file(&onnx).expect("the ONNX file reads");
    let md = &graph.metadata;
    let expected = [
        ("srlens.scale", "4"),
        ("srlens.input_range", "0,1"),
        ("srlens.output_range", "0,1"),
        ("srlens.architecture", architecture),
        ("srlens.source", &format!("spandrel 0.4.2: {net}.pth")),
        ("srlens.window_multiple", window_multiple),
        ("srlens.min_size", "16"),
        ("srlens.batch", "1"),
    ];
    for (key, value) in expected {
        assert_eq!(
            md.get(key).map(String::as_str),
            Some(value),
            "{key} in {md:?}"
        );
    }
    // The values parse as the backends parse them.
    assert_eq!(srlens_onnx::metadata::scale(&graph).unwrap(), Some(4));
    let range = srlens_onnx::metadata::input_range(&graph, None).unwrap();
    assert_eq!(range, [0.0, 1.0]);
    assert_eq!(
        srlens_onnx::metadata::output_range(&graph, range).unwrap(),
        [0.0, 1.0]
    );
    assert_eq!(srlens_onnx::metadata::signature_problem(&graph), None);
    use srlens_onnx::Dim;
    let dims = |v: &srlens_onnx::ValueInfo| v.shape.clone();
    let input = dims(&graph.inputs[0]);
    assert_eq!(input[..2], [Dim::Fixed(1), Dim::Fixed(3)], "{input:?}");
    assert!(
        matches!(input[2], Dim::Symbolic(_)) && matches!(input[3], Dim::Symbolic(_)),
        "{input:?}"
    );
    let output = dims(&graph.outputs[0]);
    assert_eq!(output[..2], [Dim::Fixed(1), Dim::Fixed(3)], "{output:?}");

    let check = Command::new(venv_python())
        .args(["-c", COMPARE])
        .arg(&pth)
        .arg(&onnx)
        .arg(&pt)
        .output()
        .expect("python runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(
        check
            .stdout
            .rsplit(|&b| b == b'\n')
            .find(|l| !l.is_empty())
            .unwrap(),
    )
    .expect("the comparison's JSON");
    assert_eq!(
        result["shape"],
        serde_json::json!([1, 3, 92, 72]),
        "{result}"
    );
    let tolerance = 1e-4 * result["max"].as_f64().unwrap().max(1.0);
    for key in ["onnx", "pt"] {
        let d = result[key].as_f64().unwrap();
        assert!(
            d <= tolerance,
            "{net}: {key} differs from torch by {d} ({result})"
        );
    }
    // The batch stays 1 in the ONNX file: these networks' window arithmetic bakes the traced
    // batch in, and ONNX Runtime refuses another one rather than compute it wrong.
    assert_eq!(result["onnx_input"][0], "1", "{result}");
    assert_eq!(result["onnx_batch_two"], "refused", "{result}");
    (graph, dir)
}

#[test]
fn swinir_imports_next_to_its_checkpoint() {
    let (graph, dir) = imports("swinir", "SwinIR", "8", false);
    assert!(!graph.metadata.contains_key("srlens.split_size"));
    // Its own TorchScript output is no checkpoint to import again.
    let again = import(dir.path(), &["swinir.pt", "--out", "again"]);
    insta::assert_snapshot!(failure(&again, dir.path()));
    assert!(!dir.path().join("again").exists());
}

#[test]
fn hat_imports_into_a_new_folder() {
    imports("hat", "HAT", "8", true);
}

#[test]
fn dat_imports_with_its_split_sizes() {
    // DAT has no window_size: its padding multiple is its larger split size, and the split
    // sizes themselves are recorded too.
    let (graph, _dir) = imports("dat", "DAT", "8", true);
    assert_eq!(graph.metadata["srlens.split_size"], "4,8");
}

/// Runs a failing import of `name` (copied into a temporary folder) with `--out out` and
/// checks that nothing was written; returns the error.
fn refused(name: &str) -> String {
    let dir = folder_with(name);
    let out = import(dir.path(), &[name, "--out", "out"]);
    let err = failure(&out, dir.path());
    assert_eq!(names_in(dir.path()), [name], "nothing is left behind");
    err
}

#[test]
fn an_unknown_checkpoint_names_the_file_and_what_spandrel_knows() {
    let err = refused("unknown.pth");
    assert!(err.contains("`unknown.pth`"), "{err}");
    assert!(
        err.contains("SwinIR") && err.contains("HAT") && err.contains("DAT"),
        "{err}"
    );
    insta::assert_snapshot!(err);
}

#[test]
fn a_corrupt_checkpoint_names_the_file() {
    let err = refused("corrupt.pth");
    assert!(err.contains("`corrupt.pth`"), "{err}");
    insta::assert_snapshot!(err);
}

#[test]
fn a_model_that_is_not_super_resolution_is_refused() {
    insta::assert_snapshot!(refused("denoise.pth"));
}

#[test]
fn the_output_never_replaces_the_checkpoint() {
    // A state dict saved as `.pt` (spandrel reads it as one) would be replaced by the
    // TorchScript file of the same stem.
    let dir = folder_with("swinir.pth");
    std::fs::rename(dir.path().join("swinir.pth"), dir.path().join("swinir.pt")).unwrap();
    let before = common::files_under(dir.path());
    let err = failure(&import(dir.path(), &["swinir.pt"]), dir.path());
    insta::assert_snapshot!(err);
    assert_eq!(common::files_under(dir.path()), before);
}

#[test]
fn a_missing_checkpoint_is_an_error_before_any_python() {
    let dir = tempfile::tempdir().unwrap();
    let out = import_with(dir.path(), &["nope.pth"], Some("/nonexistent"));
    insta::assert_snapshot!(failure(&out, dir.path()));
}

#[test]
fn a_missing_python_says_how_to_get_one() {
    let dir = folder_with("hat.pth");
    let out = import_with(
        dir.path(),
        &["hat.pth", "--out", "out"],
        Some("/nonexistent"),
    );
    let err = failure(&out, dir.path());
    assert!(
        err.contains("cargo xtask setup") && err.contains("SRLENS_PYTHON"),
        "{err}"
    );
    insta::assert_snapshot!(err);
    assert_eq!(names_in(dir.path()), ["hat.pth"]);
}

#[test]
fn a_python_without_torch_or_spandrel_says_how_to_get_one() {
    // The venv's own interpreter without its site-packages (`-S`) is a Python with neither.
    let dir = folder_with("hat.pth");
    let fake = dir.path().join("python-without-packages");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\nexec '{}' -S \"$@\"\n", venv_python().display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = import_with(
        dir.path(),
        &["hat.pth", "--out", "out"],
        Some(fake.to_str().unwrap()),
    );
    let err = failure(&out, dir.path());
    assert!(err.contains("cannot import torch"), "{err}");
    assert!(
        err.contains("cargo xtask setup") && err.contains("SRLENS_PYTHON"),
        "{err}"
    );
    assert_eq!(names_in(dir.path()), ["hat.pth", "python-without-packages"]);
}
