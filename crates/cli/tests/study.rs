//! `srlens study` and `srlens merge` end to end on reduced studies (the zoo's esrgan-slim and
//! -medium x4, LAM with few steps, 64 x 64 crops of the photos, 2 auto windows): a killed
//! study resumes without recomputing finished items and gives the same summary; shards
//! merged give the whole study's summary; the README's Slurm script and Kubernetes Job run
//! the right shards; failed items are recorded and the rest goes on.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SUMMARY_FILES: [&str; 3] = ["summary.json", "summary.csv", "summary.md"];

/// Whether the zoo and photos of `cargo xtask setup` are there (the tests need them).
fn setup() -> PathBuf {
    let root = common::repo_root();
    for f in [
        "zoo/esrgan-slim-x4.onnx",
        "zoo/esrgan-medium-x4.onnx",
        "data/images/chelsea.png",
    ] {
        assert!(
            root.join(f).is_file(),
            "{f} is missing: run `cargo xtask setup` first"
        );
    }
    root
}

/// A reduced study in `dir/study.toml`: 2 models x LAM (4 steps) x 3 photos x 2 windows.
fn reduced_study(dir: &Path) -> PathBuf {
    let root = setup();
    let photo = |n: &str| root.join("data/images").join(n).display().to_string();
    let text = format!(
        "out = \"out\"\nimages = [\"{}\", \"{}\", \"{}\"]\ncrop = [100, 20, 64, 64]\n\n\
         [windows]\nauto = 2\n\n\
         [[model]]\npath = \"{}\"\nlabel = \"slim\"\n\n\
         [[model]]\npath = \"{}\"\nlabel = \"medium\"\n\n\
         [[method]]\nname = \"lam\"\nsteps = 4\n",
        photo("chelsea.png"),
        photo("brick.png"),
        photo("coffee.png"),
        root.join("zoo/esrgan-slim-x4.onnx").display(),
        root.join("zoo/esrgan-medium-x4.onnx").display(),
    );
    let p = dir.join("study.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn study(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["study", "study.toml", "--quiet"];
    all.extend_from_slice(args);
    common::srlens(dir, &all)
}

fn lines(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn assert_same_summary(a: &Path, b: &Path) {
    for f in SUMMARY_FILES {
        let (x, y) = (
            std::fs::read_to_string(a.join(f)).unwrap(),
            std::fs::read_to_string(b.join(f)).unwrap(),
        );
        assert_eq!(
            x,
            y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// The whole reduced study, uninterrupted, in `dir/whole`.
fn whole(dir: &Path) -> PathBuf {
    reduced_study(dir);
    let started = Instant::now();
    let o = study(dir, &["--out", "whole"]);
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir));
    eprintln!(
        "whole reduced study: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let out = dir.join("whole");
    let l = lines(&out);
    assert_eq!(l.len(), 12);
    assert!(l.iter().all(|l| l["status"] == "ok"), "{l:?}");
    out
}

#[test]
fn a_killed_study_resumes_without_recomputing_and_gives_the_same_summary() {
    let dir = tempfile::tempdir().unwrap();
    let reference = whole(dir.path());
    let summary: serde_json::Value = common::read_json(&reference.join("summary.json"));
    let rows = summary["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(r["ok"], 6);
        assert!(r["di"]["mean"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["psnr"].as_f64().unwrap() > 15.0, "{r}");
        assert_eq!(r["images"], 3);
    }

    let out = dir.path().join("killed");
    let mut child = common::srlens_command(
        dir.path(),
        &["study", "study.toml", "--quiet", "--out", "killed"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while lines(&out).is_empty() {
        assert!(Instant::now() < deadline, "no result line within 120 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the study ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let before = lines(&out);
    assert!(
        !before.is_empty() && before.len() < 12,
        "killed after {} of 12 items",
        before.len()
    );
    // A write cut short by the kill (or a crash): a torn last line.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(out.join("results.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"key\":\"0123\",\"order\":[1,0").unwrap();
    drop(f);

    let o = study(dir.path(), &["--out", "killed"]);
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir.path()));
    let err = common::stderr_of(&o, dir.path());
    assert!(
        err.contains(&format!(
            "({} computed now, {} finished before)",
            12 - before.len(),
            before.len()
        )),
        "{err}"
    );
    let after = lines(&out);
    assert_eq!(
        after.len(),
        12,
        "every item once: nothing finished was recomputed"
    );
    assert_eq!(
        after[..before.len()],
        before[..],
        "the finished lines are kept as they were"
    );
    let keys: std::collections::BTreeSet<&str> =
        after.iter().map(|l| l["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 12);
    let log = std::fs::read_to_string(out.join("study.log")).unwrap();
    assert!(log.contains("was torn"), "{log}");
    assert_same_summary(&reference, &out);

    // A third run computes nothing.
    let o = study(dir.path(), &["--out", "killed"]);
    assert!(common::stderr_of(&o, dir.path()).contains("(0 computed now, 12 finished before)"));
    assert_eq!(lines(&out).len(), 12);
}

#[test]
fn shards_merged_give_the_whole_summary_and_bad_merges_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let reference = whole(dir.path());
    let mut ran = Vec::new();
    for i in 1..=3 {
        let (shard, out) = (format!("{i}/3"), format!("shard{i}"));
        let o = study(dir.path(), &["--shard", &shard, "--out", &out]);
        assert!(o.status.success(), "{}", common::stderr_of(&o, dir.path()));
        let m: serde_json::Value = common::read_json(&dir.path().join(&out).join("study.json"));
        assert_eq!(m["shard"]["index"], i);
        let n = lines(&dir.path().join(&out)).len();
        assert!(
            n > 0 && n.is_multiple_of(2),
            "shard {i}: {n} items (whole runs of 2 windows)"
        );
        ran.push(n);
    }
    assert_eq!(ran.iter().sum::<usize>(), 12, "{ran:?}");
    let o = common::srlens(
        dir.path(),
        &["merge", "shard1", "shard2", "shard3", "--out", "merged"],
    );
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir.path()));
    assert_same_summary(&reference, &dir.path().join("merged"));
    let html = std::fs::read_to_string(dir.path().join("merged/report.html")).unwrap();
    assert!(
        html.contains("data:image/png;base64,"),
        "the maps are inline"
    );

    // The same shard twice, a whole study beside shards, another study.
    let o = common::srlens(dir.path(), &["merge", "shard1", "shard1", "--out", "m2"]);
    let e = common::stderr_of(&o, dir.path());
    assert!(
        !o.status.success() && e.contains("both hold shard 1/3"),
        "{e}"
    );
    let o = common::srlens(dir.path(), &["merge", "whole", "shard2", "--out", "m3"]);
    let e = common::stderr_of(&o, dir.path());
    assert!(
        !o.status.success() && e.contains("holds the whole study"),
        "{e}"
    );
    let o = study(
        dir.path(),
        &[
            "--set",
            "windows.auto=1",
            "--shard",
            "1/3",
            "--out",
            "other",
        ],
    );
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir.path()));
    let o = common::srlens(dir.path(), &["merge", "shard2", "other", "--out", "m4"]);
    let e = common::stderr_of(&o, dir.path());
    assert!(
        !o.status.success() && e.contains("hold different studies"),
        "{e}"
    );
    assert!(
        e.contains("[DIR]/shard2") && e.contains("[DIR]/other"),
        "{e}"
    );
    // A rerun of another shard into a shard's folder is refused too.
    let o = study(dir.path(), &["--shard", "2/3", "--out", "shard1"]);
    let e = common::stderr_of(&o, dir.path());
    assert!(
        !o.status.success() && e.contains("another study or shard"),
        "{e}"
    );
}

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

#[test]
fn failed_items_are_recorded_with_their_reason_and_the_rest_goes_on() {
    let root = setup();
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::copy(
        root.join("data/images/chelsea.png"),
        photos.join("chelsea.png"),
    )
    .unwrap();
    std::fs::write(photos.join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    std::fs::write(photos.join("notes.txt"), b"not an image: skipped").unwrap();
    std::fs::write(dir.path().join("bad.onnx"), b"not an ONNX model").unwrap();
    let text = format!(
        "images = \"photos\"\ncrop = [100, 20, 64, 64]\n\n\
         [windows]\nlist = [{{ x = 8, y = 8 }}, {{ x = 60, y = 60 }}]\n\n\
         [[model]]\npath = \"{}\"\nlabel = \"slim\"\n\n\
         [[model]]\npath = \"bad.onnx\"\n\n\
         [[method]]\nname = \"lam\"\nsteps = 3\n",
        root.join("zoo/esrgan-slim-x4.onnx").display()
    );
    std::fs::write(dir.path().join("study.toml"), text).unwrap();
    let o = study(dir.path(), &["--out", "out"]);
    let err = common::stderr_of(&o, dir.path());
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("6 items: 1 ok, 5 failed"), "{err}");
    let out = dir.path().join("out");
    let l = lines(&out);
    let reason = |model: &str, image: &str, window: Option<&str>| -> String {
        let l = l
            .iter()
            .find(|l| {
                l["model"] == model
                    && l["image"] == image
                    && l["window"]["label"].as_str() == window
            })
            .unwrap_or_else(|| panic!("no line for {model} {image} {window:?}"));
        l["reason"].as_str().unwrap_or("").to_string()
    };
    assert_eq!(reason("slim", "chelsea.png", Some("w0")), "");
    assert!(reason("slim", "chelsea.png", Some("w1"))
        .contains("does not fit inside the SR output, which is 64 x 64"));
    assert!(reason("slim", "broken.png", None).contains("is not an image this build can read"));
    assert!(reason("bad", "chelsea.png", Some("w0")).contains("bad.onnx"));
    assert!(reason("bad", "broken.png", None).contains("broken.png"));
    let summary: serde_json::Value = common::read_json(&out.join("summary.json"));
    assert_eq!(summary["failures"].as_array().unwrap().len(), 5);
    assert_eq!(summary["rows"][0]["ok"], 1);
    assert!(summary["rows"][0]["psnr"].as_f64().is_some());
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("**5 failed item(s):**") && md.contains("bad / lam / chelsea.png / w0"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("failed: "), "the grid shows the failures");
    let log = std::fs::read_to_string(out.join("study.log")).unwrap();
    assert_eq!(
        log.lines().filter(|l| l.contains(" failed ")).count(),
        5,
        "{log}"
    );
}
