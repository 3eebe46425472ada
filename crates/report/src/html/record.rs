//! The records behind the report: one [`MethodEntry`] per map, the run's [`ReportSummary`]
//! (what `summary.json` holds), their [`Pictures`] and the warnings a card shows.

use super::format::pct;
use crate::figures::{MapFigures, Window};
use crate::pictures::PICTURE_FILES;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Default threshold on the relative completeness gap above which the report warns.
pub const DEFAULT_GAP_WARNING: f64 = 0.1;

/// One run: what `summary.json` holds and what [`render_report`](crate::render_report) shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    /// Page title.
    pub title: String,
    /// Version of srlens that produced the run.
    #[serde(default)]
    pub srlens_version: String,
    /// When the run finished (free text, e.g. RFC 3339).
    #[serde(default)]
    pub created: String,
    /// The config file of the run, if any.
    #[serde(default)]
    pub config: String,
    /// Relative completeness gap above which a card shows "use more steps" (0.1 = 10%).
    #[serde(default = "default_gap_warning")]
    pub gap_warning: f64,
    /// One entry per attribution map (method x model x backend x image x window).
    pub entries: Vec<MethodEntry>,
}

fn default_gap_warning() -> f64 {
    DEFAULT_GAP_WARNING
}

impl Default for ReportSummary {
    fn default() -> Self {
        Self {
            title: "srlens report".into(),
            srlens_version: String::new(),
            created: String::new(),
            config: String::new(),
            gap_warning: DEFAULT_GAP_WARNING,
            entries: Vec::new(),
        }
    }
}

/// The pictures of one map: file paths relative to the report's directory.
///
/// A picture that cannot be read is shown as a visible "missing" box; an empty zoom path
/// (a `summary.json` from before the zooms) shows no zoom at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pictures {
    /// SR output with the window drawn.
    pub sr_window: String,
    /// Saliency (view through seismic, nearest-upscaled).
    pub saliency: String,
    /// KDE of the view, bicubically upscaled.
    pub kde: String,
    /// Saliency blended over the upscaled LR input.
    pub blend: String,
    /// Zoomed crop of the SR output around the window ([`crate::zoom::zoom`]).
    #[serde(default)]
    pub sr_zoom: String,
    /// Zoomed crop of the blend around the window ([`crate::zoom::zoom`]).
    #[serde(default)]
    pub blend_zoom: String,
}

impl Pictures {
    /// The files [`crate::MapPictures::write_all`] writes into `dir` (a folder relative to
    /// the report's directory; empty for the report's directory itself).
    pub fn in_dir(dir: &str) -> Self {
        let [saliency, kde, blend, sr_window, sr_zoom, blend_zoom] = PICTURE_FILES.map(|f| {
            if dir.is_empty() {
                f.to_string()
            } else {
                format!("{dir}/{f}")
            }
        });
        Self {
            sr_window,
            saliency,
            kde,
            blend,
            sr_zoom,
            blend_zoom,
        }
    }
}

