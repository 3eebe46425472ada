//! An example of a third-party srlens plugin with one component of each kind, written only
//! with the plain-Rust traits of `srlens-plugin-kit` (the kit wraps them into the ABI of
//! `srlens-core`, with the panic guard, option parsing and result checks built in):
//!
//! - backend `example-fsrcnn` ([`backend::ExampleBackend`], an `SrBackend`): a small
//!   FSRCNN-like x4 network written directly in candle ([`net::Fsrcnn`]; the model,
//!   [`model::ExampleModel`], is an `SrModel`: `forward` and `vjp`), with trained weights built
//!   in or read from a `.safetensors` file;
//! - method `occlusion` ([`occlusion::Occlusion`], an `AttributionMethod`);
//! - path `fade` ([`fade::Fade`], a `PathFn`).
//!
//! See README.md for building, installing and configuring the plugin.

pub mod backend;
pub mod error;
pub mod fade;
pub mod model;
pub mod net;
pub mod occlusion;

pub use backend::ExampleBackend;
pub use error::{Error, Result};
pub use fade::Fade;
pub use model::ExampleModel;
pub use net::Fsrcnn;
pub use occlusion::Occlusion;

srlens_plugin_kit::export_plugin! {
    name: "example-model",
    backends: [(
        "example-fsrcnn",
        "a small FSRCNN-like x4 network in candle; model.path is a .safetensors weights file (optional: trained weights are built in)",
        || Ok(ExampleBackend)
    )],
    methods: [(
        "occlusion",
        "the objective's drop when each square patch of the input is occluded (Zeiler & Fergus 2014)",
        || Ok(Occlusion)
    )],
    paths: [(
        "fade",
        "the image fading in from black, a_i x with midpoint a_i (IG's black baseline, riemann_middle)",
        || Ok(Fade)
    )],
}
