//! `zoo.toml`: one entry per model, with its provenance and the sha256 of its ONNX file.
//!
//! ```toml
//! [[model]]
//! name = "esrgan-slim-x4"
//! architecture = "rdn"
//! scale = 4
//! parameters = 229560
//! input_range = [0.0, 255.0]
//! license = "MIT"
//! package = "@upscalerjs/esrgan-slim"
//! version = "1.0.0"
//! source_file = "models/x4/model.json"
//! file = "zoo/esrgan-slim-x4.onnx"
//! sha256 = "..."
//! ```
//!
//! `file` is relative to the manifest's folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{io, Error, Result};

/// The manifest's file name.
pub const FILE_NAME: &str = "zoo.toml";

/// The environment variable naming a manifest (or a folder holding `zoo.toml`).
pub const ENV: &str = "SRLENS_ZOO";

/// One model of the zoo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The name configs use, e.g. `esrgan-thick-x4`.
    pub name: String,
    /// `rdn` or `rrdn`.
    pub architecture: String,
    /// The upscaling factor.
    pub scale: u32,
    /// The number of parameters.
    pub parameters: u64,
    /// The model's own value range.
    pub input_range: [f32; 2],
    /// The licence (SPDX).
    pub license: String,
    /// The npm package it comes from.
    pub package: String,
    /// The package's version.
    pub version: String,
    /// The converted file inside the package.
    pub source_file: String,
    /// The ONNX file, relative to the manifest's folder.
    pub file: String,
    /// The ONNX file's sha256, lowercase hex.
    pub sha256: String,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The models, in a stable order.
    #[serde(rename = "model", default)]
    pub models: Vec<Entry>,
}

/// The header written above a generated manifest.
const HEADER: &str = "# The srlens model zoo: written by `cargo xtask zoo --write`, checked by `cargo xtask zoo`.\n\
# `file` is relative to this folder (zoo/ is created by `cargo xtask setup`); see docs/models.md.\n\n";

impl Manifest {
    /// Parses manifest text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let m: Manifest = toml::from_str(text).map_err(|e| Error::Manifest {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut seen = std::collections::HashSet::new();
        for e in &m.models {
            if !seen.insert(e.name.as_str()) {
                return Err(Error::Manifest {
                    path: path.to_path_buf(),
                    message: format!("two models are named `{}`", e.name),
                });
            }
        }
        Ok(m)
    }

    /// Reads a manifest file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        Manifest::parse(&text, path)
    }

    /// The manifest as TOML, with a header comment.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("the manifest serialises");
        format!("{HEADER}{body}")
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.models.iter().find(|e| e.name == name)
    }
}

/// Whether `text` looks like a zoo name (`esrgan-thick-x4`): lowercase letters, digits and
/// `-`, no extension or folder.
pub fn looks_like_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && text.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// The manifests to search, in order: `zoo.toml` in `start` and each of its parents, then
/// `$SRLENS_ZOO` (a manifest file, or a folder holding one).
pub fn candidates(start: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = start.ancestors().map(|d| d.join(FILE_NAME)).collect();
    if let Some(z) = std::env::var_os(ENV) {
        let z = PathBuf::from(z);
        v.push(if z.is_dir() { z.join(FILE_NAME) } else { z });
    }
    v
}

/// Resolves the zoo name `name` to its ONNX file through the first manifest among
/// [`candidates`]`(start)` that lists it.
pub fn resolve(name: &str, start: &Path) -> Result<PathBuf> {
    let searched = candidates(start);
    let mut found = Vec::new();
    for path in &searched {
        if !path.is_file() {
            continue;
        }
        let m = Manifest::read(path)?;
        if let Some(e) = m.get(name) {
            let dir = path.parent().unwrap_or(Path::new("."));
            return Ok(dir.join(&e.file));
        }
        found.push((path.clone(), m));
    }
    let known: Vec<String> = found
        .iter()
        .flat_map(|(_, m)| m.models.iter().map(|e| e.name.clone()))
        .collect();
    Err(Error::UnknownModel(if found.is_empty() {
        format!(
            "`{name}` is neither a file nor a zoo model: no {FILE_NAME} was found in {} or its parents, and ${ENV} is {}",
            start.display(),
            if std::env::var_os(ENV).is_some() { "not a manifest" } else { "not set" }
        )
    } else {
        format!(
            "`{name}` is neither a file nor a model of {}; the zoo has: {}",
            found
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            known.join(", ")
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Entry {
        Entry {
            name: name.into(),
            architecture: "rdn".into(),
            scale: 4,
            parameters: 12,
            input_range: [0.0, 255.0],
            license: "MIT".into(),
            package: "@upscalerjs/esrgan-slim".into(),
            version: "1.0.0".into(),
            source_file: "models/x4/model.json".into(),
            file: "zoo/a.onnx".into(),
            sha256: "00".into(),
        }
    }

    #[test]
    fn round_trip_and_unknown_keys() {
        let m = Manifest {
            models: vec![entry("esrgan-slim-x4"), entry("esrgan-slim-x2")],
        };
        let text = m.to_toml();
        assert!(text.starts_with("# The srlens model zoo"));
        assert_eq!(Manifest::parse(&text, Path::new("zoo.toml")).unwrap(), m);
        let bad = text.replace("scale = 4", "scale = 4\nscael = 2");
        let e = Manifest::parse(&bad, Path::new("zoo.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `scael`"), "{e}");
        let twice = format!(
            "{text}\n{}",
            Manifest {
                models: vec![entry("esrgan-slim-x4")]
            }
            .to_toml()
        );
        let e = Manifest::parse(&twice, Path::new("zoo.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("two models are named `esrgan-slim-x4`"), "{e}");
    }

    #[test]
    fn names_resolve_through_parent_folders() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest {
            models: vec![entry("esrgan-slim-x4")],
        };
        std::fs::write(dir.path().join(FILE_NAME), m.to_toml()).unwrap();
        let deep = dir.path().join("configs/sub");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(
            resolve("esrgan-slim-x4", &deep).unwrap(),
            dir.path().join("zoo/a.onnx")
        );
        let e = resolve("esrgan-thick-x9", &deep).unwrap_err().to_string();
        assert!(e.contains("the zoo has: esrgan-slim-x4"), "{e}");
        assert!(looks_like_name("esrgan-thick-x4"));
        assert!(
            !looks_like_name("model.onnx") && !looks_like_name("a/b") && !looks_like_name("-x")
        );
    }
}
