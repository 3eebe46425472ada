//! `srlens run`: load the plugins, the model and the image, run each method, write the outputs.

mod image_input;
mod memory;
pub mod objective;
mod outputs;
mod progress;
mod session;
mod zoo_name;

use std::path::PathBuf;
use std::time::Instant;

use abi_stable::std_types::RString;
use srlens_core::{LoadRequest, ModelInfo};

use crate::config::{self, LoadedConfig};
use crate::error::{Error, Result};
use crate::host::{call_error, PluginDirs, PluginHost};
use objective::WindowObjective;
use outputs::{MethodOutput, RunContext};
use session::Session;

/// The options of `srlens run` that are not in the config.
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
    /// No progress bars.
    pub quiet: bool,
}

/// Runs the config; returns the folder the report was written to.
pub fn run(args: &RunArgs) -> Result<PathBuf> {
    let cfg = config::load(&args.config, &args.overrides)?;
    // File names inside method options are relative to the config's folder, like its other
    // paths: plugins read the folder from this variable (srlens_core::CONFIG_DIR_VAR).
    match std::path::absolute(cfg.dir()) {
        Ok(dir) => std::env::set_var(srlens_core::CONFIG_DIR_VAR, dir),
        Err(_) => std::env::remove_var(srlens_core::CONFIG_DIR_VAR),
    }
    let out = match &args.out {
        Some(o) => o.clone(),
        None => cfg.resolve(&cfg.config.out),
    };
    let host = PluginHost::load(&args.plugin_dirs);

    // Everything that can be checked is checked before anything is computed or written.
    let c = &cfg.config;
    let (backend, backend_plugin) = host.backend(&c.model.backend, c.model.plugin.as_deref())?;
    for m in &c.methods {
        host.resolve(
            srlens_core::ComponentKind::Method,
            &m.name,
            m.plugin.as_deref(),
        )?;
    }
    let model_path = zoo_name::model_file(&cfg)?;
    let image_path = cfg.resolve(&c.image.path);
    if !image_path.is_file() {
        return Err(Error::Input(format!(
            "the image file {} does not exist (image.path in {})",
            image_path.display(),
            cfg.path.display()
        )));
    }
    let request = LoadRequest {
        path: RString::from(model_path.to_string_lossy().as_ref()),
        options: RString::from(toml_to_json(&c.model.options).to_string()),
        threads: c.model.threads,
        device: RString::from(c.model.device.as_str()),
    };
    let model = backend.load(&request).into_result().map_err(|e| {
        call_error(
            backend_plugin,
            "loading model",
            &model_path.display().to_string(),
            e,
        )
    })?;
    let info = model.info();
    check_scale(&cfg, &info)?;
    let input = image_input::load(&image_path, &c.image, info.scale)?;
    let x = input.tensor();
    let (lh, lw) = (x.shape[2] as u32, x.shape[3] as u32);
    check_window(&cfg, &info, lw, lh)?;
    let sr = model
        .forward(&x)
        .into_result()
        .map_err(|e| call_error(backend_plugin, "running model", &info.name, e))?;
    let want = [
        1,
        info.channels as u64,
        (lh * info.scale) as u64,
        (lw * info.scale) as u64,
    ];
    if sr.shape.as_slice() != want {
        return Err(Error::Input(format!(
            "the model {} returned shape {:?} for an input of {lw} x {lh}; expected {:?} (scale {})",
            model_path.display(),
            sr.shape.as_slice(),
            want,
            info.scale
        )));
    }

    let objective = WindowObjective {
        kind: c.objective,
        window: c.window,
    };
    let batch = choose_batch(&cfg, &model, &objective, &x, &info, args.quiet)
        .map_err(|e| call_error(backend_plugin, "running model", &info.name, e))?;
    let session = Session::new(&host, &model, objective, batch);
    let ctx = RunContext::new(
        &cfg,
        &out,
        &info,
        &backend_plugin.name,
        &backend_plugin.version,
        &image_path,
        &input,
        &sr,
    )?;
    let mut entries = Vec::new();
    for (index, m) in c.methods.iter().enumerate() {
        let label = m.label().to_string();
        let bar = std::sync::Arc::new(progress::Bar::new(&label, args.quiet));
        *session.progress.lock().expect("not poisoned") = Some(bar.clone());
        let options = toml_to_json(&m.options).to_string();
        let started = Instant::now();
        let result = session.attribute(&m.name, m.plugin.as_deref(), &options, &x);
        bar.0.finish_and_clear();
        let attribution = result.map_err(|e| locate_option_error(&cfg, index, e))?;
        let seconds = started.elapsed().as_secs_f64();
        let method = session.method(&m.name, m.plugin.as_deref())?;
        let plugin = host.loaded.iter().find(|p| p.name == method.1);
        entries.push(ctx.write_method(&MethodOutput {
            label: &label,
            method: &m.name,
            plugin: plugin.map(|p| (p.name.as_str(), p.version.as_str())),
            attribution: &attribution,
            seconds,
        })?);
        if !args.quiet {
            eprintln!(
                "{:>12} {label}: {seconds:.1} s -> {}",
                "wrote",
                out.join(&label).display()
            );
        }
    }
    ctx.write_summary(entries)?;
    Ok(out)
}

