//! `gradient` (`dD/dx`) and `input_x_gradient` (`x * dD/dx`): one model call each.

use serde::Deserialize;
use srlens_core::{
    abi_stable::std_types::{RNone, RString},
    Attribution, Method, MethodJob, PluginResult,
};
use srlens_plugin_kit::{guard, integrate::input_gradient, parse_options};

use crate::baseline::image_dims;

/// These methods take no options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoOptions {}

/// The `gradient` method: `dD(F(x))/dx`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gradient;

/// The `input_x_gradient` method: `x * dD(F(x))/dx`.
#[derive(Debug, Clone, Copy, Default)]
pub struct InputXGradient;

fn run(
    job: &MethodJob<'_>,
    what: &str,
    times_input: bool,
) -> Result<Attribution, srlens_core::PluginError> {
    parse_options::<NoOptions>(what, &job.options)?;
    image_dims(what, job.image)?;
    job.progress.add_total(1);
    let (mut map, value) = input_gradient(job, job.image)?;
    job.progress.advance(1);
    if times_input {
        for (g, &x) in map.data.iter_mut().zip(job.image.data.iter()) {
            *g *= x;
        }
    }
    Ok(Attribution {
        map,
        objective_input: value,
        objective_baseline: RNone,
        parameters: RString::from("{}"),
    })
}

impl Method for Gradient {
    fn attribute(&self, job: &MethodJob<'_>) -> PluginResult<Attribution> {
        guard(|| run(job, "method `gradient`", false))
    }
}

impl Method for InputXGradient {
    fn attribute(&self, job: &MethodJob<'_>) -> PluginResult<Attribution> {
        guard(|| run(job, "method `input_x_gradient`", true))
    }
}
