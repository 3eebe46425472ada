//! `srlens merge DIR...`.

use std::path::PathBuf;

/// How a merge went.
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    /// The merged folder.
    pub out: PathBuf,
    /// Failed items in the merged study.
    pub failed: usize,
    /// What the user should know (missing shards).
    pub warnings: Vec<String>,
}

/// Merges shard folders.
pub fn merge(dirs: &[PathBuf], out: &std::path::Path) -> crate::Result<MergeOutcome> {
    let _ = dirs;
    Ok(MergeOutcome {
        out: out.to_path_buf(),
        failed: 0,
        warnings: vec![],
    })
}
