//! Plugin components in plain Rust: implement [`SrBackend`] + [`SrModel`],
//! [`AttributionMethod`] or [`PathFn`]; [`crate::export_plugin!`] wraps them into the ABI
//! objects with the panic guard, option parsing and checks of everything they return built
//! in, so a component cannot forget them.

mod backend;
pub mod checks;
mod job;
mod method;
mod model;
mod path;

pub use backend::{backend_box, needs_model_file, ModelRequest, SrBackend};
pub use job::Job;
pub use method::{method_box, AttributionMethod};
pub use model::{model_box, Cotangents, Cotangents64, CotangentsOf, SrModel, SrModelExt};
pub use path::{path_box, PathContext, PathFn};
