//! Runs every committed ONNX conformance case (`tests/fixtures/onnx-cases/<case>/`, written by
//! `tests/fixtures/gen_onnx_cases.py` from the `onnx` package) and compares the outputs with
//! the expected ones: floats within rtol 1e-4 / atol 1e-5, integers exactly. Every output the
//! model produces must have an expected value: a case without expected outputs, or with fewer
//! than the model's outputs, fails.

mod common;

use std::path::{Path, PathBuf};

use candle_core::DType;
use srlens_plugin_candle::{convert, Interpreter};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx-cases")
}

/// The files `<prefix>_0.pb`, `<prefix>_1.pb`, ... of a case, in order; `Err` names a
/// numbered file that is not part of that unbroken sequence (it would never be read).
fn numbered(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>, String> {
    let mut v = vec![];
    while dir.join(format!("{prefix}_{}.pb", v.len())).exists() {
        v.push(dir.join(format!("{prefix}_{}.pb", v.len())));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let name = entry.map_err(|e| e.to_string())?.file_name();
        let name = name.to_string_lossy();
        let index = name
            .strip_prefix(&format!("{prefix}_"))
            .and_then(|rest| rest.strip_suffix(".pb"))
            .and_then(|i| i.parse::<usize>().ok());
        if index.is_some_and(|i| i >= v.len()) {
            return Err(format!(
                "{name} is out of sequence: {prefix}_{}.pb is missing",
                v.len()
            ));
        }
    }
    Ok(v)
}

/// Runs one case; `Err` says why it failed.
fn run_case(dir: &Path) -> Result<(), String> {
    let graph = srlens_onnx::read_file(&dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let interp = Interpreter::new(graph, DType::F32).map_err(|e| e.to_string())?;
    let load = |p: &PathBuf| -> Result<candle_core::Tensor, String> {
        let t = srlens_onnx::read_tensor_pb(p).map_err(|e| e.to_string())?;
        convert::constant(&t, DType::F32).map_err(|e| e.to_string())
    };
    let inputs = numbered(dir, "input")?
        .iter()
        .map(load)
        .collect::<Result<Vec<_>, _>>()?;
    let expected = numbered(dir, "output")?
        .iter()
        .map(load)
        .collect::<Result<Vec<_>, _>>()?;
    // A case with nothing to compare would pass whatever the backend computes.
    if expected.is_empty() {
        return Err("no expected outputs (output_0.pb is missing)".into());
    }
    let outputs = interp.run(&inputs).map_err(|e| e.to_string())?;
    if outputs.len() != expected.len() {
        return Err(format!(
            "{} outputs, expected {}",
            outputs.len(),
            expected.len()
        ));
    }
    for (i, (got, want)) in outputs.iter().zip(&expected).enumerate() {
        if got.dims() != want.dims() {
            return Err(format!(
                "output {i}: shape {:?}, expected {:?}",
                got.dims(),
                want.dims()
            ));
        }
        if want.dtype().is_float() {
            let g = convert::floats(got).map_err(|e| e.to_string())?;
            let w = convert::floats(want).map_err(|e| e.to_string())?;
            for (j, (a, b)) in g.iter().zip(&w).enumerate() {
                if (a - b).abs() > 1e-5 + 1e-4 * b.abs() || a.is_nan() != b.is_nan() {
                    return Err(format!("output {i}[{j}]: {a}, expected {b}"));
                }
            }
        } else {
            let g = convert::ints(got).map_err(|e| e.to_string())?;
            let w = convert::ints(want).map_err(|e| e.to_string())?;
            if g != w {
                return Err(format!("output {i}: {g:?}, expected {w:?}"));
            }
        }
    }
    Ok(())
}

#[test]
fn every_committed_onnx_case_passes() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/fixtures/onnx-cases exists (run tests/fixtures/gen_onnx_cases.py)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model.onnx").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() > 100, "only {} cases found", dirs.len());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            run_case(d)
                .err()
                .map(|e| format!("{}: {e}", d.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

/// A copy of a committed case in a fresh folder, with the files `keep` accepts.
fn copied_case(case: &str, name: &str, keep: impl Fn(&str) -> bool) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("srlens-onnx-cases-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(cases_dir().join(case)).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if keep(&file) {
            std::fs::copy(&path, dir.join(&file)).unwrap();
        }
    }
    dir
}

#[test]
fn a_case_without_expected_outputs_fails() {
    let dir = copied_case("test_abs", "no-outputs", |f| !f.starts_with("output_"));
    let e = run_case(&dir).expect_err("a case with nothing to compare must not pass");
    assert!(e.contains("no expected outputs"), "{e}");
}

#[test]
fn a_case_with_fewer_expected_outputs_than_the_model_has_fails() {
    // Renumbering output_0 to output_1 leaves output_0 missing: nothing is compared.
    let dir = copied_case("test_abs", "gap", |f| !f.starts_with("output_"));
    std::fs::copy(
        cases_dir().join("test_abs/output_0.pb"),
        dir.join("output_1.pb"),
    )
    .unwrap();
    let e = run_case(&dir).expect_err("output_1 without output_0 must not pass");
    assert!(e.contains("output_1.pb"), "{e}");
}

/// What the cases cannot show: settings refused with a reason (the `mul`, `max` and `min`
/// reductions of ScatterND and ScatterElements at load time, Dropout in training mode when it runs), and ScatterND's repeated indices (the
/// last update wins, as in ONNX Runtime).
#[test]
fn refused_settings_and_repeated_scatter_indices() {
    use common::{t64, G};
    use srlens_onnx::Attribute;
    let mut g = G::new();
    let idx = g.init_i64_shaped(&[1, 1], &[0]);
    let upd = g.init(&[1], vec![1.0]);
    let y = g.op(
        "ScatterND",
        &["x", &idx, &upd],
        vec![("reduction", Attribute::String("mul".into()))],
    );
    let e = Interpreter::new(g.finish(&y), DType::F64).expect_err("refused at load time");
    assert!(
        e.to_string()
            .contains("ScatterND with reduction `mul` is not supported: only `none` and `add` are"),
        "{e}"
    );
    let mut g = G::new();
    let idx = g.init_i64_shaped(&[1], &[0]);
    let upd = g.init(&[1], vec![1.0]);
    let y = g.op(
        "ScatterElements",
        &["x", &idx, &upd],
        vec![("reduction", Attribute::String("max".into()))],
    );
    let e = Interpreter::new(g.finish(&y), DType::F64).expect_err("refused at load time");
    assert!(
        e.to_string().contains(
            "ScatterElements with reduction `max` is not supported: only `none` and `add` are"
        ),
        "{e}"
    );

    let mut g = G::new();
    let (ratio, on) = (g.init(&[], vec![0.5]), g.init_i64_shaped(&[], &[1]));
    let t = g.op("Cast", &[&on], vec![("to", Attribute::Int(9))]);
    let y = g.op("Dropout", &["x", &ratio, &t], vec![]);
    let interp = Interpreter::new(g.finish(&y), DType::F64).unwrap();
    let e = interp
        .run(&[t64(&[2], &[1.0, 2.0])])
        .expect_err("random dropout is refused");
    assert!(e.to_string().contains("Dropout in training mode"), "{e}");

    let mut g = G::new();
    let idx = g.init_i64_shaped(&[3, 1], &[1, 3, 1]);
    let upd = g.init(&[3], vec![5.0, 6.0, 7.0]);
    let y = g.op("ScatterND", &["x", &idx, &upd], vec![]);
    let interp = Interpreter::new(g.finish(&y), DType::F64).unwrap();
    let out = interp.run(&[t64(&[4], &[1.0, 2.0, 3.0, 4.0])]).unwrap();
    assert_eq!(convert::floats(&out[0]).unwrap(), vec![1.0, 7.0, 3.0, 6.0]);
}
