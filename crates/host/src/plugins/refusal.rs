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
            let text = err.to_string();
            // A missing dependency of the plugin (not the plugin's own file name).
            let deps = text.replace(&path.display().to_string(), "");
            if deps.contains("libtorch") || deps.contains("libc10") {
                format!(
                    "this plugin needs libtorch 2.13.0, which the loader cannot find ({text}): \
                     run `cargo xtask setup`, or set LD_LIBRARY_PATH to the lib folder of a \
                     torch 2.13.0 install"
                )
            } else {
                format!("not an srlens plugin: it cannot be opened as a shared library ({text})")
            }
        }
        LibraryError::GetSymbolError { .. } => {
            "not an srlens plugin: it does not export srlens's root module (built with \
             `srlens_plugin_kit::export_plugin!`)"
                .to_string()
        }
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => format!(
            "built for srlens-core {actual_version}, this srlens has {expected_version} \
             (compatible: the same major version and a minor version at least this one's; \
             for 0.x, the same minor version): rebuild the plugin against srlens-core \
             {expected_version}"
        ),
        LibraryError::AbiInstability(_) => {
            let (mismatch, found) = first_mismatch(&details);
            match found.filter(|_| mismatch.contains("package versions")) {
                Some(found) => format!(
                    "built for srlens-core {found}, this srlens has {CORE_VERSION}; rebuild the \
                     plugin against srlens-core {CORE_VERSION} (first mismatch: {mismatch}; \
                     `srlens plugins --verbose` shows abi_stable's whole layout report)"
                ),
                None => format!(
                    "same version, different layout: it was built against an srlens-core \
                     that calls itself {CORE_VERSION} but whose types differ from this \
                     srlens's (a modified core, or a change that should have bumped the \
                     version); first mismatch: {mismatch}; rebuild the plugin against the \
                     released srlens-core {CORE_VERSION} (`srlens plugins --verbose` shows \
                     abi_stable's whole layout report)"
                ),
            }
        }
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
    RefusedPlugin {
        path: path.to_path_buf(),
        reason,
        details,
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("unknown error")
        .trim()
        .to_string()
}

/// The first `Error:` of abi_stable's layout report, with what was expected and found, and
/// the found value alone.
fn first_mismatch(details: &str) -> (String, Option<String>) {
    let lines: Vec<&str> = details.lines().map(str::trim).collect();
    let Some(at) = lines.iter().position(|l| l.starts_with("Error:")) else {
        return (first_line(details), None);
    };
    let mut s = lines[at].trim_start_matches("Error:").trim().to_string();
    let value_after = |label: &str| {
        lines[at..]
            .iter()
            .position(|l| *l == label)
            .and_then(|i| lines.get(at + i + 1))
            .copied()
    };
    let found = value_after("Found:").map(str::to_string);
    if let (Some(e), Some(f)) = (value_after("Expected:"), &found) {
        s.push_str(&format!(", expected `{e}`, found `{f}`"));
    }
    (s, found)
}
