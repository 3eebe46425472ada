//! [`ExampleBackend`]: loads `.safetensors` weights into an [`ExampleModel`].

use std::path::Path;

use srlens_core::abi_stable::sabi_trait::TD_Opaque;
use srlens_core::{Backend, LoadRequest, ModelBox, Model_TO, PluginError, PluginResult};
use srlens_plugin_kit::{guard, parse_options};

use crate::error::Error;
use crate::model::ExampleModel;
use crate::net::Fsrcnn;

/// The backend's options: none yet (unknown keys are refused).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {}

/// The `example-fsrcnn` backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExampleBackend;

impl ExampleBackend {
    /// Loads the model of `request` (a plain Rust call, for tests and tools).
    pub fn load_model(request: &LoadRequest) -> Result<ExampleModel, PluginError> {
        let _: Options = parse_options("backend `example-fsrcnn`", &request.options)?;
        let device = request.device.trim();
        if !(device.is_empty() || device.eq_ignore_ascii_case("cpu")) {
            return Err(Error::Unsupported(format!(
                "device `{device}` is not supported by the example-fsrcnn backend: only `cpu` is"
            ))
            .into());
        }
        let path = Path::new(request.path.as_str());
        let net = Fsrcnn::load(path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(ExampleModel::new(net, &name))
    }
}

impl Backend for ExampleBackend {
    fn load(&self, request: &LoadRequest) -> PluginResult<ModelBox> {
        guard(|| Ok(Model_TO::from_value(Self::load_model(request)?, TD_Opaque)))
    }
}
