//! The `ig` method: Integrated Gradients along the `line` path.

use serde::Deserialize;
use serde_json::Value;
use srlens_core::{
    abi_stable::std_types::{RSome, RString},
    Attribution, Method, MethodJob, PluginError, PluginResult,
};
use srlens_plugin_kit::{guard, integrate::path_attribution, parse_options};

use crate::{
    baseline::image_dims,
    line::{Line, LineOptions},
    quadrature::Quadrature,
};

const WHAT: &str = "method `ig`";

/// Default number of path points (Captum's `n_steps`).
pub const DEFAULT_STEPS: usize = 50;

/// Options of the `ig` method: `steps` plus the `line` path's options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgOptions {
    /// Path points (default 50).
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// The quadrature rule (default `gausslegendre`).
    #[serde(default)]
    pub quadrature: Quadrature,
    /// The baseline (default `black`); see [`LineOptions::baseline`].
    pub baseline: Option<Value>,
    /// Blur of the `blur` baseline (default 1.2).
    pub sigma: Option<f64>,
    /// Kernel side of the `blur` baseline (default 9).
    pub kernel: Option<usize>,
    /// Seed of the `noise` baseline (default 0).
    pub seed: Option<u64>,
    /// Value of the `constant` baseline (required there).
    pub value: Option<f64>,
}

fn default_steps() -> usize {
    DEFAULT_STEPS
}

impl IgOptions {
    /// Parses and checks the options: the number of steps and the line.
    pub fn parse(json: &str) -> Result<(usize, Line), PluginError> {
        let o: IgOptions = parse_options(WHAT, json)?;
        let line = LineOptions {
            quadrature: o.quadrature,
            baseline: o.baseline,
            sigma: o.sigma,
            kernel: o.kernel,
            seed: o.seed,
            value: o.value,
        }
        .resolve(WHAT)?;
        line.quadrature.check(WHAT, o.steps)?;
        Ok((o.steps, line))
    }
}

/// The `ig` method.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ig;

impl Method for Ig {
    fn attribute(&self, job: &MethodJob<'_>) -> PluginResult<Attribution> {
        guard(|| {
            let (steps, line) = IgOptions::parse(&job.options)?;
            image_dims(WHAT, job.image)?;
            // Read the baseline once here so a bad file is reported against the method.
            line.baseline.compute(WHAT, job.image)?;
            let path_options = line.to_json();
            let integral = path_attribution(
                job,
                "line",
                &Value::Object(path_options.clone()).to_string(),
                steps,
            )?;
            let mut parameters = path_options;
            parameters.insert("steps".into(), steps.into());
            parameters.insert("batch_size".into(), integral.batch_size.into());
            Ok(Attribution {
                map: integral.map,
                objective_input: integral.objective_input,
                objective_baseline: RSome(integral.objective_baseline),
                parameters: RString::from(Value::Object(parameters).to_string()),
            })
        })
    }
}
