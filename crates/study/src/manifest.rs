//! `study.json`: which study a folder holds (its hash, the normalised config), which shard,
//! and the keys of its items; `srlens merge` reads it to refuse shards of other studies and
//! overlapping shards.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::shard::Shard;

/// The file's name inside a study folder.
pub const MANIFEST_FILE: &str = "study.json";

/// What a study folder holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyManifest {
    /// The sha256 of the normalised config without `out` (see
    /// [`LoadedStudy::study_hash`](crate::config::LoadedStudy::study_hash)).
    pub study_hash: String,
    /// srlens's version.
    pub srlens_version: String,
    /// The config file.
    pub config_file: String,
    /// The config as parsed, defaults filled in.
    pub config: serde_json::Value,
    /// How the windows were chosen.
    pub windows_rule: String,
    /// The shard, none for a whole study.
    pub shard: Option<Shard>,
    /// For a merged folder: the shards it was merged from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<Shard>,
    /// The keys of the items of this folder (its shard's), in order.
    pub items: Vec<String>,
}

impl StudyManifest {
    /// Reads `dir/study.json`.
    pub fn read(dir: &Path) -> Result<StudyManifest> {
        let p = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&p).map_err(|e| {
            Error::Merge(format!(
                "{} is not a study folder: cannot read {} ({e})",
                dir.display(),
                p.display()
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| Error::Merge(format!("{}: {e}", p.display())))
    }

    /// Writes `dir/study.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let p = dir.join(MANIFEST_FILE);
        let text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        srlens_report::write_atomic(&p, text.as_bytes()).map_err(|e| Error::Io {
            path: p.clone(),
            message: e.to_string(),
        })
    }

    /// Whether `dir` holds a study.json (`Ok(None)`: a new folder).
    pub fn read_if_any(dir: &Path) -> Result<Option<StudyManifest>> {
        if dir.join(MANIFEST_FILE).is_file() {
            return StudyManifest::read(dir).map(Some);
        }
        Ok(None)
    }
}
