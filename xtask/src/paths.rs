//! Where things live.

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the repo")
        .to_path_buf()
}

/// The project's own ignored cache (npm packages).
pub fn project_cache() -> PathBuf {
    root().join(".cache")
}

/// A per-user download cache, like cargo's own: `$SRLENS_CACHE`, else `$XDG_CACHE_HOME/srlens`,
/// else `~/.cache/srlens` (the plugins' cache folder too), else `.cache/srlens` here. Large
/// downloads are kept here, keyed by version in the file name.
pub fn user_cache() -> PathBuf {
    srlens_plugin_kit::cache::user_cache_dir().unwrap_or_else(|| project_cache().join("srlens"))
}
