//! [`GraphBuilder`]: assemble small graphs in code (tests, converters).
//!
//! ```
//! use srlens_onnx::builder::GraphBuilder;
//! use srlens_onnx::{Attribute, TensorData};
//!
//! let mut b = GraphBuilder::new("tiny");
//! b.input("x", &[1, 1, 4, 4]);
//! b.initializer("w", TensorData::f32(vec![1, 1, 3, 3], vec![1.0 / 9.0; 9]));
//! let y = b.op("Conv", &["x", "w"], &[("pads", Attribute::Ints(vec![1, 1, 1, 1]))]);
//! let z = b.op("Relu", &[&y], &[]);
//! b.output(&z, &[1, 1, 4, 4]);
//! let graph = b.build().unwrap();
//! assert_eq!(graph.nodes.len(), 2);
//! assert_eq!(graph.opset, 17);
//! ```

use crate::check::validate;
use crate::error::Result;
use crate::ir::{Attribute, Dim, Graph, Node, TensorData, ValueInfo};

/// The opset a new builder targets.
pub const DEFAULT_OPSET: i64 = 17;

/// Builds a [`Graph`] step by step; [`GraphBuilder::build`] checks it with
/// [`validate`](crate::validate).
#[derive(Debug, Clone)]
pub struct GraphBuilder {
    graph: Graph,
    counter: usize,
}

impl GraphBuilder {
    /// A new, empty graph named `name`, for opset [`DEFAULT_OPSET`].
    pub fn new(name: &str) -> Self {
        GraphBuilder {
            graph: Graph {
                name: name.to_string(),
                opset: DEFAULT_OPSET,
                ..Graph::default()
            },
            counter: 0,
        }
    }

    /// Sets the default-domain opset version.
    pub fn opset(&mut self, version: i64) -> &mut Self {
        self.graph.opset = version;
        self
    }

    /// Adds a graph input with fixed dimensions.
    pub fn input(&mut self, name: &str, shape: &[i64]) -> &mut Self {
        self.input_dims(name, shape.iter().map(|d| Dim::Fixed(*d)).collect())
    }

    /// Adds a graph input with any dimensions (fixed or symbolic).
    pub fn input_dims(&mut self, name: &str, shape: Vec<Dim>) -> &mut Self {
        self.graph.inputs.push(ValueInfo {
            name: name.to_string(),
            shape,
            ..Default::default()
        });
        self
    }

    /// Adds (or replaces) a named constant.
    pub fn initializer(&mut self, name: &str, tensor: TensorData) -> &mut Self {
        self.graph.initializers.insert(name.to_string(), tensor);
        self
    }

    /// Appends a node as given.
    pub fn node(&mut self, node: Node) -> &mut Self {
        self.graph.nodes.push(node);
        self
    }

    /// Appends a default-domain node with one output and returns the output's name
    /// (`"{op_type}_{k}"`, unique in this builder).
    pub fn op(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: &[(&str, Attribute)],
    ) -> String {
        let name = self.fresh(op_type);
        let mut node = Node::new(&name, op_type, inputs, &[&name]);
        for (k, v) in attributes {
            node.attributes.insert(k.to_string(), v.clone());
        }
        self.graph.nodes.push(node);
        name
    }

    /// Appends a `Constant` node holding `tensor` and returns its output's name.
    pub fn constant(&mut self, tensor: TensorData) -> String {
        self.op("Constant", &[], &[("value", Attribute::Tensor(tensor))])
    }

    /// Declares a graph output with fixed dimensions.
    pub fn output(&mut self, name: &str, shape: &[i64]) -> &mut Self {
        self.output_dims(name, shape.iter().map(|d| Dim::Fixed(*d)).collect())
    }

    /// Declares a graph output with any dimensions.
    pub fn output_dims(&mut self, name: &str, shape: Vec<Dim>) -> &mut Self {
        self.graph.outputs.push(ValueInfo {
            name: name.to_string(),
            shape,
            ..Default::default()
        });
        self
    }

    /// Sets a `metadata_props` entry.
    pub fn metadata(&mut self, key: &str, value: &str) -> &mut Self {
        self.graph
            .metadata
            .insert(key.to_string(), value.to_string());
        self
    }

    /// A value name not used by this builder yet, starting with `prefix`.
    pub fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    /// The graph so far, unchecked.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Checks the graph and returns it.
    pub fn build(self) -> Result<Graph> {
        validate(&self.graph)?;
        Ok(self.graph)
    }
}
