//! sha256 of files and bytes, as lowercase hex.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{io, Result};

/// The sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The sha256 of the file at `path`.
pub fn sha256_file(path: &Path) -> Result<String> {
    Ok(sha256(&std::fs::read(path).map_err(io(path))?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digests() {
        assert_eq!(
            super::sha256(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            super::sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
