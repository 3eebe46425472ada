//! The NaN probe's answer per TorchScript file, kept in the user cache: the probe runs the
//! network on up to 256 x 256 LR pixels (esrgan-thick: about 25 s on 2 cores), and its answer
//! depends only on the file's contents, its scale and channels.
//!
//! An entry is `<cache>/tch/<srlens version>/receptive-<sha256 of the file>.json`, written
//! atomically; one that is missing, damaged or for another scale or channel count is probed
//! again and rewritten. The cache is an optimisation only: failing to read or write it is
//! never an error.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use srlens_plugin_kit::cache::{read_json, sha256_hex, user_cache_dir, write_json};

/// The srlens version entries are keyed by (a new version probes again).
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What one entry holds: the key it was made for and the probe's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    model_sha256: String,
    scale: u32,
    channels: u32,
    /// The radius in LR pixels, or why there is none.
    receptive_field: Result<u32, String>,
}

/// The entry's file for a model whose bytes hash to `sha` under the cache folder `root`.
fn entry_path(root: &Path, sha: &str) -> PathBuf {
    root.join("tch")
        .join(VERSION)
        .join(format!("receptive-{sha}.json"))
}

/// The receptive field of the model file `path` (of `scale` and `channels`): from the cache
/// folder `root` when an intact entry is there, else `probe`d and stored.
pub fn get_or_probe<E>(
    root: Option<&Path>,
    path: &Path,
    scale: u32,
    channels: u32,
    probe: impl FnOnce() -> Result<Result<u32, String>, E>,
) -> Result<Result<u32, String>, E> {
    let sha = std::fs::read(path).ok().map(|b| sha256_hex(&b));
    let entry = root.zip(sha.as_deref()).map(|(r, s)| entry_path(r, s));
    if let (Some(p), Some(sha)) = (&entry, &sha) {
        if let Some(e) = read_json::<Entry>(p) {
            if e.model_sha256 == *sha && e.scale == scale && e.channels == channels {
                return Ok(e.receptive_field);
            }
        }
    }
    let answer = probe()?;
    if let (Some(p), Some(sha)) = (entry, sha) {
        let e = Entry {
            model_sha256: sha,
            scale,
            channels,
            receptive_field: answer.clone(),
        };
        let _ = write_json(&p, &e);
    }
    Ok(answer)
}

/// The cache folder: the user cache (`$SRLENS_CACHE`, else `~/.cache/srlens`), if any.
pub fn root() -> Option<PathBuf> {
    user_cache_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_per_file_scale_and_channels_and_damage_means_a_new_probe() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        let model = dir.path().join("m.pt");
        std::fs::write(&model, b"weights").unwrap();
        let ask = |scale, answer: Result<u32, String>| {
            get_or_probe::<()>(Some(&root), &model, scale, 3, || Ok(answer))
        };
        assert_eq!(ask(4, Ok(11)), Ok(Ok(11)));
        // Cached: the probe is not asked again.
        assert_eq!(
            get_or_probe::<()>(Some(&root), &model, 4, 3, || panic!("probed again")),
            Ok(Ok(11))
        );
        // Another scale, or other contents: probed again.
        assert_eq!(ask(2, Ok(7)), Ok(Ok(7)));
        std::fs::write(&model, b"other weights").unwrap();
        assert_eq!(ask(2, Err("global".into())), Ok(Err("global".into())));
        assert_eq!(
            get_or_probe::<()>(Some(&root), &model, 2, 3, || panic!("probed again")),
            Ok(Err("global".into()))
        );
        // A damaged entry is probed again; without a cache folder every load probes.
        let sha = sha256_hex(b"other weights");
        std::fs::write(entry_path(&root, &sha), b"{").unwrap();
        assert_eq!(ask(2, Ok(5)), Ok(Ok(5)));
        assert_eq!(
            get_or_probe::<()>(None, &model, 2, 3, || Ok(Ok(9))),
            Ok(Ok(9))
        );
        // A probe's error is passed on and nothing is stored.
        assert_eq!(
            get_or_probe(Some(&root), &model, 8, 3, || Err("libtorch")),
            Err("libtorch")
        );
    }
}
