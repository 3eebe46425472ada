//! `srlens run` as a library: load the plugins, the model and the image, check every method
//! before any model call, run each method once for all windows, write the outputs.

mod attribute;
mod batch_cache;
mod batch_probe;
mod curves;
mod findings;
mod image_input;
mod memory;
mod outputs;
mod publish;
mod zoo_name;

pub use image_input::InputImage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use abi_stable::std_types::{RSlice, RString};
use srlens_core::{
    ComponentKind, LoadRequest, ModelBox, ModelInfo, ObjectiveBox, Progress, Tensor,
};
use srlens_report::{CropGroupRecord, ReceptiveCrop};

use crate::config::{self, LoadedConfig, WindowConfig};
use crate::crop::{CropGroup, CropState, CroppedModel};
use crate::error::{Error, Result};
use crate::objective::Window;
use crate::plugins::{call_error, LoadedPlugin, PluginDirs, PluginHost};
use crate::session::{BatchTuner, Session};
use outputs::{MethodOutput, RunContext};
use publish::Staging;

/// The options of a run that are not in the config.
#[derive(Debug, Clone, Default)]
pub struct RunArgs {
    /// The config file.
    pub config: PathBuf,
    /// `--set key=value` overrides.
    pub overrides: Vec<String>,
    /// `--out DIR`, overriding the config's `out`.
    pub out: Option<PathBuf>,
    /// Where plugins are.
    pub plugin_dirs: PluginDirs,
}

/// A progress sink for one method, which the run finishes when the method ends.
pub trait ProgressSink: Progress {
    /// The method ended (successfully or not).
    fn finish(&self);
}

/// What a caller sees of a run while it goes: progress and notes for the user.
pub trait Observer {
    /// A progress sink for the method labelled `label`.
    fn progress(&self, label: &str) -> Arc<dyn ProgressSink>;
    /// A line for the user, e.g. `("batch size", "4 (...)")` or `("wrote", "lam: 3.1 s")`.
    fn note(&self, what: &str, text: &str);
    /// Something the user must not miss about a result (a degenerate map, a large
    /// completeness gap), shown even where notes are not.
    fn warning(&self, text: &str);
}

/// An [`Observer`] that shows nothing.
pub struct Silent;

struct NoProgress;

impl Progress for NoProgress {
    fn add_total(&self, _: u64) {}
    fn advance(&self, _: u64) {}
}

impl ProgressSink for NoProgress {
    fn finish(&self) {}
}

impl Observer for Silent {
    fn progress(&self, _: &str) -> Arc<dyn ProgressSink> {
        Arc::new(NoProgress)
    }
    fn note(&self, _: &str, _: &str) {}
    fn warning(&self, _: &str) {}
}

