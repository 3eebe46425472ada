//! The config's tables and their defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::BatchSize;

/// A whole run.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The output folder (relative to the config file); `--out` overrides it.
    #[serde(default = "default_out")]
    pub out: PathBuf,
    /// Path points per model call: `"auto"` (default; timed in the run) or at most a number.
    #[serde(default)]
    pub batch_size: BatchSize,
    /// Memory for one batch, in MiB (default 4096): the batch size is lowered until one batch's
    /// gradient fits, measured on one image before the methods run.
    #[serde(default = "default_memory_budget")]
    pub memory_budget_mb: u64,
    /// Relative completeness gap above which the report says "use more steps" (default 0.1).
    #[serde(default = "default_gap_warning")]
    pub gap_warning: f64,
    /// Run the model's gradients on the part of the image that can reach the windows, when
    /// the backend bounds its receptive field (the numbers do not change); `false` runs the
    /// whole image.
    #[serde(default = "default_true")]
    pub crop_to_receptive_field: bool,
    /// The deletion and insertion curves of every map (`[faithfulness]`; on by default).
    #[serde(default)]
    pub faithfulness: FaithfulnessConfig,
    /// The network to explain.
    pub model: ModelConfig,
    /// The image.
    pub image: ImageConfig,
    /// The windows of the SR output being explained: `[window]` (one) or `[[window]]` (several,
    /// each with an optional `label`); several windows share the path's model passes.
    pub window: Windows,
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
fn default_memory_budget() -> u64 {
    4096
}
fn default_true() -> bool {
    true
}

fn default_gap_warning() -> f64 {
    0.1
}

/// `[faithfulness]`: the deletion and insertion curves recorded for every map.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FaithfulnessConfig {
    /// The curves are recorded at `0, 1/steps, ..., 1` of the LR pixels (default 10; 0 turns
    /// the curves off; at least 2 otherwise). Each step costs four forward passes per map.
    #[serde(default = "default_faithfulness_steps")]
    pub steps: u32,
    /// The seed of the random-order reference curves (the same order for every method, so
    /// their curves compare).
    #[serde(default)]
    pub seed: u64,
}

impl Default for FaithfulnessConfig {
    fn default() -> Self {
        FaithfulnessConfig {
            steps: default_faithfulness_steps(),
            seed: 0,
        }
    }
}

impl FaithfulnessConfig {
    /// What is wrong with `steps`, if anything.
    pub fn problem(&self) -> Option<String> {
        (self.steps == 1 || self.steps > 1000).then(|| {
            format!(
                "`faithfulness.steps` = {} is not 0 (off) or 2 to 1000 (default 10; each step \
                 costs four forward passes per map)",
                self.steps
            )
        })
    }
}

fn default_faithfulness_steps() -> u32 {
    10
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
    /// The model file (relative to the config file) or a zoo name; optional for a backend
    /// with built-in weights.
    pub path: Option<PathBuf>,
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
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Side (default 16, the paper's).
    #[serde(default = "default_window")]
    pub size: u32,
    /// The window's name in output folders and reports (default `w0`, `w1`... for a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

fn default_window() -> u32 {
    16
}

/// One window (`[window]`) or several (`[[window]]`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Windows {
    /// `[window]`: one window; outputs go to `<out>/<method label>/`.
    One(WindowConfig),
    /// `[[window]]`: several; outputs go to `<out>/<method label>/<window label>/`.
    Many(Vec<WindowConfig>),
}

impl Windows {
    /// Every window, in order.
    pub fn all(&self) -> &[WindowConfig] {
        match self {
            Windows::One(w) => std::slice::from_ref(w),
            Windows::Many(v) => v,
        }
    }

    /// The label of window `i`: its own, else `w{i}` (`None` for a single `[window]`
    /// without a label: its outputs are not in a subfolder).
    pub fn label(&self, i: usize) -> Option<String> {
        match self {
            Windows::One(w) => w.label.clone(),
            Windows::Many(v) => Some(v[i].label.clone().unwrap_or_else(|| format!("w{i}"))),
        }
    }

    /// The config key of window `i` (`window` or `window.i`).
    pub fn key(&self, i: usize) -> String {
        match self {
            Windows::One(_) => "window".into(),
            Windows::Many(_) => format!("window.{i}"),
        }
    }
}

impl<'de> Deserialize<'de> for Windows {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Windows;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a `[window]` table or `[[window]]` tables with x, y and size")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                a: A,
            ) -> std::result::Result<Windows, A::Error> {
                WindowConfig::deserialize(serde::de::value::MapAccessDeserializer::new(a))
                    .map(Windows::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                a: A,
            ) -> std::result::Result<Windows, A::Error> {
                Vec::<WindowConfig>::deserialize(serde::de::value::SeqAccessDeserializer::new(a))
                    .map(Windows::Many)
            }
        }
        d.deserialize_any(V)
    }
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

