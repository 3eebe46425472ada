//! The committed `zoo.toml` against a fresh conversion of the npm packages (fetched by
//! `cargo xtask setup`): every entry's sha256, parameters, scale and provenance, and the
//! conversion is deterministic (two conversions, byte for byte).

use std::path::PathBuf;

use srlens_zoo::{hash, Manifest};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_entry_matches_a_fresh_conversion() {
    let manifest = Manifest::read(&root().join("zoo.toml")).unwrap();
    assert_eq!(manifest.models.len(), 12);
    for e in &manifest.models {
        let short = e.package.trim_start_matches("@upscalerjs/");
        let json = root()
            .join(".cache/npm")
            .join(short)
            .join("package")
            .join(&e.source_file);
        assert!(
            json.is_file(),
            "{} is missing: run `cargo xtask setup`",
            json.display()
        );
        let graph = srlens_onnx::tfjs::convert(&json).unwrap();
        let bytes = srlens_onnx::to_bytes(&graph).unwrap();
        assert_eq!(
            hash::sha256(&bytes),
            e.sha256,
            "{}: the conversion changed; if intended, run `cargo xtask zoo --write`",
            e.name
        );
        if e.name.ends_with("-x2") {
            let again = srlens_onnx::to_bytes(&srlens_onnx::tfjs::convert(&json).unwrap()).unwrap();
            assert!(again == bytes, "{}: two conversions differ", e.name);
        }
        assert_eq!(graph.parameter_count(), e.parameters, "{}", e.name);
        assert_eq!(
            graph.metadata["srlens.scale"],
            e.scale.to_string(),
            "{}",
            e.name
        );
        assert_eq!(
            graph.metadata["srlens.architecture"], e.architecture,
            "{}",
            e.name
        );
        assert_eq!(graph.metadata["srlens.license"], e.license, "{}", e.name);
        assert_eq!(
            graph.metadata["srlens.source"],
            format!("{}@{}", e.package, e.version),
            "{}",
            e.name
        );
        assert_eq!(e.file, format!("zoo/{}.onnx", e.name));
    }
}
