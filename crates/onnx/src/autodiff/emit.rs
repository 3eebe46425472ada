//! [`Emitter`]: appends the gradient computation's nodes, with fresh names and small
//! constants, and the shape arithmetic the rules share.

use std::collections::BTreeMap;

use super::infer::Known;
use crate::ir::{Attribute, Dim, Node, TensorData};

/// The largest `int64`, an open end for `Slice`.
pub const OPEN_END: i64 = i64::MAX;

/// Collects the nodes and constants of the gradient computation.
#[derive(Debug)]
pub struct Emitter {
    /// The emitted nodes, in order.
    pub nodes: Vec<Node>,
    /// The constants they read.
    pub constants: BTreeMap<String, TensorData>,
    /// Facts of the forward values and of every emitted value.
    pub known: Known,
    counter: usize,
    /// The node being differentiated, for the names of what its rule emits.
    pub origin: String,
    /// The graph's default-domain opset (what the emitted operators may use).
    pub opset: i64,
}

impl Emitter {
    /// An emitter over the forward graph's facts.
    pub fn new(known: Known, opset: i64) -> Self {
        Emitter {
            nodes: Vec::new(),
            constants: BTreeMap::new(),
            known,
            counter: 0,
            origin: String::new(),
            opset,
        }
    }

    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("srlens_grad/{}/{what}_{}", self.origin, self.counter)
    }

    /// Appends a node with one output and returns the output's name.
    pub fn op(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: &[(&str, Attribute)],
    ) -> String {
        let out = self.fresh(op_type);
        self.op_into(op_type, inputs, attributes, &[&out]);
        out
    }

    /// Appends a node with `n` outputs and returns their names.
    pub fn op_n(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: &[(&str, Attribute)],
        n: usize,
    ) -> Vec<String> {
        let outs: Vec<String> = (0..n).map(|_| self.fresh(op_type)).collect();
        let refs: Vec<&str> = outs.iter().map(String::as_str).collect();
        self.op_into(op_type, inputs, attributes, &refs);
        outs
    }

    /// Appends a node writing the given outputs.
    pub fn op_into(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: &[(&str, Attribute)],
        outputs: &[&str],
    ) {
        let name = self.fresh(&format!("{op_type}_node"));
        let mut node = Node::new(&name, op_type, inputs, outputs);
        for (k, v) in attributes {
            node.attributes.insert(k.to_string(), v.clone());
        }
        self.known.add(&node);
        self.nodes.push(node);
    }

    /// A constant tensor, returned by name.
    pub fn constant(&mut self, tensor: TensorData) -> String {
        let name = self.fresh("const");
        let mut node = Node::new(&name, "Constant", &[], &[&name]);
        node.attributes
            .insert("value".into(), Attribute::Tensor(tensor.clone()));
        self.known.add(&node);
        self.constants.insert(name.clone(), tensor);
        name
    }

    /// A 1-D `int64` constant.
    pub fn ints(&mut self, values: &[i64]) -> String {
        self.constant(TensorData::i64(vec![values.len() as i64], values.to_vec()))
    }

    /// A scalar constant of the float type of `like` (a value the constant will meet in a
    /// binary operator).
    pub fn scalar(&mut self, value: f64, like: &str) -> String {
        let t = match self.known.get(like).map(|f| f.elem_type) {
            Some(crate::ir::ElemType::F64) => TensorData {
                dims: vec![],
                values: crate::ir::TensorValues::F64(vec![value]),
            },
            _ => TensorData::f32(vec![], vec![value as f32]),
        };
        self.constant(t)
    }

    /// `x` cast to the element type of `like`.
    pub fn cast_like(&mut self, x: &str, like: &str) -> String {
        let code = self
            .known
            .get(like)
            .map(|f| f.elem_type)
            .unwrap_or_default()
            .code();
        self.op("Cast", &[x], &[("to", Attribute::Int(code as i64))])
    }

    /// `Shape(x)`.
    pub fn shape(&mut self, x: &str) -> String {
        self.op("Shape", &[x], &[])
    }

    /// `Shape(x)[axis]` as a 1-element `int64` tensor (negative axes count from the end).
    pub fn dim(&mut self, x: &str, axis: i64) -> String {
        let s = self.shape(x);
        let i = self.ints(&[axis]);
        self.op("Gather", &[&s, &i], &[])
    }

    /// `a * b`.
    pub fn mul(&mut self, a: &str, b: &str) -> String {
        self.op("Mul", &[a, b], &[])
    }

    /// `-a`.
    pub fn neg(&mut self, a: &str) -> String {
        self.op("Neg", &[a], &[])
    }

    /// `g` (of rank `out_rank`) summed over the axes along which `x` (of rank `x_rank`) was
    /// broadcast to `g`'s shape, reshaped to `x`'s shape: the gradient of an operand of a
    /// broadcasting operator. Where `g` has the shape of the forward value `like` and the graph
    /// tells both shapes (fixed sizes, or the same free size of the input), the axes are
    /// constants (none at all when nothing was broadcast); otherwise they are found at run
    /// time from the shapes, so this holds for any sizes.
    pub fn unbroadcast(
        &mut self,
        g: &str,
        x: &str,
        like: Option<&str>,
        x_rank: usize,
        out_rank: usize,
    ) -> String {
        if let Some(axes) = like.and_then(|y| self.static_broadcast_axes(x, y, x_rank, out_rank)) {
            if axes.is_empty() && x_rank == out_rank {
                return self.op("Identity", &[g], &[]);
            }
            let summed = if axes.is_empty() {
                g.to_string()
            } else {
                let a = self.ints(&axes);
                self.op("ReduceSum", &[g, &a], &[("keepdims", Attribute::Int(1))])
            };
            if x_rank == out_rank {
                return summed;
            }
            let sx = self.shape(x);
            return self.op("Reshape", &[&summed, &sx], &[]);
        }
        let sx = self.shape(x);
        let padded = if out_rank > x_rank {
            let ones = self.ints(&vec![1; out_rank - x_rank]);
            self.op("Concat", &[&ones, &sx], &[("axis", Attribute::Int(0))])
        } else {
            sx.clone()
        };
        let one = self.ints(&[1]);
        let is_one = self.op("Equal", &[&padded, &one], &[]);
        let nz = self.op("NonZero", &[&is_one], &[]);
        let flat = self.ints(&[-1]);
        let axes = self.op("Reshape", &[&nz, &flat], &[]);
        let summed = self.op(
            "ReduceSum",
            &[g, &axes],
            &[
                ("keepdims", Attribute::Int(1)),
                ("noop_with_empty_axes", Attribute::Int(1)),
            ],
        );
        self.op("Reshape", &[&summed, &sx], &[])
    }

    /// The axes along which `x` was broadcast to the shape of `y`, where the graph tells
    /// every dimension of both: an axis where both have the same size is kept, one where `x`
    /// has 1 is summed; anything else (a free size against another) is left to run time.
    fn static_broadcast_axes(
        &self,
        x: &str,
        y: &str,
        x_rank: usize,
        out_rank: usize,
    ) -> Option<Vec<i64>> {
        let (dx, dy) = (self.known.dims(x)?, self.known.dims(y)?);
        if dx.len() != x_rank || dy.len() != out_rank || x_rank > out_rank {
            return None;
        }
        let pad = out_rank - x_rank;
        let mut axes = vec![];
        for (k, d) in dy.iter().enumerate() {
            let d = d.as_ref()?;
            let e = if k < pad {
                Dim::Fixed(1)
            } else {
                dx[k - pad].clone()?
            };
            if e == Dim::Fixed(1) {
                if *d != Dim::Fixed(1) {
                    axes.push(k as i64);
                }
            } else if e != *d {
                return None;
            }
        }
        Some(axes)
    }

    /// `x` reshaped to the shape of `like` (zero-sized dimensions included: `allowzero`).
    pub fn reshape_like(&mut self, x: &str, like: &str) -> String {
        let s = self.shape(like);
        let attrs = if self.opset >= 14 {
            vec![("allowzero", Attribute::Int(1))]
        } else {
            vec![]
        };
        self.op("Reshape", &[x, &s], &attrs)
    }
}
