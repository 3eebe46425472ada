//! Helpers shared by the tests: a seeded generator, graph construction, finite differences.
#![allow(dead_code)]

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor, Var};
use srlens_onnx::{Attribute, Dim, Graph, Node, TensorData, ValueInfo};
use srlens_plugin_candle::Interpreter;

/// The backends' generator (SplitMix64): `Rng(seed)`.
pub use srlens_test_support::rng::SplitMix64 as Rng;

/// A graph under construction.
pub struct G {
    pub graph: Graph,
    counter: usize,
}

impl G {
    /// An opset-17 graph with one free-size input `x`.
    pub fn new() -> Self {
        G::with_opset(17)
    }

    /// A graph for `opset` with one free-size input `x`.
    pub fn with_opset(opset: i64) -> Self {
        let graph = Graph {
            name: "test".into(),
            opset,
            inputs: vec![ValueInfo {
                name: "x".into(),
                shape: vec![],
                ..Default::default()
            }],
            ..Graph::default()
        };
        G { graph, counter: 0 }
    }

    /// Declares the input's shape (for models whose channels are read from it).
    pub fn input_shape(&mut self, dims: &[i64]) -> &mut Self {
        self.graph.inputs[0].shape = dims
            .iter()
            .map(|&d| {
                if d > 0 {
                    Dim::Fixed(d)
                } else {
                    Dim::Symbolic(String::new())
                }
            })
            .collect();
        self
    }

    /// Adds an f32 initializer and returns its name.
    pub fn init(&mut self, dims: &[i64], values: Vec<f32>) -> String {
        self.counter += 1;
        let name = format!("c{}", self.counter);
        self.graph
            .initializers
            .insert(name.clone(), TensorData::f32(dims.to_vec(), values));
        name
    }

    /// Adds an i64 initializer and returns its name.
    pub fn init_i64(&mut self, values: &[i64]) -> String {
        self.counter += 1;
        let name = format!("c{}", self.counter);
        self.graph.initializers.insert(
            name.clone(),
            TensorData::i64(vec![values.len() as i64], values.to_vec()),
        );
        name
    }

    /// Adds an i64 initializer of shape `dims` and returns its name.
    pub fn init_i64_shaped(&mut self, dims: &[i64], values: &[i64]) -> String {
        self.counter += 1;
        let name = format!("c{}", self.counter);
        self.graph.initializers.insert(
            name.clone(),
            TensorData::i64(dims.to_vec(), values.to_vec()),
        );
        name
    }

    /// Appends a node and returns its output name.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attribute)>) -> String {
        self.counter += 1;
        let out = format!("v{}", self.counter);
        let mut node = Node::new(&format!("{op}_{}", self.counter), op, inputs, &[&out]);
        node.attributes = attrs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<BTreeMap<_, _>>();
        self.graph.nodes.push(node);
        out
    }

    /// Sets the graph output and returns the graph.
    pub fn finish(mut self, out: &str) -> Graph {
        self.graph.outputs = vec![ValueInfo {
            name: out.into(),
            shape: vec![],
            ..Default::default()
        }];
        self.graph
    }
}

/// `Attribute::Ints`.
pub fn ints(v: &[i64]) -> Attribute {
    Attribute::Ints(v.to_vec())
}

/// A tensor from f64 values.
pub fn t64(shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::from_slice(v, shape, &Device::Cpu).unwrap()
}

/// Runs `interp` on one input.
pub fn run1(interp: &Interpreter, x: &Tensor) -> Tensor {
    interp.run(std::slice::from_ref(x)).unwrap().swap_remove(0)
}

/// The gradient of `sum(F(x) * r)` by autograd (F64) and by central differences, for a
/// random `r`; asserts they agree to `tol` (relative to the largest entry).
pub fn check_gradient(graph: Graph, shape: &[usize], x: &[f64], seed: u64, tol: f64) {
    let interp = Interpreter::new(graph, DType::F64).unwrap();
    let x0 = t64(shape, x);
    let y0 = run1(&interp, &x0);
    let mut rng = Rng(seed);
    let r = t64(y0.dims(), &rng.vec(y0.elem_count(), -1.0, 1.0));
    let var = Var::from_tensor(&x0).unwrap();
    let y = run1(&interp, var.as_tensor());
    let loss = (y * &r).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let g: Vec<f64> = match grads.get(var.as_tensor()) {
        Some(g) => g.flatten_all().unwrap().to_vec1().unwrap(),
        None => vec![0.0; x.len()],
    };
    let f = |v: &[f64]| -> f64 {
        let y = run1(&interp, &t64(shape, v));
        (y * &r)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    let eps = 1e-6;
    let mut fd = vec![0.0; x.len()];
    let mut xv = x.to_vec();
    for i in 0..x.len() {
        xv[i] = x[i] + eps;
        let fp = f(&xv);
        xv[i] = x[i] - eps;
        let fm = f(&xv);
        xv[i] = x[i];
        fd[i] = (fp - fm) / (2.0 * eps);
    }
    let scale = fd.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    let nonzero = fd.iter().filter(|v| v.abs() > 1e-9).count();
    assert!(
        nonzero > 0,
        "the finite-difference gradient is all zero: a useless test"
    );
    for i in 0..x.len() {
        assert!(
            (g[i] - fd[i]).abs() <= tol * scale,
            "gradient entry {i}: autograd {} vs finite differences {} (scale {scale})",
            g[i],
            fd[i]
        );
    }
}
