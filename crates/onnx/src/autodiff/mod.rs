//! Reverse-mode differentiation of ONNX graphs into plain standard-opset ONNX.
//!
//! [`gradient_graphs`] splits the work as autodiff systems do: a forward graph that computes
//! the model's output and also returns the activations the backward pass reads, and a
//! backward graph that takes those activations and the cotangent of the output and returns
//! the vector-Jacobian product `d objective / d input`. [`vjp_graph`] joins them into one
//! graph (`input`, cotangent -> output, input gradient) for any ONNX runtime.
//!
//! Weights (initializers and everything computed from constants only) never get gradients;
//! shape arithmetic (`Shape`, `Gather` on shapes, `Cast`...) is constant by construction.

use crate::error::{Error, Result};
use crate::ir::Graph;

/// The two graphs of one vector-Jacobian product.
#[derive(Debug, Clone)]
pub struct GradientGraphs {
    /// The model's input, output and operators, with more outputs: after the model's own
    /// output (first), the saved values [`GradientGraphs::saved`], in that order.
    pub forward: Graph,
    /// Inputs: the saved values (same names and order as [`GradientGraphs::saved`]), then
    /// the cotangent [`GradientGraphs::cotangent`]. Output: [`GradientGraphs::input_gradient`].
    pub backward: Graph,
    /// The forward values the backward graph reads (the model's input or output among them
    /// when a rule needs them), without duplicates.
    pub saved: Vec<String>,
    /// The name of the backward graph's cotangent input (`d objective / d output`, the
    /// output's shape).
    pub cotangent: String,
    /// The name of the backward graph's output (`d objective / d input`, the input's shape).
    pub input_gradient: String,
}

/// Differentiates `graph` (one input, first output differentiated) into a forward and a
/// backward graph. An operator without a rule on the path from the input to the output is
/// an error naming the node, the operator and what would be needed.
pub fn gradient_graphs(graph: &Graph) -> Result<GradientGraphs> {
    let _ = graph;
    Err(Error::Graph("gradient graphs are not implemented yet".into()))
}

/// One graph computing the output and the vector-Jacobian product: inputs `input` and the
/// cotangent, outputs the model's output and the input gradient (names as in
/// [`GradientGraphs`]).
pub fn vjp_graph(graph: &Graph) -> Result<Graph> {
    let g = gradient_graphs(graph)?;
    let _ = g;
    Err(Error::Graph("gradient graphs are not implemented yet".into()))
}