/// A value the config holds that serde accepted but the run cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key (`batch_size`, `window.1.size`, `method.0.label`), to locate it.
    pub key: String,
    /// What is wrong and what would be accepted.
    pub message: String,
}

/// Whether `label` can be a folder name.
fn usable_label(label: &str) -> bool {
    !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && label != "."
        && label != ".."
}

/// Reports every NaN or infinite number in a component's `options` (under `key`): options
/// reach plugins as JSON, which has neither.
fn non_finite_options(options: &toml::Table, key: &str, bad: &mut impl FnMut(String, String)) {
    fn walk(v: &toml::Value, key: &str, bad: &mut impl FnMut(String, String)) {
        match v {
            toml::Value::Float(f) if !f.is_finite() => bad(
                key.to_string(),
                format!(
                    "`{}` = {f}: options must be finite numbers (NaN and infinity are not \
                     accepted by any component)",
                    key.rsplit('.').next().unwrap_or(key)
                ),
            ),
            toml::Value::Table(t) => {
                for (k, v) in t {
                    walk(v, &format!("{key}.{k}"), bad);
                }
            }
            toml::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(v, &format!("{key}.{i}"), bad);
                }
            }
            _ => {}
        }
    }
    for (k, v) in options {
        walk(v, &format!("{key}.{k}"), bad);
    }
}

impl Config {
    /// Checks what serde cannot: values in range, labels unique and usable as folder names.
    /// Returns every problem found, each with its key.
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |key: String, message: String| problems.push(Problem { key, message });
        if self.methods.is_empty() {
            bad(
                "method".into(),
                "no `[[method]]` table: add at least one, e.g. `[[method]]\\nname = \"lam\"`"
                    .into(),
            );
        }
        if self.batch_size == BatchSize::Fixed(0) {
            bad(
                "batch_size".into(),
                "`batch_size` must be at least 1, or \"auto\" (the default: timed in the run)"
                    .into(),
            );
        }
        if !(self.gap_warning.is_finite() && self.gap_warning >= 0.0) {
            bad(
                "gap_warning".into(),
                format!(
                    "`gap_warning` = {} must be a finite number >= 0 (a fraction; default 0.1)",
                    self.gap_warning
                ),
            );
        }
        if let Some(message) = self.faithfulness.problem() {
            bad("faithfulness.steps".into(), message);
        }
        if self.memory_budget_mb == 0 {
            bad(
                "memory_budget_mb".into(),
                "`memory_budget_mb` must be at least 1 (MiB; default 4096)".into(),
            );
        }
        if self.window.all().is_empty() {
            bad(
                "window".into(),
                "`[[window]]` needs at least one window".into(),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, w) in self.window.all().iter().enumerate() {
            let key = self.window.key(i);
            if w.size == 0 {
                bad(
                    format!("{key}.size"),
                    "`size` must be at least 1 (the paper uses 16)".into(),
                );
            }
            if let Some(label) = self.window.label(i) {
                if !usable_label(&label) {
                    bad(
                        format!("{key}.label"),
                        format!("window label `{label}` cannot be a folder name: use letters, digits, `-`, `_` or `.`"),
                    );
                } else if !seen.insert(label.clone()) {
                    bad(
                        format!("{key}.label"),
                        format!("two windows have the label `{label}`: give each `[[window]]` its own `label`"),
                    );
                }
            }
        }
        non_finite_options(&self.model.options, "model.options", &mut bad);
        for (i, m) in self.methods.iter().enumerate() {
            non_finite_options(&m.options, &format!("method.{i}"), &mut bad);
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.methods.iter().enumerate() {
            let label = m.label();
            let key = if m.label.is_some() {
                format!("method.{i}.label")
            } else {
                format!("method.{i}.name")
            };
            if !usable_label(label) {
                bad(
                    key,
                    format!("method label `{label}` cannot be a folder name: use letters, digits, `-`, `_` or `.`"),
                );
            } else if !seen.insert(label.to_string()) {
                bad(
                    key,
                    format!("two methods have the label `{label}`: give each `[[method]]` its own `label`"),
                );
            }
        }
        problems
    }
}
