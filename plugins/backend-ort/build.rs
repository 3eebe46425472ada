//! A fingerprint of the gradient graphs' generator (`crates/onnx/src`, where the autodiff rules
//! live), so that the graph cache (src/cache.rs) regenerates its entries when that code
//! changes, not only when the srlens version does.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let onnx = manifest.join("../../crates/onnx/src");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", onnx.display());
    let mut sources = vec![];
    files(&onnx, &mut sources);
    sources.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for path in &sources {
        path.strip_prefix(&onnx).unwrap_or(path).hash(&mut hasher);
        std::fs::read(path).unwrap_or_default().hash(&mut hasher);
    }
    println!(
        "cargo:rustc-env=SRLENS_ORT_GENERATOR={:016x}",
        hasher.finish()
    );
}
