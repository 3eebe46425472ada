//! `model.path` may name a zoo model (`esrgan-thick-x4`) instead of a file: it is resolved
//! through `zoo.toml` in the config's folder or a parent, or `$SRLENS_ZOO`.

use std::path::{Path, PathBuf};

use crate::config::LoadedConfig;
use crate::error::{Error, Result};

/// The model file of `cfg`: `model.path` relative to the config when that file exists, else
/// the zoo model it names, else an error that says which.
pub fn model_file(cfg: &LoadedConfig, written: &Path) -> Result<PathBuf> {
    let path = cfg.resolve(written);
    if path.is_dir() {
        return Err(Error::Input(format!(
            "model.path in {} names {}, which is a folder, not a model file",
            cfg.path.display(),
            path.display()
        )));
    }
    if path.is_file() {
        return Ok(path);
    }
    let name = written
        .to_str()
        .filter(|n| srlens_zoo::manifest::looks_like_name(n));
    let Some(name) = name else {
        return Err(Error::Input(format!(
            "the model file {} does not exist (model.path in {})",
            path.display(),
            cfg.path.display()
        )));
    };
    let config = cfg.path.canonicalize().unwrap_or_else(|_| cfg.path.clone());
    let dir = config.parent().map(PathBuf::from).unwrap_or_default();
    let file = srlens_zoo::manifest::resolve(name, &dir)
        .map_err(|e| Error::Input(format!("model.path in {}: {e}", cfg.path.display())))?;
    if !file.is_file() {
        return Err(Error::Input(format!(
            "the zoo model `{name}` is {}, which does not exist: run `cargo xtask setup` to convert the zoo \
             (model.path in {})",
            file.display(),
            cfg.path.display()
        )));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "[model]\npath = \"MODEL\"\n[image]\npath = \"i.png\"\n[window]\nx = 0\ny = 0\n[[method]]\nname = \"lam\"\n";

    fn config_with(dir: &std::path::Path, model: &str) -> LoadedConfig {
        let sub = dir.join("configs");
        std::fs::create_dir_all(&sub).unwrap();
        let path = sub.join("run.toml");
        std::fs::write(&path, CONFIG.replace("MODEL", model)).unwrap();
        crate::config::load(&path, &[]).unwrap()
    }

    #[test]
    fn zoo_names_resolve_through_the_manifest_above_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = srlens_zoo::Manifest {
            models: vec![srlens_zoo::Entry {
                name: "esrgan-slim-x4".into(),
                architecture: "rdn".into(),
                scale: 4,
                parameters: 1,
                input_range: [0.0, 255.0],
                license: "MIT".into(),
                package: "@upscalerjs/esrgan-slim".into(),
                version: "1.0.0".into(),
                source_file: "models/x4/model.json".into(),
                file: "zoo/esrgan-slim-x4.onnx".into(),
                sha256: "0".into(),
            }],
        };
        std::fs::write(dir.path().join("zoo.toml"), manifest.to_toml()).unwrap();
        let cfg = config_with(dir.path(), "esrgan-slim-x4");
        let e = model_file(&cfg, Path::new("esrgan-slim-x4"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cargo xtask setup"), "{e}");
        std::fs::create_dir_all(dir.path().join("zoo")).unwrap();
        std::fs::write(dir.path().join("zoo/esrgan-slim-x4.onnx"), b"x").unwrap();
        let got = model_file(&cfg, Path::new("esrgan-slim-x4")).unwrap();
        assert_eq!(
            got.canonicalize().unwrap(),
            dir.path()
                .join("zoo/esrgan-slim-x4.onnx")
                .canonicalize()
                .unwrap()
        );
        let e = model_file(
            &config_with(dir.path(), "esrgan-thick-x9"),
            Path::new("esrgan-thick-x9"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("the zoo has: esrgan-slim-x4"), "{e}");
        let e = model_file(
            &config_with(dir.path(), "missing.onnx"),
            Path::new("missing.onnx"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }
}
