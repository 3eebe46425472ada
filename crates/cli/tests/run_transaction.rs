//! A run is a transaction (issue 9): a run that fails, is interrupted (SIGINT) or meets a
//! second run into the same folder leaves the previous complete run byte for byte; a run
//! that succeeds replaces it whole; report.json records what determines the map.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// Two methods: `ig` (fast), then `lam` with `steps` (slow when `steps` is large).
fn two_methods(crop: &str, lam_steps: u32) -> String {
    common::config(
        "tiny.onnx",
        &format!(
            "[[method]]\nname = \"ig\"\nsteps = 4\n\n[[method]]\nname = \"lam\"\nsteps = {lam_steps}\n"
        ),
    )
    .replace("mode = \"lr\"\n", &format!("mode = \"lr\"\n{crop}"))
}

fn run_ok(dir: &Path, config: &str) {
    std::fs::write(dir.join("run.toml"), config).unwrap();
    let o = common::srlens(dir, &["run", "run.toml", "--quiet"]);
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir));
}

/// Waits (at most a minute) until `done` holds, panicking with `what` otherwise.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The staging folder of the running `child` into `dir/out`.
fn staging_of(dir: &Path, child: &Child) -> std::path::PathBuf {
    dir.join(format!(".out.staging-{}", child.id()))
}

/// Starts a slow run (LAM of many steps second) and waits until it has written the first
/// method's results into its staging folder.
fn start_slow_run(dir: &Path, config: &str) -> Child {
    std::fs::write(dir.join("slow.toml"), config).unwrap();
    let mut command = common::srlens_command(dir, &["run", "slow.toml", "--quiet"]);
    command.stderr(std::process::Stdio::piped());
    // A background job of a non-interactive shell starts with SIGINT ignored, and its
    // children inherit that: give srlens the default action, as in a terminal.
    // SAFETY: `signal` is async-signal-safe, the only call between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command.spawn().expect("srlens starts");
    let staged = staging_of(dir, &child).join("ig/report.json");
    wait_for("the first method's report in the staging folder", || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the slow run ended early ({status})");
        }
        staged.is_file()
    });
    child
}

#[test]
fn a_rerun_with_a_bad_option_on_the_second_method_leaves_the_previous_run_whole() {
    let dir = common::workspace();
    run_ok(dir.path(), &two_methods("", 8));
    let before = common::files_under(&dir.path().join("out"));
    // A new crop and a bad option on the second method: refused before any model call.
    let bad = two_methods("crop = [0, 0, 6, 6]\n", 8).replace("steps = 8", "steps = 0");
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let o = common::srlens(dir.path(), &["run", "bad.toml", "--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(common::stderr_of(&o, dir.path()).contains("`steps` must be at least 1"));
    assert_eq!(common::files_under(&dir.path().join("out")), before);
}

#[test]
fn sigint_during_the_second_method_leaves_the_previous_run_whole() {
    let dir = common::workspace();
    run_ok(dir.path(), &two_methods("", 8));
    let before = common::files_under(&dir.path().join("out"));

    let child = start_slow_run(dir.path(), &two_methods("crop = [0, 0, 6, 6]\n", 100_000));
    let staging = staging_of(dir.path(), &child);
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success(), "the interrupted run did not stop");
    assert_eq!(common::files_under(&dir.path().join("out")), before);

    // The next run removes what the interrupted one left and publishes a whole new run.
    assert!(
        staging.exists(),
        "a SIGINT leaves the staging folder to the next run"
    );
    run_ok(dir.path(), &two_methods("crop = [0, 0, 6, 6]\n", 8));
    assert!(!staging.exists());
    let report = common::read_json(&dir.path().join("out/lam/report.json"));
    assert_eq!(report["lr_width"], 6, "{report}");
    let summary = common::read_json(&dir.path().join("out/summary.json"));
    assert_eq!(summary["entries"][0]["lr_width"], 6);
}

#[test]
fn a_second_run_into_the_same_folder_is_refused_and_the_first_completes() {
    let dir = common::workspace();
    let first = start_slow_run(dir.path(), &two_methods("", 10_000));
    let other = two_methods("crop = [0, 0, 6, 6]\n", 8);
    std::fs::write(dir.path().join("other.toml"), other).unwrap();
    let o = common::srlens(dir.path(), &["run", "other.toml", "--quiet"]);
    let err = common::stderr_of(&o, dir.path());
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "another srlens run (pid {}) is writing into",
            first.id()
        )),
        "{err}"
    );
    let done = first.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    // One run's outputs only: the first one's 8 x 8 input everywhere.
    for f in ["out/ig/report.json", "out/lam/report.json"] {
        assert_eq!(common::read_json(&dir.path().join(f))["lr_width"], 8);
    }
    let summary = common::read_json(&dir.path().join("out/summary.json"));
    assert_eq!(summary["entries"][1]["params"]["steps"], 10_000);
}

#[test]
fn report_json_records_what_determines_the_map() {
    let dir = common::workspace();
    run_ok(dir.path(), &two_methods("crop = [1, 2, 6, 5]\n", 8));
    let report = common::read_json(&dir.path().join("out/lam/report.json"));
    let p = &report["provenance"];
    let sha = |f: &str| {
        use sha2::Digest;
        let bytes = std::fs::read(dir.path().join(f)).unwrap();
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(p["image_sha256"], sha("lr.png"));
    assert_eq!(p["model_sha256"], sha("tiny.onnx"));
    assert_eq!(p["crop"], serde_json::json!([1, 2, 6, 5]));
    assert_eq!(p["precision"], "float32");
    assert_eq!(p["device"], "cpu");
    assert_eq!(
        report["window"],
        serde_json::json!({"x0": 4, "y0": 4, "size": 6})
    );
    assert_eq!(report["params"]["steps"], 8);
    assert!(dir.path().join("out/.srlens-run").is_file());
}
