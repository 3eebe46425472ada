//! [`CandleBackend`]: the `Backend` that loads ONNX files.

use srlens_core::abi_stable::sabi_trait::TD_Opaque;
use srlens_core::{Backend, LoadRequest, ModelBox, Model_TO, PluginError, PluginResult};

use crate::model::CandleModel;

/// The `candle` backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct CandleBackend;

impl Backend for CandleBackend {
    fn load(&self, request: &LoadRequest) -> PluginResult<ModelBox> {
        srlens_plugin_kit::guard(|| {
            let model = CandleModel::load(
                &request.path,
                &request.options,
                request.threads,
                &request.device,
            )
            .map_err(PluginError::from)?;
            Ok(Model_TO::from_value(model, TD_Opaque))
        })
    }
}
