//! Link settings for libtorch, as in tch-rs's own build script.
//!
//! - An rpath to libtorch's lib folder, so the plugin loads without `LD_LIBRARY_PATH`.
//!   torch-sys (`links = "tch"`) exports the folder it linked against as
//!   `DEP_TCH_LIBTORCH_LIB` to the packages that depend on it directly.
//! - `-ltorch` without `--as-needed`: the plugin calls no symbol of `libtorch_cuda.so`, so the
//!   linker would drop it, its CUDA hooks would never register and libtorch would report no
//!   CUDA even on a GPU machine (tch-rs issues #907 and #980). `libtorch.so` needs both the
//!   CPU and the CUDA library (in a CUDA build) and keeps them loaded.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
}
