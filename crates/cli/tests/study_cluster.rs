//! The README's Slurm job array script and Kubernetes Indexed Job: their command lines, parsed
//! out of the README, run the right shards of a reduced study locally, and the README's merge
//! gives the whole study's summary.

mod common;
mod study_support;

use std::path::Path;
use std::process::Command;

use study_support::{assert_same_summary, lines, whole};

/// The body of the first fenced block of `lang` in the README that contains `marker`.
fn readme_block(lang: &str, marker: &str) -> String {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    let fence = format!("```{lang}\n");
    readme
        .split(&fence)
        .skip(1)
        .map(|b| b.split("\n```").next().unwrap().to_string())
        .find(|b| b.contains(marker))
        .unwrap_or_else(|| panic!("no ```{lang} block with `{marker}` in the README"))
}

/// Runs `line` with `sh -c` in `dir`, with the built `srlens` first on PATH and `env`.
fn sh(dir: &Path, line: &str, env: &[(&str, String)]) -> std::process::Output {
    let bin = common::srlens_bin();
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("sh");
    c.current_dir(dir)
        .arg("-c")
        .arg(line)
        .env("PATH", path)
        .env_remove("SRLENS_PLUGIN_PATH");
    for v in ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn the_readme_slurm_script_and_kubernetes_job_run_the_right_shards() {
    let dir = tempfile::tempdir().unwrap();
    let reference = whole(dir.path());
    // The README's commands name configs/di-table.toml: here it is the reduced study.
    std::fs::create_dir_all(dir.path().join("configs")).unwrap();
    std::fs::copy(
        dir.path().join("study.toml"),
        dir.path().join("configs/di-table.toml"),
    )
    .unwrap();

    let script = readme_block("sh", "#SBATCH --array=0-2");
    let array: Vec<u32> = {
        let spec = script
            .lines()
            .find_map(|l| l.strip_prefix("#SBATCH --array="))
            .unwrap();
        let (a, b) = spec.split_once('-').unwrap();
        (a.parse().unwrap()..=b.parse().unwrap()).collect()
    };
    assert_eq!(array, [0, 1, 2]);
    let commands: Vec<&str> = script
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(commands.len(), 1, "{commands:?}");
    for i in &array {
        let o = sh(
            dir.path(),
            commands[0],
            &[("SLURM_ARRAY_TASK_ID", i.to_string())],
        );
        assert!(
            o.status.success(),
            "task {i}: {}",
            common::stderr_of(&o, dir.path())
        );
        let m: serde_json::Value = common::read_json(
            &dir.path()
                .join(format!("out/di-table/shard-{i}/study.json")),
        );
        assert_eq!(m["shard"], serde_json::json!({"index": i + 1, "count": 3}));
    }
    let merge = readme_block("sh", "srlens merge");
    let o = sh(dir.path(), merge.trim(), &[]);
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir.path()));
    assert_same_summary(&reference, &dir.path().join("out/di-table/merged"));

    // The Job's command, with its volume `/results` mapped into the test's folder.
    let manifest = readme_block("yaml", "completionMode: Indexed");
    assert!(manifest.contains("completions: 3") && manifest.contains("kind: Job"));
    let line = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("- srlens study"))
        .map(|rest| format!("srlens study{rest}"))
        .expect("the Job runs srlens study");
    let results = dir.path().join("results");
    let line = line.replace("/results", &results.display().to_string());
    for i in 0..3u32 {
        let o = sh(
            dir.path(),
            &line,
            &[("JOB_COMPLETION_INDEX", i.to_string())],
        );
        assert!(
            o.status.success(),
            "index {i}: {}",
            common::stderr_of(&o, dir.path())
        );
        let m: serde_json::Value =
            common::read_json(&results.join(format!("shard-{i}/study.json")));
        assert_eq!(m["shard"]["index"], i + 1);
        // The same shard as the Slurm task of the same index.
        assert_eq!(
            lines(&results.join(format!("shard-{i}"))).len(),
            lines(&dir.path().join(format!("out/di-table/shard-{i}"))).len()
        );
    }
}
