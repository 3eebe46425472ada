//! [`CandleBackend`]: the `Backend` that loads ONNX files.

use srlens_core::PluginError;
use srlens_plugin_kit::{ModelRequest, SrBackend};

use crate::model::CandleModel;

/// The `candle` backend: loads ONNX files.
#[derive(Debug, Clone, Copy, Default)]
pub struct CandleBackend;

impl SrBackend for CandleBackend {
    type Model = CandleModel;

    fn load(&self, request: &ModelRequest) -> Result<CandleModel, PluginError> {
        let path = request.required_path()?;
        CandleModel::load(
            &path.to_string_lossy(),
            &request.options,
            request.threads,
            &request.device,
        )
        .map_err(PluginError::from)
    }
}
