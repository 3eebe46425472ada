//! The `srlens run` config of one run: the study's settings, one model, one method, one
//! image and its windows, as TOML text written beside the study's results, so that each run
//! can be repeated alone with `srlens run`.

use std::path::Path;

use srlens_host::config::{Config, ImageConfig, ModelConfig, WindowConfig, Windows};

use crate::config::LoadedStudy;
use crate::windows::StudyWindow;

/// The run config of model `model` and method `method` on `image` with `windows`, writing
/// into `out`; paths are absolute.
pub fn run_config(
    study: &LoadedStudy,
    model: usize,
    model_file: Option<&Path>,
    method: usize,
    image: &Path,
    windows: &[&StudyWindow],
    out: &Path,
) -> String {
    let c = &study.config;
    let m = &c.models[model];
    let config = Config {
        out: out.to_path_buf(),
        batch_size: c.batch_size,
        memory_budget_mb: c.memory_budget_mb,
        gap_warning: c.gap_warning,
        crop_to_receptive_field: c.crop_to_receptive_field,
        faithfulness: c.faithfulness.clone(),
        model: ModelConfig {
            backend: m.backend.clone(),
            plugin: m.plugin.clone(),
            path: model_file.map(Path::to_path_buf),
            scale: Some(c.scale),
            device: m.device.clone(),
            threads: m.threads,
            options: m.options.clone(),
        },
        image: ImageConfig {
            path: image.to_path_buf(),
            mode: c.image_mode,
            crop: c.crop,
        },
        window: Windows::Many(
            windows
                .iter()
                .map(|w| WindowConfig {
                    x: w.x,
                    y: w.y,
                    size: w.size,
                    label: Some(w.label.clone()),
                })
                .collect(),
        ),
        objective: c.objective,
        methods: vec![c.methods[method].clone()],
    };
    format!(
        "# Written by `srlens study {}` for model `{}`, method `{}`: one run of the study,\n\
         # which `srlens run` repeats alone.\n\n{}",
        study.path.display(),
        m.label(),
        c.methods[method].label(),
        toml::to_string(&config).expect("a run config serialises")
    )
}
