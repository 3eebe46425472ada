//! The tch backend: runs TorchScript SR networks with libtorch (through `tch`), with input
//! gradients from libtorch's autograd.
//!
//! - [`TchBackend`] (backend name `tch`) loads TorchScript files (`torch.jit.script(m).save(p)`
//!   or `torch.jit.trace(m, x).save(p)`) into a [`TchModel`], in eval mode, with every
//!   parameter's `requires_grad` off: a gradient call computes `d objective / d input` only.
//! - Only tch's fallible (`f_*`) calls are used, so a libtorch exception becomes a
//!   [`PluginError`](srlens_core::PluginError); every ABI method also runs in
//!   [`srlens_plugin_kit::guard()`].
//!
//! Options (JSON): `input_range = [lo, hi]` (the model's own range, default `[0, 1]`, for its
//! input and its output), `scale` (checked against the factor a 16 x 16 forward pass shows),
//! `channels` (default 3). Threads: `threads > 0` sets libtorch's intra-op thread count (a
//! process-wide setting). Device: `cpu`, `cuda` or `cuda:N`.
//!
//! Threads: libtorch's OpenMP threads spin while they wait; on a machine whose cores are busy
//! with other work this made a batch-1 forward + gradient of esrgan-slim (64 x 64) 13x slower
//! with 2 threads than with 1 (0.85 s against 0.066 s on the shared 2-core build machine).
//! `threads = 1`, or `OMP_WAIT_POLICY=PASSIVE` in the environment of the process that loads
//! the plugin (libgomp reads it when it is loaded), avoids that; `srlens` itself sets
//! `GOMP_SPINCOUNT=100000` too (a short spin before sleeping: sleeping at once made LAM of
//! slim 1.5x slower on a quiet machine) unless the user set either.
//!
//! The receptive field comes from a NaN probe at load time, kept per file in the user cache
//! ([`receptive_cache`]).
//!
//! libtorch 2.13.0 comes from the `torch==2.13.0` wheel in the project's `.venv`
//! (`cargo xtask setup`); the library carries an rpath to its lib folder.

pub mod backend;
pub mod error;
pub mod model;
pub mod options;
pub mod receptive_cache;

pub use backend::TchBackend;
pub use error::{Error, Result};
pub use model::TchModel;
pub use options::Options;

srlens_plugin_kit::export_plugin! {
    name: "tch",
    backends: [(
        "tch",
        "TorchScript models run with libtorch 2.13 (CPU or CUDA)",
        || Ok(TchBackend)
    )],
    methods: [],
    paths: [],
}
