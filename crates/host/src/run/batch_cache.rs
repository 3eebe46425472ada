//! The batch size a run chose by time, remembered in the user cache (`batch/`, one JSON entry
//! per model file, backend, options, device, CPU model, threads and shape of the model
//! calls): a later run of the same calls on this machine starts at it instead of timing the
//! sizes again, so its calls are all of one size. Delete the folder to time again.

use std::path::{Path, PathBuf};

use srlens_plugin_kit::cache::{read_json, sha256_hex, user_cache_dir, write_json};
use srlens_report::BatchTuning;

/// Where the entry of the calls described by `key` (any JSON that names them) lives; `None`
/// without a user cache folder.
pub fn entry(key: &serde_json::Value) -> Option<PathBuf> {
    let hash = sha256_hex(key.to_string().as_bytes());
    user_cache_dir().map(|d| d.join("batch").join(format!("{hash}.json")))
}

/// The remembered choice at `path`, if one is there and usable with sizes up to `largest`.
pub fn load(path: &Path, largest: u32) -> Option<BatchTuning> {
    read_json::<BatchTuning>(path).filter(|t| t.mode == "time" && (1..=largest).contains(&t.chosen))
}

/// Remembers `choice` at `path`; a cache that cannot be written only costs the next run
/// its timing, so the error is returned for a note, never fatal.
pub fn store(path: &Path, choice: &BatchTuning) -> std::io::Result<()> {
    write_json(path, choice)
}
