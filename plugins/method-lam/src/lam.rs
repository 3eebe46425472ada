//! The `lam` method: path integrated gradients along the progressive-blur path (or another
//! path, to study LAM's two ingredients apart).

use serde::{Deserialize, Serialize};
use srlens_core::{
    abi_stable::std_types::{RSome, RString},
    Attribution, Method, MethodJob, PluginError, PluginResult,
};
use srlens_plugin_kit::{guard, integrate::path_attribution, invalid_config, parse_options};

use crate::progressive_blur::BlurPathOptions;

/// Options of the `lam` method, with the paper's defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LamOptions {
    /// The baseline's blur (default 1.2).
    #[serde(default = "default_sigma")]
    pub sigma: f64,
    /// Path points (default 50).
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// The blur kernel's odd side (default 9).
    #[serde(default = "default_kernel")]
    pub kernel: usize,
    /// The path, by name: `blur` (the progressive blur, default) or any other path function,
    /// e.g. `blur_line` (the straight line to the blurred baseline).
    #[serde(default = "default_path")]
    pub path: String,
    /// Extra options for the path (merged over `sigma` and `kernel`).
    #[serde(default)]
    pub path_options: serde_json::Map<String, serde_json::Value>,
}

fn default_sigma() -> f64 {
    1.2
}
fn default_steps() -> usize {
    50
}
fn default_kernel() -> usize {
    9
}
fn default_path() -> String {
    "blur".into()
}

impl LamOptions {
    /// Parses and checks the method's options.
    pub fn parse(json: &str) -> Result<Self, PluginError> {
        let o: LamOptions = parse_options("method `lam`", json)?;
        BlurPathOptions {
            sigma: o.sigma,
            kernel: o.kernel,
        }
        .check("method `lam`")?;
        if o.steps == 0 {
            return Err(invalid_config(
                "method `lam`: `steps` must be at least 1 (default 50)",
            ));
        }
        Ok(o)
    }

    /// The options handed to the path function.
    pub fn path_options(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("sigma".into(), self.sigma.into());
        m.insert("kernel".into(), self.kernel.into());
        m.extend(self.path_options.clone());
        serde_json::Value::Object(m)
    }
}

/// The `lam` method.
pub struct Lam;

impl Method for Lam {
    fn attribute(&self, job: &MethodJob<'_>) -> PluginResult<Attribution> {
        guard(|| {
            let o = LamOptions::parse(&job.options)?;
            let integral = path_attribution(job, &o.path, &o.path_options().to_string(), o.steps)?;
            let mut parameters = serde_json::to_value(&o).expect("options serialise");
            parameters["batch_size"] = integral.batch_size.into();
            Ok(Attribution {
                map: integral.map,
                objective_input: integral.objective_input,
                objective_baseline: RSome(integral.objective_baseline),
                parameters: RString::from(parameters.to_string()),
            })
        })
    }
}
