//! `srlens gradient-graph`: writes the generated gradient graph of an ONNX model, for any
//! ONNX runtime.

use std::path::{Path, PathBuf};

use srlens_onnx::autodiff;

/// The files one `gradient-graph` command writes.
pub struct Written {
    /// The joined graph (input, cotangent -> output, input gradient).
    pub vjp: PathBuf,
    /// The forward and backward graphs, with `--split`.
    pub split: Option<(PathBuf, PathBuf)>,
    /// The joined graph's input and output names.
    pub signature: String,
}

/// `OUT` with its `.onnx` extension replaced by `.{part}.onnx`.
fn part_path(out: &Path, part: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "gradient".into());
    out.with_file_name(format!("{stem}.{part}.onnx"))
}

/// Reads `model`, generates its gradient graphs and writes them; the error names the file.
pub fn write(model: &Path, out: &Path, split: bool) -> Result<Written, String> {
    if out.exists() && std::fs::canonicalize(out).ok() == std::fs::canonicalize(model).ok() {
        return Err(format!(
            "{}: the output would overwrite the model; choose another OUT",
            out.display()
        ));
    }
    let graph = srlens_onnx::read_file(model).map_err(|e| e.to_string())?;
    let graphs =
        autodiff::gradient_graphs(&graph).map_err(|e| format!("{}: {e}", model.display()))?;
    let vjp = graphs.joined(&graph);
    let names = |v: &[srlens_onnx::ValueInfo]| {
        v.iter()
            .map(|i| format!("`{}`", i.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let signature = format!(
        "inputs {} -> outputs {}",
        names(&vjp.inputs),
        names(&vjp.outputs)
    );
    srlens_onnx::write_file(&vjp, out).map_err(|e| e.to_string())?;
    let split = if split {
        let (f, b) = (part_path(out, "forward"), part_path(out, "backward"));
        srlens_onnx::write_file(&graphs.forward, &f).map_err(|e| e.to_string())?;
        srlens_onnx::write_file(&graphs.backward, &b).map_err(|e| e.to_string())?;
        Some((f, b))
    } else {
        None
    };
    Ok(Written {
        vjp: out.to_path_buf(),
        split,
        signature,
    })
}
