//! The study config: TOML with `deny_unknown_fields`, `--set` overrides, errors that quote the
//! file, line and column and say what is accepted (the host's renderer), paths relative to
//! the config file, and the study's hash.

mod schema;

pub use schema::{
    usable_label, Images, ListedWindow, Problem, SanitySettings, StudyConfig, StudyModel,
    WindowRule, WindowsConfig,
};

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// A parsed study config and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedStudy {
    /// The config.
    pub config: StudyConfig,
    /// The file, absolute.
    pub path: PathBuf,
    /// The text after overrides.
    pub text: String,
}

/// Reads `path`, applies `overrides` (`key=value`, as `srlens run --set`) and checks it.
pub fn load(path: &Path, overrides: &[String]) -> Result<LoadedStudy> {
    let original = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
        path: path.to_path_buf(),
        source,
    })?;
    let text = srlens_host::config::apply_overrides(path, &original, overrides)?;
    let config: StudyConfig = toml::from_str(&text)
        .map_err(|e| Error::Config(srlens_host::config::render_toml_error(path, &text, &e)))?;
    let problems = config.check();
    if !problems.is_empty() {
        let rendered: Vec<String> = problems
            .iter()
            .map(|p| {
                srlens_host::config::render_at(
                    path,
                    &text,
                    srlens_host::config::locate(&text, &p.key),
                    &p.message,
                )
            })
            .collect();
        return Err(Error::Config(rendered.join("\n")));
    }
    let path = tidy(&std::path::absolute(path).map_err(crate::error::io(path))?);
    Ok(LoadedStudy { config, path, text })
}

impl LoadedStudy {
    /// The config file's folder (absolute).
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("/"))
    }

    /// A path written in the config, relative to the config file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        tidy(&self.dir().join(p))
    }

    /// The study's identity: the sha256 of the config as parsed (defaults filled in, keys
    /// sorted, as JSON) without `out`, so that shards of one study written to different
    /// folders, from the same file or a copy of it, have one hash.
    pub fn study_hash(&self) -> String {
        let mut v = serde_json::to_value(&self.config).expect("a config serialises");
        if let Some(m) = v.as_object_mut() {
            m.remove("out");
        }
        srlens_zoo::hash::sha256(v.to_string().as_bytes())
    }

    /// The normalised config (what [`study_hash`](Self::study_hash) hashes, with `out`).
    pub fn normalised(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).expect("a config serialises")
    }

    /// The model file of model `index`: the file `path` names (relative to the config), or
    /// the zoo model it names (`zoo.toml` in the config's folder or a parent, or
    /// `$SRLENS_ZOO`), as the host resolves a run config's `model.path`. `Ok(None)` when
    /// the model gives no path (a backend with built-in weights); `Err` says why not.
    pub fn model_file(&self, index: usize) -> std::result::Result<Option<PathBuf>, String> {
        let Some(written) = &self.config.models[index].path else {
            return Ok(None);
        };
        let path = self.resolve(written);
        if path.is_file() {
            return Ok(Some(path));
        }
        if path.is_dir() {
            return Err(format!(
                "model.{index}.path names {}, which is a folder, not a model file",
                path.display()
            ));
        }
        let name = written
            .to_str()
            .filter(|n| srlens_zoo::manifest::looks_like_name(n));
        let Some(name) = name else {
            return Err(format!(
                "the model file {} does not exist (model.{index}.path in {})",
                path.display(),
                self.path.display()
            ));
        };
        let file = srlens_zoo::manifest::resolve(name, self.dir())
            .map_err(|e| format!("model.{index}.path in {}: {e}", self.path.display()))?;
        if !file.is_file() {
            return Err(format!(
                "the zoo model `{name}` is {}, which does not exist: run `cargo xtask setup` \
                 to convert the zoo (model.{index}.path in {})",
                file.display(),
                self.path.display()
            ));
        }
        Ok(Some(tidy(&file)))
    }

    /// The image files, in order: listed files as given, the PNG/JPEG files of folders
    /// sorted by name, the zoo's photos for `"zoo"`. Files that cannot be decoded are kept
    /// (their items fail with the reason); a listed file that does not exist is an error.
    pub fn image_files(&self) -> Result<Vec<PathBuf>> {
        let written = match &self.config.images {
            Images::Zoo => vec![self.zoo_photos()?],
            Images::Paths(p) => p.iter().map(|p| self.resolve(p)).collect(),
        };
        let mut files = Vec::new();
        for p in written {
            if p.is_dir() {
                let mut in_dir: Vec<PathBuf> = std::fs::read_dir(&p)
                    .map_err(crate::error::io(&p))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.is_file() && is_image_name(f))
                    .collect();
                in_dir.sort();
                if in_dir.is_empty() {
                    return Err(Error::Config(format!(
                        "images in {}: the folder {} holds no .png, .jpg or .jpeg file",
                        self.path.display(),
                        p.display()
                    )));
                }
                files.extend(in_dir);
            } else if p.is_file() {
                files.push(p);
            } else {
                return Err(Error::Config(format!(
                    "images in {}: {} does not exist",
                    self.path.display(),
                    p.display()
                )));
            }
        }
        Ok(files)
    }

    /// `data/images` beside the first `zoo.toml` above the config (or `$SRLENS_ZOO`'s).
    fn zoo_photos(&self) -> Result<PathBuf> {
        for manifest in srlens_zoo::manifest::candidates(self.dir()) {
            if manifest.is_file() {
                let dir = manifest
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join("data/images");
                if dir.is_dir() {
                    return Ok(tidy(&dir));
                }
            }
        }
        Err(Error::Config(format!(
            "images = \"zoo\" in {}: no data/images folder beside a zoo.toml above the config; \
             run `cargo xtask setup` (it fetches the photos), or list image files",
            self.path.display()
        )))
    }
}

