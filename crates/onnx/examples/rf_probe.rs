fn main() {
    for f in std::env::args().skip(1) {
        let g = srlens_onnx::read_file(std::path::Path::new(&f)).unwrap();
        println!("{f}: {:?}", srlens_onnx::receptive_field(&g));
    }
}
