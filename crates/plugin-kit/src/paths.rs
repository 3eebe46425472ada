//! File names inside component options, resolved the way the rest of the config is.
//!
//! `srlens run` sets [`CONFIG_DIR_VAR`] to the absolute folder of the config it runs, so that a
//! relative file name in a method's options (an IG baseline image) means the same as every
//! other path of that config: relative to the config's folder. Without it (another host, a
//! unit test), relative names are relative to the working directory.

use std::path::{Path, PathBuf};

pub use srlens_core::CONFIG_DIR_VAR;

/// `name` as a path: absolute as is, else joined to the config's folder when the host set one.
pub fn config_relative(name: &str) -> PathBuf {
    let path = Path::new(name);
    match std::env::var_os(CONFIG_DIR_VAR) {
        Some(dir) if path.is_relative() && !dir.is_empty() => PathBuf::from(dir).join(path),
        _ => path.to_path_buf(),
    }
}
