//! The study's `report.html`.

use std::path::Path;

use crate::error::Result;
use crate::manifest::StudyManifest;
use crate::results::ResultLine;

/// Writes `out/report.html` for `lines` (whose `dir`s are relative to `out`).
pub fn write(out: &Path, manifest: &StudyManifest, lines: &[ResultLine]) -> Result<()> {
    let _ = (out, manifest, lines);
    Ok(())
}
