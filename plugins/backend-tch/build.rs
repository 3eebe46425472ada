//! Sets an rpath to libtorch's lib folder, so the plugin loads without `LD_LIBRARY_PATH`.
//!
//! torch-sys (`links = "tch"`) exports the folder it linked against as `DEP_TCH_LIBTORCH_LIB`
//! to the packages that depend on it directly.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
