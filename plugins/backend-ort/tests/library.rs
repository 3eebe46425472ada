//! Loading ONNX Runtime: a missing file, a file that is not a library, a library that is not
//! ONNX Runtime, an ONNX Runtime of the wrong version (a stand-in built here with `cc`), then
//! the real one; a second, different library in the same process is refused. Each failure is
//! one sentence naming the path and the fix, never a panic. One test, in its own process,
//! since the library is loaded once per process.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use srlens_core::ErrorKind;
use srlens_plugin_ort::runtime::default_library;
use srlens_plugin_ort::{Error, OrtModel};

/// A shared library built from `source` with the system C compiler.
fn c_library(dir: &Path, name: &str, source: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    let so = dir.join(format!("lib{name}.so"));
    std::fs::write(&c, source).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&c)
        .status()
        .unwrap_or_else(|e| panic!("this test builds a stand-in library with `{cc}`: {e}"));
    assert!(status.success(), "{cc} failed on {}", c.display());
    so
}

/// An `OrtGetApiBase` whose `GetVersionString` says 1.20.0.
const OLD_ORT: &str = r#"
typedef struct { const void* (*GetApi)(unsigned); const char* (*GetVersionString)(void); } OrtApiBase;
static const void* get_api(unsigned v) { (void)v; return 0; }
static const char* version(void) { return "1.20.0"; }
static const OrtApiBase base = { get_api, version };
const OrtApiBase* OrtGetApiBase(void) { return &base; }
"#;

fn load(model: &Path, options: &str, config_dir: &Path) -> Result<OrtModel, Error> {
    OrtModel::load(model, options, 1, "cpu", config_dir)
}

fn library_error(r: Result<OrtModel, Error>, tmp: &Path) -> String {
    match r {
        Ok(_) => panic!("the model loaded"),
        Err(e) => {
            assert!(matches!(e, Error::Library(_)), "{e:?}");
            assert_eq!(e.kind(), ErrorKind::ModelLoad);
            common::redact(&e.to_string(), Some(tmp))
        }
    }
}

#[test]
fn missing_and_wrong_libraries_are_errors_then_one_library_serves_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path();
    let model = common::write(&common::tiny_net(2), tmp, "tiny.onnx");
    let option = |lib: &str| format!(r#"{{"library": "{lib}"}}"#);

    let missing = library_error(load(&model, &option("lib/libonnxruntime.so"), tmp), tmp);
    insta::assert_snapshot!("missing_library", missing);

    std::fs::write(tmp.join("text.so"), "not a library").unwrap();
    let text = library_error(load(&model, &option("text.so"), tmp), tmp);
    assert!(
        text.starts_with(
            "cannot load ONNX Runtime from `[TMP]/text.so` (the backend option `library`): "
        ) && text.ends_with("libonnxruntime.so"),
        "{text}"
    );
    assert!(text.contains("cargo xtask setup"), "{text}");

    let other = c_library(tmp, "other", "int srlens_not_ort(void) { return 1; }\n");
    let other = library_error(load(&model, &option(&other.to_string_lossy()), tmp), tmp);
    insta::assert_snapshot!("not_onnx_runtime", other);

    let old = c_library(tmp, "oldort", OLD_ORT);
    let old = library_error(load(&model, &option(&old.to_string_lossy()), tmp), tmp);
    insta::assert_snapshot!("old_version", old);

    // The real library, the one `cargo xtask setup` installs, named by the option.
    let real = default_library();
    assert!(
        real.is_file(),
        "{} is missing: run `cargo xtask setup`",
        real.display()
    );
    let lib = option(&real.to_string_lossy());
    let m = load(&model, &lib, tmp).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.runtime().library, real);
    assert!(
        m.runtime().version.starts_with("1.31."),
        "{}",
        m.runtime().version
    );
    // The same library again, by another spelling of its path, is fine.
    let parent = real.parent().unwrap();
    let again = format!(
        r#"{{"library": "{}/../capi/{}"}}"#,
        parent.display(),
        real.file_name().unwrap().to_string_lossy()
    );
    load(&model, &again, tmp).unwrap_or_else(|e| panic!("{e}"));
    // Another one is not.
    let copy = tmp.join("libonnxruntime.so.1.31.1");
    std::fs::copy(&real, &copy).unwrap();
    let second = library_error(load(&model, &option(&copy.to_string_lossy()), tmp), tmp);
    insta::assert_snapshot!("second_library", second);
}