/// Whether `p` is named as a PNG or JPEG file.
fn is_image_name(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// Removes `.` and folds `dir/..` pairs (the host's, so that runs and studies agree).
pub use srlens_host::config::tidy;

/// `path` relative to the folder `base` (both absolute), with `..` steps where needed.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let (p, b) = (tidy(path), tidy(base));
    let pc: Vec<Component> = p.components().collect();
    let bc: Vec<Component> = b.components().collect();
    let common = pc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..bc.len() {
        out.push("..");
    }
    for c in &pc[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/a/b/c/d"), Path::new("/a/b")),
            Path::new("c/d")
        );
        assert_eq!(
            relative_to(Path::new("/a/x/y"), Path::new("/a/b/c")),
            Path::new("../../x/y")
        );
        assert_eq!(
            relative_to(Path::new("/a"), Path::new("/a")),
            Path::new(".")
        );
    }

    fn study(text: &str) -> std::result::Result<LoadedStudy, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, text).unwrap();
        load(&p, &[]).map_err(|e| e.to_string())
    }

    const OK: &str = "images = \"zoo\"\n[windows]\nauto = 2\n[[model]]\npath = \"esrgan-slim-x4\"\n[[method]]\nname = \"lam\"\n";

    #[test]
    fn errors_name_the_key_and_what_is_accepted() {
        assert!(study(OK).is_ok());
        let e = study(&OK.replace("auto = 2", "auto = 2\ngrid = [2, 2]")).unwrap_err();
        assert!(e.contains("exactly one of `auto = K`"), "{e}");
        assert!(e.contains("s.toml:2:"), "{e}");
        let e = study(&OK.replace("auto = 2", "autos = 2")).unwrap_err();
        assert!(e.contains("unknown field `autos`"), "{e}");
        assert!(e.contains("expected one of"), "{e}");
        let e = study(&OK.replace("images = \"zoo\"", "images = 3")).unwrap_err();
        assert!(e.contains("\"zoo\" (the photos)"), "{e}");
        let twice = OK.replace(
            "[[method]]",
            "[[model]]\npath = \"x/esrgan-slim-x4.onnx\"\n[[method]]",
        );
        let e = study(&twice).unwrap_err();
        assert!(
            e.contains("two models have the label `esrgan-slim-x4`"),
            "{e}"
        );
        let sanity = |table: &str| study(&format!("{OK}[sanity]\n{table}\n"));
        assert!(sanity("layers = [1, 2]\nseed = 3").is_ok());
        let e = sanity("layers = [0, 2]").unwrap_err();
        assert!(
            e.contains("9 | layers = [0, 2]") && e.contains("at least 1"),
            "{e}"
        );
        let e = sanity("layer = [1]").unwrap_err();
        assert!(e.contains("unknown field `layer`"), "{e}");
    }

    #[test]
    fn the_hash_ignores_out_but_not_the_rest() {
        let a = study(OK).unwrap().study_hash();
        let b = study(&format!("out = \"elsewhere\"\n{OK}"))
            .unwrap()
            .study_hash();
        let c = study(&OK.replace("auto = 2", "auto = 3"))
            .unwrap()
            .study_hash();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
