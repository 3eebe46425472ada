//! One model, one image, one objective: runs methods and resolves the names they ask for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use abi_stable::{
    sabi_trait::TD_Opaque,
    sabi_types::RRef,
    std_types::{RStr, RString},
};
use srlens_core::{
    Attribution, ErrorKind, MethodBox, MethodJob, ModelBox, Objective_TO, PathBox, PathSamples,
    PluginError, PluginResult, Progress_TO, Registry, Registry_TO, Tensor,
};

use super::{objective::WindowObjective, progress::Bar};
use crate::error::{Error, Result};
use crate::host::{call_error, LoadedPlugin, PluginHost};

/// How deep methods may call methods (SmoothGrad over LAM is 2).
const MAX_DEPTH: usize = 8;

/// The shared state of the methods of one run.
pub struct Session<'h> {
    /// The plugins.
    pub host: &'h PluginHost,
    /// The model.
    pub model: &'h ModelBox,
    /// The objective.
    pub objective: WindowObjective,
    /// The largest batch for model calls.
    pub batch_size: u32,
    /// The progress bar of the method running now.
    pub progress: Mutex<Option<Arc<Bar>>>,
    methods: Mutex<HashMap<String, Arc<(MethodBox, String)>>>,
    paths: Mutex<HashMap<String, Arc<(PathBox, String)>>>,
    depth: Mutex<usize>,
}

impl<'h> Session<'h> {
    /// A session over `model`.
    pub fn new(
        host: &'h PluginHost,
        model: &'h ModelBox,
        objective: WindowObjective,
        batch_size: u32,
    ) -> Self {
        Session {
            host,
            model,
            objective,
            batch_size,
            progress: Mutex::new(None),
            methods: Mutex::new(HashMap::new()),
            paths: Mutex::new(HashMap::new()),
            depth: Mutex::new(0),
        }
    }

    /// Creates (once) the method `name` from the plugin that provides it.
    pub fn method(&self, name: &str, plugin: Option<&str>) -> Result<Arc<(MethodBox, String)>> {
        let key = format!("{name}\u{0}{}", plugin.unwrap_or(""));
        if let Some(m) = self.methods.lock().expect("not poisoned").get(&key) {
            return Ok(m.clone());
        }
        let (m, p) = self.host.method(name, plugin)?;
        let m = Arc::new((m, p.name.clone()));
        self.methods
            .lock()
            .expect("not poisoned")
            .insert(key, m.clone());
        Ok(m)
    }

    fn path(&self, name: &str) -> Result<Arc<(PathBox, String)>> {
        if let Some(p) = self.paths.lock().expect("not poisoned").get(name) {
            return Ok(p.clone());
        }
        let (f, p) = self.host.path(name)?;
        let f = Arc::new((f, p.name.clone()));
        self.paths
            .lock()
            .expect("not poisoned")
            .insert(name.to_string(), f.clone());
        Ok(f)
    }

    fn plugin(&self, name: &str) -> Option<&LoadedPlugin> {
        self.host.loaded.iter().find(|p| p.name == name)
    }

    /// Runs the method `name` with `options` (JSON) on `image`.
    pub fn attribute(
        &self,
        name: &str,
        plugin: Option<&str>,
        options: &str,
        image: &Tensor,
    ) -> Result<Attribution> {
        let method = self.method(name, plugin)?;
        {
            let mut depth = self.depth.lock().expect("not poisoned");
            if *depth >= MAX_DEPTH {
                return Err(Error::Config(format!(
                    "method `{name}` is nested more than {MAX_DEPTH} deep: does an `inner` method call itself?"
                )));
            }
            *depth += 1;
        }
        let bar = self
            .progress
            .lock()
            .expect("not poisoned")
            .clone()
            .unwrap_or_else(|| Arc::new(Bar::new(name, true)));
        let job = MethodJob {
            image,
            model: self.model,
            objective: Objective_TO::from_ptr(RRef::new(&self.objective), TD_Opaque),
            registry: Registry_TO::from_ptr(RRef::new(self), TD_Opaque),
            progress: Progress_TO::from_ptr(RRef::new(&*bar), TD_Opaque),
            batch_size: self.batch_size,
            options: RString::from(options),
        };
        let result = method.0.attribute(&job).into_result();
        *self.depth.lock().expect("not poisoned") -= 1;
        result.map_err(|e| match self.plugin(&method.1) {
            Some(p) => call_error(p, "running method", name, e),
            None => Error::PluginCall(e.message.to_string()),
        })
    }
}

fn to_plugin_error(e: Error) -> PluginError {
    let kind = match e {
        Error::Config(_) | Error::Plugin(_) => ErrorKind::InvalidConfig,
        Error::Input(_) => ErrorKind::InvalidInput,
        _ => ErrorKind::Backend,
    };
    PluginError::new(kind, e.to_string())
}

impl Registry for Session<'_> {
    fn attribute(
        &self,
        name: RStr<'_>,
        options: RStr<'_>,
        image: &Tensor,
    ) -> PluginResult<Attribution> {
        Session::attribute(self, name.as_str(), None, options.as_str(), image)
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
        let run = || -> Result<PathSamples> {
            let path = self.path(name.as_str())?;
            path.0
                .sample(image, &RString::from(options.as_str()), steps, start, end)
                .into_result()
                .map_err(|e| match self.plugin(&path.1) {
                    Some(p) => call_error(p, "sampling path", name.as_str(), e),
                    None => Error::PluginCall(e.message.to_string()),
                })
        };
        run().map_err(to_plugin_error).into()
    }
}
