//! `srlens study` and `srlens merge` end to end on reduced studies: a killed study resumes
//! without recomputing finished items and gives the same summary; shards merged give the
//! whole study's summary; failed items are recorded and the rest goes on.

mod common;
mod study_support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use study_support::{assert_same_summary, lines, setup, study, whole};

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
    eprintln!("killed after {} of 12 items", before.len());
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
    // The precision and the window's conditioning go into the summary (issue 14).
    assert_eq!(summary["rows"][0]["precision"], "float32");
    let ok = l.iter().find(|l| l["status"] == "ok").unwrap();
    assert_eq!(
        summary["rows"][0]["small_gradient"]["mean"],
        ok["report"]["conditioning"]["small_fraction"]
    );
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
