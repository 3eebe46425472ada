//! The Candle backend: runs ONNX SR networks in pure Rust.
