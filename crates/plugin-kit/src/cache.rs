//! The per-user cache folder plugins keep derived files in (cargo-style: one folder per user,
//! entries keyed by content and version, safe to delete at any time).

use std::path::PathBuf;

/// `$SRLENS_CACHE`, else `$XDG_CACHE_HOME/srlens`, else `~/.cache/srlens`; `None` when none of
/// these variables is set.
pub fn user_cache_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SRLENS_CACHE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("srlens"))
}
