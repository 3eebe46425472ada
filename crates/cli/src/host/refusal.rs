//! Turning abi_stable's load errors into one paragraph.

use std::path::Path;

use abi_stable::library::LibraryError;

use super::RefusedPlugin;

/// The core version this host was built with.
pub const CORE_VERSION: &str = srlens_core::VERSION;

/// One paragraph saying why `path` was refused, plus abi_stable's full text.
pub fn explain(path: &Path, e: &LibraryError) -> RefusedPlugin {
    let details = e.to_string();
    let reason = match e {
        LibraryError::OpenError { err, .. } => {
            format!("cannot be opened as a shared library: {err}")
        }
        LibraryError::GetSymbolError { .. } => {
            "not an srlens plugin: it does not export srlens's root module (built with \
             `srlens_plugin_kit::export_plugin!`)"
                .to_string()
        }
        LibraryError::IncompatibleVersionNumber { expected_version, actual_version, .. } => format!(
            "built for srlens-core {actual_version}, this srlens has {expected_version} \
             (compatible: same minor version, and a patch at least this one's): rebuild the \
             plugin against srlens-core {expected_version}"
        ),
        LibraryError::AbiInstability(_) => format!(
            "its ABI does not match this srlens's (srlens-core {CORE_VERSION}), although the \
             versions claim to be compatible; first mismatch: {}; rebuild the plugin against \
             this srlens-core (`srlens plugins --verbose` shows the whole layout report)",
            first_mismatch(&details)
        ),
        LibraryError::ParseVersionError(v) => format!("its version string is not valid: {v}"),
        LibraryError::InvalidAbiHeader(_) | LibraryError::InvalidCAbi { .. } => format!(
            "built with an incompatible abi_stable or Rust C ABI; rebuild it against \
             srlens-core {CORE_VERSION}"
        ),
        LibraryError::RootModule { err, .. } => format!("its root module failed to load: {err}"),
        LibraryError::Many(errs) => {
            return explain(path, errs.first().expect("at least one error"));
        }
    };
    RefusedPlugin { path: path.to_path_buf(), reason, details }
}

fn first_line(s: &str) -> String {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or("unknown error").trim().to_string()
}

/// The first line of abi_stable's layout report that names what differs.
fn first_mismatch(details: &str) -> String {
    let interesting = ["Mismatched", "mismatch", "expected", "Too many", "Missing", "Added", "found"];
    details
        .lines()
        .map(str::trim)
        .find(|l| interesting.iter().any(|k| l.contains(k)))
        .map(|l| l.trim_end_matches(':').to_string())
        .unwrap_or_else(|| first_line(details))
}
