//! The built plugin library loads as a host loads it, finding libtorch through its rpath.

mod common;

use std::path::PathBuf;

use common::{fixture, npy};
use srlens_core::abi_stable::library::lib_header_from_path;
use srlens_core::abi_stable::std_types::{RSome, RStr, RString};
use srlens_core::{ComponentKind, LoadRequest, PluginRef};

fn library() -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/libsrlens_plugin_tch.so
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    dir.join(srlens_test_support::binaries::library_file(
        "srlens_plugin_tch",
    ))
}

#[test]
fn the_library_loads_without_ld_library_path_and_runs_a_model() {
    let ld = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    assert!(
        !ld.contains("site-packages/torch"),
        "LD_LIBRARY_PATH would hide a missing rpath: {ld}"
    );
    let path = library();
    let header = lib_header_from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let plugin = header.init_root_module::<PluginRef>().expect("root module");
    assert_eq!(plugin.name()().as_str(), "tch");
    let components = plugin.components()();
    assert_eq!(components.len(), 1);
    assert_eq!(components[0].kind, ComponentKind::Backend);
    assert_eq!(components[0].name.as_str(), "tch");
    let backend = plugin.new_backend()(RStr::from("tch"))
        .into_result()
        .unwrap();
    let model = backend
        .load(&LoadRequest {
            path: RSome(RString::from(fixture("small_net.pt"))),
            options: RString::new(),
            threads: 1,
            device: RString::from("cpu"),
            config_dir: RString::new(),
        })
        .into_result()
        .unwrap();
    // torch's float64 result on the same input (gen_models.py).
    let y = model
        .forward(&npy("small_net_x.npy"))
        .into_result()
        .unwrap();
    let want = npy("small_net_sr.npy");
    assert_eq!(y.dims(), want.dims());
    let err = y
        .data
        .iter()
        .zip(want.data.iter())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(err < 1e-5, "max difference {err}");
}
