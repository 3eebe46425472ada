//! The Candle backend: runs ONNX SR networks in pure Rust, with input gradients from the
//! gradient graphs `srlens_onnx::autodiff` generates (run by the same interpreter), or from
//! candle's autograd.
//!
//! - [`CandleBackend`] (backend name `candle`) loads `.onnx` files into a [`CandleModel`].
//! - [`Interpreter`] walks the graph's nodes in order; [`SUPPORTED_OPS`] lists the operators.
//!   Every node is checked at load time, so an unsupported operator is reported before any
//!   work, with the node's name.
//! - Convolutions use a custom op ([`conv`]) whose backward pass computes the input gradient
//!   only (weights are constants: no weight gradients are ever computed). In f32 with
//!   stride 1 both passes run [`conv_f32`]'s kernels (direct AVX2, or im2col + gemm) on the
//!   model's thread pool.
//!
//! Options (JSON): `input_range = [lo, hi]` overrides the file's `srlens.input_range` metadata
//! (default `[0, 1]`); `gradient = "graph" | "autograd"` chooses how input gradients are
//! computed (default: the one measured faster, the generated graphs for convolutional
//! networks and autograd for transformers, or autograd for a model with an operator that has
//! no gradient rule; see [`Options`]).
//! Threads: a `threads > 0` load request runs the model's work in a rayon pool of that size
//! (candle's gemm then runs in that pool). Device: `cpu` only.

pub mod backend;
pub mod conv;
pub mod conv_f32;
pub mod convert;
pub mod error;
pub mod interp;
pub mod model;
pub mod ops;
pub mod upsample;

pub use backend::CandleBackend;
pub use error::{Error, Result};
pub use interp::Interpreter;
pub use model::{default_gradient, CandleModel, GradientMode, Options};
pub use ops::SUPPORTED_OPS;

srlens_plugin_kit::export_plugin! {
    name: "candle",
    backends: [(
        "candle",
        "ONNX models run in pure Rust with candle (the embedded default)",
        || Ok(CandleBackend)
    )],
    methods: [],
    paths: [],
}
