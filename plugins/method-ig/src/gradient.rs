//! `gradient` (`dD/dx`) and `input_x_gradient` (`x * dD/dx`): one model call each, in float32
//! or (a model loaded with `precision = "f64"`) float64.

use serde::Deserialize;
use srlens_core::{
    abi_stable::std_types::{RNone, RString, RVec},
    Attribution, Attribution64, PluginError, Tensor,
};
use srlens_plugin_kit::{integrate::input_gradients, AttributionMethod, Job, Real};

use crate::baseline::image_dims;

/// These methods take no options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// The `gradient` method: `dD(F(x))/dx`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gradient;

/// The `input_x_gradient` method: `x * dD(F(x))/dx`.
#[derive(Debug, Clone, Copy, Default)]
pub struct InputXGradient;

/// Either method in precision `R`, from the job's image in `R`.
fn run<R: Real>(job: &Job<'_>, times_input: bool) -> Result<Vec<R::Attribution>, PluginError> {
    image_dims(job.what(), job.image())?;
    job.add_total(1);
    let image = R::image(job);
    let grads = input_gradients::<R>(job, &image)?;
    job.advance(1);
    Ok(grads
        .into_iter()
        .map(|(map, value)| {
            let map = if times_input {
                let product = R::data(&map)
                    .iter()
                    .zip(R::data(&image))
                    .map(|(&g, &x)| R::from_f64(g.into() * x.into()))
                    .collect();
                R::tensor(R::dims(&map), product).expect("the map has the image's size")
            } else {
                map
            };
            let figures = Attribution {
                map: Tensor::default(),
                objective_input: value,
                objective_baseline: RNone,
                parameters: RString::from("{}"),
                warnings: RVec::new(),
            };
            R::attribution(map, figures)
        })
        .collect())
}

impl AttributionMethod for Gradient {
    type Options = NoOptions;

    fn attribute(&self, _: &NoOptions, job: &Job<'_>) -> Result<Vec<Attribution>, PluginError> {
        run::<f32>(job, false)
    }

    fn attribute_f64(
        &self,
        _: &NoOptions,
        job: &Job<'_>,
    ) -> Result<Vec<Attribution64>, PluginError> {
        run::<f64>(job, false)
    }

    /// One gradient at the image itself: nothing beyond the model's own reach.
    fn image_reach(&self, _: &NoOptions) -> Option<u32> {
        Some(0)
    }
}

impl AttributionMethod for InputXGradient {
    type Options = NoOptions;

    fn attribute(&self, _: &NoOptions, job: &Job<'_>) -> Result<Vec<Attribution>, PluginError> {
        run::<f32>(job, true)
    }

    fn attribute_f64(
        &self,
        _: &NoOptions,
        job: &Job<'_>,
    ) -> Result<Vec<Attribution64>, PluginError> {
        run::<f64>(job, true)
    }

    /// One gradient at the image itself: nothing beyond the model's own reach.
    fn image_reach(&self, _: &NoOptions) -> Option<u32> {
        Some(0)
    }
}