/// Runs the config; returns the folder the report was written to.
pub fn run(args: &RunArgs, observer: &dyn Observer) -> Result<PathBuf> {
    let cfg = config::load(&args.config, &args.overrides)?;
    let out = match &args.out {
        Some(o) => o.clone(),
        None => cfg.resolve(&cfg.config.out),
    };
    let host = PluginHost::load(&args.plugin_dirs);
    for d in &host.missing_dirs {
        observer.warning(&format!(
            "the plugin folder {} does not exist (--plugin-dir or SRLENS_PLUGIN_PATH)",
            d.display()
        ));
    }

    // Everything that can be checked is checked before anything is computed or written.
    let c = &cfg.config;
    let (backend, backend_plugin) = host.backend(&c.model.backend, c.model.plugin.as_deref())?;
    for m in &c.methods {
        host.resolve(ComponentKind::Method, &m.name, m.plugin.as_deref())?;
    }
    check_threads(&cfg)?;
    let model_path = model_file(&cfg, &host, backend_plugin)?;
    let image_path = cfg.resolve(&c.image.path);
    if !image_path.is_file() {
        return Err(Error::Input(format!(
            "the image file {} does not exist or is not a file (image.path in {})",
            image_path.display(),
            cfg.path.display()
        )));
    }
    let config_dir = cfg.absolute_dir();
    let request = LoadRequest {
        path: model_path
            .as_ref()
            .map(|p| RString::from(p.to_string_lossy().as_ref()))
            .into(),
        options: RString::from(toml_to_json(&c.model.options).to_string()),
        threads: c.model.threads,
        device: RString::from(c.model.device.as_str()),
        config_dir: RString::from(config_dir.as_str()),
    };
    let model_name = model_path
        .as_ref()
        .map_or_else(|| c.model.backend.clone(), |p| p.display().to_string());
    // From here on the run writes only into its staging folder, published whole at the end.
    let staging = Staging::begin(&out)?;
    let model = backend
        .load(&request)
        .into_result()
        .map_err(|e| call_error(backend_plugin, "loading model", &model_name, e))?;
    let info = model.info();
    check_info(&cfg, &info, backend_plugin)?;
    let input = image_input::load(&image_path, &c.image, info.scale)?;
    let x = input.tensor();
    // A model loaded with `precision = "f64"` gets every method's float64 calls, from the
    // image's own values.
    let precise = model_precision(&info) == "float64";
    let x64 = input.tensor64();
    let (lh, lw) = (x.shape[2] as u32, x.shape[3] as u32);
    let windows: Vec<Window> = c.window.all().iter().map(WindowConfig::window).collect();
    for (i, w) in windows.iter().enumerate() {
        check_window(&cfg, i, w, &info, lw, lh)?;
    }
    let (groups, receptive) = plan_crop(&cfg, &info, &windows, lw as usize, lh as usize);
    observer.note("crop", &receptive.note);
    let state = Arc::new(CropState::new(
        c.objective,
        &windows,
        info.scale as usize,
        groups,
        lw as usize,
        lh as usize,
    ));
    let model = Arc::new(model);
    let tuner = Arc::new(BatchTuner::fixed(1));
    let cropped_model = CroppedModel::boxed(model.clone(), state.clone(), tuner.clone());
    let session = Session::new(
        &host,
        &cropped_model,
        state.clone(),
        tuner.clone(),
        config_dir.clone(),
    );

    // Every method's options (and those of the methods and paths it calls) before any
    // model call: a bad option on the last method stops the run before the first one.
    for (index, m) in c.methods.iter().enumerate() {
        let options = toml_to_json(&m.options).to_string();
        session
            .check(&m.name, m.plugin.as_deref(), &options, &x)
            .map_err(|e| locate_option_error(&cfg, index, e))?;
    }

    let sr = model
        .forward(&x)
        .into_result()
        .map_err(|e| call_error(backend_plugin, "running model", &info.name, e))?;
    check_sr(&sr, &info, lw, lh, &model_name, backend_plugin)?;

    let (batch, batch_note) = choose_batch(
        &cfg,
        &cropped_model,
        session.objectives(),
        &x,
        &info,
        observer,
    )
    .map_err(|e| call_error(backend_plugin, "running model", &info.name, e))?;
    // `"auto"` times the path's own calls from `batch` down; a number stays at `batch`.
    let timed = c.batch_size.is_auto() && batch_note.is_none();
    tuner.restart(batch, timed);
    let ctx = RunContext::new(
        &cfg,
        staging.dir(),
        &info,
        model_path.as_deref(),
        backend_plugin,
        &image_path,
        &input,
        &sr,
        receptive,
    )?;
    // The calls' size chosen by time in an earlier run of the same calls, if any.
    let remembered = (timed && batch > 1)
        .then(|| {
            batch_cache::entry(&serde_json::json!({
                "model": ctx.model_sha256().unwrap_or(&info.name),
                "backend": [&c.model.backend, &backend_plugin.name, &backend_plugin.version],
                "options": toml_to_json(&c.model.options),
                "device": &c.model.device,
                "threads": c.model.threads,
                "cpu": crate::machine::cpu_model(),
                "cpus": std::thread::available_parallelism().map_or(1, |n| n.get()),
                "image": [lw, lh],
                "windows": format!("{windows:?}"),
                "crop": c.crop_to_receptive_field,
                "objective": c.objective.as_str(),
                "methods": serde_json::to_value(&c.methods).unwrap_or_default(),
                "largest": batch,
            }))
        })
        .flatten();
    if let Some(known) = remembered
        .as_ref()
        .and_then(|p| batch_cache::load(p, batch))
    {
        tuner.restart_at(&known);
    }
    let mut entries = Vec::new();
    for (index, m) in c.methods.iter().enumerate() {
        let label = m.label().to_string();
        let bar = observer.progress(&label);
        let sink: Arc<dyn Progress> = Arc::new(Forward(bar.clone()));
        let options = toml_to_json(&m.options).to_string();
        let started = Instant::now();
        let inputs = attribute::Inputs {
            host: &host,
            session: &session,
            model: &model,
            state: &state,
            x: &x,
            x64: precise.then_some(&x64),
            tuner: &tuner,
            config_dir: &config_dir,
        };
        let result = attribute::attribute(&inputs, &m.name, m.plugin.as_deref(), &options, sink);
        bar.finish();
        let maps = result.map_err(|e| locate_option_error(&cfg, index, e))?;
        let (attributions, maps64) = (&maps.attributions, &maps.maps64);
        let seconds = started.elapsed().as_secs_f64();
        let faithfulness = if c.faithfulness.steps > 0 {
            let bar = observer.progress(&format!("{label} deletion/insertion"));
            let curves = curves::measure(
                &session,
                &model,
                &state,
                &x,
                attributions,
                &c.faithfulness,
                batch,
                &Forward(bar.clone()),
                maps.baseline.clone(),
            );
            bar.finish();
            curves.map_err(|e| call_error(backend_plugin, "running model", &info.name, e))?
        } else {
            Vec::new()
        };
        let method = session.method(&m.name, m.plugin.as_deref())?;
        let plugin = session.plugin(&method.1);
        for (w, attribution) in attributions.iter().enumerate() {
            let entry = ctx.write_method(&MethodOutput {
                label: &label,
                window: w,
                method: &m.name,
                plugin: plugin.map(|p| (p.name.as_str(), p.version.as_str())),
                attribution,
                map64: maps64.get(w).and_then(Option::as_ref),
                seconds,
                batch: tuner.choice(batch),
                batch_note: batch_note.as_deref(),
                faithfulness: faithfulness.get(w),
                region: maps.region,
            })?;
            for warning in entry.card_warnings(c.gap_warning) {
                observer.warning(&format!("{}: {warning}", entry.label));
            }
            entries.push(entry);
        }
        observer.note(
            "wrote",
            &format!("{label}: {seconds:.1} s -> {}", out.join(&label).display()),
        );
    }
    note_batch_choice(&tuner.choice(batch), remembered.as_ref(), observer);
    if let (Some(path), Some(timed)) = (&remembered, tuner.timed_choice()) {
        if let Err(e) = batch_cache::store(path, &timed) {
            observer.note(
                "batch size",
                &format!("not remembered for the next run ({}: {e})", path.display()),
            );
        }
    }
    ctx.write_summary(entries)?;
    staging.publish()?;
    Ok(out)
}

