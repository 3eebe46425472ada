//! Runs every committed ONNX conformance case (`tests/fixtures/onnx-cases/<case>/`, written by
//! `tests/fixtures/gen_onnx_cases.py` from the `onnx` package) and compares the outputs with
//! the expected ones: floats within rtol 1e-4 / atol 1e-5, integers exactly.

use std::path::{Path, PathBuf};

use candle_core::DType;
use srlens_plugin_candle::{convert, Interpreter};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx-cases")
}

fn numbered(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v = vec![];
    for i in 0.. {
        let p = dir.join(format!("{prefix}_{i}.pb"));
        if !p.exists() {
            break;
        }
        v.push(p);
    }
    v
}

/// Runs one case; `Err` says why it failed.
fn run_case(dir: &Path) -> Result<(), String> {
    let graph = srlens_onnx::read_file(&dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let interp = Interpreter::new(graph, DType::F32).map_err(|e| e.to_string())?;
    let load = |p: &PathBuf| -> Result<candle_core::Tensor, String> {
        let t = srlens_onnx::read_tensor_pb(p).map_err(|e| e.to_string())?;
        convert::constant(&t, DType::F32).map_err(|e| e.to_string())
    };
    let inputs = numbered(dir, "input")
        .iter()
        .map(load)
        .collect::<Result<Vec<_>, _>>()?;
    let expected = numbered(dir, "output")
        .iter()
        .map(load)
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = interp.run(&inputs).map_err(|e| e.to_string())?;
    if outputs.len() < expected.len() {
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
