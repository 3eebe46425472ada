//! The per-user cache folder plugins keep derived files in (cargo-style: one folder per user,
//! entries keyed by content and version, safe to delete at any time).

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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

/// The SHA-256 of `bytes` in lower-case hex (what cache entries are keyed by).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A JSON cache entry at `path`; `None` when it is missing or not a `T` (a damaged entry is
/// recomputed, never trusted).
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Writes `value` as JSON to `path` atomically (a synced temporary file in the same folder,
/// renamed over it), creating the folder: readers see the old entry or the whole new one.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".srlens-tmp-")
        .tempfile_in(dir)?;
    tmp.write_all(&bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_entries_round_trip_and_damaged_ones_read_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/entry.json");
        assert_eq!(read_json::<Vec<u32>>(&p), None);
        write_json(&p, &vec![1u32, 2]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&p), Some(vec![1, 2]));
        std::fs::write(&p, b"[1, 2").unwrap();
        assert_eq!(read_json::<Vec<u32>>(&p), None);
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