/// One attribution map with everything reported about it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MethodEntry {
    /// The user's label for this entry (unique within the run).
    pub label: String,
    /// Method name (`lam`, `ig`, `smoothgrad`, ...).
    pub method: String,
    /// Model name or file.
    pub model: String,
    /// Backend name.
    pub backend: String,
    /// Input image (file name).
    pub image: String,
    /// SR scale factor.
    pub scale: usize,
    /// LR input width.
    #[serde(default)]
    pub lr_width: usize,
    /// LR input height.
    #[serde(default)]
    pub lr_height: usize,
    /// The window, in SR pixels.
    pub window: Window,
    /// Objective name (`gradient_energy` or `intensity`).
    pub objective: String,
    /// DI, Gini and mass figures of the map.
    pub figures: MapFigures,
    /// Objective `D(F(x))` at the input.
    #[serde(default)]
    pub objective_input: Option<f64>,
    /// Objective at the path's baseline (path methods).
    #[serde(default)]
    pub objective_baseline: Option<f64>,
    /// `sum(A)`, the sum of the signed map.
    #[serde(default)]
    pub attribution_sum: Option<f64>,
    /// `sum(A) - (D(input) - D(baseline))`, see [`completeness_gap`].
    #[serde(default)]
    pub completeness_gap: Option<f64>,
    /// `|gap| / |D(input) - D(baseline)|`, see [`completeness_gap`].
    #[serde(default)]
    pub completeness_gap_rel: Option<f64>,
    /// Wall-clock seconds for the attribution.
    pub seconds: f64,
    /// The method's parameters as used (defaults filled in).
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Plugin name -> version, for provenance.
    #[serde(default)]
    pub plugins: BTreeMap<String, String>,
    /// The pictures.
    pub pictures: Pictures,
    /// The raw map (`attribution.npy`), relative to the report's directory.
    #[serde(default)]
    pub map_file: Option<String>,
    /// The map in float64 (`attribution64.npy`, a run with `precision = "f64"`), relative to
    /// the report's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map64_file: Option<String>,
    /// Other warnings to show on the card (e.g. "the input was resized").
    ///
    /// The completeness-gap and degenerate-map warnings do not belong here: the renderer
    /// alone decides them, from `completeness_gap_rel`, the summary's `gap_warning` and
    /// `figures.degenerate` (see [`MethodEntry::card_warnings`], which also gives the list
    /// for a per-map `report.json`). A warning here that mentions the completeness gap (as
    /// srlens 0.1 wrote) is not shown, and a repeated warning is shown once.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// How well the gradient-energy objective is conditioned on the window (none for other
    /// objectives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditioning: Option<crate::Conditioning>,
    /// The map's deletion and insertion curves (none when the run had them off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faithfulness: Option<crate::Faithfulness>,
    /// Everything else that determines the map: where the model and image came from.
    #[serde(default)]
    pub provenance: Provenance,
}

/// Where a map's inputs came from, so that any output can be traced to them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The model file (none for a backend's built-in model).
    #[serde(default)]
    pub model_path: Option<String>,
    /// The sha256 of the model file's bytes (none for a built-in model).
    #[serde(default)]
    pub model_sha256: Option<String>,
    /// The backend's options as the config gave them (`model.options`).
    #[serde(default)]
    pub model_options: serde_json::Value,
    /// The device the model ran on (`model.device`).
    #[serde(default)]
    pub device: String,
    /// The backend's threads (`model.threads`; 0: its default).
    #[serde(default)]
    pub threads: u32,
    /// The numbers the map was computed in: `float32`, or `float64` (a backend with
    /// `precision = "f64"`).
    #[serde(default)]
    pub precision: String,
    /// The sha256 of the image file's bytes.
    #[serde(default)]
    pub image_sha256: String,
    /// The process's peak resident memory while the methods ran, in MiB (Linux).
    #[serde(default)]
    pub peak_rss_mib: Option<f64>,
    /// Images per model call (the config's `batch_size`, lowered to fit the memory budget).
    #[serde(default)]
    pub batch_size: u32,
    /// Why the model ran one image per call whatever the config's `batch_size` (it mixes or
    /// refuses the images of a batch), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_note: Option<String>,
    /// How the batch size was chosen: timed in the run (`batch_size = "auto"`) or fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_tuning: Option<BatchTuning>,
    /// The model's architecture, where its file names it (`srlens import` writes spandrel's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// The network's parameterised layers, where the backend counts them (what a sanity
    /// check can randomise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<u64>,
    /// How many of them had their weights re-drawn at random (a sanity check's map, not the
    /// trained network's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub randomized_layers: Option<u64>,
    /// How the image's size met the network's attention windows, where it has them: the
    /// network pads H and W to a multiple of its window itself and crops its output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_padding: Option<String>,
    /// Whether the model's gradients ran on a crop of the image (its receptive field).
    #[serde(default)]
    pub receptive_field: ReceptiveCrop,
    /// The model's channels.
    #[serde(default)]
    pub channels: u32,
    /// The model's own value range.
    #[serde(default)]
    pub input_range: [f32; 2],
    /// The model's parameter count.
    #[serde(default)]
    pub parameters: u64,
    /// How the image was used: `hr` (downscaled by the scale) or `lr`.
    #[serde(default)]
    pub image_mode: String,
    /// The crop of the image file, `[x, y, width, height]`, if any.
    #[serde(default)]
    pub crop: Option<[u32; 4]>,
    /// The window's label (`None` for a single unlabelled window).
    #[serde(default)]
    pub window_label: Option<String>,
    /// srlens's version.
    #[serde(default)]
    pub srlens_version: String,
    /// The ABI version (srlens-core).
    #[serde(default)]
    pub srlens_core_version: String,
}

