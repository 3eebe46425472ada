//! The config's tables and their defaults.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A whole run.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The output folder (relative to the config file); `--out` overrides it.
    #[serde(default = "default_out")]
    pub out: PathBuf,
    /// The largest number of images sent to the model at once (default 4).
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// Memory for one batch, in MiB (default 4096): the batch size is lowered until one batch's
    /// gradient fits, measured on one image before the methods run.
    #[serde(default = "default_memory_budget")]
    pub memory_budget_mb: u64,
    /// Relative completeness gap above which the report says "use more steps" (default 0.1).
    #[serde(default = "default_gap_warning")]
    pub gap_warning: f64,
    /// The network to explain.
    pub model: ModelConfig,
    /// The image.
    pub image: ImageConfig,
    /// The window of the SR output being explained.
    pub window: WindowConfig,
    /// What is explained inside the window.
    #[serde(default)]
    pub objective: ObjectiveKind,
    /// The methods to run, in order.
    #[serde(rename = "method")]
    pub methods: Vec<MethodConfig>,
}

fn default_out() -> PathBuf {
    PathBuf::from("out")
}
fn default_batch_size() -> u32 {
    4
}
fn default_memory_budget() -> u64 {
    4096
}
fn default_gap_warning() -> f64 {
    0.1
}

/// `[model]`: which backend loads which file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The backend's name, e.g. `candle`.
    #[serde(default = "default_backend")]
    pub backend: String,
    /// The plugin that provides the backend, when several do.
    pub plugin: Option<String>,
    /// The model file (relative to the config file).
    pub path: PathBuf,
    /// The expected scale; checked against the model's own.
    pub scale: Option<u32>,
    /// `cpu` (default), `cuda`, `cuda:N`: what the backend accepts.
    #[serde(default = "default_device")]
    pub device: String,
    /// Threads for the backend (0: its default).
    #[serde(default)]
    pub threads: u32,
    /// The backend's own options.
    #[serde(default)]
    pub options: toml::Table,
}

fn default_backend() -> String {
    "candle".into()
}
fn default_device() -> String {
    "cpu".into()
}

/// How the image file is used.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImageMode {
    /// A high-resolution image, bicubically downscaled by the model's scale (the paper's way).
    #[default]
    Hr,
    /// A low-resolution input used as it is.
    Lr,
}

/// `[image]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// The image file (PNG or JPEG), relative to the config file.
    pub path: PathBuf,
    /// `hr` (default) or `lr`.
    #[serde(default)]
    pub mode: ImageMode,
    /// An optional crop `[x, y, width, height]` of the file, in its own pixels.
    pub crop: Option<[u32; 4]>,
}

/// `[window]`: a square of the SR output, in SR pixels.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Side (default 16, the paper's).
    #[serde(default = "default_window")]
    pub size: u32,
}

fn default_window() -> u32 {
    16
}

/// What is explained inside the window.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveKind {
    /// LAM's gradient energy (default).
    #[default]
    GradientEnergy,
    /// The sum of the output (the demo's `attr_id`).
    Intensity,
}

impl ObjectiveKind {
    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectiveKind::GradientEnergy => "gradient_energy",
            ObjectiveKind::Intensity => "intensity",
        }
    }
}

/// One `[[method]]` table: the keys below, and every other key is the method's own option.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MethodConfig {
    /// The method's name, e.g. `lam`.
    pub name: String,
    /// The output subfolder and the report's title (default: the name).
    pub label: Option<String>,
    /// The plugin that provides the method, when several do.
    pub plugin: Option<String>,
    /// The method's own options.
    #[serde(flatten)]
    pub options: toml::Table,
}

impl MethodConfig {
    /// The label, defaulting to the name.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}

impl Config {
    /// Checks what serde cannot: values in range, labels unique and usable as folder names.
    pub fn check(&self, path: &Path) -> Result<()> {
        let bad = |m: String| Err(Error::Config(format!("{}: {m}", path.display())));
        if self.methods.is_empty() {
            return bad(
                "no `[[method]]` table: add at least one, e.g. `[[method]]\\nname = \"lam\"`"
                    .into(),
            );
        }
        if self.batch_size == 0 {
            return bad("`batch_size` must be at least 1".into());
        }
        if self.memory_budget_mb == 0 {
            return bad("`memory_budget_mb` must be at least 1 (MiB; default 4096)".into());
        }
        if self.window.size == 0 {
            return bad("`window.size` must be at least 1 (the paper uses 16)".into());
        }
        let mut seen = std::collections::HashSet::new();
        for m in &self.methods {
            let label = m.label();
            let usable = !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && label != "."
                && label != "..";
            if !usable {
                return bad(format!(
                    "method label `{label}` cannot be a folder name: use letters, digits, `-`, `_` or `.`"
                ));
            }
            if !seen.insert(label.to_string()) {
                return bad(format!(
                    "two methods have the label `{label}`: give each `[[method]]` its own `label`"
                ));
            }
        }
        Ok(())
    }
}
