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

mod emit;
mod infer;
mod rules;
mod split;

use std::collections::{HashMap, HashSet};

use crate::check::validate;
use crate::error::{Error, Result};
use crate::ir::{Graph, Node};
use emit::Emitter;
use infer::Known;
pub use rules::{CONSTANT_OPS, DIFFERENTIABLE_OPS};

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

/// The first opset whose operators the generated graphs use (`ReduceSum`, `Split`,
/// `Unsqueeze` and `Squeeze` with their axes as inputs).
pub const MIN_OPSET: i64 = 13;

/// Differentiates `graph` (one input; its first output differentiated) into a forward and a
/// backward graph. An operator without a rule on the path from the input to the output is
/// an error naming the node, the operator and what would be needed.
pub fn gradient_graphs(graph: &Graph) -> Result<GradientGraphs> {
    validate(graph)?;
    let fail = |m: String| Err(Error::Graph(format!("graph '{}': {m}", graph.name)));
    if graph.inputs.len() != 1 || graph.outputs.is_empty() {
        return fail(format!(
            "a gradient graph needs one input and at least one output; this graph has {} \
             inputs and {} outputs",
            graph.inputs.len(),
            graph.outputs.len()
        ));
    }
    if graph.opset < MIN_OPSET {
        return fail(format!(
            "opset {} is older than {MIN_OPSET}, the first the gradient graph can be written \
             in; re-export the network with a newer opset (torch.onnx.export(..., \
             opset_version=17))",
            graph.opset
        ));
    }
    let x = graph.inputs[0].name.clone();
    let y = graph.outputs[0].name.clone();
    let known = Known::of(graph);
    let active = active_values(graph, &known, &x);
    let cotangent = unique_name(graph, &format!("{y}_grad"));
    let input_gradient = unique_name(graph, &format!("{x}_grad"));

    let mut em = Emitter::new(known, graph.opset);
    let mut grads: HashMap<String, Vec<String>> = HashMap::new();
    grads.insert(y.clone(), vec![cotangent.clone()]);
    for (index, node) in graph.nodes.iter().enumerate().rev() {
        let reached = node
            .outputs
            .iter()
            .any(|o| active.contains(o) && grads.contains_key(o));
        if !reached {
            continue;
        }
        em.origin = if node.name.is_empty() {
            format!("{}{index}", node.op_type)
        } else {
            node.name.replace('/', "_")
        };
        let out_grads: Vec<Option<String>> = node
            .outputs
            .iter()
            .map(|o| grads.remove(o).map(|g| sum(&mut em, g)))
            .collect();
        let is_active: Vec<bool> = node
            .inputs
            .iter()
            .map(|i| !i.is_empty() && active.contains(i))
            .collect();
        let site = rules::Site {
            node,
            active: is_active.clone(),
            grads: out_grads,
            opset: graph.opset,
        };
        let in_grads = rules::apply(&mut em, &site).map_err(|why| no_rule(graph, node, &why))?;
        for (i, g) in in_grads.into_iter().enumerate() {
            if !is_active[i] {
                continue;
            }
            let g =
                g.ok_or_else(|| no_rule(graph, node, &format!("input {i} got no cotangent")))?;
            grads.entry(node.inputs[i].clone()).or_default().push(g);
        }
    }
    em.origin = "input".into();
    let dx = match grads.remove(&x) {
        Some(g) => sum(&mut em, g),
        None => {
            // The output does not depend on the input: a zero gradient of its shape.
            let s = em.shape(&x);
            em.op("ConstantOfShape", &[&s], &[])
        }
    };
    em.op_into("Identity", &[&dx], &[], &[&input_gradient]);
    split::split(graph, em, &x, &y, cotangent, input_gradient)
}

/// One graph computing the output and the vector-Jacobian product: inputs the model's input
/// and the cotangent, outputs the model's output and the input gradient (names as in
/// [`GradientGraphs`]).
pub fn vjp_graph(graph: &Graph) -> Result<Graph> {
    Ok(gradient_graphs(graph)?.joined(graph))
}

impl GradientGraphs {
    /// The forward and backward graphs of `graph` joined into its [`vjp_graph`].
    pub fn joined(&self, graph: &Graph) -> Graph {
        split::join(graph, self)
    }
}

/// Values that depend on `x` through differentiable float operators.
fn active_values(graph: &Graph, known: &Known, x: &str) -> HashSet<String> {
    let mut active: HashSet<String> = HashSet::from([x.to_string()]);
    for node in &graph.nodes {
        if CONSTANT_OPS.contains(&node.op_type.as_str()) {
            continue;
        }
        if node.inputs.iter().any(|i| active.contains(i)) {
            for o in &node.outputs {
                if !o.is_empty() && known.is_float(o) {
                    active.insert(o.clone());
                }
            }
        }
    }
    active
}

/// The sum of several cotangents of one value.
fn sum(em: &mut Emitter, mut parts: Vec<String>) -> String {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    em.op("Sum", &refs, &[])
}

/// `base`, or `base_2`, `base_3`... if the graph already names a value so.
fn unique_name(graph: &Graph, base: &str) -> String {
    let taken = |n: &str| {
        graph.inputs.iter().any(|v| v.name == n)
            || graph.initializers.contains_key(n)
            || graph
                .nodes
                .iter()
                .any(|node| node.outputs.iter().any(|o| o == n))
    };
    let mut name = base.to_string();
    let mut k = 1;
    while taken(&name) {
        k += 1;
        name = format!("{base}_{k}");
    }
    name
}

/// The error for a node the gradient cannot pass.
fn no_rule(graph: &Graph, node: &Node, why: &str) -> Error {
    let domain = if node.domain.is_empty() || node.domain == "ai.onnx" {
        String::new()
    } else {
        format!(" in domain `{}`", node.domain)
    };
    Error::Graph(format!(
        "graph '{}': cannot differentiate node `{}` (op `{}`{domain}): {why}; the SR output \
         (forward only) still works",
        graph.name, node.name, node.op_type
    ))
}
