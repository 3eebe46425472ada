//! The session as the registry plugins reach other methods and paths through.

use abi_stable::std_types::{RStr, RVec};
use srlens_core::{
    Attribution, Attribution64, ErrorKind, PathSamples, PathSamples64, PluginError, PluginResult,
    Registry, Tensor, Tensor64,
};

use super::Session;
use crate::error::Error;

/// A host error as seen by the plugin that asked.
fn to_plugin_error(e: Error) -> PluginError {
    match e {
        // An option error of the component asked for is an option error of the caller's,
        // under the same key (LAM's `kernel` is its blur path's `kernel`).
        Error::Option { key, message } => {
            PluginError::new(ErrorKind::InvalidConfig, message).with_key(key)
        }
        e => {
            let kind = match e {
                Error::Config(_) | Error::Plugin(_) => ErrorKind::InvalidConfig,
                Error::Input(_) => ErrorKind::InvalidInput,
                _ => ErrorKind::Backend,
            };
            PluginError::new(kind, e.to_string())
        }
    }
}

impl Registry for Session<'_> {
    fn attribute(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor,
    ) -> PluginResult<RVec<Attribution>> {
        Session::attribute(self, name.as_str(), None, options.as_str(), image)
            .map(RVec::from)
            .map_err(to_plugin_error)
            .into()
    }

    fn sample_path(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples> {
        Session::sample_path(
            self,
            name.as_str(),
            options.as_str(),
            image,
            steps,
            start,
            end,
        )
        .map_err(to_plugin_error)
        .into()
    }

    fn check_method(&self, name: RStr<'_>, options: RStr<'_>, image: &Tensor) -> PluginResult<()> {
        Session::check(self, name.as_str(), None, options.as_str(), image)
            .map_err(to_plugin_error)
            .into()
    }

    fn check_path(&self, name: RStr<'_>, options: RStr<'_>, image: &Tensor) -> PluginResult<()> {
        Session::check_path(self, name.as_str(), options.as_str(), image)
            .map_err(to_plugin_error)
            .into()
    }

    fn attribute_f64(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor64,
    ) -> PluginResult<RVec<Attribution64>> {
        let rounded = image.to_f32();
        Session::attribute_f64(self, name.as_str(), None, options.as_str(), &rounded, image)
            .map(RVec::from)
            .map_err(to_plugin_error)
            .into()
    }

    fn sample_path_f64(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor64,
        steps: u32,
        start: u32,
        end: u32,
    ) -> PluginResult<PathSamples64> {
        Session::sample_path_f64(
            self,
            name.as_str(),
            options.as_str(),
            image,
            steps,
            start,
            end,
        )
        .map_err(to_plugin_error)
        .into()
    }
}
