//! [`TchBackend`]: the `Backend` that loads TorchScript files.

use srlens_core::PluginError;
use srlens_plugin_kit::{ModelRequest, SrBackend};

use crate::model::TchModel;

/// The `tch` backend: loads TorchScript files.
#[derive(Debug, Clone, Copy, Default)]
pub struct TchBackend;

impl SrBackend for TchBackend {
    type Model = TchModel;

    fn load(&self, request: &ModelRequest) -> Result<TchModel, PluginError> {
        let path = request.required_path()?;
        TchModel::load(
            &path.to_string_lossy(),
            &request.options,
            request.threads,
            &request.device,
        )
        .map_err(PluginError::from)
    }
}
