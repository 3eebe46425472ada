//! What the fixture check compares a model's output with: the package's own sample
//! `assets/samples/{s}x/result.png`, or, where the package ships none (slim and medium x8),
//! the TensorFlow.js reference that `cargo xtask setup` writes next to the package, made on
//! the top-left [`TFJS_INPUT_SIZE`] pixels of the fixture (written beside it as `input.png`).

use std::path::{Path, PathBuf};

/// Where an expected output comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The package's own `assets/samples/{s}x/result.png`.
    Sample,
    /// The package's network run by TensorFlow.js (`xtask/tfjs/reference.js`).
    TensorFlowJs,
}

impl Source {
    /// A short label for tables: `sample` or `tfjs`.
    pub fn label(self) -> &'static str {
        match self {
            Source::Sample => "sample",
            Source::TensorFlowJs => "tfjs",
        }
    }
}

/// The package's own sample for `scale` (it may not exist).
pub fn sample_png(package_dir: &Path, scale: u32) -> PathBuf {
    package_dir.join(format!("assets/samples/{scale}x/result.png"))
}

/// The TensorFlow.js reference for `scale`: `<package_dir>/../reference/{s}x/result.png`.
pub fn tfjs_reference_png(package_dir: &Path, scale: u32) -> PathBuf {
    package_dir
        .parent()
        .unwrap_or(package_dir)
        .join(format!("reference/{scale}x/result.png"))
}

/// The side of the fixture crop the x8 TensorFlow.js references are made on: TensorFlow.js's
/// CPU backend takes minutes for the whole 128 x 128 fixture at x8.
pub const TFJS_INPUT_SIZE: u32 = 64;

/// The input the TensorFlow.js reference for `scale` was made from (`input.png` beside it).
pub fn tfjs_input_png(package_dir: &Path, scale: u32) -> PathBuf {
    tfjs_reference_png(package_dir, scale).with_file_name("input.png")
}

/// The input and the expected output for `scale`: the package's fixture and its sample
/// when the package ships one, else the crop and the TensorFlow.js reference.
pub fn expected(package_dir: &Path, scale: u32) -> (PathBuf, PathBuf, Source) {
    let (png, source) = expected_png(package_dir, scale);
    let input = match source {
        Source::Sample => package_dir.join("assets/fixture.png"),
        Source::TensorFlowJs => tfjs_input_png(package_dir, scale),
    };
    (input, png, source)
}

/// The expected output for `scale`: the sample when the package ships one, else the
/// TensorFlow.js reference.
pub fn expected_png(package_dir: &Path, scale: u32) -> (PathBuf, Source) {
    let sample = sample_png(package_dir, scale);
    if sample.exists() {
        (sample, Source::Sample)
    } else {
        (tfjs_reference_png(package_dir, scale), Source::TensorFlowJs)
    }
}
