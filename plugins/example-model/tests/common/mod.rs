//! Shared test code.

pub mod onnx_export;
