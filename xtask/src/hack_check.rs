//! Checks `crates/workspace-hack`: every shared dependency gets the same features whichever
//! packages a cargo invocation selects (`cargo xtask` builds xtask alone, `cargo xtask test`
//! builds the workspace without the tch backend, then all of it), so nothing compiles twice.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each registry package's features (`name version` -> features) when cargo selects `args`.
fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(crate::paths::root())
        .args([
            "tree",
            "--prefix",
            "none",
            "-e",
            "normal,build,dev",
            "-f",
            "{p}|{f}",
        ])
        .args(args)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim_end_matches(" (*)");
        let Some((package, feats)) = line.split_once('|') else {
            continue;
        };
        if package.contains(" (/") {
            continue; // a workspace member
        }
        map.entry(package.trim().to_string())
            .or_default()
            .extend(feats.split(',').filter(|f| !f.is_empty()).map(String::from));
    }
    map
}

/// The packages of `part` whose features differ from those in `whole`, with the missing ones.
fn differences(
    part: &BTreeMap<String, BTreeSet<String>>,
    whole: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    part.iter()
        .filter_map(|(p, f)| {
            let w = whole.get(p)?;
            (w != f).then(|| format!("{p}: {:?}", w.symmetric_difference(f).collect::<Vec<_>>()))
        })
        .collect()
}

#[test]
fn xtask_alone_and_the_build_without_tch_use_the_whole_workspaces_features() {
    let whole = features(&["--workspace"]);
    let xtask = features(&["-p", "xtask"]);
    let no_tch = features(&["--workspace", "--exclude", "srlens-plugin-tch"]);
    let mut wrong = differences(&xtask, &whole);
    wrong.extend(differences(&no_tch, &whole));
    assert!(
        wrong.is_empty(),
        "add these features to crates/workspace-hack/Cargo.toml:\n{}",
        wrong.join("\n")
    );
}
