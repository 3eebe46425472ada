//! The noise tunnel: an inner method averaged over noisy copies of the input.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use srlens_core::{
    abi_stable::std_types::{RNone, RStr, RString},
    Attribution, ErrorKind, Method, MethodJob, PluginError, PluginResult, Tensor,
};
use srlens_plugin_kit::{
    guard, integrate::objective_at, invalid_config, invalid_input, parse_options, random::SeededRng,
};

/// How the maps of the noisy copies are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `smoothgrad`: the mean.
    Mean,
    /// `smoothgrad_sq`: the mean of the squares.
    MeanOfSquares,
    /// `vargrad`: the population variance (`E[m^2] - E[m]^2`).
    Variance,
}

impl Variant {
    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Mean => "smoothgrad",
            Variant::MeanOfSquares => "smoothgrad_sq",
            Variant::Variance => "vargrad",
        }
    }
}

/// Options of `smoothgrad`, `smoothgrad_sq` and `vargrad`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmoothGradOptions {
    /// Noisy copies (default 25).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// The noise's standard deviation as a fraction of the input's range `max - min`
    /// (default 0.15).
    #[serde(default = "default_noise")]
    pub noise: f64,
    /// The noise's seed (default 0).
    #[serde(default)]
    pub seed: u64,
    /// The inner method (default `gradient`).
    #[serde(default = "default_inner")]
    pub inner: String,
    /// The inner method's options (default empty).
    #[serde(default)]
    pub inner_options: Map<String, Value>,
}

fn default_samples() -> usize {
    25
}
fn default_noise() -> f64 {
    0.15
}
fn default_inner() -> String {
    "gradient".into()
}

impl SmoothGradOptions {
    /// Parses and checks the options; `what` names the method in errors.
    pub fn parse(what: &str, json: &str) -> Result<Self, PluginError> {
        let o: SmoothGradOptions = parse_options(what, json)?;
        if o.samples == 0 {
            return Err(invalid_config(format!(
                "{what}: `samples` must be at least 1 (default 25), got 0"
            )));
        }
        if !(o.noise.is_finite() && o.noise >= 0.0) {
            return Err(invalid_config(format!(
                "{what}: `noise` must be a finite number >= 0 (a fraction of the input's \
                 range, default 0.15), got {}",
                o.noise
            )));
        }
        if o.inner.is_empty() {
            return Err(invalid_config(format!(
                "{what}: `inner` must name a method"
            )));
        }
        Ok(o)
    }
}

/// `smoothgrad`, `smoothgrad_sq` or `vargrad`.
#[derive(Debug, Clone, Copy)]
pub struct SmoothGrad(pub Variant);

impl Method for SmoothGrad {
    fn attribute(&self, job: &MethodJob<'_>) -> PluginResult<Attribution> {
        guard(|| run(self.0, job))
    }
}

/// The noise standard deviation for `image`: `noise * (max - min)`.
pub fn noise_std(noise: f64, image: &Tensor) -> f64 {
    let (lo, hi) = image
        .data
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v as f64), hi.max(v as f64))
        });
    if image.is_empty() {
        0.0
    } else {
        noise * (hi - lo)
    }
}

fn run(variant: Variant, job: &MethodJob<'_>) -> Result<Attribution, PluginError> {
    let what = format!("method `{}`", variant.name());
    let o = SmoothGradOptions::parse(&what, &job.options)?;
    let image = job.image;
    let dims = image.dims();
    if dims.len() != 4 || dims[0] != 1 || image.is_empty() {
        return Err(invalid_input(format!(
            "{what}: expected one image 1 x C x H x W, got shape {dims:?}"
        )));
    }
    let n = image.len();
    let std = noise_std(o.noise, image);
    let inner_options = Value::Object(o.inner_options.clone()).to_string();

    job.progress.add_total(1);
    let objective_input = objective_at(job, image)?;
    job.progress.advance(1);

    let mut rng = SeededRng::new(o.seed);
    // Welford's running mean and sum of squared deviations, in f64.
    let mut mean = vec![0f64; n];
    let mut m2 = vec![0f64; n];
    let mut inner_parameters = Value::Null;
    for k in 0..o.samples {
        let noise = rng.normal_vec(n, std);
        let data: Vec<f32> = image.data.iter().zip(&noise).map(|(x, e)| x + e).collect();
        let noisy = Tensor::new(dims.clone(), data).expect("the image's shape");
        let a = job
            .registry
            .attribute(
                RStr::from_str(&o.inner),
                RStr::from_str(&inner_options),
                &noisy,
            )
            .into_result()
            .map_err(|e| {
                PluginError::new(
                    e.kind,
                    format!("{what}: inner method `{}`: {}", o.inner, e.message),
                )
            })?;
        if a.map.len() != n {
            return Err(PluginError::new(
                ErrorKind::Backend,
                format!(
                    "{what}: inner method `{}` returned a map of shape {:?} for an input of \
                     shape {dims:?}",
                    o.inner,
                    a.map.dims()
                ),
            ));
        }
        if k == 0 {
            inner_parameters = serde_json::from_str(&a.parameters).unwrap_or(Value::Null);
        }
        let count = (k + 1) as f64;
        for ((mean, m2), &v) in mean.iter_mut().zip(m2.iter_mut()).zip(a.map.data.iter()) {
            let v = match variant {
                Variant::MeanOfSquares => (v as f64) * (v as f64),
                _ => v as f64,
            };
            let delta = v - *mean;
            *mean += delta / count;
            *m2 += delta * (v - *mean);
        }
    }
    let samples = o.samples as f64;
    let map: Vec<f32> = match variant {
        Variant::Mean | Variant::MeanOfSquares => mean.iter().map(|&v| v as f32).collect(),
        Variant::Variance => m2.iter().map(|&v| (v / samples) as f32).collect(),
    };
    let map = Tensor::new(dims[1..].to_vec(), map).expect("the image's shape");

    let mut parameters = match serde_json::to_value(&o) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    parameters.insert("noise_std".into(), std.into());
    parameters.insert("inner_parameters".into(), inner_parameters);
    Ok(Attribution {
        map,
        objective_input,
        objective_baseline: RNone,
        parameters: RString::from(Value::Object(parameters).to_string()),
    })
}