/// Measures one image's gradient and picks the largest batch within the memory budget.
fn choose_batch(
    cfg: &LoadedConfig,
    model: &srlens_core::ModelBox,
    objective: &WindowObjective,
    x: &srlens_core::Tensor,
    info: &ModelInfo,
    quiet: bool,
) -> std::result::Result<u32, srlens_core::PluginError> {
    use abi_stable::{sabi_trait::TD_Opaque, sabi_types::RRef, std_types::RSlice};
    let c = &cfg.config;
    if c.batch_size == 1 {
        return Ok(1);
    }
    let objective = srlens_core::Objective_TO::from_ptr(RRef::new(objective), TD_Opaque);
    let (result, per_image) = memory::peak_growth(|| {
        model
            .gradient(x, RSlice::from_slice(&[objective]))
            .into_result()
    });
    result?;
    let batch = memory::batch_for(per_image, c.memory_budget_mb << 20, c.batch_size);
    if !quiet {
        if let Some(p) = per_image {
            eprintln!(
                "{:>12} {batch} (one image's gradient through {} peaks at {} MiB; budget {} MiB)",
                "batch size",
                info.name,
                p >> 20,
                c.memory_budget_mb
            );
        }
    }
    Ok(batch)
}

fn check_scale(cfg: &LoadedConfig, info: &ModelInfo) -> Result<()> {
    match cfg.config.model.scale {
        Some(s) if s != info.scale => Err(Error::Config(format!(
            "{}: model.scale = {s}, but the model {} upscales by {}; fix or remove `model.scale`",
            cfg.path.display(),
            info.name,
            info.scale
        ))),
        _ => Ok(()),
    }
}

fn check_window(cfg: &LoadedConfig, info: &ModelInfo, lw: u32, lh: u32) -> Result<()> {
    let w = cfg.config.window;
    let (sw, sh) = (lw * info.scale, lh * info.scale);
    let fits = w.x.checked_add(w.size).is_some_and(|r| r <= sw)
        && w.y.checked_add(w.size).is_some_and(|b| b <= sh);
    if fits {
        return Ok(());
    }
    Err(Error::Input(format!(
        "{}: the window x = {}, y = {}, size = {} does not fit inside the SR output, which is {sw} x {sh} \
         pixels ({lw} x {lh} LR pixels x scale {}); choose x <= {} and y <= {}",
        cfg.path.display(),
        w.x,
        w.y,
        w.size,
        info.scale,
        sw.saturating_sub(w.size),
        sh.saturating_sub(w.size)
    )))
}

/// Adds the config location to a plugin's complaint about one of a method's keys.
fn locate_option_error(cfg: &LoadedConfig, index: usize, e: Error) -> Error {
    let text = e.to_string();
    let key = text
        .split_once("unknown field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(k, _)| k.to_string());
    match key.and_then(|k| cfg.method_key_location(index, &k)) {
        Some(at) => Error::PluginCall(format!("{at}: {text}")),
        None => e,
    }
}

/// A TOML table as a JSON object.
pub fn toml_to_json(t: &toml::Table) -> serde_json::Value {
    serde_json::to_value(t).expect("TOML values are JSON values")
}
