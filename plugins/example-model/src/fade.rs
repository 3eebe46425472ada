//! The `fade` path, the example plugin's own path function: the image fading in from black,
//! `p_i = a_i x` with `a_i = (i + 1/2) / steps` (the midpoint rule), derivative `x`, weights
//! `1 / steps`. Integrated gradients along it is IG with a black baseline and Captum's
//! `riemann_middle` quadrature.

use std::ops::Range;

use serde::Deserialize;
use srlens_core::{abi_stable::std_types::RVec, PathSamples, PluginError, Tensor};
use srlens_plugin_kit::{PathContext, PathFn};

/// `fade` has no options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FadeOptions {}

/// The `fade` path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fade;

impl PathFn for Fade {
    type Options = FadeOptions;

    fn sample(
        &self,
        _: &FadeOptions,
        ctx: &PathContext<'_>,
        steps: usize,
        range: Range<usize>,
    ) -> Result<PathSamples, PluginError> {
        let x = &ctx.image.data;
        let n = range.len();
        let mut points = Vec::with_capacity(n * x.len());
        for i in range {
            let a = (i as f64 + 0.5) / steps as f64;
            points.extend(x.iter().map(|&v| (a * v as f64) as f32));
        }
        let mut dims = ctx.image.dims();
        let baseline = Tensor::zeros(dims.clone());
        dims[0] = n;
        Ok(PathSamples {
            points: Tensor::new(dims.clone(), points).expect("n points"),
            derivatives: Tensor::new(dims, x.repeat(n)).expect("n copies of x"),
            weights: RVec::from(vec![1.0 / steps as f64; n]),
            baseline,
        })
    }
}
