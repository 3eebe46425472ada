//! The noise tunnel: an inner method averaged over noisy copies of the input, in float32 or
//! (a model loaded with `precision = "f64"`) float64.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use srlens_core::{
    abi_stable::std_types::{RNone, RString, RVec},
    Attribution, Attribution64, PluginError, Tensor,
};
use srlens_plugin_kit::{
    invalid_config, invalid_input, random::SeededRng, AttributionMethod, Job, Real,
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
    /// Checks the values serde cannot; `what` names the method in errors.
    pub fn check(&self, what: &str) -> Result<(), PluginError> {
        if self.samples == 0 {
            return Err(invalid_config(format!(
                "{what}: `samples` must be at least 1 (default 25), got 0"
            ))
            .with_key("samples"));
        }
        srlens_plugin_kit::limits::check_at_most(what, "samples", self.samples)?;
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(invalid_config(format!(
                "{what}: `noise` must be a finite number >= 0 (a fraction of the input's \
                 range, default 0.15), got {}",
                self.noise
            ))
            .with_key("noise"));
        }
        if self.inner.is_empty() {
            return Err(
                invalid_config(format!("{what}: `inner` must name a method")).with_key("inner"),
            );
        }
        Ok(())
    }
}

/// `smoothgrad`, `smoothgrad_sq` or `vargrad`.
#[derive(Debug, Clone, Copy)]
pub struct SmoothGrad(pub Variant);

impl AttributionMethod for SmoothGrad {
    type Options = SmoothGradOptions;

    fn check(&self, o: &SmoothGradOptions, job: &Job<'_>) -> Result<(), PluginError> {
        o.check(job.what())?;
        let inner_options = Value::Object(o.inner_options.clone()).to_string();
        job.check_method(&o.inner, &inner_options).map_err(|e| {
            // The inner method's own option, or the inner method itself.
            let key = match e.key.as_ref().into_option() {
                Some(k) => format!("inner_options.{k}"),
                None => "inner".to_string(),
            };
            PluginError::new(
                e.kind().unwrap_or(srlens_core::ErrorKind::InvalidConfig),
                format!("{}: inner method `{}`: {}", job.what(), o.inner, e.message),
            )
            .with_key(key)
        })
    }

    fn attribute(
        &self,
        o: &SmoothGradOptions,
        job: &Job<'_>,
    ) -> Result<Vec<Attribution>, PluginError> {
        run::<f32>(self.0, o, job)
    }

    fn attribute_f64(
        &self,
        o: &SmoothGradOptions,
        job: &Job<'_>,
    ) -> Result<Vec<Attribution64>, PluginError> {
        run::<f64>(self.0, o, job)
    }
}

/// The noise standard deviation for an image's values: `noise * (max - min)` (0 for none).
pub fn noise_std<T: Copy + Into<f64>>(noise: f64, image: &[T]) -> f64 {
    let (lo, hi) = image
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v.into()), hi.max(v.into()))
        });
    if image.is_empty() {
        0.0
    } else {
        noise * (hi - lo)
    }
}

/// Welford's running mean and sum of squared deviations of one objective's maps, in f64.
struct Running {
    mean: Vec<f64>,
    m2: Vec<f64>,
    parameters: Value,
}

/// The noisy copy `x + e` of `image`'s values in the precision `R`: `e` is the next
/// `image.len()` normals of `rng` times `std`, rounded to `R`, and the sum is rounded to `R`
/// (for `f32` the float32 sum of the float32 noise; for `f64` no rounding at all).
pub fn noisy_copy<R: Real>(image: &[R], rng: &mut SeededRng, std: f64) -> Vec<R> {
    image
        .iter()
        .map(|&x| {
            let e = R::from_f64(rng.normal_f64() * std);
            R::from_f64(x.into() + e.into())
        })
        .collect()
}

/// The method `variant` in the precision `R`: the job's image, the noisy copies and the
/// inner method's maps in `R`, their combination in float64.
fn run<R: Real>(
    variant: Variant,
    o: &SmoothGradOptions,
    job: &Job<'_>,
) -> Result<Vec<R::Attribution>, PluginError> {
    let what = job.what().to_string();
    let image = R::image(job);
    let dims = R::dims(&image);
    if dims.len() != 4 || dims[0] != 1 || dims.contains(&0) {
        return Err(invalid_input(format!(
            "{what}: expected one image 1 x C x H x W, got shape {dims:?}"
        )));
    }
    let x = R::data(&image);
    let n = x.len();
    let std = noise_std(o.noise, x);
    let inner_options = Value::Object(o.inner_options.clone()).to_string();

    job.add_total(1);
    let objective_input = R::objective_values(job, &image)?;
    job.advance(1);

    let mut rng = SeededRng::new(o.seed);
    let mut running: Vec<Running> = (0..job.objective_count())
        .map(|_| Running {
            mean: vec![0f64; n],
            m2: vec![0f64; n],
            parameters: Value::Null,
        })
        .collect();
    for k in 0..o.samples {
        let noisy =
            R::tensor(dims.clone(), noisy_copy(x, &mut rng, std)).expect("the image's shape");
        let maps = R::attribute(job, &o.inner, &inner_options, &noisy).map_err(|e| {
            PluginError::new(
                e.kind().unwrap_or(srlens_core::ErrorKind::Backend),
                format!("{what}: inner method `{}`: {}", o.inner, e.message),
            )
        })?;
        let count = (k + 1) as f64;
        for (r, a) in running.iter_mut().zip(&maps) {
            let (map, figures) = R::attribution_parts(a);
            if k == 0 {
                r.parameters = serde_json::from_str(&figures.parameters).unwrap_or(Value::Null);
            }
            for ((mean, m2), &v) in r.mean.iter_mut().zip(r.m2.iter_mut()).zip(R::data(map)) {
                let v: f64 = v.into();
                let v = match variant {
                    Variant::MeanOfSquares => v * v,
                    _ => v,
                };
                let delta = v - *mean;
                *mean += delta / count;
                *m2 += delta * (v - *mean);
            }
        }
    }
    let samples = o.samples as f64;
    let mut warnings = RVec::new();
    if variant == Variant::Variance && o.samples == 1 {
        warnings.push(RString::from(
            "vargrad with samples = 1: the variance of one sample is zero everywhere; use \
             samples >= 2 (default 25)",
        ));
    }
    Ok(running
        .into_iter()
        .zip(objective_input)
        .map(|(r, objective_input)| {
            let map: Vec<R> = match variant {
                Variant::Mean | Variant::MeanOfSquares => {
                    r.mean.into_iter().map(R::from_f64).collect()
                }
                Variant::Variance => r.m2.iter().map(|&v| R::from_f64(v / samples)).collect(),
            };
            let mut parameters = match serde_json::to_value(o) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            parameters.insert("noise_std".into(), std.into());
            parameters.insert("inner_parameters".into(), r.parameters);
            let figures = Attribution {
                map: Tensor::default(),
                objective_input,
                objective_baseline: RNone,
                parameters: RString::from(Value::Object(parameters).to_string()),
                warnings: warnings.clone(),
            };
            R::attribution(
                R::tensor(dims[1..].to_vec(), map).expect("the image's shape"),
                figures,
            )
        })
        .collect())
}
