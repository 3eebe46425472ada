//! The `ig` method: Integrated Gradients along the `line` path, in float32 or (a model loaded
//! with `precision = "f64"`) float64.

use serde::Deserialize;
use serde_json::Value;
use srlens_core::{
    abi_stable::std_types::{RSome, RString, RVec},
    Attribution, Attribution64, PluginError, Tensor,
};
use srlens_plugin_kit::{integrate::path_attribution, AttributionMethod, Job, Real};

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
    /// Checks the options: the number of steps and the line.
    pub fn line(&self) -> Result<Line, PluginError> {
        let line = LineOptions {
            quadrature: self.quadrature,
            baseline: self.baseline.clone(),
            sigma: self.sigma,
            kernel: self.kernel,
            seed: self.seed,
            value: self.value,
        }
        .resolve(WHAT)?;
        line.quadrature.check(WHAT, self.steps)?;
        Ok(line)
    }
}

/// The `ig` method.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ig;

impl AttributionMethod for Ig {
    type Options = IgOptions;

    fn check(&self, o: &IgOptions, job: &Job<'_>) -> Result<(), PluginError> {
        let line = o.line()?;
        image_dims(WHAT, job.image())?;
        // Read the baseline here so a bad file is reported against the method, before any
        // model call.
        line.baseline
            .compute::<f32>(WHAT, job.image(), |name| job.resolve_file(name))?;
        job.check_path("line", &Value::Object(line.to_json()).to_string())
    }

    fn attribute(&self, o: &IgOptions, job: &Job<'_>) -> Result<Vec<Attribution>, PluginError> {
        ig::<f32>(o, job)
    }

    fn attribute_f64(
        &self,
        o: &IgOptions,
        job: &Job<'_>,
    ) -> Result<Vec<Attribution64>, PluginError> {
        ig::<f64>(o, job)
    }

    /// The straight line reads the image at the pixel itself; the baseline decides the rest.
    fn image_reach(&self, o: &IgOptions) -> Option<u32> {
        o.line().ok()?.baseline.reach()
    }
}

/// IG in the precision `R` (the `line` path sampled, the model called and the map returned
/// in `R`, every sum in float64): one attribution per objective of `job`.
fn ig<R: Real>(o: &IgOptions, job: &Job<'_>) -> Result<Vec<R::Attribution>, PluginError> {
    // `check` (run by the kit just before) read the baseline.
    let path_options = o.line()?.to_json();
    let integrals = path_attribution::<R>(
        job,
        "line",
        &Value::Object(path_options.clone()).to_string(),
        o.steps,
    )?;
    Ok(integrals
        .into_iter()
        .map(|integral| {
            let mut parameters = path_options.clone();
            parameters.insert("steps".into(), o.steps.into());
            parameters.insert("batch_size".into(), integral.batch_size.into());
            let figures = Attribution {
                map: Tensor::default(),
                objective_input: integral.objective_input,
                objective_baseline: RSome(integral.objective_baseline),
                parameters: RString::from(Value::Object(parameters).to_string()),
                warnings: RVec::new(),
            };
            R::attribution(integral.map, figures)
        })
        .collect())
}
