//! The model zoo: the UpscalerJS ESRGAN packages from npm, converted to ONNX in `zoo/`.

use std::path::Path;

use crate::{fetch, paths, Result};

/// The npm packages (short names) of the zoo.
pub const PACKAGES: [&str; 3] = ["esrgan-slim", "esrgan-medium", "esrgan-thick"];

/// The version of every UpscalerJS ESRGAN package used.
pub const VERSION: &str = "1.0.0";

/// The scales each package ships.
pub const SCALES: [u32; 4] = [2, 3, 4, 8];

/// Fetches `packages` and writes `zoo/<package>-x<scale>.onnx` for every scale.
pub fn prepare(packages: &[&str]) -> Result<()> {
    let zoo = paths::root().join("zoo");
    std::fs::create_dir_all(&zoo).map_err(|e| format!("{}: {e}", zoo.display()))?;
    for short in packages {
        let dir = fetch::npm_package(&format!("@upscalerjs/{short}"), VERSION, short)?;
        for s in SCALES {
            let out = zoo.join(format!("{short}-x{s}.onnx"));
            if out.exists() {
                continue;
            }
            convert(&dir.join(format!("models/x{s}/model.json")), &out)?;
        }
    }
    Ok(())
}

fn convert(model_json: &Path, out: &Path) -> Result<()> {
    eprintln!(
        "xtask: converting {} -> {}",
        model_json.display(),
        out.display()
    );
    let graph = srlens_onnx::tfjs::convert(model_json).map_err(|e| e.to_string())?;
    srlens_onnx::write_file(&graph, out).map_err(|e| e.to_string())
}
