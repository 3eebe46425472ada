//! Writing a run's results: per method `attribution.npy`, pictures, `faithfulness.svg` and
//! `report.json`; per run
//! `sr.png` (the model's whole SR output, for PSNR/SSIM), `summary.json`, `summary.csv` and
//! `report.html`. Every file is written atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::RgbImage;
use srlens_core::{Attribution, ModelInfo, Tensor, Tensor64};
use srlens_report::{
    completeness_gap, map_figures, pictures::tensor_to_rgb, render_report, summary_csv,
    write_atomic, write_npy_atomic, write_png_atomic, Conditioning, Faithfulness, MapPictures,
    MethodEntry, Pictures, Provenance, ReceptiveCrop, ReportSummary, Window,
};

use super::image_input::InputImage;
use crate::config::{ImageMode, LoadedConfig, ObjectiveKind, WindowConfig, Windows};
use crate::error::{Error, Result};
use crate::plugins::LoadedPlugin;

/// What one method produced for one window.
pub struct MethodOutput<'a> {
    /// The method's label (its output folder's name).
    pub label: &'a str,
    /// The window's index in the config.
    pub window: usize,
    /// The method's name.
    pub method: &'a str,
    /// The plugin that ran it, and its version.
    pub plugin: Option<(&'a str, &'a str)>,
    /// The map and figures.
    pub attribution: &'a Attribution,
    /// The map in float64, from a model loaded with `precision = "f64"`.
    pub map64: Option<&'a Tensor64>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Images per model call: the size chosen, and how.
    pub batch: srlens_report::BatchTuning,
    /// Why the batch is 1 whatever the config says, if it is.
    pub batch_note: Option<&'a str>,
    /// The map's deletion and insertion curves, when the run records them.
    pub faithfulness: Option<&'a Faithfulness>,
    /// The LR region the method ran on, when not the whole image.
    pub region: Option<crate::crop::CropBox>,
}

/// What every method of a run shares.
pub struct RunContext<'a> {
    cfg: &'a LoadedConfig,
    out: PathBuf,
    info: &'a ModelInfo,
    model_path: Option<PathBuf>,
    backend: String,
    backend_plugin: (String, String),
    image: PathBuf,
    image_sha256: String,
    model_sha256: Option<String>,
    receptive: ReceptiveCrop,
    lr: RgbImage,
    sr: RgbImage,
    windows: Vec<Window>,
    /// Per window, how well the gradient-energy objective is conditioned on it.
    conditioning: Vec<Option<Conditioning>>,
    /// The precision the maps were computed in (`float32`, `float64`), from the model's
    /// metadata.
    precision: String,
}

