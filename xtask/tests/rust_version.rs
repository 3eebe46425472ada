//! The declared minimum Rust versions are real: every member inherits the workspace's
//! `rust-version` (srlens-core, with its own version policy, declares its own), and no
//! member declares less than the highest `rust_version` of the packages it builds with
//! (`cargo metadata` for this machine's platform: dependencies for other targets, e.g.
//! Windows or wasm32 only, do not count, and need not be downloaded).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// `"1.89"` as `[1, 89, 0]` (three parts, so that `1.89` and `1.89.0` compare equal).
fn parse(s: &str) -> Vec<u64> {
    let mut v: Vec<u64> = s.split('.').map(|p| p.parse().unwrap()).collect();
    v.resize(3, 0);
    v
}

fn version(v: &serde_json::Value) -> Option<Vec<u64>> {
    v.as_str().map(parse)
}

#[test]
fn members_declare_a_rust_version_no_lower_than_their_dependencies() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages: BTreeMap<&str, &serde_json::Value> = m["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p))
        .collect();
    let nodes: BTreeMap<&str, &serde_json::Value> = m["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let manifest = std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap();
    let workspace = parse(&workspace_rust_version(&manifest).expect("workspace rust-version"));
    let mut problems = vec![];
    for member in m["workspace_members"].as_array().unwrap() {
        let id = member.as_str().unwrap();
        let p = packages[id];
        let name = p["name"].as_str().unwrap();
        let Some(declared) = version(&p["rust_version"]) else {
            problems.push(format!("{name}: no rust-version"));
            continue;
        };
        if name != "srlens-core" {
            let text = std::fs::read_to_string(p["manifest_path"].as_str().unwrap()).unwrap();
            if !text.contains("rust-version.workspace = true") {
                problems.push(format!(
                    "{name}: does not inherit the workspace's rust-version"
                ));
            }
            if declared != workspace {
                problems.push(format!(
                    "{name}: rust-version {declared:?}, workspace {workspace:?}"
                ));
            }
        }
        // Normal and build dependencies, transitively, for this platform's kind of targets.
        let mut seen = BTreeSet::new();
        let mut stack = vec![id];
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            for d in nodes[i]["deps"].as_array().unwrap() {
                let kinds = d["dep_kinds"].as_array().unwrap();
                let counts = kinds.iter().any(|k| {
                    let normal_or_build = k["kind"].is_null() || k["kind"] == "build";
                    let target = k["target"].as_str().unwrap_or("");
                    normal_or_build && !target.contains("wasm32")
                });
                if counts {
                    stack.push(d["pkg"].as_str().unwrap());
                }
            }
        }
        for dep in seen.iter().filter(|&&i| i != id) {
            let dp = packages[dep];
            if let Some(needed) = version(&dp["rust_version"]) {
                if needed > declared {
                    problems.push(format!(
                        "{name}: rust-version {declared:?}, but {} {} needs {needed:?}",
                        dp["name"].as_str().unwrap(),
                        dp["version"].as_str().unwrap()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `rust-version` value of the root manifest's `[workspace.package]` table.
fn workspace_rust_version(manifest: &str) -> Option<String> {
    let section = manifest.split("[workspace.package]").nth(1)?;
    let line = section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find(|l| l.trim_start().starts_with("rust-version"))?;
    Some(line.split('"').nth(1)?.to_string())
}
