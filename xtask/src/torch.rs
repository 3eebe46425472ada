//! libtorch for the tch backend: the project's `.venv` with the `torch==2.13.0` wheel from
//! PyPI (tch 0.26 expects libtorch 2.13.0), the environment cargo needs to build against it,
//! and the UpscalerJS ESRGAN networks traced to TorchScript (`zoo/*.pt`).
//!
//! The PyPI wheel is the CUDA build: `libtorch_cpu.so` itself needs `libcudart.so.13` and
//! `libcupti.so.13`, and `libtorch.so` needs `libtorch_cuda.so` (cuBLAS, cuDNN, NCCL...), so a
//! `--no-deps` install cannot even be loaded (checked: `ldd` lists 14 missing CUDA libraries);
//! the CUDA libraries load fine without a GPU, so the whole dependency set is installed.
//! pip's own HTTP cache keeps nothing here, so the wheels are downloaded once into the user
//! cache (`~/.cache/srlens/pypi/torch-2.13.0-<python>/`) and installed from there
//! (`--no-index`). Measured on the 2-core build machine: download 2.6 GB in 34 s (empty
//! caches), install 80 s, venv 4.8 GB (torch 1.2 GB, nvidia 2.7 GB, triton 0.7 GB); a later
//! setup with the venv in place only checks `import torch` (2 s).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{fetch, paths, run, Result};

/// The torch release tch 0.26 is built for.
pub const TORCH_VERSION: &str = "2.13.0";

/// What the venv needs besides torch: numpy (the fixtures) and onnx (the zoo conversion).
const EXTRA: [&str; 2] = ["numpy", "onnx"];

/// The project's virtual environment.
pub fn venv() -> PathBuf {
    paths::root().join(".venv")
}

/// The venv's Python.
pub fn venv_python() -> PathBuf {
    venv().join("bin/python")
}

/// Creates `.venv` when missing and installs torch 2.13.0, numpy and onnx into it.
pub fn ensure_venv() -> Result<()> {
    if !venv_python().exists() {
        run(Command::new(fetch::python())
            .args(["-m", "venv"])
            .arg(venv()))?;
    }
    if has_torch() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let mut requirements = vec![format!("torch=={TORCH_VERSION}")];
    requirements.extend(EXTRA.map(String::from));
    let wheels = wheelhouse(&format!("torch-{TORCH_VERSION}"), &requirements, false)?;
    install_from(&wheels, &requirements, false)?;
    if !has_torch() {
        return Err(format!(
            "{} cannot import torch {TORCH_VERSION} after installing it",
            venv_python().display()
        ));
    }
    eprintln!(
        "xtask: torch {TORCH_VERSION} installed into .venv in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether the venv imports torch 2.13.0, numpy and onnx.
fn has_torch() -> bool {
    let check = format!(
        "import numpy, onnx, torch, sys; sys.exit(torch.__version__.split('+')[0] != '{TORCH_VERSION}')"
    );
    Command::new(venv_python())
        .args(["-c", &check])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Downloads `requirements` with their dependencies (only the requirements themselves when
/// `no_deps`) once into the user cache, as wheels for the venv's Python:
/// `~/.cache/srlens/pypi/<key>-<python>/` (or under `$SRLENS_CACHE`), marked complete by a
/// `.complete` file once pip has finished.
pub fn wheelhouse(key: &str, requirements: &[String], no_deps: bool) -> Result<PathBuf> {
    let tag = Command::new(venv_python())
        .args(["-c", "import sys; print(sys.implementation.cache_tag)"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", venv_python().display()))?;
    let tag = String::from_utf8_lossy(&tag.stdout).trim().to_string();
    let dir = paths::user_cache()
        .join("pypi")
        .join(format!("{key}-{tag}"));
    let stamp = dir.join(".complete");
    if stamp.exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run(Command::new(venv_python())
        .args(["-m", "pip", "download", "--quiet", "--only-binary=:all:"])
        .args(no_deps.then_some("--no-deps"))
        .arg("-d")
        .arg(&dir)
        .args(requirements))?;
    std::fs::write(&stamp, b"").map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(dir)
}

/// Installs `requirements` into the venv from the wheelhouse `wheels` only (`--no-index`),
/// without their dependencies when `no_deps`.
pub fn install_from(wheels: &Path, requirements: &[String], no_deps: bool) -> Result<()> {
    run(Command::new(venv_python())
        .args(["-m", "pip", "install", "--quiet", "--no-index"])
        .args(no_deps.then_some("--no-deps"))
        .arg("--find-links")
        .arg(wheels)
        .args(requirements))
}

/// Sets what torch-sys needs to build against the venv's libtorch: `LIBTORCH_USE_PYTORCH=1`,
/// and the venv first on `PATH` with `VIRTUAL_ENV` (torch-sys then runs `python`). These stay
/// the same between builds, so libtorch's C++ shim is not rebuilt.
pub fn cargo_env(cmd: &mut Command) -> &mut Command {
    let bin = venv().join("bin");
    let mut path =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect::<Vec<_>>();
    path.retain(|p| p != &bin);
    path.insert(0, bin);
    cmd.env("LIBTORCH_USE_PYTORCH", "1")
        .env("VIRTUAL_ENV", venv())
        .env(
            "PATH",
            std::env::join_paths(path).expect("PATH entries have no separator"),
        )
}

/// The script that writes the test fixtures and converts ONNX networks to TorchScript.
fn gen_script() -> PathBuf {
    paths::root().join("plugins/backend-tch/tests/fixtures/gen_models.py")
}

/// Traces every `zoo/esrgan-*.onnx` to `zoo/<same stem>.pt` (when missing or older).
pub fn convert_zoo() -> Result<()> {
    let zoo = paths::root().join("zoo");
    let mut onnx: Vec<PathBuf> = std::fs::read_dir(&zoo)
        .map_err(|e| format!("{}: {e}", zoo.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "onnx")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("esrgan-"))
        })
        .collect();
    onnx.sort();
    // One Python process for all of them: importing torch takes most of a trace's time.
    let mut trace = Command::new(venv_python());
    trace.arg(gen_script()).arg("zoo");
    let mut any = false;
    for src in onnx {
        let out = src.with_extension("pt");
        if !is_newer(&out, &src) {
            trace.arg(&src).arg(&out);
            any = true;
        }
    }
    if any {
        run(&mut trace)?;
    }
    Ok(())
}

fn is_newer(a: &Path, b: &Path) -> bool {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((m(a), m(b)), (Some(x), Some(y)) if x >= y)
}

/// Everything the tch backend needs: the venv with torch, then the TorchScript zoo.
pub fn setup() -> Result<()> {
    ensure_venv()?;
    convert_zoo()
}