fn out_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl<'a> RunContext<'a> {
    /// The sha256 of the model file (none for a backend's built-in model).
    pub fn model_sha256(&self) -> Option<&str> {
        self.model_sha256.as_deref()
    }

    /// A fact of the backend's model metadata (JSON; see [`ModelInfo::metadata`]).
    fn model_fact(&self, key: &str) -> Option<serde_json::Value> {
        serde_json::from_str::<serde_json::Value>(&self.info.metadata)
            .ok()?
            .get(key)
            .cloned()
    }

    /// The warning of a map of a network with re-drawn weights (a sanity check's).
    fn randomized_warning(&self) -> Option<String> {
        let k = self.model_fact("randomized_layers")?.as_u64()?;
        let of = self
            .model_fact("layers")
            .and_then(|v| v.as_u64())
            .map_or_else(String::new, |l| format!(" of {l}"));
        Some(format!(
            "the weights of the last {k}{of} parameterised layers were re-drawn at random \
             (randomize_layers): this map explains a randomised network, not the trained one"
        ))
    }

    /// Prepares the output folder and the pictures every method shares.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: &'a LoadedConfig,
        out: &Path,
        info: &'a ModelInfo,
        model_path: Option<&Path>,
        backend_plugin: &LoadedPlugin,
        image: &Path,
        input: &InputImage,
        sr: &Tensor,
        receptive: ReceptiveCrop,
    ) -> Result<Self> {
        std::fs::create_dir_all(out).map_err(|e| out_err(out, e))?;
        let hash = |p: &Path| {
            srlens_zoo::hash::sha256_file(p)
                .map_err(|e| Error::Input(format!("cannot hash {}: {e}", p.display())))
        };
        let image_sha256 = hash(image)?;
        let model_sha256 = match model_path {
            Some(p) if p.is_file() => Some(hash(p)?),
            _ => None,
        };
        let d = sr.dims();
        let sr_rgb = tensor_to_rgb(&sr.data, d[1], d[2], d[3]).map_err(|e| out_err(out, e))?;
        let windows: Vec<Window> = cfg
            .config
            .window
            .all()
            .iter()
            .map(WindowConfig::window)
            .collect();
        let conditioning = windows
            .iter()
            .map(|&w| {
                (cfg.config.objective == ObjectiveKind::GradientEnergy)
                    .then(|| Conditioning::of_window(&sr.data, d[1], d[2], d[3], w))
            })
            .collect();
        Ok(RunContext {
            cfg,
            out: out.to_path_buf(),
            info,
            model_path: model_path.map(Path::to_path_buf),
            backend: cfg.config.model.backend.clone(),
            backend_plugin: (backend_plugin.name.clone(), backend_plugin.version.clone()),
            image: image.to_path_buf(),
            image_sha256,
            model_sha256,
            receptive,
            lr: input.lr.clone(),
            sr: sr_rgb,
            windows,
            conditioning,
            precision: super::model_precision(info),
        })
    }

    /// Writes one method's files for one window into `<out>/<label>/` (one window) or
    /// `<out>/<label>/<window label>/` and returns its summary entry.
    pub fn write_method(&self, m: &MethodOutput<'_>) -> Result<MethodEntry> {
        let window = self.windows[m.window];
        let label = match self.cfg.config.window.label(m.window) {
            Some(w) if matches!(self.cfg.config.window, Windows::Many(_)) => {
                format!("{}/{w}", m.label)
            }
            _ => m.label.to_string(),
        };
        let dir = self.out.join(&label);
        std::fs::create_dir_all(&dir).map_err(|e| out_err(&dir, e))?;
        let a = m.attribution;
        let d = a.map.dims();
        let (c, h, w) = (d[0], d[1], d[2]);
        let scale = self.info.scale as usize;
        let mut figures =
            map_figures(&a.map.data, c, h, w, window.centre_lr(scale)).map_err(|e| {
                Error::PluginCall(format!(
                    "method `{}` returned a map that cannot be reported: {e}",
                    m.method
                ))
            })?;
        let view = srlens_report::view(&a.map.data, c, h, w).map_err(|e| out_err(&dir, e))?;
        let pictures = MapPictures::render(&view, h, w, &self.lr, &self.sr, window, 0.5)
            .map_err(|e| out_err(&dir, e))?;
        write_npy_atomic(&dir.join("attribution.npy"), &a.map.data, &d)
            .map_err(|e| out_err(&dir, e))?;
        if let Some(map64) = m.map64 {
            write_npy_atomic(&dir.join("attribution64.npy"), &map64.data, &d)
                .map_err(|e| out_err(&dir, e))?;
        }
        pictures.write_all(&dir).map_err(|e| out_err(&dir, e))?;
        if let Some(f) = m.faithfulness {
            let p = dir.join("faithfulness.svg");
            write_atomic(&p, f.plot().as_bytes()).map_err(|e| out_err(&p, e))?;
        }

        let findings = super::findings::inspect(a);
        figures.degenerate |= findings.degenerate;
        let sum: f64 = a.map.data.iter().map(|&v| v as f64).sum();
        let baseline: Option<f64> = a.objective_baseline.into_option();
        let (gap, rel) = match baseline {
            Some(b) => {
                let (g, r) = completeness_gap(sum, a.objective_input, b);
                (Some(g), Some(r))
            }
            None => (None, None),
        };
        let params: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&a.parameters).unwrap_or_default();
        let mut plugins = BTreeMap::new();
        plugins.insert(self.backend_plugin.0.clone(), self.backend_plugin.1.clone());
        if let Some((n, v)) = m.plugin {
            plugins.insert(n.to_string(), v.to_string());
        }
        let entry = MethodEntry {
            label: label.clone(),
            method: m.method.to_string(),
            model: self.info.name.to_string(),
            backend: self.backend.clone(),
            image: self.image.display().to_string(),
            scale,
            lr_width: w,
            lr_height: h,
            window,
            objective: self.cfg.config.objective.as_str().to_string(),
            figures,
            objective_input: Some(a.objective_input),
            objective_baseline: baseline,
            attribution_sum: Some(sum),
            completeness_gap: gap,
            completeness_gap_rel: rel,
            seconds: m.seconds,
            params,
            plugins,
            pictures: Pictures::in_dir(&label),
            map_file: Some(format!("{label}/attribution.npy")),
            map64_file: m.map64.map(|_| format!("{label}/attribution64.npy")),
            warnings: findings
                .warnings
                .into_iter()
                .chain(a.warnings.iter().map(|w| w.to_string()))
                .chain(self.conditioning[m.window].and_then(|c| c.warning(&self.precision)))
                .chain(self.randomized_warning())
                .collect(),
            conditioning: self.conditioning[m.window],
            faithfulness: m.faithfulness.cloned(),
            provenance: Provenance {
                model_path: self.model_path.as_ref().map(|p| p.display().to_string()),
                model_sha256: self.model_sha256.clone(),
                model_options: super::toml_to_json(&self.cfg.config.model.options),
                device: self.cfg.config.model.device.clone(),
                threads: self.cfg.config.model.threads,
                precision: self.precision.clone(),
                image_sha256: self.image_sha256.clone(),
                receptive_field: ReceptiveCrop {
                    method_region: m.region.map(|b| b.as_array()),
                    ..self.receptive.clone()
                },
                batch_size: m.batch.chosen,
                batch_note: m.batch_note.map(String::from),
                batch_tuning: Some(m.batch.clone()),
                architecture: self
                    .model_fact("architecture")
                    .and_then(|a| a.as_str().map(String::from)),
                layers: self.model_fact("layers").and_then(|v| v.as_u64()),
                randomized_layers: self
                    .model_fact("randomized_layers")
                    .and_then(|v| v.as_u64()),
                window_padding: self
                    .model_fact("window_multiple")
                    .and_then(|m| m.as_u64())
                    .map(|m| {
                        format!(
                            "the network pads H and W to a multiple of {m} (its attention window) \
                         itself, in its graph, and crops its output to {s} x the input; srlens \
                         gives it the image as it is",
                            s = self.info.scale
                        )
                    }),
                peak_rss_mib: super::memory::peak_bytes().map(|b| b as f64 / (1 << 20) as f64),
                channels: self.info.channels,
                input_range: self.info.input_range,
                parameters: self.info.parameters,
                image_mode: match self.cfg.config.image.mode {
                    ImageMode::Hr => "hr".into(),
                    ImageMode::Lr => "lr".into(),
                },
                crop: self.cfg.config.image.crop,
                window_label: self.cfg.config.window.label(m.window),
                srlens_version: env!("CARGO_PKG_VERSION").to_string(),
                srlens_core_version: srlens_core::VERSION.to_string(),
            },
        };
        let report_path = dir.join("report.json");
        let text = entry.report_json(self.cfg.config.gap_warning);
        write_atomic(&report_path, text.as_bytes()).map_err(|e| out_err(&report_path, e))?;
        Ok(entry)
    }

    /// Writes `sr.png` (the SR output, 8-bit), `summary.json`, `summary.csv` and
    /// `report.html` for `entries`.
    pub fn write_summary(&self, entries: Vec<MethodEntry>) -> Result<()> {
        let sr_path = self.out.join("sr.png");
        write_png_atomic(&sr_path, &self.sr).map_err(|e| out_err(&sr_path, e))?;
        let summary = ReportSummary {
            title: format!("srlens: {} on {}", self.info.name, file_name(&self.image)),
            srlens_version: env!("CARGO_PKG_VERSION").to_string(),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            config: self.cfg.path.display().to_string(),
            gap_warning: self.cfg.config.gap_warning,
            entries,
        };
        let write = |name: &str, bytes: &[u8]| {
            let p = self.out.join(name);
            write_atomic(&p, bytes).map_err(|e| out_err(&p, e))
        };
        write(
            "summary.json",
            serde_json::to_string_pretty(&summary)
                .expect("serialisable")
                .as_bytes(),
        )?;
        write("summary.csv", summary_csv(&summary).as_bytes())?;
        write("report.html", render_report(&summary, &self.out).as_bytes())
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
