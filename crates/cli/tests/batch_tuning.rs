//! `batch_size = "auto"` (the default): the run times its own path calls at 8 points per call,
//! then at halves while each is faster per point than the one before, and goes on at the
//! fastest. Every point goes through the model exactly once whatever sizes the calls had, the
//! map is the one of a fixed batch, and report.json says what was timed and chosen. The choice
//! is remembered in the user cache: the next run of the same calls starts at it.

mod common;

use std::path::Path;

/// The counting fixture backend's config with `batch_size` and LAM of 40 points and IG of 30.
fn counting_config(batch: &str, counts: &str) -> String {
    format!(
        "out = \"out\"\nbatch_size = {batch}\n\n[faithfulness]\nsteps = 0\n\n[model]\n\
         backend = \"counting\"\noptions = {{ counts = \"{counts}\" }}\n\n[image]\n\
         path = \"lr.png\"\nmode = \"lr\"\n\n[window]\nx = 4\ny = 4\nsize = 6\n\n\
         [[method]]\nname = \"lam\"\nsteps = 40\nkernel = 5\n\n[[method]]\nname = \"ig\"\nsteps = 30\n"
    )
}

/// Runs `config` into `out` with the user cache in `dir/cache` (a test's own, so that no
/// earlier run's choice is found); returns stderr.
fn run(dir: &Path, config: &str, out: &str, plugins: bool) -> String {
    let file = format!("{out}.toml");
    std::fs::write(dir.join(&file), config).unwrap();
    let mut args = vec!["run", file.as_str(), "--out", out];
    if plugins {
        args.extend(["--plugin-dir", "plugins"]);
    }
    let o = common::srlens_command(dir, &args)
        .env("SRLENS_CACHE", dir.join("cache"))
        .output()
        .unwrap();
    let err = common::stderr_of(&o, dir);
    assert!(o.status.success(), "{err}");
    err
}

/// The bytes of `out/method/attribution.npy` under `dir`.
fn map(dir: &Path, out: &str, method: &str) -> Vec<u8> {
    std::fs::read(dir.join(format!("{out}/{method}/attribution.npy"))).unwrap()
}

/// Checks `tuning` (report.json's `provenance.batch_tuning`) against the tuner's rule: the
/// sizes timed are 8, 4, ... down to the first that was not 3 % faster per point than the one
/// before (or 1), and the size chosen is the largest within 3 % of the fastest.
fn check_rule(tuning: &serde_json::Value) -> u64 {
    let per = tuning["seconds_per_image"].as_object().unwrap();
    let mut t: Vec<(u64, f64)> = per
        .iter()
        .map(|(b, s)| (b.parse().unwrap(), s.as_f64().unwrap()))
        .collect();
    t.sort_by_key(|p| std::cmp::Reverse(p.0));
    let sizes: Vec<u64> = t.iter().map(|p| p.0).collect();
    assert!(sizes.len() >= 2, "{tuning}");
    assert_eq!(sizes, [8, 4, 2, 1][..sizes.len()], "{tuning}");
    assert!(t.iter().all(|p| p.1 > 0.0), "{tuning}");
    for w in t.windows(2).take(t.len() - 2) {
        assert!(
            w[1].1 <= w[0].1 * 0.97,
            "went on past a slower size: {tuning}"
        );
    }
    let last = &t[t.len() - 2..];
    assert!(
        sizes.len() == 4 || last[1].1 > last[0].1 * 0.97,
        "stopped before a slower size: {tuning}"
    );
    let min = t.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let chosen = t.iter().filter(|p| p.1 <= min * 1.03).map(|p| p.0).max();
    assert_eq!(tuning["chosen"].as_u64(), chosen, "{tuning}");
    chosen.unwrap()
}