/// The precision the backend computes in (its model metadata's `precision`): `float32`
/// (the default) or `float64`.
pub fn model_precision(info: &ModelInfo) -> String {
    serde_json::from_str::<serde_json::Value>(&info.metadata)
        .ok()
        .and_then(|m| m["precision"].as_str().map(String::from))
        .unwrap_or_else(|| "float32".into())
}

/// The groups of windows the model's gradients run on, each on its LR box (none: the whole
/// image), and what report.json says about them.
fn plan_crop(
    cfg: &LoadedConfig,
    info: &ModelInfo,
    windows: &[Window],
    lw: usize,
    lh: usize,
) -> (Vec<CropGroup>, ReceptiveCrop) {
    let radius = info.receptive_field.into_option();
    let unbounded = || {
        serde_json::from_str::<serde_json::Value>(&info.metadata)
            .ok()
            .and_then(|m| m["receptive_field_unbounded"].as_str().map(String::from))
            .unwrap_or_else(|| "the backend does not bound it".into())
    };
    let on = cfg.config.crop_to_receptive_field;
    let groups = CropGroup::plan(
        windows,
        info.scale as usize,
        radius.filter(|_| on).map(|r| r as usize),
        lw,
        lh,
    );
    let describe =
        |b: &crate::crop::CropBox| format!("{} x {} at ({}, {})", b.width, b.height, b.x, b.y);
    let note = match (radius, groups.as_slice()) {
        _ if !on => "off (crop_to_receptive_field = false): the whole image".to_string(),
        (None, _) => format!("none: the receptive field is not bounded ({})", unbounded()),
        (Some(r), [g]) => match g.crop {
            Some(b) => format!(
                "gradients on the {} LR pixels that can reach the windows (receptive-field \
                 radius {r}) of the {lw} x {lh} image",
                describe(&b)
            ),
            None => {
                format!("none: the windows' receptive field (radius {r}) covers the whole image")
            }
        },
        (Some(r), groups) => format!(
            "gradients in {} groups of windows far enough apart to cost less on their own \
             boxes (receptive-field radius {r}) of the {lw} x {lh} image: {}",
            groups.len(),
            groups
                .iter()
                .map(|g| format!(
                    "windows {:?} on {}",
                    g.windows,
                    g.crop
                        .as_ref()
                        .map_or_else(|| "the whole image".into(), describe)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    let report = ReceptiveCrop {
        radius,
        crop: match groups.as_slice() {
            [g] => g.crop.map(|b| b.as_array()),
            _ => None,
        },
        groups: if groups.len() > 1 {
            groups
                .iter()
                .map(|g| CropGroupRecord {
                    windows: g.windows.clone(),
                    crop: g.crop.map(|b| b.as_array()),
                })
                .collect()
        } else {
            Vec::new()
        },
        note,
        method_region: None,
    };
    (groups, report)
}

/// A method's progress sink seen as a plain [`Progress`].
struct Forward(Arc<dyn ProgressSink>);

impl Progress for Forward {
    fn add_total(&self, n: u64) {
        self.0.add_total(n);
    }
    fn advance(&self, n: u64) {
        self.0.advance(n);
    }
}

/// The model file: `model.path` (a file or a zoo name), or none for a backend that says it
/// needs none.
fn model_file(
    cfg: &LoadedConfig,
    host: &PluginHost,
    backend: &LoadedPlugin,
) -> Result<Option<PathBuf>> {
    let c = &cfg.config.model;
    if let Some(written) = &c.path {
        return zoo_name::model_file(cfg, written).map(Some);
    }
    let needs = host
        .component(backend, ComponentKind::Backend, &c.backend)
        .is_none_or(|info| info.needs_model_file);
    if needs {
        return Err(Error::Config(cfg.error_at(
            "model",
            &format!(
                "`model.path` is missing: the backend `{}` needs a model file (or a zoo name such as `esrgan-slim-x4`)",
                c.backend
            ),
        )));
    }
    Ok(None)
}

/// Probes whether the model takes a batch at all (see [`batch_probe`]), then measures one
/// image's gradient and picks the largest batch within the memory budget; with the reason
/// when the batch is 1 because the model cannot take more.
fn choose_batch(
    cfg: &LoadedConfig,
    model: &ModelBox,
    objectives: &[ObjectiveBox],
    x: &Tensor,
    info: &ModelInfo,
    observer: &dyn Observer,
) -> std::result::Result<(u32, Option<String>), srlens_core::PluginError> {
    let c = &cfg.config;
    let largest = c.batch_size.largest();
    if largest == 1 {
        return Ok((1, None));
    }
    if let Some(problem) = batch_probe::batch_problem(model, x) {
        observer.note("batch size", &format!("1 ({problem})"));
        return Ok((1, Some(problem)));
    }
    let (result, per_image) = memory::peak_growth(|| {
        model
            .gradient(x, RSlice::from_slice(objectives))
            .into_result()
    });
    result?;
    let budget = c.memory_budget_mb.saturating_mul(1 << 20);
    let batch = memory::batch_for(per_image, budget, largest);
    let timed = if c.batch_size.is_auto() && batch > 1 {
        ", the most per call: timed in the run, then halves while faster per point"
    } else {
        ""
    };
    if let Some(p) = per_image {
        observer.note(
            "batch size",
            &format!(
                "{batch} (one image's gradient through {} peaks at {} MiB; budget {} MiB{timed})",
                info.name,
                p >> 20,
                c.memory_budget_mb
            ),
        );
    }
    Ok((batch, None))
}

/// Tells the user what size the path's calls had and how it was chosen (nothing for a fixed
/// size: the note before the methods said it).
fn note_batch_choice(
    choice: &srlens_report::BatchTuning,
    remembered: Option<&PathBuf>,
    observer: &dyn Observer,
) {
    if choice.mode != "time" {
        return;
    }
    let timed: Vec<String> = choice
        .seconds_per_image
        .iter()
        .rev()
        .map(|(b, s)| format!("{b}: {:.1} ms", s * 1e3))
        .collect();
    let how = match (choice.cached, remembered) {
        (true, Some(p)) => format!(
            "as an earlier run of the same calls timed it (per point: {}; delete {} to time again)",
            timed.join(", "),
            p.display()
        ),
        _ => format!("chosen by time (per point: {})", timed.join(", ")),
    };
    observer.note("batch size", &format!("{} {how}", choice.chosen));
}

/// `model.threads` is at most the machine's logical CPUs (more only oversubscribes them:
/// 100000 threads never finish).
fn check_threads(cfg: &LoadedConfig) -> Result<()> {
    let threads = cfg.config.model.threads;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads as usize <= cpus {
        return Ok(());
    }
    Err(Error::Config(cfg.error_at(
        "model.threads",
        &format!(
            "model.threads = {threads} is more than this machine's {cpus} logical CPU(s): choose \
             1 to {cpus}, or 0 for the backend's default"
        ),
    )))
}

/// The model's own facts: a scale of at least 1, channels, and the config's `model.scale`.
fn check_info(cfg: &LoadedConfig, info: &ModelInfo, plugin: &LoadedPlugin) -> Result<()> {
    if info.scale == 0 || info.channels == 0 {
        return Err(Error::PluginCall(format!(
            "plugin `{}` ({}) loaded the model `{}` with scale {} and {} channel(s); a model has \
             a scale and channels of at least 1",
            plugin.name,
            plugin.path.display(),
            info.name,
            info.scale,
            info.channels
        )));
    }
    match cfg.config.model.scale {
        Some(s) if s != info.scale => Err(Error::Config(cfg.error_at(
            "model.scale",
            &format!(
                "model.scale = {s}, but the model {} upscales by {}; fix or remove `model.scale`",
                info.name, info.scale
            ),
        ))),
        _ => Ok(()),
    }
}

/// The SR output has the shape the model's scale promises and only finite values.
fn check_sr(
    sr: &Tensor,
    info: &ModelInfo,
    lw: u32,
    lh: u32,
    model: &str,
    plugin: &LoadedPlugin,
) -> Result<()> {
    let want = [
        1,
        info.channels as u64,
        lh as u64 * info.scale as u64,
        lw as u64 * info.scale as u64,
    ];
    if sr.shape.as_slice() != want || sr.len() as u64 != want.iter().product::<u64>() {
        return Err(Error::Input(format!(
            "the model {model} returned shape {:?} for an input of {lw} x {lh}; expected {:?} (scale {})",
            sr.shape.as_slice(),
            want,
            info.scale
        )));
    }
    srlens_plugin_kit::component::checks::finite(
        &format!("model `{}`", info.name),
        "the SR output",
        &sr.data,
    )
    .map_err(|e| call_error(plugin, "running model", &info.name, e))
}

fn check_window(
    cfg: &LoadedConfig,
    index: usize,
    w: &Window,
    info: &ModelInfo,
    lw: u32,
    lh: u32,
) -> Result<()> {
    let (sw, sh) = (lw as u64 * info.scale as u64, lh as u64 * info.scale as u64);
    let (x, y, size) = (w.x0 as u64, w.y0 as u64, w.size as u64);
    if x + size <= sw && y + size <= sh {
        return Ok(());
    }
    let advice = if size > sw.min(sh) {
        format!(
            "the window is larger than the output: choose size <= {}",
            sw.min(sh)
        )
    } else {
        format!("choose x <= {} and y <= {}", sw - size, sh - size)
    };
    Err(Error::Input(cfg.error_at(
        &cfg.config.window.key(index),
        &format!(
            "the window x = {}, y = {}, size = {} does not fit inside the SR output, which is \
             {sw} x {sh} pixels ({lw} x {lh} LR pixels x scale {}); {advice}",
            w.x0, w.y0, w.size, info.scale
        ),
    )))
}

/// Places a plugin's complaint about one of the `index`-th method's keys in the config.
fn locate_option_error(cfg: &LoadedConfig, index: usize, e: Error) -> Error {
    match e {
        Error::Option { key, message } => {
            Error::Config(cfg.error_at(&format!("method.{index}.{key}"), &message))
        }
        e => e,
    }
}

/// A TOML table as a JSON object.
pub fn toml_to_json(t: &toml::Table) -> serde_json::Value {
    serde_json::to_value(t).expect("TOML values are JSON values")
}
