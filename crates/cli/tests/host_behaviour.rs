//! What the host does around the methods: the notes it prints (batch size, files written),
//! where it finds plugins, any path working with `lam`, and a plugin's malformed map.

mod common;

use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// Without `--quiet`, the chosen batch size (measured against `memory_budget_mb`) and each
/// method's output are reported on stderr; the batch size is the one the method used.
#[test]
fn the_batch_size_and_the_written_folders_are_reported() {
    let dir = common::workspace();
    let config = common::config("tiny.onnx", "[[method]]\nname = \"lam\"\nsteps = 4\n")
        .replace("batch_size = 3", "batch_size = 3\nmemory_budget_mb = 1");
    write(dir.path(), "run.toml", &config);
    let o = common::srlens(dir.path(), &["run", "run.toml"]);
    let err = common::stderr_of(&o, dir.path());
    assert!(o.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.trim_start().starts_with("batch size "))
        .unwrap_or_else(|| panic!("no batch size line in {err}"));
    let batch: u64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(
        line.contains("one image's gradient through tiny peaks at"),
        "{line}"
    );
    assert!(line.contains("budget 1 MiB"), "{line}");
    let report = common::read_json(&dir.path().join("out/lam/report.json"));
    assert_eq!(report["params"]["batch_size"].as_u64(), Some(batch));
    assert!((1..=3).contains(&batch), "{batch}");
    assert!(
        err.lines()
            .any(|l| l.trim_start().starts_with("wrote lam: ") && l.ends_with("out/lam")),
        "{err}"
    );
    assert!(o.stdout.ends_with(b"out/report.html\n"));
}

/// Plugins come from `--plugin-dir`, from SRLENS_PLUGIN_PATH, and from the executable's own
/// folder (files named `*srlens_plugin_*` only).
#[test]
fn plugins_are_found_in_the_plugin_path_and_next_to_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("extra");
    std::fs::create_dir(&extra).unwrap();
    std::fs::copy(
        common::built_library("srlens_fixture_counting"),
        extra.join("libsrlens_fixture_counting.so"),
    )
    .unwrap();
    let listing = |env: Option<&Path>, args: &[&str]| {
        let mut cmd = std::process::Command::new(common::srlens_bin());
        cmd.current_dir(dir.path()).arg("plugins").args(args);
        cmd.env_remove("SRLENS_PLUGIN_PATH");
        if let Some(p) = env {
            cmd.env("SRLENS_PLUGIN_PATH", p);
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let with_path = listing(Some(&extra), &["--no-default-plugins"]);
    assert!(with_path.starts_with("counting 0.1.0"), "{with_path}");
    assert!(!with_path.contains("candle"), "{with_path}");
    let none = listing(None, &["--no-default-plugins"]);
    assert!(!none.contains("counting"), "{none}");
    // Next to the binary (target/debug): the default plugins, but not the fixtures, whose
    // names lack `srlens_plugin_`.
    let beside = listing(None, &[]);
    assert!(beside.contains("candle 0.1.0"), "{beside}");
    assert!(beside.contains("lam 0.1.0"), "{beside}");
    assert!(!beside.contains("counting"), "{beside}");
}

/// `lam` takes any path: along `line` (black baseline, Gauss-Legendre by default) it is
/// exactly `ig` with the same steps.
#[test]
fn lam_along_the_line_path_is_integrated_gradients() {
    let dir = common::workspace();
    let methods = "[[method]]\nname = \"lam\"\npath = \"line\"\nsteps = 5\n\n\
                   [[method]]\nname = \"ig\"\nsteps = 5\n";
    write(
        dir.path(),
        "run.toml",
        &common::config("tiny.onnx", methods),
    );
    let o = common::srlens(dir.path(), &["run", "run.toml", "--quiet"]);
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir.path()));
    let lam = common::read_npy(&dir.path().join("out/lam/attribution.npy")).1;
    let ig = common::read_npy(&dir.path().join("out/ig/attribution.npy")).1;
    assert_eq!(lam, ig);
    assert!(lam.iter().any(|v| *v != 0.0));
}

/// A method that returns a map of the wrong rank: an error naming the plugin and the shape,
/// never a panic of the host.
#[test]
fn a_map_of_the_wrong_rank_is_an_error_naming_the_plugin() {
    let dir = common::workspace();
    common::plugins_folder(dir.path(), &["srlens_fixture_panic"]);
    write(
        dir.path(),
        "run.toml",
        &common::config("tiny.onnx", "[[method]]\nname = \"bad_map\"\n"),
    );
    let o = common::srlens(
        dir.path(),
        &["run", "run.toml", "--quiet", "--plugin-dir", "plugins"],
    );
    let err = common::stderr_of(&o, dir.path());
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("plugin `panicky`"), "{err}");
    assert!(err.contains("the attribution map has shape [5]"), "{err}");
    assert!(err.contains("expected [3, 8, 8]"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
