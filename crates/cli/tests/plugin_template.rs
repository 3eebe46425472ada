//! The standalone plugin template (`templates/plugin`) copied out of the tree, built there by
//! Cargo against this checkout's srlens-core and plugin kit (a `[patch.crates-io]`, as its
//! README tells a third party), loaded by `srlens`, and its gradient map checked against the
//! template network's closed form.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the template in a copy under `dir`, renamed as its README tells a third party to
/// (`srlens_plugin_template` -> `my_sr_plugin`); returns the folder holding the
/// plugin file.
fn build_template(dir: &Path) -> PathBuf {
    let copy = dir.join("my-plugin");
    std::fs::create_dir_all(copy.join("src")).unwrap();
    std::fs::create_dir_all(copy.join(".cargo")).unwrap();
    std::fs::copy(
        repo().join("templates/plugin/src/lib.rs"),
        copy.join("src/lib.rs"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(repo().join("templates/plugin/Cargo.toml")).unwrap();
    let renamed = manifest.replace(
        "name = \"srlens_plugin_template\"",
        "name = \"my_sr_plugin\"",
    );
    assert_ne!(
        renamed, manifest,
        "the template's Cargo.toml names its library"
    );
    std::fs::write(copy.join("Cargo.toml"), renamed).unwrap();
    // The workspace's lock file: the same dependency versions as srlens's own build.
    std::fs::copy(repo().join("Cargo.lock"), copy.join("Cargo.lock")).unwrap();
    let root = repo().canonicalize().unwrap();
    std::fs::write(
        copy.join(".cargo/config.toml"),
        format!(
            "[patch.crates-io]\nsrlens-core = {{ path = \"{0}/crates/core\" }}\n\
             srlens-plugin-kit = {{ path = \"{0}/crates/plugin-kit\" }}\n",
            root.display()
        ),
    )
    .unwrap();
    // The workspace's target folder (Cargo does not lock it while tests run): with the same
    // profiles and versions, the dependencies srlens built are reused, not compiled again.
    // The renamed library is not named `*srlens_plugin_*`, so the `srlens` next to it never
    // loads it on its own.
    let target = common::target_dir().join("..");
    let out = Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .current_dir(&copy)
        .args(["build", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "the template does not build out of the tree:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = common::target_dir().join("libmy_sr_plugin.so");
    assert!(lib.is_file(), "{} was not built", lib.display());
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(&lib, plugins.join("libmy_sr_plugin.so")).unwrap();
    plugins
}

#[test]
fn the_template_builds_out_of_the_tree_and_its_gradient_is_the_closed_form() {
    let dir = common::workspace();
    build_template(dir.path());
    let config = "out = \"out\"\nobjective = \"intensity\"\n\n[model]\nbackend = \"template-x2\"\n\
                  options = { gain = 2.0 }\n\n[image]\npath = \"lr.png\"\nmode = \"lr\"\n\n\
                  [window]\nx = 3\ny = 2\nsize = 6\n\n[[method]]\nname = \"gradient\"\n";
    std::fs::write(dir.path().join("run.toml"), config).unwrap();
    let o = common::srlens(
        dir.path(),
        &["run", "run.toml", "--quiet", "--plugin-dir", "plugins"],
    );
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir.path()));
    let (shape, map) = common::read_npy(&dir.path().join("out/gradient/attribution.npy"));
    assert_eq!(shape, vec![3, 8, 8]);
    // y[c, i, j] = gain_c x[c, i/2, j/2] + bias_c: d sum_W y / d x[c, p, q] is gain_c times
    // the number of the 2 x 2 block's pixels inside the window.
    let gains = [2.0f32, 1.0, 0.5];
    for c in 0..3 {
        for p in 0..8 {
            for q in 0..8 {
                let inside = (0..2)
                    .flat_map(|u| (0..2).map(move |v| (2 * p + u, 2 * q + v)))
                    .filter(|&(i, j)| (2..8).contains(&i) && (3..9).contains(&j))
                    .count() as f32;
                let got = map[(c * 8 + p) * 8 + q];
                assert_eq!(got, gains[c] * inside, "({c}, {p}, {q})");
            }
        }
    }
    let listing = common::srlens(dir.path(), &["plugins", "--plugin-dir", "plugins"]);
    let text = common::stdout_of(&listing, dir.path());
    assert!(text.contains("template 0.1.0"), "{text}");
    assert!(text.contains("backend  template-x2"), "{text}");
}
