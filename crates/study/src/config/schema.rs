//! The study config's tables, their defaults and the checks serde cannot make.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use srlens_host::config::{BatchSize, ImageMode, MethodConfig, ObjectiveKind};

/// A whole study: every model x method x image x window.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// The output folder (relative to the config file); `--out` overrides it.
    #[serde(default = "default_out")]
    pub out: PathBuf,
    /// The scale every model must have (checked against each model; default 4). Windows are
    /// chosen on the HR image cropped to a multiple of it.
    #[serde(default = "default_scale")]
    pub scale: u32,
    /// Each run's `batch_size` (default `"auto"`: timed in each run).
    #[serde(default)]
    pub batch_size: BatchSize,
    /// Each run's `memory_budget_mb` (default 4096).
    #[serde(default = "default_memory_budget")]
    pub memory_budget_mb: u64,
    /// Each run's `gap_warning` (default 0.1).
    #[serde(default = "default_gap_warning")]
    pub gap_warning: f64,
    /// Each run's `crop_to_receptive_field` (default true).
    #[serde(default = "default_true")]
    pub crop_to_receptive_field: bool,
    /// The deletion and insertion curves of every map (`[faithfulness]`, as in `srlens run`).
    #[serde(default)]
    pub faithfulness: srlens_host::config::FaithfulnessConfig,
    /// What is explained inside each window (default LAM's gradient energy).
    #[serde(default)]
    pub objective: ObjectiveKind,
    /// The images: a list of files (or folders), one folder, or `"zoo"` for the photos
    /// `cargo xtask setup` puts in `data/images`.
    pub images: Images,
    /// `hr` (default): each image is HR, bicubically downscaled by the scale to the LR input
    /// (the paper's protocol, and PSNR/SSIM against it); `lr`: used as the LR input.
    #[serde(default)]
    pub image_mode: ImageMode,
    /// An optional crop `[x, y, width, height]` of every image, in its own pixels.
    pub crop: Option<[u32; 4]>,
    /// The windows explained on every image.
    pub windows: WindowsConfig,
    /// The networks.
    #[serde(rename = "model", default)]
    pub models: Vec<StudyModel>,
    /// The methods, as a run config's `[[method]]` tables.
    #[serde(rename = "method", default)]
    pub methods: Vec<MethodConfig>,
    /// The sanity check of every map (`[sanity]`, as `srlens sanity`): none without the table.
    #[serde(default)]
    pub sanity: Option<SanitySettings>,
}

/// `[sanity]`: after each run, the same run with the network's last k parameterised layers
/// randomised (cascading from the output end), each map against the trained one.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SanitySettings {
    /// The numbers of layers to randomise (default 1, 2, 4, ... and all of them).
    pub layers: Option<Vec<usize>>,
    /// The seed of the random weights (default 0).
    #[serde(default)]
    pub seed: u64,
}

fn default_out() -> PathBuf {
    PathBuf::from("out/study")
}
fn default_scale() -> u32 {
    4
}
fn default_memory_budget() -> u64 {
    4096
}
fn default_gap_warning() -> f64 {
    0.1
}
fn default_true() -> bool {
    true
}
fn default_backend() -> String {
    "candle".into()
}
fn default_device() -> String {
    "cpu".into()
}
fn default_window() -> u32 {
    16
}

/// One `[[model]]`: as a run config's `[model]`, with a label for the tables.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StudyModel {
    /// The model's name in tables, plots and folders (default: the file's stem or zoo name).
    pub label: Option<String>,
    /// The backend, e.g. `candle` (default).
    #[serde(default = "default_backend")]
    pub backend: String,
    /// The plugin that provides the backend, when several do.
    pub plugin: Option<String>,
    /// The model file (relative to the study config) or a zoo name such as `esrgan-slim-x4`.
    pub path: Option<PathBuf>,
    /// `cpu` (default), `cuda`, `cuda:N`.
    #[serde(default = "default_device")]
    pub device: String,
    /// Threads for the backend (0: its default).
    #[serde(default)]
    pub threads: u32,
    /// The backend's own options.
    #[serde(default)]
    pub options: toml::Table,
}

