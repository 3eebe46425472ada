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
                None => {
                    let diff = layout_difference(&details);
                    let (what, version) = match diff.found_version.as_deref() {
                        Some(v) if v != CORE_VERSION => {
                            ("different layout under a compatible version", v.to_string())
                        }
                        _ => ("same version, different layout", CORE_VERSION.to_string()),
                    };
                    let culprit = match (&diff.type_name, diff.fields.is_empty()) {
                        (Some(t), false) => format!(
                            "`{t}` differs in field(s) {}; ",
                            diff.fields
                                .iter()
                                .map(|f| format!("`{f}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        (Some(t), true) => format!("`{t}` differs; "),
                        _ => String::new(),
                    };
                    format!(
                        "{what}: it was built against an srlens-core that calls itself \
                         {version} but whose types differ from this srlens's (srlens-core \
                         {CORE_VERSION}; a modified core, or a change that should have been a \
                         major version): {culprit}first mismatch: {mismatch}; rebuild the \
                         plugin against the released srlens-core {CORE_VERSION} (`srlens \
                         plugins --verbose` shows abi_stable's whole layout report)"
                    )
                }
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

/// What abi_stable's layout report says differs: the type, the fields that only one side
/// has, and the srlens-core version the plugin's side calls itself.
#[derive(Debug, Default, PartialEq)]
struct LayoutDifference {
    type_name: Option<String>,
    fields: Vec<String>,
    found_version: Option<String>,
}

/// Reads the last "Layout of expected type" and "Layout of found type" blocks before the
/// first `Error:` line of abi_stable's report.
fn layout_difference(details: &str) -> LayoutDifference {
    let lines: Vec<&str> = details.lines().map(str::trim).collect();
    let end = lines
        .iter()
        .position(|l| l.starts_with("Error:"))
        .unwrap_or(lines.len());
    let block = |header: &str| -> Option<&[&str]> {
        let start = lines[..end].iter().rposition(|l| *l == header)?;
        let stop = lines[start + 1..end]
            .iter()
            .position(|l| l.starts_with("Layout of "))
            .map_or(end, |k| start + 1 + k);
        Some(&lines[start + 1..stop])
    };
    let value = |block: &[&str], key: &str| -> Option<String> {
        block
            .iter()
            .find_map(|l| l.strip_prefix(key))
            .map(str::to_string)
    };
    let fields = |block: &[&str]| -> Vec<String> {
        block
            .iter()
            .filter_map(|l| l.strip_prefix("field_name:"))
            .map(str::to_string)
            .collect()
    };
    let (Some(expected), Some(found)) = (
        block("Layout of expected type:"),
        block("Layout of found type:"),
    ) else {
        return LayoutDifference::default();
    };
    let (fe, ff) = (fields(expected), fields(found));
    let mut differing: Vec<String> = ff.iter().filter(|f| !fe.contains(f)).cloned().collect();
    differing.extend(fe.iter().filter(|f| !ff.contains(f)).cloned());
    let found_version = found.iter().find_map(|l| {
        l.strip_prefix("package:'srlens-core' version:'")
            .and_then(|v| v.split('\'').next())
            .map(str::to_string)
    });
    LayoutDifference {
        type_name: value(found, "type:"),
        fields: differing,
        found_version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_difference_names_the_type_and_the_extra_field() {
        let report = "Layout of expected type:\n--- Type Layout ---\ntype:ComponentInfo\n\
            package:'srlens-core' version:'1.0.0'\nfield_name:kind\nfield_name:name\n\
            Layout of found type:\n--- Type Layout ---\ntype:ComponentInfo\n\
            package:'srlens-core' version:'1.0.1'\nfield_name:kind\nfield_name:name\n\
            field_name:extra\nError:too many fields\nExpected:\n2\nFound:\n3\n";
        assert_eq!(
            layout_difference(report),
            LayoutDifference {
                type_name: Some("ComponentInfo".into()),
                fields: vec!["extra".into()],
                found_version: Some("1.0.1".into()),
            }
        );
    }
}
