//! What the study tests share: a reduced study (the zoo's esrgan-slim and -medium x4, LAM
//! with 4 steps, 64 x 64 crops of three photos, 2 auto windows), its uninterrupted run, the
//! result lines and the summary comparison.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::common;

pub const SUMMARY_FILES: [&str; 3] = ["summary.json", "summary.csv", "summary.md"];

/// Whether the zoo and photos of `cargo xtask setup` are there (the tests need them).
pub fn setup() -> PathBuf {
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
pub fn reduced_study(dir: &Path) -> PathBuf {
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

pub fn study(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["study", "study.toml", "--quiet"];
    all.extend_from_slice(args);
    common::srlens(dir, &all)
}

pub fn lines(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn assert_same_summary(a: &Path, b: &Path) {
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
pub fn whole(dir: &Path) -> PathBuf {
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
