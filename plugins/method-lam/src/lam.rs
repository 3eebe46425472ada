//! The `lam` method: path integrated gradients along the progressive-blur path (or another
//! path, to study LAM's two ingredients apart).

use serde::{Deserialize, Serialize};
use srlens_core::{
    abi_stable::std_types::{RSome, RString, RVec},
    Attribution, Attribution64, PluginError,
};
use srlens_plugin_kit::{
    integrate::path_attribution, invalid_config, AttributionMethod, Job, Real,
};

use crate::progressive_blur::BlurPathOptions;

/// Options of the `lam` method, with the paper's defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LamOptions {
    /// The baseline's blur (default 1.2, for the blur paths).
    pub sigma: Option<f64>,
    /// Path points (default 50).
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// The blur kernel's odd side (default 9, for the blur paths).
    pub kernel: Option<usize>,
    /// The path, by name: `blur` (the progressive blur, default) or any other path function,
    /// e.g. `blur_line` (the straight line to the blurred baseline) or `line`.
    #[serde(default = "default_path")]
    pub path: String,
    /// Extra options for the path (merged over `sigma` and `kernel`).
    #[serde(default)]
    pub path_options: serde_json::Map<String, serde_json::Value>,
}

fn default_steps() -> usize {
    50
}
fn default_path() -> String {
    "blur".into()
}

/// The paths that take LAM's `sigma` and `kernel` (with LAM's defaults).
const BLUR_PATHS: [&str; 2] = ["blur", "blur_line"];

impl LamOptions {
    /// Checks the values serde cannot.
    pub fn check(&self) -> Result<(), PluginError> {
        if self.is_blur_path() {
            self.blur().check("method `lam`")?;
        }
        if self.steps == 0 {
            return Err(
                invalid_config("method `lam`: `steps` must be at least 1 (default 50)")
                    .with_key("steps"),
            );
        }
        srlens_plugin_kit::limits::check_at_most("method `lam`", "steps", self.steps)
    }

    fn is_blur_path(&self) -> bool {
        BLUR_PATHS.contains(&self.path.as_str())
    }

    fn blur(&self) -> BlurPathOptions {
        BlurPathOptions {
            sigma: self.sigma.unwrap_or(1.2),
            kernel: self.kernel.unwrap_or(9),
        }
    }

    /// The options handed to the path function: `sigma` and `kernel` (with LAM's defaults
    /// for the blur paths; only where set for any other path), then `path_options`.
    pub fn path_options(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        if self.is_blur_path() {
            let b = self.blur();
            m.insert("sigma".into(), b.sigma.into());
            m.insert("kernel".into(), b.kernel.into());
        } else {
            if let Some(s) = self.sigma {
                m.insert("sigma".into(), s.into());
            }
            if let Some(k) = self.kernel {
                m.insert("kernel".into(), k.into());
            }
        }
        m.extend(self.path_options.clone());
        serde_json::Value::Object(m)
    }
}

/// The `lam` method.
pub struct Lam;

impl AttributionMethod for Lam {
    type Options = LamOptions;

    fn check(&self, o: &LamOptions, job: &Job<'_>) -> Result<(), PluginError> {
        o.check()?;
        job.check_path(&o.path, &o.path_options().to_string())
    }

    fn attribute(&self, o: &LamOptions, job: &Job<'_>) -> Result<Vec<Attribution>, PluginError> {
        lam::<f32>(o, job)
    }

    fn attribute_f64(
        &self,
        o: &LamOptions,
        job: &Job<'_>,
    ) -> Result<Vec<Attribution64>, PluginError> {
        lam::<f64>(o, job)
    }

    /// The blur paths (with no other path options) blur each point with the `kernel x
    /// kernel` Gaussian and reflect-101 borders: a point's pixel sees the image within half
    /// the kernel. Any other path may read the whole image.
    fn image_reach(&self, o: &LamOptions) -> Option<u32> {
        is_plain_blur(o).then(|| (o.blur().kernel / 2) as u32)
    }
}

/// Whether `o` samples a blur path with LAM's own `sigma` and `kernel` only.
fn is_plain_blur(o: &LamOptions) -> bool {
    o.is_blur_path() && o.path_options.is_empty()
}

/// LAM in the precision `R`: one attribution per objective of `job`.
fn lam<R: Real>(o: &LamOptions, job: &Job<'_>) -> Result<Vec<R::Attribution>, PluginError> {
    let path_options = o.path_options();
    let integrals = path_attribution::<R>(job, &o.path, &path_options.to_string(), o.steps)?;
    Ok(integrals
        .into_iter()
        .map(|integral| {
            let mut parameters = serde_json::Map::new();
            if let serde_json::Value::Object(p) = &path_options {
                parameters.extend(p.clone());
            }
            parameters.insert("steps".into(), o.steps.into());
            parameters.insert("path".into(), o.path.clone().into());
            parameters.insert("batch_size".into(), integral.batch_size.into());
            let figures = Attribution {
                map: Default::default(),
                objective_input: integral.objective_input,
                objective_baseline: RSome(integral.objective_baseline),
                parameters: RString::from(serde_json::Value::Object(parameters).to_string()),
                warnings: RVec::new(),
            };
            R::attribution(integral.map, figures)
        })
        .collect())
}
