//! [`SrBackend`]: a model loader in plain Rust, wrapped into the ABI by [`backend_box`].

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use srlens_core::{
    abi_stable::sabi_trait::TD_Opaque, Backend, BackendBox, Backend_TO, LoadRequest, ModelBox,
    PluginError, PluginResult,
};

use super::{model_box, SrModel};
use crate::{guard, invalid_config, parse_options};

/// What to load, as plain Rust values.
#[derive(Debug, Clone)]
pub struct ModelRequest {
    what: String,
    /// The model file (absolute, or relative to the working directory), if the config names one.
    pub path: Option<PathBuf>,
    /// The backend's options, a JSON object.
    pub options: String,
    /// Threads the backend may use (0: its default).
    pub threads: u32,
    /// The device, e.g. `cpu`, `cuda:0`.
    pub device: String,
    /// The running config's folder (empty when none), for relative names in options.
    pub config_dir: PathBuf,
}

impl ModelRequest {
    /// The backend's options parsed into `T` (errors name the key).
    pub fn parse_options<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        parse_options(&self.what, &self.options)
    }

    /// The model file, or an error saying that this backend needs one.
    pub fn required_path(&self) -> Result<&PathBuf, PluginError> {
        self.path.as_ref().ok_or_else(|| {
            invalid_config(format!(
                "{} needs a model file: set `model.path`",
                self.what
            ))
            .with_key("model.path")
        })
    }

    /// The backend's name for messages, e.g. "backend `candle`".
    pub fn what(&self) -> &str {
        &self.what
    }
}

/// Loads models of one format.
pub trait SrBackend: Send + Sync + 'static {
    /// The models it loads.
    type Model: SrModel;

    /// Whether a config must name a model file (false for built-in weights).
    const NEEDS_MODEL_FILE: bool = true;

    /// Loads the model `request` describes.
    fn load(&self, request: &ModelRequest) -> Result<Self::Model, PluginError>;
}

struct KitBackend<B> {
    what: String,
    backend: B,
}

impl<B: SrBackend> Backend for KitBackend<B> {
    fn load(&self, request: &LoadRequest) -> PluginResult<ModelBox> {
        guard(|| {
            let request = ModelRequest {
                what: self.what.clone(),
                path: request
                    .path
                    .as_ref()
                    .into_option()
                    .map(|p| PathBuf::from(p.as_str())),
                options: request.options.to_string(),
                threads: request.threads,
                device: request.device.to_string(),
                config_dir: PathBuf::from(request.config_dir.as_str()),
            };
            if B::NEEDS_MODEL_FILE {
                request.required_path()?;
            }
            let model = self.backend.load(&request)?;
            if model.info().scale == 0 {
                return Err(PluginError::new(
                    srlens_core::ErrorKind::ModelLoad,
                    format!(
                        "{}: the model reports scale 0; a scale is at least 1",
                        self.what
                    ),
                ));
            }
            Ok(model_box(model))
        })
    }
}

/// The ABI object of the backend `name` (e.g. `"candle"`).
pub fn backend_box<B: SrBackend>(name: &str, backend: B) -> BackendBox {
    Backend_TO::from_value(
        KitBackend {
            what: format!("backend `{name}`"),
            backend,
        },
        TD_Opaque,
    )
}

/// Whether the backend a constructor makes needs a model file (for [`crate::export_plugin!`]).
pub fn needs_model_file<B: SrBackend>(_constructor: &impl Fn() -> Result<B, PluginError>) -> bool {
    B::NEEDS_MODEL_FILE
}
