//! Loading ONNX Runtime (once per process) and building sessions.
//!
//! ort's `load-dynamic` feature loads `libonnxruntime.so` at run time; ort panics on its first
//! use when no library was loaded, so every path here goes through [`load`] first, which
//! calls `ort::init_from` and turns a missing or wrong library into one sentence with the
//! fix. A process holds one ONNX Runtime: a later request for another library is an error.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::ep::ExecutionProvider;
use ort::session::Session;

use crate::error::{Error, Result};
use crate::options::{Device, Optimization};

/// The ONNX Runtime release this backend is built for (ort 2.0.0-rc.15's API 31).
pub const ORT_VERSION: &str = "1.31.1";

/// The fix named by every library error.
const FIX: &str = "run `cargo xtask setup`, or set the backend option `library` (or the \
                   environment variable ORT_DYLIB_PATH) to an onnxruntime 1.31 libonnxruntime.so";

/// Which library to load, and who chose it (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryChoice {
    /// The library file.
    pub path: PathBuf,
    /// Where the path came from: the option, the environment or the default.
    pub source: &'static str,
}

impl LibraryChoice {
    /// The backend option `library` (relative to `config_dir`), else `ORT_DYLIB_PATH`, else
    /// [`default_library`].
    pub fn resolve(option: Option<&str>, config_dir: &Path) -> Self {
        if let Some(p) = option.filter(|p| !p.trim().is_empty()) {
            return LibraryChoice {
                path: absolute(&config_dir.join(p)),
                source: "the backend option `library`",
            };
        }
        match std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
            Some(p) => LibraryChoice {
                path: absolute(Path::new(&p)),
                source: "ORT_DYLIB_PATH",
            },
            None => LibraryChoice {
                path: default_library(),
                source: "the default, from `cargo xtask setup`",
            },
        }
    }
}

/// `path` made absolute against the working directory (unchanged when that fails).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The library `cargo xtask setup` installs: `<workspace>/.venv/lib/python3.11/site-packages/
/// onnxruntime/capi/libonnxruntime.so.1.31.1`, or another Python's or another 1.31 patch
/// release's when only that one is there.
pub fn default_library() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().and_then(Path::parent).unwrap_or(manifest);
    let lib = root.join(".venv/lib");
    let capi = "site-packages/onnxruntime/capi";
    let expected = lib.join(format!("python3.11/{capi}/libonnxruntime.so.{ORT_VERSION}"));
    if expected.is_file() {
        return expected;
    }
    let entries = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    let named = |p: &Path, prefix: &str| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
    };
    for python in entries(&lib).iter().filter(|p| named(p, "python3")) {
        let found = entries(&python.join(capi))
            .into_iter()
            .find(|p| named(p, "libonnxruntime.so.1.31"));
        if let Some(found) = found {
            return found;
        }
    }
    expected
}

/// The loaded ONNX Runtime: its library file and the process's environment.
pub struct Runtime {
    /// The library it was loaded from.
    pub library: PathBuf,
    /// ONNX Runtime's version (`GetVersionString`), e.g. `1.31.1`.
    pub version: String,
    env: Environment,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("library", &self.library)
            .field("version", &self.version)
            .finish()
    }
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static LOADING: Mutex<()> = Mutex::new(());

/// Loads ONNX Runtime from `choice` unless this process has done so already; a second,
/// different library is an error (ONNX Runtime cannot be unloaded or loaded twice).
pub fn load(choice: &LibraryChoice) -> Result<&'static Runtime> {
    let _serial = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return if same_file(&rt.library, &choice.path) {
            Ok(rt)
        } else {
            Err(Error::Library(format!(
                "ONNX Runtime is already loaded in this process from `{}`, so `{}` ({}) cannot \
                 be loaded too: use one library per process (set `library` to the same file, or \
                 remove it)",
                rt.library.display(),
                choice.path.display(),
                choice.source
            )))
        };
    }
    let path = &choice.path;
    if !path.is_file() {
        return Err(Error::Library(format!(
            "the ONNX Runtime library `{}` ({}) does not exist: {FIX}",
            path.display(),
            choice.source
        )));
    }
    let cannot = |why: String| {
        Error::Library(format!(
            "cannot load ONNX Runtime from `{}` ({}): {why}; {FIX}",
            path.display(),
            choice.source
        ))
    };
    let version = library_version(path).map_err(cannot)?;
    if !is_supported(&version) {
        return Err(Error::Library(format!(
            "`{}` ({}) is ONNX Runtime {version}, but this backend needs 1.31 or later (ort \
             2.0.0-rc.15 uses its API 31): {FIX}",
            path.display(),
            choice.source
        )));
    }
    let builder = ort::init_from(path).map_err(|e| cannot(e.to_string()))?;
    let env = builder
        .with_name("srlens")
        .build()
        .map_err(|e| Error::Library(format!("ONNX Runtime from `{}`: {e}", path.display())))?;
    Ok(RUNTIME.get_or_init(|| Runtime {
        library: path.clone(),
        version,
        env,
    }))
}

