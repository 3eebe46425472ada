//! Plugin libraries: finds them, loads them with abi_stable's checks (a refused file gets
//! one paragraph saying why), and resolves backends, methods and paths by name.

mod discovery;
mod refusal;

pub use discovery::{plugin_files, PluginDirs};

use std::path::{Path, PathBuf};

use abi_stable::std_types::{RStr, RString};
use srlens_core::{
    BackendBox, ComponentInfo, ComponentKind, LoadRequest, MethodBox, ModelBox, PathBox,
    PluginError, PluginRef,
};

use crate::error::{Error, Result};

/// A plugin library that loaded.
pub struct LoadedPlugin {
    /// The library file.
    pub path: PathBuf,
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// What it provides.
    pub components: Vec<ComponentInfo>,
    module: PluginRef,
}

/// A library that was refused, and why.
pub struct RefusedPlugin {
    /// The library file.
    pub path: PathBuf,
    /// One paragraph: the reason.
    pub reason: String,
    /// abi_stable's full report (a layout dump), shown on request.
    pub details: String,
}

/// Every plugin found, loaded or refused.
pub struct PluginHost {
    /// The plugins that loaded.
    pub loaded: Vec<LoadedPlugin>,
    /// The files that were refused.
    pub refused: Vec<RefusedPlugin>,
    /// The plugin folders asked for (`--plugin-dir`, SRLENS_PLUGIN_PATH) that do not exist.
    pub missing_dirs: Vec<PathBuf>,
}

impl PluginHost {
    /// Loads every plugin library found in `dirs`. Never unloads them (abi_stable's rule).
    pub fn load(dirs: &PluginDirs) -> PluginHost {
        let mut host = PluginHost {
            loaded: Vec::new(),
            refused: Vec::new(),
            missing_dirs: discovery::missing_dirs(dirs),
        };
        for path in plugin_files(dirs) {
            match load_file(&path) {
                Ok(p) => host.loaded.push(p),
                Err(r) => host.refused.push(r),
            }
        }
        host
    }

    /// Every plugin that provides a `kind` component called `name`.
    pub fn providers(&self, kind: ComponentKind, name: &str) -> Vec<&LoadedPlugin> {
        self.loaded
            .iter()
            .filter(|p| {
                p.components
                    .iter()
                    .any(|c| c.kind == kind && c.name.as_str() == name)
            })
            .collect()
    }

