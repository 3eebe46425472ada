//! Several windows in one run (`[[window]]`): the same maps, bit for bit, as one run per
//! window, for a third of the model passes (the counting fixture backend counts them).

mod common;

use std::path::Path;

/// A folder `plugins` holding the counting fixture backend.
fn counting_plugin(dir: &Path) {
    common::plugins_folder(dir, &["srlens_fixture_counting"]);
}

const WINDOWS: [(u32, u32, u32); 3] = [(2, 2, 6), (8, 4, 5), (1, 10, 4)];

/// A config on the counting backend (no model file) with `windows` and LAM and IG, without
/// the deletion curves (whose forward passes are per window by design).
fn config(windows: &str, counts: &str) -> String {
    format!(
        "out = \"out\"\nbatch_size = 3\n\n[faithfulness]\nsteps = 0\n\n[model]\nbackend = \"counting\"\n\
         options = {{ counts = \"{counts}\" }}\n\n[image]\npath = \"lr.png\"\nmode = \"lr\"\n\n\
         {windows}\n[[method]]\nname = \"lam\"\nsteps = 8\nkernel = 5\n\n\
         [[method]]\nname = \"ig\"\nsteps = 7\n"
    )
}

fn run(dir: &Path, file: &str, out: &str) {
    let o = common::srlens(
        dir,
        &[
            "run",
            file,
            "--quiet",
            "--plugin-dir",
            "plugins",
            "--out",
            out,
        ],
    );
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir));
}

fn counts(dir: &Path, file: &str) -> serde_json::Value {
    common::read_json(&dir.join(file))
}

#[test]
fn three_windows_in_one_run_equal_three_single_runs_with_one_set_of_passes() {
    let dir = common::workspace();
    counting_plugin(dir.path());
    let list: String = WINDOWS
        .iter()
        .enumerate()
        .map(|(i, (x, y, s))| {
            let label = ["left", "right", "low"][i];
            format!("[[window]]\nlabel = \"{label}\"\nx = {x}\ny = {y}\nsize = {s}\n\n")
        })
        .collect();
    std::fs::write(dir.path().join("many.toml"), config(&list, "many.json")).unwrap();
    run(dir.path(), "many.toml", "out-many");
    for (i, (x, y, s)) in WINDOWS.iter().enumerate() {
        let one = format!("[window]\nx = {x}\ny = {y}\nsize = {s}\n");
        let file = format!("one{i}.toml");
        std::fs::write(
            dir.path().join(&file),
            config(&one, &format!("one{i}.json")),
        )
        .unwrap();
        run(dir.path(), &file, &format!("out-one{i}"));
        let label = ["left", "right", "low"][i];
        for method in ["lam", "ig"] {
            let many = std::fs::read(
                dir.path()
                    .join(format!("out-many/{method}/{label}/attribution.npy")),
            )
            .unwrap();
            let single = std::fs::read(
                dir.path()
                    .join(format!("out-one{i}/{method}/attribution.npy")),
            )
            .unwrap();
            assert_eq!(many, single, "{method}, window {label}: the maps differ");
            let report = common::read_json(
                &dir.path()
                    .join(format!("out-many/{method}/{label}/report.json")),
            );
            assert_eq!(report["window"]["x0"], *x);
            assert_eq!(report["provenance"]["window_label"], label);
        }
        // One run per window makes the same passes as the three-window run.
        assert_eq!(
            counts(dir.path(), &format!("one{i}.json")),
            counts(dir.path(), "many.json"),
            "window {i}"
        );
    }
    // Every window's path went through the model once: 8 LAM + 7 IG points, plus the batch
    // size probe, in batches of at most 3.
    let c = counts(dir.path(), "many.json");
    assert_eq!(c["gradient_items"], 8 + 7 + 1, "{c}");
    let summary = common::read_json(&dir.path().join("out-many/summary.json"));
    let labels: Vec<&str> = summary["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "lam/left",
            "lam/right",
            "lam/low",
            "ig/left",
            "ig/right",
            "ig/low"
        ]
    );
    let csv = std::fs::read_to_string(dir.path().join("out-many/summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 6, "{csv}");
}

#[test]
fn a_window_list_with_a_repeated_label_is_refused_at_its_line() {
    let dir = common::workspace();
    counting_plugin(dir.path());
    let list =
        "[[window]]\nlabel = \"a\"\nx = 0\ny = 0\n\n[[window]]\nlabel = \"a\"\nx = 1\ny = 1\n";
    std::fs::write(dir.path().join("run.toml"), config(list, "c.json")).unwrap();
    let o = common::srlens(
        dir.path(),
        &["run", "run.toml", "--quiet", "--plugin-dir", "plugins"],
    );
    assert!(!o.status.success());
    let err = common::stderr_of(&o, dir.path());
    assert!(
        err.contains("run.toml:21:1: two windows have the label `a`"),
        "{err}"
    );
    assert!(err.contains("label = \"a\""), "{err}");
}
