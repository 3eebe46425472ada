//! Where cargo put the workspace's built binaries and plugin libraries. The tests never skip:
//! a missing file fails with the command that builds it.

use std::path::{Path, PathBuf};

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The folder cargo builds `profile` into: `$CARGO_TARGET_DIR/<profile>` when that is set,
/// else `<workspace>/target/<profile>`.
pub fn profile_dir(profile: &str) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join(profile)
}

/// The file name of the library of crate `name` on this platform, e.g. `libsrlens_plugin_lam.so`
/// for `srlens_plugin_lam` on Linux.
pub fn library_file(name: &str) -> String {
    format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Asserts that each of `files` is in `dir`, failing with `<path> is missing: <fix>` for the
/// first that is not; returns `dir`.
pub fn require_built(dir: &Path, files: &[&str], fix: &str) -> PathBuf {
    for f in files {
        let p = dir.join(f);
        assert!(p.is_file(), "{} is missing: {fix}", p.display());
    }
    dir.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names_follow_the_platform() {
        let f = library_file("srlens_plugin_lam");
        assert!(f.contains("srlens_plugin_lam"));
        assert!(f.ends_with(std::env::consts::DLL_SUFFIX));
        assert!(workspace_root().join("Cargo.toml").is_file());
    }

    #[test]
    #[should_panic(expected = "is missing: build it")]
    fn a_missing_file_names_the_fix() {
        require_built(&workspace_root(), &["no-such-file"], "build it");
    }
}
