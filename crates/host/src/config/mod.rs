//! The run configuration: TOML with `deny_unknown_fields`, `--set` overrides, and errors that
//! quote the file, line and column.

mod batch_size;
mod diagnostic;
mod overrides;
mod schema;

pub use batch_size::BatchSize;
/// Renders a message at a span of a TOML text, and finds a dotted key's span: what every
/// config error of srlens looks like (the study config uses them too).
pub use diagnostic::{locate, render as render_toml_error, render_at};
/// Applies `--set key=value` overrides to a TOML text (the study config uses it too).
pub use overrides::apply as apply_overrides;
pub use schema::{
    Config, FaithfulnessConfig, ImageConfig, ImageMode, MethodConfig, ModelConfig, ObjectiveKind,
    Problem, WindowConfig, Windows,
};

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A parsed config and where it came from.
#[derive(Debug)]
pub struct LoadedConfig {
    /// The config.
    pub config: Config,
    /// The file it was read from.
    pub path: PathBuf,
    /// The text that was parsed (after overrides), for locating keys in later errors.
    pub text: String,
    /// The `--set key=value` overrides as the user wrote them: an error about one of their
    /// keys quotes the override, not a line the file does not hold.
    pub overrides: Vec<String>,
}

impl LoadedConfig {
    /// The config file's folder (`.` for a file named without one).
    pub fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    /// Resolves a path written in the config relative to the config file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            tidy(&self.dir().join(p))
        }
    }

    /// `message` about the dotted `key`, rendered at the key's place in the config (the one
    /// renderer of config errors: `file:line:column`, the line, a caret).
    pub fn error_at(&self, key: &str, message: &str) -> String {
        if let Some(o) = overrides::for_key(&self.overrides, key) {
            return format!("--set `{o}`: {message}");
        }
        diagnostic::render_at(
            &self.path,
            &self.text,
            diagnostic::locate(&self.text, key),
            message,
        )
    }

    /// The absolute form of the config's folder (empty when it cannot be made absolute).
    pub fn absolute_dir(&self) -> String {
        std::path::absolute(self.dir())
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Removes `.` and folds `dir/..` pairs, so that `configs/../zoo/m.onnx` reads `zoo/m.onnx`.
pub fn tidy(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// Reads `path`, applies `overrides` (`key=value`, TOML values, dotted keys) and parses it.
pub fn load(path: &Path, overrides: &[String]) -> Result<LoadedConfig> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
        path: path.to_path_buf(),
        source,
    })?;
    let original = text;
    let text = overrides::apply(path, &original, overrides)?;
    let config: Config = toml::from_str(&text).map_err(|e| {
        let culprit = e
            .span()
            .and_then(|span| overrides::for_span(&original, &text, overrides, span.start));
        Error::Config(match culprit {
            Some(o) => format!("--set `{o}`: {}", e.message().trim_end()),
            None => diagnostic::render(path, &text, &e),
        })
    })?;
    let loaded = LoadedConfig {
        config,
        path: path.to_path_buf(),
        text,
        overrides: overrides.to_vec(),
    };
    let problems = loaded.config.check();
    if !problems.is_empty() {
        let rendered: Vec<String> = problems
            .iter()
            .map(|p| loaded.error_at(&p.key, &p.message))
            .collect();
        return Err(Error::Config(rendered.join("\n")));
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::tidy;
    use std::path::Path;

    #[test]
    fn tidy_folds_parent_steps() {
        assert_eq!(
            tidy(Path::new("configs/../zoo/./m.onnx")),
            Path::new("zoo/m.onnx")
        );
        assert_eq!(tidy(Path::new("../a/../b")), Path::new("../b"));
        assert_eq!(tidy(Path::new("a/..")), Path::new("."));
    }
}