/// How a run chose its batch size (`provenance.batch_tuning`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchTuning {
    /// `time` (`batch_size = "auto"`: the run timed its own calls at each size) or `fixed`
    /// (the config's number, lowered to fit the memory budget).
    pub mode: String,
    /// The size the path's model calls settled on.
    pub chosen: u32,
    /// Seconds per image (path point) at each size timed: the fastest of its calls, each
    /// from its start to the next call's, so with the method's own work per point.
    #[serde(default)]
    pub seconds_per_image: std::collections::BTreeMap<u32, f64>,
    /// The size and timings came from the user cache (an earlier run of the same model calls
    /// on this machine timed them): this run timed nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

/// Receptive-field cropping: the gradients of a network whose output pixels see a bounded
/// neighbourhood run on the LR box that reaches the windows, with the same numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReceptiveCrop {
    /// The receptive-field radius the backend reported (LR pixels), if any.
    #[serde(default)]
    pub radius: Option<u32>,
    /// The LR box `[x, y, width, height]` the gradients ran on (none: the whole image).
    #[serde(default)]
    pub crop: Option<[usize; 4]>,
    /// With windows far apart, the groups of windows that ran on their own boxes (empty: one
    /// group, described by `crop`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<CropGroupRecord>,
    /// How the box was chosen, or why there is none.
    #[serde(default)]
    pub note: String,
    /// The LR region `[x, y, width, height]` the method itself ran on (its path points,
    /// baselines and blurs): the boxes widened by the method's reach; none: the whole image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_region: Option<[usize; 4]>,
}

/// Windows whose gradients ran together on one LR box.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CropGroupRecord {
    /// The windows' indices, in the run's order.
    pub windows: Vec<usize>,
    /// The box `[x, y, width, height]` (none: the whole image).
    pub crop: Option<[usize; 4]>,
}

/// The card's warning for a [`degenerate`](MapFigures::degenerate) map.
pub const DEGENERATE_WARNING: &str = "The map is zero or near zero (degenerate): DI undefined, \
     and the Gini and mass figures describe nothing. Check the window and the objective.";

impl MethodEntry {
    /// Whether the relative completeness gap exceeds `threshold` (false when unknown).
    pub fn gap_is_large(&self, threshold: f64) -> bool {
        self.completeness_gap_rel
            .is_some_and(|r| r.is_nan() || r > threshold)
    }

    /// The completeness-gap warning, when [`gap_is_large`](Self::gap_is_large).
    pub fn gap_warning(&self, threshold: f64) -> Option<String> {
        self.gap_is_large(threshold).then(|| {
            format!(
                "Completeness gap {} exceeds {}%: use more steps.",
                self.completeness_gap_rel.map(pct).unwrap_or_default(),
                threshold * 100.0
            )
        })
    }

    /// The record as a per-map `report.json` holds it: this entry with
    /// [`warnings`](Self::warnings) replaced by every warning the card shows.
    pub fn report_json(&self, gap_threshold: f64) -> String {
        let mut record = self.clone();
        record.warnings = self.card_warnings(gap_threshold);
        serde_json::to_string_pretty(&record).expect("a record serialises")
    }

    /// Every warning the card shows, each once, in order: [`DEGENERATE_WARNING`] for a
    /// degenerate map, the [`gap_warning`](Self::gap_warning), then [`warnings`](Self::warnings)
    /// without those about the completeness gap.
    pub fn card_warnings(&self, threshold: f64) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if self.figures.degenerate {
            out.push(DEGENERATE_WARNING.to_string());
        }
        out.extend(self.gap_warning(threshold));
        for w in &self.warnings {
            let about_gap = w.to_lowercase().contains("completeness gap");
            if !about_gap && !out.contains(w) {
                out.push(w.clone());
            }
        }
        out
    }
}

/// Completeness of a path method: `(gap, rel)` with `gap = sum(A) - (D(input) - D(baseline))`
/// and `rel = |gap| / |D(input) - D(baseline)|` (0 if both are 0, infinite if only the
/// difference is).
pub fn completeness_gap(
    attribution_sum: f64,
    objective_input: f64,
    objective_baseline: f64,
) -> (f64, f64) {
    let diff = objective_input - objective_baseline;
    let gap = attribution_sum - diff;
    let rel = if diff != 0.0 {
        gap.abs() / diff.abs()
    } else if gap == 0.0 {
        0.0
    } else {
        f64::INFINITY
    };
    (gap, rel)
}
