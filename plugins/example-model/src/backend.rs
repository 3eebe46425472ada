//! [`ExampleBackend`]: loads `.safetensors` weights into an [`ExampleModel`].

use srlens_core::PluginError;
use srlens_plugin_kit::{ModelRequest, SrBackend};

use crate::error::Error;
use crate::model::ExampleModel;
use crate::net::Fsrcnn;

/// The trained weights shipped inside the plugin: used when the config names no file.
pub const BUILT_IN_WEIGHTS: &[u8] = include_bytes!("../weights/fsrcnn-x4.safetensors");

/// The backend's options: none.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {}

/// The `example-fsrcnn` backend: `model.path` names a `.safetensors` weights file, or is left
/// out for the built-in trained weights.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExampleBackend;

impl SrBackend for ExampleBackend {
    type Model = ExampleModel;

    /// The weights are built in: a config may name no file.
    const NEEDS_MODEL_FILE: bool = false;

    fn load(&self, request: &ModelRequest) -> Result<ExampleModel, PluginError> {
        let _: Options = request.parse_options()?;
        let device = request.device.trim();
        if !(device.is_empty() || device.eq_ignore_ascii_case("cpu")) {
            return Err(Error::Unsupported(format!(
                "device `{device}` is not supported by the example-fsrcnn backend: only `cpu` is"
            ))
            .into());
        }
        match &request.path {
            Some(path) => {
                let net = Fsrcnn::load(path)?;
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok(ExampleModel::new(net, &name))
            }
            None => Ok(ExampleModel::new(
                Fsrcnn::from_bytes(BUILT_IN_WEIGHTS)?,
                "fsrcnn-x4 (built in)",
            )),
        }
    }
}
