//! The ONNX Runtime backend: runs ONNX SR networks with ONNX Runtime 1.31 (through `ort`),
//! with input gradients from a VJP graph generated from the model (`srlens_onnx::autodiff`),
//! since ONNX Runtime has no gradients of its own.
//!
//! - [`OrtBackend`] (backend name `ort`) loads `.onnx` files into an [`OrtModel`]: one
//!   session for the forward pass; on the first gradient call a forward graph that also
//!   returns the saved activations and a backward graph, each in a session, read from
//!   [`cache`] or generated and stored there. A model whose graph has an operator without a
//!   gradient rule still runs forward; its gradient call reports the operator.
//! - [`runtime`] loads the library once per process with `ort::init_from` (ort's
//!   `load-dynamic`): the option `library`, else `ORT_DYLIB_PATH`, else the one `cargo xtask
//!   setup` installs in `.venv`. A missing or wrong library is an error with the fix, never a
//!   panic.
//! - [`run_graph`] / [`GraphSession`] run any graph in ONNX Runtime on the CPU (tests of the
//!   generated graphs use them).
//!
//! Options (JSON): `library = "path"` (relative to the config's folder), `optimization =
//! "disable" | "basic" | "extended" | "all"` (default `all`), `input_range = [lo, hi]`
//! (overrides the file's `srlens.input_range` metadata, default `[0, 1]`). Threads:
//! `threads > 0` sets ONNX Runtime's intra-op threads. Device: `cpu`, `cuda` or `cuda:N` (the
//! CUDA execution provider, when the library has it).

pub mod backend;
pub mod cache;
pub mod error;
pub mod gradient;
pub mod model;
pub mod options;
pub mod runtime;
pub mod tensor;

pub use backend::OrtBackend;
pub use error::{Error, Result};
pub use model::OrtModel;
pub use options::Options;
pub use tensor::{run_graph, GraphSession};

srlens_plugin_kit::export_plugin! {
    name: "ort",
    backends: [(
        "ort",
        "ONNX models run with ONNX Runtime 1.31 (CPU or CUDA), gradients through a generated VJP graph",
        || Ok(OrtBackend)
    )],
    methods: [],
    paths: [],
}
