//! `srlens plugins`: what each file provides, and the whole reason for each refused file.

mod common;

use std::path::Path;

fn plugin_folder(dir: &Path) -> std::path::PathBuf {
    let plugins = common::plugins_folder(
        dir,
        &[
            "srlens_plugin_candle",
            "srlens_plugin_lam",
            "srlens_plugin_ig",
            "srlens_plugin_smoothgrad",
            "srlens_fixture_panic",
            "srlens_fixture_other_abi",
            "srlens_fixture_modified_core",
        ],
    );
    std::fs::write(plugins.join("libnotes.so"), "not a library").unwrap();
    plugins
}

#[test]
fn plugins_lists_components_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    plugin_folder(dir.path());
    let out = common::srlens_raw(
        dir.path(),
        &["plugins", "--no-default-plugins", "--plugin-dir", "plugins"],
    );
    assert!(out.status.success());
    insta::assert_snapshot!(common::stdout_of(&out, dir.path()));
}

#[test]
fn verbose_listing_shows_abi_stables_report() {
    let dir = tempfile::tempdir().unwrap();
    plugin_folder(dir.path());
    let out = common::srlens_raw(
        dir.path(),
        &[
            "plugins",
            "--no-default-plugins",
            "--plugin-dir",
            "plugins",
            "--verbose",
        ],
    );
    let text = common::stdout_of(&out, dir.path());
    // abi_stable's own report, indented under the one-paragraph reason.
    assert!(
        text.contains("    'srlens_plugin' library version mismatch:"),
        "{text}"
    );
    assert!(text.contains("    library:0.1.0"), "{text}");
}

/// A refused plugin does not stop a run that does not need it, and a name only it could have
/// provided points the user at `srlens plugins`.
#[test]
fn a_refused_plugin_is_mentioned_when_a_name_is_missing() {
    let dir = common::workspace();
    plugin_folder(dir.path());
    let run = |methods: &str| {
        std::fs::write(
            dir.path().join("run.toml"),
            common::config("tiny.onnx", methods),
        )
        .unwrap();
        common::srlens_raw(
            dir.path(),
            &[
                "run",
                "run.toml",
                "--quiet",
                "--no-default-plugins",
                "--plugin-dir",
                "plugins",
            ],
        )
    };
    let ok = run("[[method]]\nname = \"gradient\"\nplugin = \"ig\"\n");
    assert!(
        ok.status.success(),
        "{}",
        common::stderr_of(&ok, dir.path())
    );
    let bad = run("[[method]]\nname = \"future_method\"\n");
    assert!(!bad.status.success());
    insta::assert_snapshot!(common::stderr_of(&bad, dir.path()));
}

/// Two plugins that provide the same name: an error, unless the config says which.
#[test]
fn duplicate_names_need_the_plugin_key() {
    let dir = common::workspace();
    let plugins = plugin_folder(dir.path());
    let other = dir.path().join("more");
    std::fs::create_dir(&other).unwrap();
    std::fs::copy(
        plugins.join("libsrlens_plugin_lam.so"),
        other.join("libsrlens_plugin_lam_copy.so"),
    )
    .unwrap();
    let run = |methods: &str| {
        std::fs::write(
            dir.path().join("run.toml"),
            common::config("tiny.onnx", methods),
        )
        .unwrap();
        common::srlens_raw(
            dir.path(),
            &[
                "run",
                "run.toml",
                "--quiet",
                "--no-default-plugins",
                "--plugin-dir",
                "plugins",
                "--plugin-dir",
                "more",
            ],
        )
    };
    let bad = run("[[method]]\nname = \"lam\"\nsteps = 2\n");
    assert!(!bad.status.success());
    insta::assert_snapshot!(common::stderr_of(&bad, dir.path()));
    // Both are called `lam`: the name does not tell them apart, their files do.
    let by_name = run("[[method]]\nname = \"lam\"\nplugin = \"lam\"\nsteps = 2\n");
    assert!(!by_name.status.success());
    let by_file =
        run("[[method]]\nname = \"lam\"\nplugin = \"libsrlens_plugin_lam_copy.so\"\nsteps = 2\n");
    assert!(
        by_file.status.success(),
        "{}",
        common::stderr_of(&by_file, dir.path())
    );
}
