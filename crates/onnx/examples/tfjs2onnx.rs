//! Converts a TF.js layers model to ONNX: `tfjs2onnx path/to/model.json out.onnx`.

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, dst] = args.as_slice() else {
        eprintln!("usage: tfjs2onnx MODEL_JSON OUT_ONNX");
        std::process::exit(2);
    };
    let result = srlens_onnx::tfjs::convert(Path::new(src))
        .and_then(|g| srlens_onnx::write_file(&g, Path::new(dst)).map(|()| g));
    match result {
        Ok(g) => println!(
            "{} -> {}: {} nodes, {} parameters, {:?}",
            src,
            dst,
            g.nodes.len(),
            g.parameter_count(),
            g.metadata
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