    /// The names of every `kind` component loaded, sorted, without repeats.
    pub fn names(&self, kind: ComponentKind) -> Vec<String> {
        let mut v: Vec<String> = self
            .loaded
            .iter()
            .flat_map(|p| p.components.iter())
            .filter(|c| c.kind == kind)
            .map(|c| c.name.to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The one plugin that provides `name` (or the one called `plugin`, when given).
    pub fn resolve(
        &self,
        kind: ComponentKind,
        name: &str,
        plugin: Option<&str>,
    ) -> Result<&LoadedPlugin> {
        let all = self.providers(kind, name);
        let kind_s = kind.as_str();
        let candidates: Vec<&LoadedPlugin> = match plugin {
            Some(p) => all.iter().copied().filter(|l| l.is_called(p)).collect(),
            None => all.clone(),
        };
        match candidates.as_slice() {
            [one] => Ok(one),
            [] if all.is_empty() => {
                let loaded = self.names(kind);
                let mut msg = format!(
                    "unknown {kind_s} `{name}`; the loaded plugins provide: {}.",
                    if loaded.is_empty() {
                        "none".to_string()
                    } else {
                        loaded.join(", ")
                    }
                );
                if !self.refused.is_empty() {
                    msg.push_str(&format!(
                        " {} plugin file(s) were refused; `srlens plugins` says why.",
                        self.refused.len()
                    ));
                }
                for d in &self.missing_dirs {
                    msg.push_str(&format!(
                        " The plugin folder {} does not exist.",
                        d.display()
                    ));
                }
                if self.loaded.is_empty() {
                    msg.push_str(" No plugin was found: build them (`cargo build --workspace`) or point `--plugin-dir` / SRLENS_PLUGIN_PATH at them.");
                }
                Err(Error::Plugin(msg))
            }
            [] => Err(Error::Plugin(format!(
                "no plugin called `{}` provides the {kind_s} `{name}`; it is provided by: {}",
                plugin.unwrap_or_default(),
                all.iter()
                    .map(|p| format!("`{}` ({})", p.name, p.path.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            many => {
                let same_name = many
                    .iter()
                    .any(|a| many.iter().filter(|b| b.name == a.name).count() > 1);
                let how = if same_name {
                    "`plugin = \"FILE\"` (the library's file name or path: plugins of the same name are told apart by their files)"
                } else {
                    "`plugin = \"NAME\"`"
                };
                Err(Error::Plugin(format!(
                    "the {kind_s} `{name}` is provided by {} plugins: {}; say which with {how} in its config table",
                    many.len(),
                    many.iter().map(|p| format!("`{}` {} ({})", p.name, p.version, p.path.display())).collect::<Vec<_>>().join(", ")
                )))
            }
        }
    }

    /// The component `name` of `kind` that `plugin` provides, as it describes itself.
    pub fn component(
        &self,
        plugin: &LoadedPlugin,
        kind: ComponentKind,
        name: &str,
    ) -> Option<ComponentInfo> {
        plugin
            .components
            .iter()
            .find(|c| c.kind == kind && c.name.as_str() == name)
            .cloned()
    }

    /// Creates the backend `name`.
    pub fn backend(&self, name: &str, plugin: Option<&str>) -> Result<(BackendBox, &LoadedPlugin)> {
        let p = self.resolve(ComponentKind::Backend, name, plugin)?;
        let b = (p.module.new_backend())(RStr::from_str(name)).into_result();
        Ok((
            b.map_err(|e| call_error(p, "creating backend", name, e))?,
            p,
        ))
    }

    /// Creates the method `name`.
    pub fn method(&self, name: &str, plugin: Option<&str>) -> Result<(MethodBox, &LoadedPlugin)> {
        let p = self.resolve(ComponentKind::Method, name, plugin)?;
        let m = (p.module.new_method())(RStr::from_str(name)).into_result();
        Ok((m.map_err(|e| call_error(p, "creating method", name, e))?, p))
    }

    /// Creates the path function `name` (of the plugin called `plugin`, when given).
    pub fn path(&self, name: &str, plugin: Option<&str>) -> Result<(PathBox, &LoadedPlugin)> {
        let p = self.resolve(ComponentKind::Path, name, plugin)?;
        let f = (p.module.new_path())(RStr::from_str(name)).into_result();
        Ok((f.map_err(|e| call_error(p, "creating path", name, e))?, p))
    }
}

/// An error from a plugin call, with the plugin's name and file; an option error keeps the
/// option's key so that the caller can place it in the config.
pub fn call_error(p: &LoadedPlugin, doing: &str, what: &str, e: PluginError) -> Error {
    let message = format!(
        "plugin `{}` ({}) failed {doing} `{what}`: {} ({})",
        p.name,
        p.path.display(),
        e.message,
        e.kind_str()
    );
    match e.key.into_option() {
        Some(key) => Error::Option {
            key: key.into(),
            message,
        },
        None => Error::PluginCall(message),
    }
}

impl LoadedPlugin {
    /// Whether `plugin` (a config's `plugin = "..."`) names this plugin: its name, its
    /// library's file name or a path ending in its file.
    pub fn is_called(&self, plugin: &str) -> bool {
        self.name == plugin || (!plugin.is_empty() && self.path.ends_with(plugin))
    }

    /// Whether the plugin provides the `kind` component `name`.
    pub fn provides(&self, kind: ComponentKind, name: &str) -> bool {
        self.components
            .iter()
            .any(|c| c.kind == kind && c.name.as_str() == name)
    }

    /// Loads `model` (or the backend's built-in model) with the plugin's backend `backend`
    /// and its JSON `options`, on the CPU with the backend's default threads.
    pub fn load_model(
        &self,
        backend: &str,
        model: Option<&Path>,
        options: &str,
    ) -> Result<ModelBox> {
        let b = (self.module.new_backend())(RStr::from_str(backend))
            .into_result()
            .map_err(|e| call_error(self, "creating backend", backend, e))?;
        let request = LoadRequest {
            path: model
                .map(|m| RString::from(m.to_string_lossy().as_ref()))
                .into(),
            options: RString::from(options),
            threads: 0,
            device: RString::from("cpu"),
            config_dir: RString::new(),
        };
        let what = model.map_or_else(|| backend.to_string(), |m| m.display().to_string());
        b.load(&request)
            .into_result()
            .map_err(|e| call_error(self, "loading model", &what, e))
    }
}

/// Loads the plugin library at `path` with abi_stable's layout and version checks.
pub fn load_file(path: &Path) -> std::result::Result<LoadedPlugin, RefusedPlugin> {
    let module = abi_stable::library::lib_header_from_path(path)
        .and_then(|h| h.init_root_module::<PluginRef>())
        .map_err(|e| refusal::explain(path, &e))?;
    Ok(LoadedPlugin {
        path: path.to_path_buf(),
        name: (module.name())().to_string(),
        version: (module.version())().to_string(),
        components: (module.components())().into_iter().collect(),
        module,
    })
}
