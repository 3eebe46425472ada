//! Loading the float32 weights named in a TF.js weights manifest.

use std::collections::BTreeMap;
use std::path::Path;

use super::format::WeightGroup;

/// A weight as stored by TF.js: its shape and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Weight {
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Values.
    pub values: Vec<f32>,
}

/// Reads every group's shard files (concatenated in `paths` order) and slices them into
/// weights in manifest order. Errors are messages; I/O errors name the shard.
pub(crate) fn load(
    dir: &Path,
    groups: &[WeightGroup],
) -> std::result::Result<BTreeMap<String, Weight>, String> {
    let mut out = BTreeMap::new();
    for group in groups {
        let mut bytes = Vec::new();
        for p in &group.paths {
            let path = dir.join(p);
            let data = std::fs::read(&path)
                .map_err(|e| format!("cannot read weight shard {}: {e}", path.display()))?;
            bytes.extend_from_slice(&data);
        }
        let mut offset = 0usize;
        for w in &group.weights {
            if w.dtype != "float32" {
                return Err(format!(
                    "weight '{}' has dtype '{}'; only float32 weights are supported",
                    w.name, w.dtype
                ));
            }
            if w.quantization.as_ref().is_some_and(|q| !q.is_null()) {
                return Err(format!(
                    "weight '{}' is quantized, which is not supported",
                    w.name
                ));
            }
            let count = w
                .shape
                .iter()
                .try_fold(1usize, |a, d| a.checked_mul(*d))
                .ok_or_else(|| format!("weight '{}' has too many elements", w.name))?;
            let end = offset + count * 4;
            if end > bytes.len() {
                return Err(format!(
                    "the shards {:?} hold {} bytes, but the manifest needs more (weight '{}' \
                     ends at byte {end})",
                    group.paths,
                    bytes.len(),
                    w.name
                ));
            }
            let values = bytes[offset..end]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            offset = end;
            if out
                .insert(
                    w.name.clone(),
                    Weight {
                        shape: w.shape.clone(),
                        values,
                    },
                )
                .is_some()
            {
                return Err(format!("weight '{}' appears twice in the manifest", w.name));
            }
        }
        if offset != bytes.len() {
            return Err(format!(
                "the shards {:?} hold {} bytes, but the manifest describes {offset}",
                group.paths,
                bytes.len()
            ));
        }
    }
    Ok(out)
}
