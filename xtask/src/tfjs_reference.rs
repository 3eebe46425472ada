//! Reference outputs made with TensorFlow.js where an UpscalerJS package ships no sample.
//!
//! The slim and medium packages ship no `assets/samples/8x/result.png`. Their x8 models are
//! checked instead against the package's own network run by the package's own runtime:
//! `xtask/tfjs/reference.js` loads the package's `model.json` with its model definition (custom
//! layers, input and output ranges) in TensorFlow.js 4.11 (the packages' peer dependency, CPU
//! backend, pure JavaScript from npm) on `assets/fixture.png`. The same script also remakes
//! `esrgan-slim`'s shipped x4 sample, so a test can check the script against the package.

use std::process::Command;

use srlens_zoo::fixture::{tfjs_input_png, tfjs_reference_png, TFJS_INPUT_SIZE};

use crate::{paths, run, Result};

/// The outputs made: (package, scale, whether on the fixture's crop). Slim x4 has a shipped
/// sample to check the script on, so it runs on the whole fixture as the sample did; the x8
/// references run on the top-left [`TFJS_INPUT_SIZE`] pixels (a quarter of the time).
pub const REFERENCES: [(&str, u32, bool); 3] = [
    ("esrgan-slim", 4, false),
    ("esrgan-slim", 8, true),
    ("esrgan-medium", 8, true),
];

/// Installs the script's npm dependencies (`npm ci`, from the committed lock file) and writes
/// every missing reference; the npm packages must have been fetched already.
pub fn prepare() -> Result<()> {
    let script_dir = paths::root().join("xtask/tfjs");
    let missing: Vec<_> = REFERENCES
        .iter()
        .map(|&(short, s, cropped)| {
            let pkg = paths::project_cache()
                .join("npm")
                .join(short)
                .join("package");
            let out = tfjs_reference_png(&pkg, s);
            (pkg, s, cropped, out)
        })
        .filter(|(pkg, s, cropped, out)| {
            !out.exists() || (*cropped && !tfjs_input_png(pkg, *s).exists())
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !script_dir.join("node_modules/.package-lock.json").exists() {
        run(Command::new("npm").current_dir(&script_dir).args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--silent",
        ]))?;
    }
    for (pkg, s, cropped, out) in missing {
        eprintln!(
            "xtask: TensorFlow.js reference for {} x{s} (up to a minute)",
            pkg.display()
        );
        // Written next to the target and renamed, so an interrupted run leaves nothing behind.
        let tmp = out.with_extension("png.partial");
        run(Command::new("node")
            .arg(script_dir.join("reference.js"))
            .arg(&pkg)
            .arg(s.to_string())
            .arg(&tmp)
            .args(cropped.then(|| TFJS_INPUT_SIZE.to_string())))?;
        std::fs::rename(&tmp, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    Ok(())
}