impl StudyModel {
    /// The label: the given one, else the file stem of `path`, else the backend's name.
    pub fn label(&self) -> String {
        if let Some(l) = &self.label {
            return l.clone();
        }
        self.path.as_ref().and_then(|p| p.file_stem()).map_or_else(
            || self.backend.clone(),
            |s| s.to_string_lossy().into_owned(),
        )
    }
}

/// `images`: a list of files and folders, or one folder, or `"zoo"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Images {
    /// `images = "zoo"`: the photos of `data/images` beside the zoo's `zoo.toml`.
    Zoo,
    /// `images = "folder"` or `images = ["a.png", "folder"]`: files, and the PNG/JPEG files
    /// of folders (sorted by name).
    Paths(Vec<PathBuf>),
}

impl<'de> Deserialize<'de> for Images {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Images;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "\"zoo\" (the photos), a folder (\"photos/\") or a list of files and folders \
                     ([\"a.png\", \"b.png\"])",
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<Images, E> {
                Ok(if s == "zoo" {
                    Images::Zoo
                } else {
                    Images::Paths(vec![PathBuf::from(s)])
                })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                a: A,
            ) -> std::result::Result<Images, A::Error> {
                Vec::<PathBuf>::deserialize(serde::de::value::SeqAccessDeserializer::new(a))
                    .map(Images::Paths)
            }
        }
        d.deserialize_any(V)
    }
}

/// `[windows]`: `size` and exactly one of `auto`, `grid`, `list`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WindowsConfig {
    /// The side of every window, in SR pixels (default 16, the paper's).
    #[serde(default = "default_window")]
    pub size: u32,
    /// The K hardest windows of each image: the highest gradient energy of the HR image
    /// (LAM's objective on the HR image, so every model is explained on the same windows),
    /// without overlaps.
    pub auto: Option<u32>,
    /// `[columns, rows]`: a window centred in each cell of a regular grid over the SR output.
    pub grid: Option<[u32; 2]>,
    /// Windows given by hand: `[{ x = 110, y = 150 }, ...]` (SR pixels; `size` and `label`
    /// optional).
    pub list: Option<Vec<ListedWindow>>,
}

/// One window of `windows.list`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListedWindow {
    /// Left column, SR pixels.
    pub x: u32,
    /// Top row, SR pixels.
    pub y: u32,
    /// Side (default: `windows.size`).
    pub size: Option<u32>,
    /// The window's name (default `w0`, `w1`, ...).
    pub label: Option<String>,
}

/// What the windows of an image are chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowRule {
    /// `auto = K`.
    Auto(u32),
    /// `grid = [columns, rows]`.
    Grid(u32, u32),
    /// `list = [...]`.
    List,
}

impl WindowsConfig {
    /// The rule (after [`StudyConfig::check`], exactly one is set).
    pub fn rule(&self) -> WindowRule {
        match (self.auto, self.grid, &self.list) {
            (Some(k), _, _) => WindowRule::Auto(k),
            (_, Some([c, r]), _) => WindowRule::Grid(c, r),
            _ => WindowRule::List,
        }
    }
}

/// A value serde accepted but the study cannot use: the dotted key and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `windows.auto`, `model.1.label`, ...
    pub key: String,
    /// What is wrong and what would be accepted.
    pub message: String,
}

/// Whether `label` can be a folder name (letters, digits, `-`, `_`, `.`).
pub fn usable_label(label: &str) -> bool {
    !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && label != "."
        && label != ".."
}

