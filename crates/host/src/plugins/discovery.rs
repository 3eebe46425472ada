//! Where plugin libraries are looked for.

use std::path::{Path, PathBuf};

/// The folders to search, in order.
#[derive(Debug, Clone, Default)]
pub struct PluginDirs {
    /// `--plugin-dir` folders and `SRLENS_PLUGIN_PATH` entries: every library in them is tried.
    pub explicit: Vec<PathBuf>,
    /// The folder of the `srlens` executable: only files named like `*srlens_plugin_*` are tried.
    pub default: Option<PathBuf>,
}

impl PluginDirs {
    /// `--plugin-dir` folders, then `SRLENS_PLUGIN_PATH`, then (unless `no_default`) the
    /// executable's folder.
    pub fn from_args(cli_dirs: &[PathBuf], no_default: bool) -> Self {
        let mut explicit = cli_dirs.to_vec();
        if let Some(v) = std::env::var_os("SRLENS_PLUGIN_PATH") {
            explicit.extend(std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()));
        }
        let default = if no_default {
            None
        } else {
            std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(Path::to_path_buf))
        };
        PluginDirs { explicit, default }
    }
}

fn is_library(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("so" | "dylib" | "dll")
    )
}

fn libraries_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file() && is_library(p))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The explicit folders (`--plugin-dir`, SRLENS_PLUGIN_PATH) that are not folders.
pub fn missing_dirs(dirs: &PluginDirs) -> Vec<PathBuf> {
    dirs.explicit
        .iter()
        .filter(|d| !d.is_dir())
        .cloned()
        .collect()
}

/// Every plugin file to try, without repeats (by canonical path).
pub fn plugin_files(dirs: &PluginDirs) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dirs.explicit.iter().flat_map(|d| libraries_in(d)).collect();
    if let Some(d) = &dirs.default {
        files.extend(libraries_in(d).into_iter().filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains("srlens_plugin_"))
        }));
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())));
    files
}
