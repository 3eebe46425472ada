//! The in-memory graph: what a backend interprets and what converters produce.

use std::collections::BTreeMap;

/// A dimension of a graph input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    /// A known size.
    Fixed(i64),
    /// A named, free size (`"N"`, `"height"`), or an unnamed one (empty string).
    Symbolic(String),
}

/// The element type of a graph input or output (ONNX `TensorProto.DataType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ElemType {
    /// `FLOAT` (1), what SR networks take and return.
    #[default]
    F32,
    /// `DOUBLE` (11).
    F64,
    /// `INT64` (7).
    I64,
    /// `INT32` (6).
    I32,
    /// `BOOL` (9).
    Bool,
    /// Any other type, by its ONNX code.
    Other(i32),
}

impl ElemType {
    /// The ONNX `DataType` code.
    pub fn code(self) -> i32 {
        match self {
            ElemType::F32 => 1,
            ElemType::F64 => 11,
            ElemType::I64 => 7,
            ElemType::I32 => 6,
            ElemType::Bool => 9,
            ElemType::Other(c) => c,
        }
    }

    /// The type of an ONNX `DataType` code.
    pub fn from_code(code: i32) -> Self {
        match code {
            1 => ElemType::F32,
            11 => ElemType::F64,
            7 => ElemType::I64,
            6 => ElemType::I32,
            9 => ElemType::Bool,
            c => ElemType::Other(c),
        }
    }

    /// Whether values of this type are floating point (FLOAT, DOUBLE, FLOAT16, BFLOAT16).
    pub fn is_float(self) -> bool {
        matches!(self.code(), 1 | 10 | 11 | 16)
    }
}

/// A named graph input or output with its element type and shape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValueInfo {
    /// The value's name.
    pub name: String,
    /// Its dimensions.
    pub shape: Vec<Dim>,
    /// Its element type.
    pub elem_type: ElemType,
}

/// The values of a constant tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorValues {
    /// `float`.
    F32(Vec<f32>),
    /// `double`.
    F64(Vec<f64>),
    /// `int64`.
    I64(Vec<i64>),
    /// `int32`.
    I32(Vec<i32>),
    /// `bool`, one byte each.
    Bool(Vec<bool>),
}

/// A constant tensor (an initializer, a `Constant` node's value, a test input).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorData {
    /// Dimensions, outermost first (empty for a scalar).
    pub dims: Vec<i64>,
    /// Row-major values.
    pub values: TensorValues,
}

impl TensorData {
    /// The element type of its values.
    pub fn elem_type(&self) -> ElemType {
        match self.values {
            TensorValues::F32(_) => ElemType::F32,
            TensorValues::F64(_) => ElemType::F64,
            TensorValues::I64(_) => ElemType::I64,
            TensorValues::I32(_) => ElemType::I32,
            TensorValues::Bool(_) => ElemType::Bool,
        }
    }

    /// An `f32` tensor.
    pub fn f32(dims: Vec<i64>, values: Vec<f32>) -> Self {
        TensorData {
            dims,
            values: TensorValues::F32(values),
        }
    }

    /// An `i64` tensor.
    pub fn i64(dims: Vec<i64>, values: Vec<i64>) -> Self {
        TensorData {
            dims,
            values: TensorValues::I64(values),
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match &self.values {
            TensorValues::F32(v) => v.len(),
            TensorValues::F64(v) => v.len(),
            TensorValues::I64(v) => v.len(),
            TensorValues::I32(v) => v.len(),
            TensorValues::Bool(v) => v.len(),
        }
    }

    /// Whether it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A node attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    /// `INT`.
    Int(i64),
    /// `INTS`.
    Ints(Vec<i64>),
    /// `FLOAT`.
    Float(f32),
    /// `FLOATS`.
    Floats(Vec<f32>),
    /// `STRING`.
    String(String),
    /// `STRINGS`.
    Strings(Vec<String>),
    /// `TENSOR`.
    Tensor(TensorData),
}

/// One operator application.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's name (may be empty in files; converters always set one).
    pub name: String,
    /// The operator, e.g. `Conv`.
    pub op_type: String,
    /// The operator's domain; empty for the default ONNX domain.
    pub domain: String,
    /// Input value names; an empty name is an omitted optional input.
    pub inputs: Vec<String>,
    /// Output value names.
    pub outputs: Vec<String>,
    /// Attributes by name.
    pub attributes: BTreeMap<String, Attribute>,
}

impl Node {
    /// A node in the default domain with no attributes.
    pub fn new(name: &str, op_type: &str, inputs: &[&str], outputs: &[&str]) -> Self {
        Node {
            name: name.to_string(),
            op_type: op_type.to_string(),
            domain: String::new(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            attributes: BTreeMap::new(),
        }
    }

    /// Adds an attribute (builder style).
    pub fn with(mut self, name: &str, value: Attribute) -> Self {
        self.attributes.insert(name.to_string(), value);
        self
    }

    /// The integer attribute `name`, or `default`.
    pub fn int(&self, name: &str, default: i64) -> i64 {
        match self.attributes.get(name) {
            Some(Attribute::Int(v)) => *v,
            _ => default,
        }
    }

    /// The integer-list attribute `name`, if present.
    pub fn ints(&self, name: &str) -> Option<&[i64]> {
        match self.attributes.get(name) {
            Some(Attribute::Ints(v)) => Some(v),
            _ => None,
        }
    }

    /// The float attribute `name`, or `default`.
    pub fn float(&self, name: &str, default: f32) -> f32 {
        match self.attributes.get(name) {
            Some(Attribute::Float(v)) => *v,
            _ => default,
        }
    }

    /// The string attribute `name`, if present.
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.attributes.get(name) {
            Some(Attribute::String(v)) => Some(v),
            _ => None,
        }
    }
}

/// A whole model: one graph, its constants and metadata. Nodes are in topological order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    /// The graph's name.
    pub name: String,
    /// The default-domain opset version the graph was written for.
    pub opset: i64,
    /// Graph inputs that are not initializers.
    pub inputs: Vec<ValueInfo>,
    /// Graph outputs.
    pub outputs: Vec<ValueInfo>,
    /// Operators, in topological order.
    pub nodes: Vec<Node>,
    /// Named constants (weights).
    pub initializers: BTreeMap<String, TensorData>,
    /// The model's `metadata_props`; srlens keys start with `srlens.` (`srlens.scale`,
    /// `srlens.input_range` as `"0,255"`, `srlens.license`, `srlens.source`).
    pub metadata: BTreeMap<String, String>,
}

impl Graph {
    /// The number of parameters: elements of all floating-point initializers.
    pub fn parameter_count(&self) -> u64 {
        self.initializers
            .values()
            .filter(|t| matches!(t.values, TensorValues::F32(_) | TensorValues::F64(_)))
            .map(|t| t.len() as u64)
            .sum()
    }
}
