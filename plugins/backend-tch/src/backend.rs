//! [`TchBackend`]: the `Backend` that loads TorchScript files.

use srlens_core::abi_stable::sabi_trait::TD_Opaque;
use srlens_core::{Backend, LoadRequest, ModelBox, Model_TO, PluginError, PluginResult};

use crate::model::TchModel;

/// The `tch` backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct TchBackend;

impl Backend for TchBackend {
    fn load(&self, request: &LoadRequest) -> PluginResult<ModelBox> {
        srlens_plugin_kit::guard(|| {
            let model = TchModel::load(
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
