//! ONNX graph IR shared by the srlens backends: an in-memory graph independent of any
//! runtime, reading and writing `.onnx` files, and the TF.js layers model converter.

pub mod error;
pub mod ir;

pub use error::{Error, Result};
pub use ir::{Attribute, Dim, Graph, Node, TensorData, TensorValues, ValueInfo};