/// The version string of the ONNX Runtime library at `path` (`OrtGetApiBase()->
/// GetVersionString()`), or why it cannot be read (not a shared library, not ONNX Runtime).
fn library_version(path: &Path) -> std::result::Result<String, String> {
    // SAFETY: loading runs the library's initialisers, as ort's own loading does; the symbol is
    // ONNX Runtime's C entry point, `const OrtApiBase* OrtGetApiBase(void)`, whose
    // `GetVersionString` returns a static NUL-terminated string.
    unsafe {
        let lib = libloading::Library::new(path).map_err(|e| e.to_string())?;
        let get: libloading::Symbol<'_, unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
            lib.get(b"OrtGetApiBase").map_err(|_| {
                "it does not export `OrtGetApiBase`, so it is not ONNX Runtime".to_string()
            })?;
        let base = get();
        if base.is_null() {
            return Err("its `OrtGetApiBase` returned nothing".to_string());
        }
        let text = ((*base).GetVersionString)();
        if text.is_null() {
            return Err("it reports no version".to_string());
        }
        Ok(std::ffi::CStr::from_ptr(text)
            .to_string_lossy()
            .into_owned())
    }
}

/// Whether `version` (`major.minor.patch`) is 1.31 or a later 1.x.
fn is_supported(version: &str) -> bool {
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().ok());
    matches!((parts.next(), parts.next()), (Some(Some(1)), Some(Some(minor))) if minor >= 31)
}

/// Whether two paths name the same file (their canonical forms when both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// How to build a model's sessions.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Graph optimisations.
    pub optimization: Optimization,
    /// Intra-op threads (0: ONNX Runtime's default, one per physical core).
    pub threads: u32,
    /// The execution provider.
    pub device: Device,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            optimization: Optimization::All,
            threads: 0,
            device: Device::Cpu,
        }
    }
}

impl Runtime {
    /// Checks that `device` can run with this library (CUDA needs its execution provider).
    pub fn check_device(&self, device: Device, name: &str) -> Result<()> {
        if let Device::Cuda(_) = device {
            let available = ort::ep::CUDA::is_available().unwrap_or(false);
            if !available {
                return Err(Error::Unsupported(format!(
                    "device `{name}`: the ONNX Runtime library `{}` has no CUDA execution \
                     provider (the `onnxruntime` wheel is CPU-only; point `library` at the \
                     libonnxruntime.so of `onnxruntime-gpu==1.31.1`), or use device = \"cpu\"",
                    self.library.display()
                )));
            }
        }
        Ok(())
    }

    /// A session running the ONNX model `bytes` with `settings`.
    pub fn session(&self, bytes: &[u8], settings: &SessionSettings) -> Result<Session> {
        let mut builder =
            Session::builder(&self.env)?.with_optimization_level(settings.optimization.level())?;
        if settings.threads > 0 {
            builder = builder.with_intra_threads(settings.threads as usize)?;
        }
        if let Device::Cuda(index) = settings.device {
            builder = builder.with_execution_providers([ort::ep::CUDA::default()
                .with_device_id(index)
                .build()
                .error_on_failure()])?;
        }
        Ok(builder.commit_from_memory(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_1_31_on_are_supported() {
        for v in ["1.31.1", "1.31.0", "1.32.0", " 1.40.2"] {
            assert!(is_supported(v), "{v}");
        }
        for v in ["1.30.2", "1.20.0", "2.0.0", "", "one"] {
            assert!(!is_supported(v), "{v}");
        }
    }

    #[test]
    fn the_option_wins_over_the_environment_and_is_relative_to_the_config() {
        let c = LibraryChoice::resolve(Some("lib/x.so"), Path::new("/cfg"));
        assert_eq!(c.path, PathBuf::from("/cfg/lib/x.so"));
        assert_eq!(c.source, "the backend option `library`");
        let c = LibraryChoice::resolve(Some("/abs/x.so"), Path::new("/cfg"));
        assert_eq!(c.path, PathBuf::from("/abs/x.so"));
    }
}
