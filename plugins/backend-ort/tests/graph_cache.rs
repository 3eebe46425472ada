//! The cache of generated gradient graphs: a second load of the same model file reads them
//! instead of generating them again, and a damaged or stale entry is rebuilt, never trusted.
//! One test, in its own process, with `SRLENS_CACHE` pointing at a temporary folder.

mod common;

use std::path::{Path, PathBuf};

use srlens_core::Tensor;
use srlens_plugin_kit::testing::objective_box;
use srlens_plugin_kit::SrModelExt;
use srlens_plugin_ort::cache::{self, Source};
use srlens_test_support::objective::Linear;
use srlens_test_support::rng::SplitMix64;

/// The input gradient of `model` for a fixed input and objective, and where its gradient
/// graphs came from.
fn gradient(model: &Path) -> (Tensor, Source) {
    let m = common::ort(model, "");
    assert_eq!(
        m.gradient_source(),
        None,
        "graphs are built on the first gradient call"
    );
    let x = SplitMix64(1).tensor(&[1, 3, 5, 6], 0.0, 1.0);
    let w = Linear(SplitMix64(2).tensor(&[1, 3, 10, 12], -1.0, 1.0));
    let g = m.gradients(&x, &[objective_box(w)]).unwrap().remove(0);
    (g.grad, m.gradient_source().expect("the graphs were built"))
}

fn entry_of(root: &Path, model: &Path) -> PathBuf {
    let sha = cache::sha256(&std::fs::read(model).unwrap());
    cache::entry_dir(root, &sha)
}

#[test]
fn a_second_load_reuses_the_graphs_and_a_damaged_entry_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    // Before anything reads the environment (this binary has this one test).
    std::env::set_var("SRLENS_CACHE", dir.path().join("cache"));
    let root = cache::root().unwrap();
    assert_eq!(root, dir.path().join("cache/ort"));
    let model = common::write(&common::tiny_net(3), dir.path(), "tiny.onnx");
    let entry = entry_of(&root, &model);

    let (first, source) = gradient(&model);
    assert_eq!(source, Source::Generated);
    for f in ["forward.onnx", "backward.onnx", "entry.json"] {
        assert!(entry.join(f).is_file(), "{f} is not in {}", entry.display());
    }
    let written = std::fs::metadata(entry.join("entry.json"))
        .unwrap()
        .modified()
        .unwrap();

    let (again, source) = gradient(&model);
    assert_eq!(source, Source::Cache);
    assert_eq!(again.data, first.data);
    let unchanged = std::fs::metadata(entry.join("entry.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(unchanged, written, "a cache hit rewrote the entry");

    // A truncated graph, a corrupt manifest, a manifest from another generator: rebuilt.
    let rebuilt = |what: &str| {
        let (g, source) = gradient(&model);
        assert_eq!(source, Source::Generated, "{what} was trusted");
        assert_eq!(g.data, first.data, "after {what}");
        let (_, source) = gradient(&model);
        assert_eq!(
            source,
            Source::Cache,
            "the entry rebuilt after {what} is not read"
        );
    };
    let backward = std::fs::read(entry.join("backward.onnx")).unwrap();
    std::fs::write(entry.join("backward.onnx"), &backward[..backward.len() / 2]).unwrap();
    rebuilt("a truncated backward graph");
    let manifest = std::fs::read_to_string(entry.join("entry.json")).unwrap();
    std::fs::write(entry.join("entry.json"), "{\"saved\": [").unwrap();
    rebuilt("a manifest that is not JSON");
    let stale = manifest.replace(cache::GENERATOR, "0000000000000000");
    assert_ne!(stale, manifest);
    std::fs::write(entry.join("entry.json"), stale).unwrap();
    rebuilt("a stale manifest");

    // Another model file (other weights) has its own entry.
    let other = common::write(&common::tiny_net(4), dir.path(), "other.onnx");
    let (g, source) = gradient(&other);
    assert_eq!(source, Source::Generated);
    assert_ne!(g.data, first.data);
    assert!(entry_of(&root, &other).join("entry.json").is_file());
}