impl StudyConfig {
    /// Every problem serde cannot see, each with its key.
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| {
            problems.push(Problem {
                key: key.to_string(),
                message,
            })
        };
        if self.models.is_empty() {
            bad(
                "model",
                "no `[[model]]` table: add one per network, e.g. `[[model]]\\npath = \"esrgan-slim-x4\"`"
                    .into(),
            );
        }
        if self.methods.is_empty() {
            bad(
                "method",
                "no `[[method]]` table: add at least one, e.g. `[[method]]\\nname = \"lam\"`"
                    .into(),
            );
        }
        if self.scale == 0 {
            bad("scale", "`scale` must be at least 1 (default 4)".into());
        }
        if self.batch_size == BatchSize::Fixed(0) {
            bad(
                "batch_size",
                "`batch_size` must be at least 1, or \"auto\" (the default: timed in each run)"
                    .into(),
            );
        }
        if self.memory_budget_mb == 0 {
            bad(
                "memory_budget_mb",
                "`memory_budget_mb` must be at least 1 (MiB; default 4096)".into(),
            );
        }
        if !(self.gap_warning.is_finite() && self.gap_warning >= 0.0) {
            bad(
                "gap_warning",
                format!(
                    "`gap_warning` = {} must be a finite number >= 0 (default 0.1)",
                    self.gap_warning
                ),
            );
        }
        if let Some(message) = self.faithfulness.problem() {
            bad("faithfulness.steps", message);
        }
        if let Some(layers) = self.sanity.as_ref().and_then(|s| s.layers.as_ref()) {
            if layers.is_empty() || layers.contains(&0) {
                bad(
                    "sanity.layers",
                    "`layers` lists how many layers to randomise, each at least 1 (e.g. \
                     `[1, 2, 4]`); leave it out for 1, 2, 4, ... and all of them"
                        .into(),
                );
            }
        }
        if let Images::Paths(p) = &self.images {
            if p.is_empty() {
                bad(
                    "images",
                    "`images` is an empty list: give files, a folder, or \"zoo\"".into(),
                );
            }
        }
        if let Some([_, _, w, h]) = self.crop {
            if w == 0 || h == 0 {
                bad(
                    "crop",
                    "`crop = [x, y, width, height]` needs a width and height of at least 1".into(),
                );
            }
        }
        let w = &self.windows;
        let set = [w.auto.is_some(), w.grid.is_some(), w.list.is_some()]
            .iter()
            .filter(|s| **s)
            .count();
        if set != 1 {
            bad(
                "windows",
                format!(
                    "`[windows]` needs exactly one of `auto = K` (the K hardest windows), \
                     `grid = [columns, rows]` or `list = [{{ x = .., y = .. }}, ...]`; {set} given"
                ),
            );
        }
        if w.size == 0 {
            bad(
                "windows.size",
                "`size` must be at least 1 (default 16)".into(),
            );
        }
        if w.auto == Some(0) {
            bad(
                "windows.auto",
                "`auto` must be at least 1 (windows per image)".into(),
            );
        }
        if let Some([c, r]) = w.grid {
            if c == 0 || r == 0 {
                bad(
                    "windows.grid",
                    "`grid = [columns, rows]` needs at least 1 of each".into(),
                );
            }
        }
        if let Some(list) = &w.list {
            if list.is_empty() {
                bad("windows.list", "`list` needs at least one window".into());
            }
            let mut seen = std::collections::HashSet::new();
            for (i, l) in list.iter().enumerate() {
                if l.size == Some(0) {
                    bad(
                        &format!("windows.list.{i}.size"),
                        "`size` must be at least 1".into(),
                    );
                }
                let label = l.label.clone().unwrap_or_else(|| format!("w{i}"));
                if !usable_label(&label) {
                    bad(
                        &format!("windows.list.{i}.label"),
                        format!("window label `{label}` cannot be a folder name: use letters, digits, `-`, `_` or `.`"),
                    );
                } else if !seen.insert(label.clone()) {
                    bad(
                        &format!("windows.list.{i}.label"),
                        format!("two windows have the label `{label}`: give each its own"),
                    );
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.models.iter().enumerate() {
            let label = m.label();
            let key = format!("model.{i}.label");
            if !usable_label(&label) {
                bad(
                    &key,
                    format!("model label `{label}` cannot be a folder name: set `label` to letters, digits, `-`, `_` or `.`"),
                );
            } else if !seen.insert(label.clone()) {
                bad(
                    &key,
                    format!("two models have the label `{label}`: give each `[[model]]` its own `label`"),
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.methods.iter().enumerate() {
            let label = m.label();
            let key = format!("method.{i}.label");
            if !usable_label(label) {
                bad(
                    &key,
                    format!("method label `{label}` cannot be a folder name: use letters, digits, `-`, `_` or `.`"),
                );
            } else if !seen.insert(label.to_string()) {
                bad(
                    &key,
                    format!("two methods have the label `{label}`: give each `[[method]]` its own `label`"),
                );
            }
        }
        problems
    }
}
