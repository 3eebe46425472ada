//! The built plugin library loads as a host loads it and runs a model with the ONNX Runtime
//! `cargo xtask setup` installs.

mod common;

use std::path::PathBuf;

use srlens_core::abi_stable::library::lib_header_from_path;
use srlens_core::abi_stable::std_types::{RSome, RStr, RString};
use srlens_core::{ComponentKind, LoadRequest, PluginRef};

fn library() -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/libsrlens_plugin_ort.so
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    dir.join(srlens_test_support::binaries::library_file(
        "srlens_plugin_ort",
    ))
}

#[test]
fn the_library_loads_and_runs_a_model() {
    let path = library();
    let header = lib_header_from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let plugin = header.init_root_module::<PluginRef>().expect("root module");
    assert_eq!(plugin.name()().as_str(), "ort");
    let components = plugin.components()();
    assert_eq!(components.len(), 1);
    assert_eq!(components[0].kind, ComponentKind::Backend);
    assert_eq!(components[0].name.as_str(), "ort");
    let backend = plugin.new_backend()(RStr::from("ort"))
        .into_result()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model_path = common::write(&common::tiny_net(5), dir.path(), "tiny.onnx");
    let model = backend
        .load(&LoadRequest {
            path: RSome(RString::from(model_path.to_string_lossy().as_ref())),
            options: RString::new(),
            threads: 1,
            device: RString::from("cpu"),
            config_dir: RString::new(),
        })
        .into_result()
        .unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(model.info().scale, 2);
    let x = srlens_test_support::rng::SplitMix64(1).tensor(&[1, 3, 4, 5], 0.0, 1.0);
    let y = model.forward(&x).into_result().unwrap();
    let want = common::candle(&model_path).forward_abi(&x).unwrap();
    assert_eq!(y.dims(), want.dims());
    assert!(common::rel_max(&y.data, &want.data) < 1e-5);
}
