//! `srlens-host`: the srlens host as a library, used by the `srlens` binary, `xtask` and any
//! other front end (a study runner, a server).
//!
//! Data flows one way: [`config`] (the TOML file, checked and located) -> [`plugins`]
//! (discovery, loading, refusals) -> [`session`] (the registry methods call through, with a
//! check of everything plugins return) with the [`objective`]s and the model [`crop`]ped to
//! the windows' receptive field -> [`run`] (the config-to-job
//! step and the outputs) -> [`sanity`] (runs of the same config with the network's layers
//! randomised, and the maps compared).

pub mod allocator;
pub mod config;
pub mod crop;
pub mod error;
pub mod faithfulness;
pub mod machine;
pub mod objective;
pub mod openmp;
pub mod plugins;
pub mod run;
pub mod sanity;
pub mod session;

pub use error::{Error, Result};
pub use plugins::{call_error, plugin_files, LoadedPlugin, PluginDirs, PluginHost, RefusedPlugin};
pub use run::{run, Observer, ProgressSink, RunArgs, Silent};
pub use sanity::{sanity, SanityArgs};