#[test]
fn timed_batches_pass_every_point_once_and_change_no_number() {
    let dir = common::workspace();
    common::plugins_folder(dir.path(), &["srlens_fixture_counting"]);
    let err = run(
        dir.path(),
        &counting_config("\"auto\"", "auto.json"),
        "out-auto",
        true,
    );
    assert!(err.contains(" chosen by time (per point: 8: "), "{err}");
    run(
        dir.path(),
        &counting_config("1", "one.json"),
        "out-one",
        true,
    );
    let counts = common::read_json(&dir.path().join("auto.json"));
    // 40 LAM points and 30 IG points, each once, plus the batch size probe's one image.
    assert_eq!(counts["gradient_items"], 40 + 30 + 1, "{counts}");
    for method in ["lam", "ig"] {
        let maps = |out| map(dir.path(), out, method);
        assert_eq!(
            maps("out-auto"),
            maps("out-one"),
            "{method}: the maps differ"
        );
        let report = common::read_json(&dir.path().join(format!("out-auto/{method}/report.json")));
        let p = &report["provenance"];
        let tuning = &p["batch_tuning"];
        assert_eq!(tuning["mode"], "time", "{tuning}");
        // LAM's 40 points are enough to time every size (2 x (8 + 4 + 2 + 1) = 30 points);
        // IG goes on at the size chosen.
        let chosen = check_rule(tuning);
        assert_eq!(p["batch_size"].as_u64(), Some(chosen));
        assert_eq!(report["params"]["batch_size"].as_u64(), Some(chosen));
        let fixed = common::read_json(&dir.path().join(format!("out-one/{method}/report.json")));
        assert_eq!(fixed["provenance"]["batch_tuning"]["mode"], "fixed");
        assert_eq!(fixed["provenance"]["batch_size"], 1);
    }
    // The same calls again: the choice comes from the cache, every call has that size, and
    // the maps do not change.
    let first = common::read_json(&dir.path().join("out-auto/lam/report.json"));
    let first = &first["provenance"]["batch_tuning"];
    // (The same backend options, so the same counts file: the first run's counts were read.)
    let err = run(
        dir.path(),
        &counting_config("\"auto\"", "auto.json"),
        "out-again",
        true,
    );
    assert!(
        err.contains("as an earlier run of the same calls timed it"),
        "{err}"
    );
    let counts = common::read_json(&dir.path().join("auto.json"));
    let chosen = first["chosen"].as_u64().unwrap();
    assert_eq!(counts["gradient_items"], 40 + 30 + 1, "{counts}");
    let calls = 40u64.div_ceil(chosen) + 30u64.div_ceil(chosen) + 1;
    assert_eq!(counts["gradient_calls"], calls, "{counts}");
    for method in ["lam", "ig"] {
        let report = common::read_json(&dir.path().join(format!("out-again/{method}/report.json")));
        let tuning = &report["provenance"]["batch_tuning"];
        assert_eq!(tuning["cached"], true, "{tuning}");
        assert_eq!(tuning["chosen"], first["chosen"], "{tuning}");
        assert_eq!(tuning["seconds_per_image"], first["seconds_per_image"]);
        let maps = |out| map(dir.path(), out, method);
        assert_eq!(
            maps("out-again"),
            maps("out-one"),
            "{method}: the maps differ"
        );
    }
}

#[test]
fn a_timed_batch_on_a_real_network_gives_the_fixed_batchs_map() {
    let root = common::repo_root();
    let model = root.join("zoo/esrgan-slim-x4.onnx");
    let photo = root.join("data/images/chelsea.png");
    assert!(
        model.is_file() && photo.is_file(),
        "the zoo is missing: run `cargo xtask setup` first"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = |batch: &str| {
        format!(
            "out = \"out\"\nbatch_size = {batch}\n\n[faithfulness]\nsteps = 0\n\n[model]\n\
             backend = \"candle\"\npath = \"{}\"\n\n[image]\npath = \"{}\"\nmode = \"lr\"\n\
             crop = [150, 100, 48, 48]\n\n[window]\nx = 88\ny = 92\nsize = 16\n\n\
             [[method]]\nname = \"lam\"\nsteps = 36\n",
            model.display(),
            photo.display()
        )
    };
    run(dir.path(), &config("\"auto\""), "out-auto", false);
    run(dir.path(), &config("4"), "out-four", false);
    let (_, auto) = common::read_npy(&dir.path().join("out-auto/lam/attribution.npy"));
    let (_, four) = common::read_npy(&dir.path().join("out-four/lam/attribution.npy"));
    let err = srlens_test_support::compare::rel_l2(&auto, &four);
    assert!(err <= 1e-6, "relative L2 {err:e}");
    let report = common::read_json(&dir.path().join("out-auto/lam/report.json"));
    let tuning = &report["provenance"]["batch_tuning"];
    assert_eq!(tuning["mode"], "time", "{tuning}");
    check_rule(tuning);
}
