//! ONNX Runtime for the ort backend: the `onnxruntime==1.31.1` wheel from PyPI in the
//! project's `.venv` (ort 2.0.0-rc.15 is built for ONNX Runtime 1.31). The plugin loads the
//! wheel's `onnxruntime/capi/libonnxruntime.so.1.31.1` at run time (ort's `load-dynamic`).
//!
//! The wheels (onnxruntime with its Python dependencies) are downloaded once into the user
//! cache (`~/.cache/srlens/pypi/onnxruntime-1.31.1-<python>/`, or under `$SRLENS_CACHE`) and
//! installed from there, as torch's are ([`torch::wheelhouse`]); a later setup with the
//! package in place only checks `import onnxruntime`.

use std::path::PathBuf;
use std::process::Command;

use crate::{torch, Result};

/// The ONNX Runtime release ort 2.0.0-rc.15 is built for.
pub const ORT_VERSION: &str = "1.31.1";

/// The shared library inside the venv that the ort backend loads by default.
pub fn library() -> PathBuf {
    torch::venv().join(format!(
        "lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.{ORT_VERSION}"
    ))
}

/// Installs onnxruntime 1.31.1 into `.venv` (which [`torch::ensure_venv`] creates) unless the
/// venv already imports that version.
pub fn ensure() -> Result<()> {
    if has_onnxruntime() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let requirements = [format!("onnxruntime=={ORT_VERSION}")];
    let wheels = torch::wheelhouse(&format!("onnxruntime-{ORT_VERSION}"), &requirements, false)?;
    torch::install_from(&wheels, &requirements, false)?;
    if !has_onnxruntime() {
        return Err(format!(
            "{} cannot import onnxruntime {ORT_VERSION} after installing it",
            torch::venv_python().display()
        ));
    }
    if !library().is_file() {
        return Err(format!(
            "the onnxruntime {ORT_VERSION} wheel has no {}",
            library().display()
        ));
    }
    eprintln!(
        "xtask: onnxruntime {ORT_VERSION} installed into .venv in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether the venv imports onnxruntime 1.31.1.
fn has_onnxruntime() -> bool {
    let check =
        format!("import onnxruntime, sys; sys.exit(onnxruntime.__version__ != '{ORT_VERSION}')");
    Command::new(torch::venv_python())
        .args(["-c", &check])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
