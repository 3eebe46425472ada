//! The straight-line paths `line` and `blur_line`: `p(a) = b + a (x - b)`, derivative `x - b`.

use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value};
use srlens_core::{abi_stable::std_types::RVec, PathSamples, PluginError, Tensor};
use srlens_plugin_kit::{invalid_input, parse_options, PathContext, PathFn};

use crate::{
    baseline::{image_dims, Baseline, BaselineKeys},
    quadrature::Quadrature,
};

/// Options of the `line` path.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineOptions {
    /// The quadrature rule (default `gausslegendre`).
    #[serde(default)]
    pub quadrature: Quadrature,
    /// The baseline: `black` (default), `blur`, `noise`, `constant`, an image file name, or
    /// `{ image = "path" }`.
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

/// Options of the `blur_line` path.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlurLineOptions {
    /// The quadrature rule (default `gausslegendre`).
    #[serde(default)]
    pub quadrature: Quadrature,
    /// Blur of the baseline (default 1.2).
    pub sigma: Option<f64>,
    /// Kernel side (default 9).
    pub kernel: Option<usize>,
}

/// A checked straight line: a baseline and a quadrature rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The start of the path.
    pub baseline: Baseline,
    /// How the points and weights are placed on `[0, 1]`.
    pub quadrature: Quadrature,
}

impl LineOptions {
    /// Parses and checks the `line` path's options; `what` names the caller in errors.
    pub fn parse(what: &str, json: &str) -> Result<Line, PluginError> {
        parse_options::<LineOptions>(what, json)?.resolve(what)
    }

    /// Checks the options.
    pub fn resolve(&self, what: &str) -> Result<Line, PluginError> {
        let keys = BaselineKeys {
            baseline: self.baseline.clone(),
            sigma: self.sigma,
            kernel: self.kernel,
            seed: self.seed,
            value: self.value,
        };
        Ok(Line {
            baseline: keys.resolve(what)?,
            quadrature: self.quadrature,
        })
    }
}

impl BlurLineOptions {
    /// Parses and checks the `blur_line` path's options.
    pub fn parse(what: &str, json: &str) -> Result<Line, PluginError> {
        parse_options::<BlurLineOptions>(what, json)?.resolve(what)
    }

    /// Checks the options: the line from the blurred input.
    pub fn resolve(&self, what: &str) -> Result<Line, PluginError> {
        LineOptions {
            quadrature: self.quadrature,
            baseline: Some(Value::String("blur".into())),
            sigma: self.sigma,
            kernel: self.kernel,
            ..LineOptions::default()
        }
        .resolve(what)
    }
}

impl Line {
    /// The options that rebuild this line through the `line` path, defaults filled in.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = self.baseline.to_json();
        m.insert("quadrature".into(), self.quadrature.name().into());
        m
    }

    /// Points `range` of `steps` from the baseline to the image of a path function's `ctx`
    /// (baseline file names relative to the config's folder).
    pub fn sample_for(
        &self,
        ctx: &PathContext<'_>,
        steps: usize,
        range: Range<usize>,
    ) -> Result<PathSamples, PluginError> {
        self.sample(
            ctx.what,
            ctx.image,
            |name| ctx.resolve_file(name),
            steps,
            range.start,
            range.end,
        )
    }

    /// Points `start..end` of `steps` from the baseline to `image` (`1 x C x H x W`);
    /// `resolve` turns a baseline image's name into a path.
    pub fn sample(
        &self,
        what: &str,
        image: &Tensor,
        resolve: impl Fn(&str) -> PathBuf,
        steps: usize,
        start: usize,
        end: usize,
    ) -> Result<PathSamples, PluginError> {
        let d = image_dims(what, image)?;
        self.quadrature.check(what, steps)?;
        if start > end || end > steps {
            return Err(invalid_input(format!(
                "{what}: asked for points {start}..{end} of a path of {steps}"
            )));
        }
        let b = self.baseline.compute(what, image, resolve)?;
        let x = &image.data;
        let diff: Vec<f32> = x.iter().zip(&b).map(|(&x, &b)| x - b).collect();
        let n = end - start;
        let per = x.len();
        let mut points = Vec::with_capacity(n * per);
        let mut weights = RVec::with_capacity(n);
        for i in start..end {
            let (a, w) = self.quadrature.point(i, steps);
            points.extend(
                x.iter()
                    .zip(&b)
                    .map(|(&x, &b)| (b as f64 + a * (x as f64 - b as f64)) as f32),
            );
            weights.push(w);
        }
        let derivatives: Vec<f32> = (0..n).flat_map(|_| diff.iter().copied()).collect();
        let mut shape = d.clone();
        shape[0] = n;
        Ok(PathSamples {
            points: Tensor::new(shape.clone(), points).expect("n points of the image's shape"),
            derivatives: Tensor::new(shape, derivatives).expect("n copies of x - b"),
            weights,
            baseline: Tensor::new(d, b).expect("the baseline has the image's shape"),
        })
    }
}

/// The `line` path function.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinePath;

impl PathFn for LinePath {
    type Options = LineOptions;

    fn check(&self, options: &LineOptions, ctx: &PathContext<'_>) -> Result<(), PluginError> {
        options.resolve(ctx.what).map(drop)
    }

    fn sample(
        &self,
        options: &LineOptions,
        ctx: &PathContext<'_>,
        steps: usize,
        range: Range<usize>,
    ) -> Result<PathSamples, PluginError> {
        options.resolve(ctx.what)?.sample_for(ctx, steps, range)
    }
}

/// The `blur_line` path function: the straight line from `blur(x, k_sigma)` to `x`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlurLinePath;

impl PathFn for BlurLinePath {
    type Options = BlurLineOptions;

    fn check(&self, options: &BlurLineOptions, ctx: &PathContext<'_>) -> Result<(), PluginError> {
        options.resolve(ctx.what).map(drop)
    }

    fn sample(
        &self,
        options: &BlurLineOptions,
        ctx: &PathContext<'_>,
        steps: usize,
        range: Range<usize>,
    ) -> Result<PathSamples, PluginError> {
        options.resolve(ctx.what)?.sample_for(ctx, steps, range)
    }
}
