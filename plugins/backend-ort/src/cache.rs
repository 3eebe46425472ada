//! The cache of generated gradient graphs, per model file.
//!
//! An entry lives in `<cache>/ort/<srlens version>-<generator>/<sha256 of the model file>/`
//! (`<cache>` is `$SRLENS_CACHE`, else `~/.cache/srlens`; `<generator>` a fingerprint of the
//! `srlens-onnx` sources that build.rs computes, so a changed gradient rule regenerates the
//! graphs even within one version): `forward.onnx`, `backward.onnx` and `entry.json`,
//! which names the two graphs' interface and their sha256. Each file is written atomically and
//! `entry.json` last, so an entry is complete or absent; a read checks both hashes, and an
//! entry that does not match (stale, truncated, edited) is rebuilt, never trusted. The cache
//! is an optimisation only: failing to read or write it is never an error.

use std::path::{Path, PathBuf};

/// The srlens version entries are keyed by (a new version regenerates every graph).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The fingerprint of the graph generator (the `srlens-onnx` sources) this build holds.
pub const GENERATOR: &str = env!("SRLENS_ORT_GENERATOR");

/// The two gradient graphs as ONNX bytes, with the names that join them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The saved values: forward outputs after the model output, backward inputs before the
    /// cotangent, in this order.
    pub saved: Vec<String>,
    /// The backward graph's cotangent input.
    pub cotangent: String,
    /// The backward graph's output.
    pub input_gradient: String,
    /// The forward graph's bytes.
    #[serde(skip)]
    pub forward: Vec<u8>,
    /// The backward graph's bytes.
    #[serde(skip)]
    pub backward: Vec<u8>,
}

/// What `entry.json` holds: the entry's names, its key and the graphs' hashes.
#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    srlens: String,
    generator: String,
    model_sha256: String,
    forward_sha256: String,
    backward_sha256: String,
    #[serde(flatten)]
    entry: Entry,
}

/// Where an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Read from the cache.
    Cache,
    /// Generated now (and stored when the cache folder is writable).
    Generated,
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    srlens_plugin_kit::cache::sha256_hex(bytes)
}

/// The cache folder of this backend: `<user cache>/ort`, if there is a user cache folder.
pub fn root() -> Option<PathBuf> {
    srlens_plugin_kit::cache::user_cache_dir().map(|d| d.join("ort"))
}

/// The folder of the entry for the model whose file has the hash `model_sha256`.
pub fn entry_dir(root: &Path, model_sha256: &str) -> PathBuf {
    root.join(format!("{VERSION}-{GENERATOR}"))
        .join(model_sha256)
}

/// The entry for `model_sha256` under `root`, if it is there and intact.
pub fn read(root: &Path, model_sha256: &str) -> Option<Entry> {
    let dir = entry_dir(root, model_sha256);
    let text = std::fs::read(dir.join("entry.json")).ok()?;
    let manifest: Manifest = serde_json::from_slice(&text).ok()?;
    if manifest.srlens != VERSION
        || manifest.generator != GENERATOR
        || manifest.model_sha256 != model_sha256
    {
        return None;
    }
    let forward = std::fs::read(dir.join("forward.onnx")).ok()?;
    let backward = std::fs::read(dir.join("backward.onnx")).ok()?;
    if sha256(&forward) != manifest.forward_sha256 || sha256(&backward) != manifest.backward_sha256
    {
        return None;
    }
    Some(Entry {
        forward,
        backward,
        ..manifest.entry
    })
}

/// Stores `entry` for `model_sha256` under `root` (graphs first, `entry.json` last).
pub fn write(root: &Path, model_sha256: &str, entry: &Entry) -> std::io::Result<()> {
    let dir = entry_dir(root, model_sha256);
    std::fs::create_dir_all(&dir)?;
    let io = |e: srlens_onnx::Error| std::io::Error::other(e.to_string());
    srlens_onnx::io::write_atomic(&dir.join("forward.onnx"), &entry.forward).map_err(io)?;
    srlens_onnx::io::write_atomic(&dir.join("backward.onnx"), &entry.backward).map_err(io)?;
    let manifest = Manifest {
        srlens: VERSION.to_string(),
        generator: GENERATOR.to_string(),
        model_sha256: model_sha256.to_string(),
        forward_sha256: sha256(&entry.forward),
        backward_sha256: sha256(&entry.backward),
        entry: entry.clone(),
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    srlens_onnx::io::write_atomic(&dir.join("entry.json"), &json).map_err(io)
}

/// The entry for `model_sha256`: from the cache folder `root` when there and intact, else
/// made by `generate` and stored (a failure to store is ignored).
pub fn get_or_generate<E>(
    root: Option<&Path>,
    model_sha256: &str,
    generate: impl FnOnce() -> Result<Entry, E>,
) -> Result<(Entry, Source), E> {
    if let Some(entry) = root.and_then(|r| read(r, model_sha256)) {
        return Ok((entry, Source::Cache));
    }
    let entry = generate()?;
    if let Some(r) = root {
        let _ = write(r, model_sha256, &entry);
    }
    Ok((entry, Source::Generated))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            saved: vec!["a".into(), "b".into()],
            cotangent: "y_grad".into(),
            input_gradient: "x_grad".into(),
            forward: b"forward graph".to_vec(),
            backward: b"backward graph".to_vec(),
        }
    }

    #[test]
    fn entries_round_trip_and_damaged_ones_are_regenerated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let key = sha256(b"model");
        let (e, source) = get_or_generate::<()>(Some(root), &key, || Ok(entry())).unwrap();
        assert_eq!((e, source), (entry(), Source::Generated));
        let (e, source) =
            get_or_generate::<()>(Some(root), &key, || panic!("regenerated")).unwrap();
        assert_eq!((e, source), (entry(), Source::Cache));
        // A truncated graph is not trusted.
        std::fs::write(entry_dir(root, &key).join("backward.onnx"), b"back").unwrap();
        assert!(read(root, &key).is_none());
        let (_, source) = get_or_generate::<()>(Some(root), &key, || Ok(entry())).unwrap();
        assert_eq!(source, Source::Generated);
        assert_eq!(read(root, &key), Some(entry()));
        // Nor is a manifest that is not JSON, or another model's entry.
        std::fs::write(entry_dir(root, &key).join("entry.json"), b"{").unwrap();
        assert!(read(root, &key).is_none());
        assert!(read(root, &sha256(b"other")).is_none());
        // Without a cache folder everything is generated.
        let (_, source) = get_or_generate::<()>(None, &key, || Ok(entry())).unwrap();
        assert_eq!(source, Source::Generated);
    }
}
