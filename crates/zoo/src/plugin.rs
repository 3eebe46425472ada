//! Loading a backend from a plugin library, as the `srlens` host does, to run models.

use std::path::{Path, PathBuf};

use abi_stable::library::lib_header_from_path;
use abi_stable::std_types::{RStr, RString};
use image::RgbImage;
use srlens_core::{ComponentKind, LoadRequest, ModelBox, PluginRef};

use crate::error::{Error, Result};
use crate::images::{from_tensor, to_tensor};

/// A loaded plugin library (never unloaded).
pub struct Plugin {
    /// The library file.
    pub path: PathBuf,
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    module: PluginRef,
}

impl Plugin {
    /// Loads the plugin library at `path`, with abi_stable's layout and version checks.
    pub fn load(path: &Path) -> Result<Plugin> {
        let module = lib_header_from_path(path)
            .and_then(|h| h.init_root_module::<PluginRef>())
            .map_err(|e| {
                let text = e.to_string();
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
                Error::Plugin(format!(
                    "{}: not a loadable srlens plugin (not a plugin, or built for another srlens-core than {}): {first}",
                    path.display(),
                    srlens_core::VERSION
                ))
            })?;
        Ok(Plugin {
            path: path.to_path_buf(),
            name: (module.name())().into(),
            version: (module.version())().into(),
            module,
        })
    }

    /// The names of the backends it provides.
    pub fn backends(&self) -> Vec<String> {
        (self.module.components())()
            .iter()
            .filter(|c| c.kind == ComponentKind::Backend)
            .map(|c| c.name.to_string())
            .collect()
    }

    /// Loads `model` with the backend `backend` and its JSON `options`.
    pub fn load_model(&self, backend: &str, model: &Path, options: &str) -> Result<ModelBox> {
        let fail = |doing: &str, m: &str| {
            Error::Plugin(format!(
                "{} ({}): {doing}: {m}",
                self.name,
                self.path.display()
            ))
        };
        let b = (self.module.new_backend())(RStr::from_str(backend))
            .into_result()
            .map_err(|e| fail(&format!("creating backend `{backend}`"), &e.message))?;
        let request = LoadRequest {
            path: RString::from(model.to_string_lossy().as_ref()),
            options: RString::from(options),
            threads: 0,
            device: RString::from("cpu"),
        };
        b.load(&request)
            .into_result()
            .map_err(|e| fail(&format!("loading {}", model.display()), &e.message))
    }
}

/// Super-resolves `img` with `model` (one forward pass on the whole image), rounded to 8 bits.
pub fn upscale(model: &ModelBox, img: &RgbImage) -> Result<RgbImage> {
    let sr = model.forward(&to_tensor(img)).into_result().map_err(|e| {
        Error::Plugin(format!(
            "{}: forward failed: {}",
            model.info().name,
            e.message
        ))
    })?;
    from_tensor(&sr)
}
