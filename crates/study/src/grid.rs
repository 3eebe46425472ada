//! The item grid: models x methods x images x windows, grouped into runs (one `srlens run`
//! per model x method x image, with all that image's windows, which share the path's model
//! passes), each item with its key and each run with its expected cost.

use std::path::PathBuf;

use serde_json::json;

use crate::config::LoadedStudy;
use crate::error::Result;
use crate::images::{assign_ids, StudyImage};
use crate::windows::{windows_for, StudyWindow};

/// A model of the study, resolved.
#[derive(Debug, Clone)]
pub struct PlannedModel {
    /// Its label.
    pub label: String,
    /// Its file (`Ok(None)`: a backend without one), or why it cannot be found.
    pub file: std::result::Result<Option<PathBuf>, String>,
    /// The sha256 of the file.
    pub sha256: Option<String>,
    /// The file's size in bytes (its parameters are about a quarter of it).
    pub bytes: u64,
}

/// One item: a model x method x image x window.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its key (see [`item_key`]).
    pub key: String,
    /// `[model, method, image, window]` indices.
    pub order: [usize; 4],
    /// The window (none when the image cannot be read).
    pub window: Option<StudyWindow>,
    /// Why it fails before any run (an unreadable image, a window that does not fit, a
    /// model file that does not exist).
    pub fails_before: Option<String>,
}

/// One `srlens run`: a model x method x image and its items.
#[derive(Debug, Clone)]
pub struct RunUnit {
    /// Model index.
    pub model: usize,
    /// Method index.
    pub method: usize,
    /// Image index.
    pub image: usize,
    /// `<model>/<method>/<image>`, its folder under `runs/`.
    pub id: String,
    /// Its items, one per window.
    pub items: Vec<Item>,
    /// Expected cost: parameters (model bytes / 4) x LR pixels x path steps x (1 + windows).
    pub cost: f64,
}

/// Everything a study runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The models.
    pub models: Vec<PlannedModel>,
    /// The images.
    pub images: Vec<StudyImage>,
    /// The runs, in order (models, then methods, then images).
    pub units: Vec<RunUnit>,
}

impl Plan {
    /// Resolves, hashes and decodes what `study` names and lays out its items.
    pub fn new(study: &LoadedStudy) -> Result<Plan> {
        let c = &study.config;
        let models: Vec<PlannedModel> = (0..c.models.len())
            .map(|i| {
                let file = study.model_file(i);
                let (sha256, bytes) = match &file {
                    Ok(Some(p)) => (
                        srlens_zoo::hash::sha256_file(p).ok(),
                        std::fs::metadata(p).map_or(0, |m| m.len()),
                    ),
                    _ => (None, 0),
                };
                PlannedModel {
                    label: c.models[i].label(),
                    file,
                    sha256,
                    bytes,
                }
            })
            .collect();
        let mut images: Vec<StudyImage> = study
            .image_files()?
            .iter()
            .map(|p| StudyImage::load(p, c.image_mode, c.crop, c.scale))
            .collect();
        assign_ids(&mut images);
        let windows: Vec<_> = images
            .iter()
            .map(|img| match &img.decoded {
                Ok(d) => windows_for(&c.windows, &d.reference),
                Err(_) => Vec::new(),
            })
            .collect();
        let mut units = Vec::new();
        for (mi, model) in c.models.iter().enumerate() {
            for (ki, method) in c.methods.iter().enumerate() {
                for (ii, img) in images.iter().enumerate() {
                    let planned = &models[mi];
                    let model_fails = planned.file.as_ref().err().cloned();
                    let key = |w: Option<&StudyWindow>| {
                        item_key(study, mi, planned.sha256.as_deref(), ki, img, w)
                    };
                    let items: Vec<Item> = match &img.decoded {
                        Err(reason) => vec![Item {
                            key: key(None),
                            order: [mi, ki, ii, 0],
                            window: None,
                            fails_before: Some(reason.clone()),
                        }],
                        Ok(_) => windows[ii]
                            .iter()
                            .enumerate()
                            .map(|(wi, w)| {
                                let (win, why) = match w {
                                    Ok(w) => (w, None),
                                    Err((w, why)) => (w, Some(why.clone())),
                                };
                                Item {
                                    key: key(Some(win)),
                                    order: [mi, ki, ii, wi],
                                    window: Some(win.clone()),
                                    fails_before: model_fails.clone().or(why),
                                }
                            })
                            .collect(),
                    };
                    let lr = img
                        .decoded
                        .as_ref()
                        .map_or(1.0, |d| d.lr_size.0 as f64 * d.lr_size.1 as f64);
                    let params = (planned.bytes as f64 / 4.0).max(1.0);
                    let cost = params * lr * steps(method) * (1.0 + items.len() as f64);
                    units.push(RunUnit {
                        model: mi,
                        method: ki,
                        image: ii,
                        id: format!("{}/{}/{}", model.label(), method.label(), img.id),
                        items,
                        cost,
                    });
                }
            }
        }
        Ok(Plan {
            models,
            images,
            units,
        })
    }

    /// Every item, in order.
    pub fn items(&self) -> impl Iterator<Item = (&RunUnit, &Item)> {
        self.units
            .iter()
            .flat_map(|u| u.items.iter().map(move |i| (u, i)))
    }
}

/// The model passes a method's path takes, for the cost estimate: `steps`, `samples` x the
/// inner method's steps, or the defaults (LAM and IG 50, SmoothGrad 25, gradients 1).
fn steps(m: &srlens_host::config::MethodConfig) -> f64 {
    let int = |t: &toml::Table, k: &str| t.get(k).and_then(|v| v.as_integer()).map(|v| v as f64);
    let inner = m
        .options
        .get("inner_options")
        .and_then(|v| v.as_table())
        .and_then(|t| int(t, "steps"))
        .unwrap_or(1.0);
    int(&m.options, "steps")
        .or_else(|| int(&m.options, "samples").map(|s| s * inner))
        .unwrap_or(match m.name.as_str() {
            "lam" | "ig" => 50.0,
            "smoothgrad" | "smoothgrad_sq" | "vargrad" => 25.0,
            _ => 1.0,
        })
        .max(1.0)
}

/// An item's identity, the key a rerun skips finished items by: the sha256 of the model
/// (label, file hash, backend, plugin, options), the method (label, name, plugin, options),
/// the image (file hash, mode, crop, scale), the objective and the window.
pub fn item_key(
    study: &LoadedStudy,
    model: usize,
    model_sha256: Option<&str>,
    method: usize,
    image: &StudyImage,
    window: Option<&StudyWindow>,
) -> String {
    let c = &study.config;
    let m = &c.models[model];
    let k = &c.methods[method];
    let unresolved = || {
        format!(
            "unresolved:{}",
            m.path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )
    };
    let v = json!({
        "model": {
            "label": m.label(),
            "sha256": model_sha256.map_or_else(unresolved, String::from),
            "backend": m.backend,
            "plugin": m.plugin,
            "options": m.options,
        },
        "method": {
            "label": k.label(),
            "name": k.name,
            "plugin": k.plugin,
            "options": k.options,
        },
        "image": {
            "sha256": image.sha256.clone().unwrap_or_else(|| format!("unreadable:{}", image.path.display())),
            "mode": c.image_mode,
            "crop": c.crop,
            "scale": c.scale,
        },
        "objective": c.objective,
        "window": window.map(|w| json!([w.x, w.y, w.size])),
    });
    srlens_zoo::hash::sha256(v.to_string().as_bytes())
}
