//! Exports the example network's weights as an ONNX model, for any ONNX backend:
//!
//! ```text
//! cargo run -p srlens-plugin-example-model --example export_onnx -- WEIGHTS.safetensors OUT.onnx
//! ```

#[path = "../tests/common/onnx_export.rs"]
mod onnx_export;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [weights, out] = args.as_slice() else {
        return Err("usage: export_onnx WEIGHTS.safetensors OUT.onnx".into());
    };
    let net = srlens_plugin_example_model::Fsrcnn::load(&PathBuf::from(weights))?;
    let name = PathBuf::from(weights)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let graph = onnx_export::export(&net, &name);
    srlens_onnx::write_file(&graph, &PathBuf::from(out))?;
    println!("wrote {out} ({} parameters)", graph.parameter_count());
    Ok(())
}
