//! [`PathFn`]: a path function in plain Rust, wrapped into the ABI by [`path_box`].

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use srlens_core::{
    abi_stable::{sabi_trait::TD_Opaque, std_types::RStr},
    PathBox, PathFunction, PathFunction_TO, PathSamples, PathSamples64, PluginError, PluginResult,
    Tensor, Tensor64,
};

use super::checks;
use crate::{guard, invalid_input, parse_options};

/// The image a path leads to and the config folder its file names are relative to.
#[derive(Debug, Clone, Copy)]
pub struct PathContext<'a> {
    /// The image, `1 x C x H x W` (checked).
    pub image: &'a Tensor,
    /// The path's name for messages, e.g. "path `line`".
    pub what: &'a str,
    config_dir: &'a str,
}

impl PathContext<'_> {
    /// `name` as a path: absolute as is, else relative to the running config's folder.
    pub fn resolve_file(&self, name: &str) -> PathBuf {
        resolve(self.config_dir, name)
    }
}

/// `name` relative to `config_dir` (when relative and a folder is known).
pub(crate) fn resolve(config_dir: &str, name: &str) -> PathBuf {
    let path = Path::new(name);
    if path.is_relative() && !config_dir.is_empty() {
        Path::new(config_dir).join(path)
    } else {
        path.to_path_buf()
    }
}

/// A path from a baseline to an image. The kit parses [`Self::Options`], runs everything in
/// the panic guard and checks the samples' shapes, weights and finiteness.
pub trait PathFn: Send + Sync + 'static {
    /// The path's options (use `#[serde(deny_unknown_fields)]` and serde defaults).
    type Options: DeserializeOwned;

    /// Checks parsed options for a path to `ctx.image` without sampling.
    fn check(&self, options: &Self::Options, ctx: &PathContext<'_>) -> Result<(), PluginError> {
        let _ = (options, ctx);
        Ok(())
    }

    /// Points `range` of a path of `steps` points from the baseline to `ctx.image`.
    fn sample(
        &self,
        options: &Self::Options,
        ctx: &PathContext<'_>,
        steps: usize,
        range: Range<usize>,
    ) -> Result<PathSamples, PluginError>;

    /// [`sample`](Self::sample) in float64, to `image` (`ctx.image` is its `f32` rounding,
    /// for checks and messages); the default answers that the path is float32 only.
    fn sample_f64(
        &self,
        options: &Self::Options,
        ctx: &PathContext<'_>,
        image: &Tensor64,
        steps: usize,
        range: Range<usize>,
    ) -> Result<PathSamples64, PluginError> {
        let _ = (options, image, steps, range);
        Err(PluginError::float64_unsupported(ctx.what))
    }
}

struct KitPath<P> {
    what: String,
    path: P,
}

impl<P: PathFn> KitPath<P> {
    fn parsed<'a>(
        &'a self,
        image: &'a Tensor,
        options: &str,
        config_dir: &'a str,
    ) -> Result<(P::Options, PathContext<'a>), PluginError> {
        let d = image.dims();
        if d.len() != 4
            || d[0] != 1
            || image.is_empty()
            || image.len() != d.iter().product::<usize>()
        {
            return Err(invalid_input(format!(
                "{}: expected one image 1 x C x H x W, got shape {d:?}",
                self.what
            )));
        }
        let options: P::Options = parse_options(&self.what, options)?;
        let ctx = PathContext {
            image,
            what: &self.what,
            config_dir,
        };
        self.path.check(&options, &ctx)?;
        Ok((options, ctx))
    }
}

impl<P: PathFn> KitPath<P> {
    /// `steps` and the points `start..end` asked for, checked.
    fn points(
        &self,
        steps: u32,
        start: u32,
        end: u32,
    ) -> Result<(usize, Range<usize>), PluginError> {
        let (steps, start, end) = (steps as usize, start as usize, end as usize);
        if steps == 0 {
            return Err(invalid_input(format!(
                "{}: a path needs at least 1 point (`steps` >= 1), got 0",
                self.what
            ))
            .with_key("steps"));
        }
        if start >= end || end > steps {
            return Err(invalid_input(format!(
                "{}: points {start}..{end} of a path of {steps} points do not exist",
                self.what
            )));
        }
        Ok((steps, start..end))
    }
}

impl<P: PathFn> PathFunction for KitPath<P> {
    fn check(&self, image: &Tensor, options: RStr<'_>, config_dir: RStr<'_>) -> PluginResult<()> {
        guard(|| {
            self.parsed(image, options.as_str(), config_dir.as_str())
                .map(drop)
        })
    }

    fn sample(
        &self,
        image: &Tensor,
        options: RStr<'_>,
        config_dir: RStr<'_>,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples> {
        guard(|| {
            let (options, ctx) = self.parsed(image, options.as_str(), config_dir.as_str())?;
            let (steps, range) = self.points(steps, start, end)?;
            let n = range.len();
            let s = self.path.sample(&options, &ctx, steps, range)?;
            checks::samples::<f32>(&self.what, image, n, &s)?;
            Ok(s)
        })
    }

    fn sample_f64(
        &self,
        image: &Tensor64,
        options: RStr<'_>,
        config_dir: RStr<'_>,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples64> {
        guard(|| {
            let rounded = image.to_f32();
            let (options, ctx) = self.parsed(&rounded, options.as_str(), config_dir.as_str())?;
            let (steps, range) = self.points(steps, start, end)?;
            let n = range.len();
            let s = self.path.sample_f64(&options, &ctx, image, steps, range)?;
            checks::samples::<f64>(&self.what, image, n, &s)?;
            Ok(s)
        })
    }
}

/// The ABI object of the path `name` (e.g. `"blur"`).
pub fn path_box(name: &str, path: impl PathFn) -> PathBox {
    PathFunction_TO::from_value(
        KitPath {
            what: format!("path `{name}`"),
            path,
        },
        TD_Opaque,
    )
}
