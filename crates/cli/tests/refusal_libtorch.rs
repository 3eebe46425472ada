//! A plugin whose libtorch cannot be found is refused with one sentence saying how to fix it.
//!
//! The plugin here is a stand-in built with the system C compiler: a shared library that needs
//! `libtorch_cpu.so`, linked against a stub that is then removed, as when the tch plugin is
//! copied to a machine without torch 2.13.0.

use std::process::Command;

fn cc(args: &[&str], dir: &std::path::Path) {
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(args)
        .current_dir(dir)
        .status()
        .expect("a C compiler (cc) builds the stand-in plugin");
    assert!(status.success(), "cc {args:?}");
}

#[test]
fn a_plugin_without_libtorch_says_how_to_get_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("stub")).unwrap();
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::write(dir.join("stub.c"), "int stub_fn(void) { return 1; }\n").unwrap();
    std::fs::write(
        dir.join("p.c"),
        "int stub_fn(void);\nint use_it(void) { return stub_fn(); }\n",
    )
    .unwrap();
    cc(
        &["-shared", "-fPIC", "-o", "stub/libtorch_cpu.so", "stub.c"],
        dir,
    );
    cc(
        &[
            "-shared",
            "-fPIC",
            "-o",
            "plugins/libsrlens_plugin_tch.so",
            "p.c",
            "-Lstub",
            "-Wl,--no-as-needed",
            "-ltorch_cpu",
        ],
        dir,
    );
    std::fs::remove_dir_all(dir.join("stub")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_srlens"))
        .args(["plugins", "--no-default-plugins", "--plugin-dir"])
        .arg(dir.join("plugins"))
        .env_remove("SRLENS_PLUGIN_PATH")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("refused"), "{text}");
    assert!(
        text.contains(
            "this plugin needs libtorch 2.13.0, which the loader cannot find (libtorch_cpu.so:"
        ),
        "{text}"
    );
    assert!(
        text.contains("run `cargo xtask setup`, or set LD_LIBRARY_PATH"),
        "{text}"
    );
    assert!(!text.contains("not an srlens plugin"), "{text}");
}
