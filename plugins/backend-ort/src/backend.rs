//! [`OrtBackend`]: the `Backend` that loads ONNX files into ONNX Runtime.

use srlens_core::PluginError;
use srlens_plugin_kit::{ModelRequest, SrBackend};

use crate::model::OrtModel;

/// The `ort` backend: loads ONNX files.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrtBackend;

impl SrBackend for OrtBackend {
    type Model = OrtModel;

    fn load(&self, request: &ModelRequest) -> Result<OrtModel, PluginError> {
        let path = request.required_path()?;
        OrtModel::load(
            path,
            &request.options,
            request.threads,
            &request.device,
            &request.config_dir,
        )
        .map_err(PluginError::from)
    }
}
