//! ONNX graph IR shared by the srlens backends: an in-memory graph independent of any
//! runtime, reading and writing `.onnx` files, and the TF.js layers model converter.

pub mod autodiff;
pub mod builder;
pub mod check;
pub mod error;
pub mod io;
pub mod ir;
pub mod metadata;
mod model_pb;
pub mod randomize;
pub mod receptive;
mod tensor_pb;
pub mod tfjs;

pub use check::validate;
pub use error::{Error, Result};
pub use io::{read_bytes, read_file, read_tensor_pb, to_bytes, write_file, write_tensor_pb};
pub use ir::{Attribute, Dim, ElemType, Graph, Node, TensorData, TensorValues, ValueInfo};
pub use receptive::{conv_flops, conv_layers, receptive_field, ConvLayer, ReceptiveField};
