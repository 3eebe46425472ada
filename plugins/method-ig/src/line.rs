//! The straight-line paths `line` and `blur_line`: `p(a) = b + a (x - b)`, derivative `x - b`,
//! in float32 or (a model loaded with `precision = "f64"`) float64.

use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value};
use srlens_core::{abi_stable::std_types::RVec, PathSamples, PathSamples64, PluginError, Tensor64};
use srlens_plugin_kit::{invalid_input, parse_options, PathContext, PathFn, Real};

use crate::{
    baseline::{checked_dims, Baseline, BaselineKeys},
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

    /// Points `range` of `steps` from the baseline to `image` in the precision `R`
    /// (`ctx.image` itself for `f32`; the float64 image whose rounding `ctx.image` is for
    /// `f64`), baseline file names relative to the config's folder.
    pub fn sample_for<R: Real>(
        &self,
        ctx: &PathContext<'_>,
        image: &R::Tensor,
        steps: usize,
        range: Range<usize>,
    ) -> Result<R::Samples, PluginError> {
        self.sample::<R>(
            ctx.what,
            image,
            |name| ctx.resolve_file(name),
            steps,
            range.start,
            range.end,
        )
    }

    /// Points `start..end` of `steps` from the baseline `b` to `image` (`1 x C x H x W`) in
    /// the precision `R`: `b + a_i (x - b)` and `x - b`, each computed in float64 from `x`
    /// and `b` in `R` and rounded once to `R`; `resolve` turns a baseline image's name into a
    /// path.
    pub fn sample<R: Real>(
        &self,
        what: &str,
        image: &R::Tensor,
        resolve: impl Fn(&str) -> PathBuf,
        steps: usize,
        start: usize,
        end: usize,
    ) -> Result<R::Samples, PluginError> {
        let d = checked_dims(what, R::dims(image))?;
        self.quadrature.check(what, steps)?;
        if start > end || end > steps {
            return Err(invalid_input(format!(
                "{what}: asked for points {start}..{end} of a path of {steps}"
            )));
        }
        let b = self.baseline.compute::<R>(what, image, resolve)?;
        let x = R::data(image);
        let diff: Vec<R> = x
            .iter()
            .zip(&b)
            .map(|(&x, &b)| R::from_f64(x.into() - b.into()))
            .collect();
        let n = end - start;
        let per = x.len();
        let mut points = Vec::with_capacity(n * per);
        let mut weights = RVec::with_capacity(n);
        for i in start..end {
            let (a, w) = self.quadrature.point(i, steps);
            points.extend(x.iter().zip(&b).map(|(&x, &b)| {
                let (x, b): (f64, f64) = (x.into(), b.into());
                R::from_f64(b + a * (x - b))
            }));
            weights.push(w);
        }
        let derivatives: Vec<R> = (0..n).flat_map(|_| diff.iter().copied()).collect();
        let mut shape = d.clone();
        shape[0] = n;
        Ok(R::samples(
            R::tensor(shape.clone(), points).expect("n points of the image's shape"),
            R::tensor(shape, derivatives).expect("n copies of x - b"),
            weights,
            R::tensor(d, b).expect("the baseline has the image's shape"),
        ))
    }
}

/// The `line` path function.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinePath;

/// The `blur_line` path function: the straight line from `blur(x, k_sigma)` to `x`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlurLinePath;

/// A straight-line path function over options that resolve to a [`Line`]: both precisions
/// sample the same resolved line.
macro_rules! line_path {
    ($path:ty, $options:ty) => {
        impl PathFn for $path {
            type Options = $options;

            fn check(&self, options: &$options, ctx: &PathContext<'_>) -> Result<(), PluginError> {
                options.resolve(ctx.what).map(drop)
            }

            fn sample(
                &self,
                options: &$options,
                ctx: &PathContext<'_>,
                steps: usize,
                range: Range<usize>,
            ) -> Result<PathSamples, PluginError> {
                options
                    .resolve(ctx.what)?
                    .sample_for::<f32>(ctx, ctx.image, steps, range)
            }

            fn sample_f64(
                &self,
                options: &$options,
                ctx: &PathContext<'_>,
                image: &Tensor64,
                steps: usize,
                range: Range<usize>,
            ) -> Result<PathSamples64, PluginError> {
                options
                    .resolve(ctx.what)?
                    .sample_for::<f64>(ctx, image, steps, range)
            }
        }
    };
}

line_path!(LinePath, LineOptions);
line_path!(BlurLinePath, BlurLineOptions);
