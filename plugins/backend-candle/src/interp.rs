//! The graph interpreter: walks the nodes in order with a map from value names to tensors.

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::{DType, Tensor};
use srlens_onnx::Graph;

use crate::conv::ConvKernel;
use crate::convert::constant;
use crate::error::{Error, Result};
use crate::ops::{self, NodeCtx};

/// A graph ready to run in one floating-point type (F32 for models, F64 for references).
#[derive(Debug)]
pub struct Interpreter {
    graph: Graph,
    dtype: DType,
    constants: HashMap<String, Tensor>,
    /// Prepared convolution kernels by node index (constant weights only).
    kernels: HashMap<usize, Vec<Arc<ConvKernel>>>,
    /// For each value, the index of the last node that reads it (graph outputs: never).
    last_use: HashMap<String, usize>,
}

impl Interpreter {
    /// Checks every node (all unsupported operators are found here, at load time) and turns
    /// the initializers into tensors of `dtype`.
    pub fn new(graph: Graph, dtype: DType) -> Result<Self> {
        for node in &graph.nodes {
            ops::check(node).map_err(|e| match e {
                Error::Unsupported(m) => Error::Unsupported(format!(
                    "node `{}` (op_type `{}`): {m}",
                    node.name, node.op_type
                )),
                other => other,
            })?;
        }
        let mut constants = HashMap::new();
        for (name, t) in &graph.initializers {
            constants.insert(name.clone(), constant(t, dtype)?);
        }
        let mut kernels = HashMap::new();
        for (i, node) in graph.nodes.iter().enumerate() {
            if matches!(node.op_type.as_str(), "Conv" | "ConvTranspose") {
                if let Some(w) = node.inputs.get(1).and_then(|n| constants.get(n)) {
                    let k = ops::prepare_kernels(node, w).map_err(|e| {
                        Error::Load(format!("node `{}` ({}): {e}", node.name, node.op_type))
                    })?;
                    kernels.insert(i, k);
                }
            }
        }
        let mut last_use = HashMap::new();
        for (i, node) in graph.nodes.iter().enumerate() {
            for input in &node.inputs {
                last_use.insert(input.clone(), i);
            }
        }
        for out in &graph.outputs {
            last_use.insert(out.name.clone(), usize::MAX);
        }
        Ok(Interpreter {
            graph,
            dtype,
            constants,
            kernels,
            last_use,
        })
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The floating-point type the graph runs in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The names of the graph inputs that are not initializers, in order.
    pub fn input_names(&self) -> Vec<&str> {
        self.graph
            .inputs
            .iter()
            .map(|v| v.name.as_str())
            .filter(|n| !self.constants.contains_key(*n))
            .collect()
    }

    /// Runs the graph on `inputs` (one per [`Interpreter::input_names`]; float inputs are
    /// converted to the interpreter's type) and returns the graph outputs in order.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        self.run_inspecting(inputs, &mut |_, _| Ok(()))
    }

    /// The first node (in graph order) whose float outputs hold a NaN or an infinity while
    /// running on `inputs`, with its operator: `None` when every value is finite.
    pub fn first_non_finite(&self, inputs: &[Tensor]) -> Result<Option<(String, String)>> {
        let mut first = None;
        self.run_inspecting(inputs, &mut |node, outs| {
            if first.is_none() {
                for t in outs.iter().filter(|t| t.dtype().is_float()) {
                    let values = t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
                    if values.iter().any(|v| !v.is_finite()) {
                        first = Some((node.name.clone(), node.op_type.clone()));
                        break;
                    }
                }
            }
            Ok(())
        })?;
        Ok(first)
    }

    /// [`run`](Self::run), calling `inspect` with each node and its outputs.
    fn run_inspecting(
        &self,
        inputs: &[Tensor],
        inspect: &mut dyn FnMut(&srlens_onnx::Node, &[Tensor]) -> Result<()>,
    ) -> Result<Vec<Tensor>> {
        let names = self.input_names();
        if names.len() != inputs.len() {
            return Err(Error::Input(format!(
                "the graph takes {} inputs ({}), {} were given",
                names.len(),
                names.join(", "),
                inputs.len()
            )));
        }
        let mut env: HashMap<String, Tensor> = HashMap::new();
        for (name, t) in names.iter().zip(inputs) {
            let t = if t.dtype().is_float() {
                t.to_dtype(self.dtype)?
            } else {
                t.clone()
            };
            env.insert(name.to_string(), t);
        }
        for (i, node) in self.graph.nodes.iter().enumerate() {
            let args: Vec<Option<Tensor>> = node
                .inputs
                .iter()
                .map(|name| {
                    if name.is_empty() {
                        return Ok(None);
                    }
                    env.get(name)
                        .or_else(|| self.constants.get(name))
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| Error::Node {
                            node: node.name.clone(),
                            op: node.op_type.clone(),
                            message: format!("input `{name}` is not defined before this node"),
                        })
                })
                .collect::<Result<_>>()?;
            let ctx = NodeCtx {
                node,
                dtype: self.dtype,
                opset: self.graph.opset,
                kernels: self.kernels.get(&i).map(|v| v.as_slice()),
            };
            let outs = ops::eval(&ctx, &args).map_err(|e| match e {
                Error::Unsupported(m) => Error::Unsupported(format!(
                    "node `{}` (op_type `{}`): {m}",
                    node.name, node.op_type
                )),
                other => Error::Node {
                    node: node.name.clone(),
                    op: node.op_type.clone(),
                    message: match other {
                        Error::Node { message, .. } => message,
                        e => e.to_string(),
                    },
                },
            })?;
            drop(args);
            inspect(node, &outs)?;
            for name in &node.inputs {
                if self.last_use.get(name) == Some(&i) {
                    env.remove(name);
                }
            }
            for (name, t) in node.outputs.iter().zip(outs) {
                if !name.is_empty() {
                    env.insert(name.clone(), t);
                }
            }
        }
        self.graph
            .outputs
            .iter()
            .map(|o| {
                env.get(&o.name)
                    .or_else(|| self.constants.get(&o.name))
                    .cloned()
                    .ok_or_else(|| {
                        Error::Load(format!("graph output `{}` is never produced", o.name))
                    })
            })
            .collect()
    }
}
