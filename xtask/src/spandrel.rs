//! spandrel for `srlens import`, and the transformer test networks it brings in.
//!
//! `srlens import` loads PyTorch SR checkpoints with spandrel (MIT, pure Python: the loader
//! chaiNNer and ComfyUI use, which recognises SwinIR, HAT, DAT, ESRGAN... from a state dict)
//! in the project's `.venv`. spandrel 0.4.2 imports torchvision when it is imported, and
//! `torchvision==0.28.0` is the release built for torch 2.13.0; einops, safetensors and pillow
//! are what spandrel and torchvision import besides torch and numpy (already in the venv).
//! torchvision depends on `torch==2.13.0` exactly, so these wheels are downloaded and installed
//! with `--no-deps`: a download with dependencies would fetch torch's 2.6 GB again. Like
//! torch's, they are downloaded once into the user cache
//! (`~/.cache/srlens/pypi/spandrel-0.4.2-torchvision-0.28.0-<python>/`, or under
//! `$SRLENS_CACHE`) and installed from there ([`torch::wheelhouse`]); a later setup with the
//! packages in place only checks their versions.
//!
//! The test networks (issue 12): `tests/fixtures/transformers/make_checkpoints.py` writes
//! small SwinIR, HAT and DAT checkpoints from spandrel's own architecture code with seeded
//! weights, and three files `srlens import` refuses, into `target/transformers/` (setup, when
//! missing or older than the script); `cargo xtask test` then runs the freshly built
//! `srlens import` on the three networks into the same folder (when an output is missing or
//! older than its checkpoint or the import script), so that every crate's tests find
//! `target/transformers/{swinir,hat,dat}.{onnx,pt}`. `cargo xtask transformers` does only
//! this.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{paths, run, torch, Result};

/// The spandrel release `srlens import` is written for.
pub const SPANDREL_VERSION: &str = "0.4.2";

/// The torchvision release built for torch 2.13.0.
const TORCHVISION_VERSION: &str = "0.28.0";

/// Every wheel installed here, pinned (`--no-deps`: torch and numpy are already in the venv).
const PACKAGES: [(&str, &str); 5] = [
    ("spandrel", SPANDREL_VERSION),
    ("torchvision", TORCHVISION_VERSION),
    ("einops", "0.8.2"),
    ("safetensors", "0.8.0"),
    ("pillow", "13.0.0"),
];

/// The test networks' file stems in `target/transformers/`.
pub const NETWORKS: [&str; 3] = ["swinir", "hat", "dat"];

/// The files `make_checkpoints.py` writes.
const CHECKPOINTS: [&str; 6] = [
    "swinir.pth",
    "hat.pth",
    "dat.pth",
    "denoise.pth",
    "unknown.pth",
    "corrupt.pth",
];

/// Installs the pinned wheels into `.venv` (which [`torch::ensure_venv`] creates) unless the
/// venv already imports those versions.
pub fn ensure() -> Result<()> {
    if has_spandrel() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let requirements: Vec<String> = PACKAGES
        .iter()
        .map(|(name, version)| format!("{name}=={version}"))
        .collect();
    let key = format!("spandrel-{SPANDREL_VERSION}-torchvision-{TORCHVISION_VERSION}");
    let wheels = torch::wheelhouse(&key, &requirements, true)?;
    torch::install_from(&wheels, &requirements, true)?;
    if !has_spandrel() {
        return Err(format!(
            "{} cannot import spandrel {SPANDREL_VERSION} and torchvision {TORCHVISION_VERSION} \
             after installing them",
            torch::venv_python().display()
        ));
    }
    eprintln!(
        "xtask: spandrel {SPANDREL_VERSION} and torchvision {TORCHVISION_VERSION} installed into \
         .venv in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether the venv imports every pinned package at its version.
fn has_spandrel() -> bool {
    let wanted: Vec<String> = PACKAGES
        .iter()
        .map(|(name, version)| {
            let module = if *name == "pillow" { "PIL" } else { name };
            format!("({module}.__version__.split('+')[0], '{version}')")
        })
        .collect();
    let check = format!(
        "import spandrel, torchvision, einops, safetensors, PIL, sys; \
         sys.exit(any(a != b for a, b in [{}]))",
        wanted.join(", ")
    );
    Command::new(torch::venv_python())
        .args(["-c", &check])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The folder of the transformer test networks, `target/transformers/`.
pub fn dir() -> PathBuf {
    paths::root().join("target/transformers")
}

/// The script that writes the test checkpoints.
fn checkpoint_script() -> PathBuf {
    paths::root().join("tests/fixtures/transformers/make_checkpoints.py")
}

/// The script `srlens import` runs (embedded in the binary): imports older than it are redone.
fn import_script() -> PathBuf {
    paths::root().join("crates/cli/src/import_cmd/import_checkpoint.py")
}

/// Writes the test checkpoints into `target/transformers/` (one Python process) when one is
/// missing or older than the script.
pub fn checkpoints() -> Result<()> {
    let dir = dir();
    let script = checkpoint_script();
    if CHECKPOINTS.iter().all(|f| is_newer(&dir.join(f), &script)) {
        return Ok(());
    }
    run(Command::new(torch::venv_python()).arg(&script).arg(&dir))
}

/// Runs `srlens import` on each test network whose `.onnx` or `.pt` is missing, or older than
/// its checkpoint or the import script, writing them next to the checkpoints.
pub fn import_networks(srlens: &Path) -> Result<()> {
    let dir = dir();
    for net in NETWORKS {
        let pth = dir.join(format!("{net}.pth"));
        let fresh = ["onnx", "pt"].iter().all(|ext| {
            let out = pth.with_extension(ext);
            is_newer(&out, &pth) && is_newer(&out, &import_script())
        });
        if !fresh {
            run(Command::new(srlens)
                .arg("import")
                .arg(&pth)
                .env("SRLENS_PYTHON", torch::venv_python()))?;
        }
    }
    Ok(())
}

fn is_newer(a: &Path, b: &Path) -> bool {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((m(a), m(b)), (Some(x), Some(y)) if x >= y)
}
