//! An example of a third-party srlens plugin: a backend (`example-fsrcnn`) that runs a small
//! FSRCNN-like x4 super-resolution network written directly in candle, with its weights read
//! from a `.safetensors` file. It is built only against `srlens-core` (the ABI),
//! `srlens-plugin-kit` (export macro, panic guard, options) and candle.
//!
//! - [`net::Fsrcnn`]: the network (`forward` is differentiable with candle's autograd).
//! - [`model::ExampleModel`]: the network behind the `Model` ABI (forward, input gradients).
//! - [`backend::ExampleBackend`]: the `Backend` that loads weights files.
//!
//! See README.md for building, installing and configuring the plugin.

pub mod backend;
pub mod error;
pub mod model;
pub mod net;

pub use backend::ExampleBackend;
pub use error::{Error, Result};
pub use model::ExampleModel;
pub use net::Fsrcnn;

srlens_plugin_kit::export_plugin! {
    name: "example-model",
    backends: [(
        "example-fsrcnn",
        "a small FSRCNN-like x4 network in candle; model.path is its .safetensors weights file",
        || Ok(ExampleBackend)
    )],
    methods: [],
    paths: [],
}
