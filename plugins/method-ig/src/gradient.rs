//! `gradient` (`dD/dx`) and `input_x_gradient` (`x * dD/dx`): one model call each.

use serde::Deserialize;
use srlens_core::{
    abi_stable::std_types::{RNone, RString, RVec},
    Attribution, PluginError,
};
use srlens_plugin_kit::{integrate::input_gradients, AttributionMethod, Job};

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

fn run(job: &Job<'_>, times_input: bool) -> Result<Vec<Attribution>, PluginError> {
    image_dims(job.what(), job.image())?;
    job.add_total(1);
    let grads = input_gradients::<f32>(job, job.image())?;
    job.advance(1);
    Ok(grads
        .into_iter()
        .map(|(mut map, value)| {
            if times_input {
                for (g, &x) in map.data.iter_mut().zip(job.image().data.iter()) {
                    *g *= x;
                }
            }
            Attribution {
                map,
                objective_input: value,
                objective_baseline: RNone,
                parameters: RString::from("{}"),
                warnings: RVec::new(),
            }
        })
        .collect())
}

impl AttributionMethod for Gradient {
    type Options = NoOptions;

    fn attribute(&self, _: &NoOptions, job: &Job<'_>) -> Result<Vec<Attribution>, PluginError> {
        run(job, false)
    }
}

impl AttributionMethod for InputXGradient {
    type Options = NoOptions;

    fn attribute(&self, _: &NoOptions, job: &Job<'_>) -> Result<Vec<Attribution>, PluginError> {
        run(job, true)
    }
}
