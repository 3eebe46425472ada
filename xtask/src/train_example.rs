//! `cargo xtask train-example`: trains the example plugin's network on the test photos and
//! writes `plugins/example-model/weights/fsrcnn-x4.safetensors` (the training code is the
//! plugin's `train` example, so that xtask stays free of candle).

use crate::{cargo, fetch, run, Result};

/// Runs `cargo xtask train-example [--steps N] [--out FILE]`.
pub fn main(args: &[String]) -> Result<()> {
    fetch::photos()?;
    run(cargo()
        .args([
            "run",
            "-p",
            "srlens-plugin-example-model",
            "--example",
            "train",
            "--",
        ])
        .args(args))
}
