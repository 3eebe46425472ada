//! Static facts about values that the gradient rules and the split need: element types and
//! ranks, propagated through the nodes in order (unknown where an operator's output rank
//! depends on data that is not constant).

use std::collections::HashMap;

use crate::ir::{Attribute, ElemType, Graph, Node, TensorData, TensorValues};

/// Element type and rank of one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The element type.
    pub elem_type: ElemType,
    /// The rank, where known.
    pub rank: Option<usize>,
}

/// What is known about every value of a graph (and of nodes appended to it).
#[derive(Debug, Clone, Default)]
pub struct Known {
    facts: HashMap<String, Facts>,
    /// Constant tensors: initializers and `Constant` node values.
    constants: HashMap<String, TensorData>,
    /// The lengths of 1-D integer values (shapes) where known.
    lengths: HashMap<String, usize>,
}

/// The ONNX `to` code of a `Cast`.
fn cast_type(node: &Node) -> ElemType {
    ElemType::from_code(node.int("to", 1) as i32)
}

impl Known {
    /// The facts of the graph's inputs, initializers and nodes.
    pub fn of(graph: &Graph) -> Self {
        let mut k = Known::default();
        for v in &graph.inputs {
            k.set(&v.name, v.elem_type, Some(v.shape.len()));
        }
        for (name, t) in &graph.initializers {
            k.set(name, t.elem_type(), Some(t.dims.len()));
            k.constants.insert(name.clone(), t.clone());
        }
        for node in &graph.nodes {
            k.add(node);
        }
        k
    }

    fn set(&mut self, name: &str, elem_type: ElemType, rank: Option<usize>) {
        self.facts
            .insert(name.to_string(), Facts { elem_type, rank });
    }

    /// The facts of `name`, if it is known.
    pub fn get(&self, name: &str) -> Option<Facts> {
        self.facts.get(name).copied()
    }

    /// The rank of `name`, where known.
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.get(name).and_then(|f| f.rank)
    }

    /// Whether `name` holds floating-point values (unknown values count as float).
    pub fn is_float(&self, name: &str) -> bool {
        self.get(name).is_none_or(|f| f.elem_type.is_float())
    }

    /// The constant value of `name` (an initializer or a `Constant` node's output).
    pub fn constant(&self, name: &str) -> Option<&TensorData> {
        self.constants.get(name)
    }

    /// The integer values of a constant `name` (INT64 or INT32).
    pub fn constant_ints(&self, name: &str) -> Option<Vec<i64>> {
        match &self.constant(name)?.values {
            TensorValues::I64(v) => Some(v.clone()),
            TensorValues::I32(v) => Some(v.iter().map(|&x| x as i64).collect()),
            _ => None,
        }
    }

    /// The float values of a constant `name`.
    pub fn constant_floats(&self, name: &str) -> Option<Vec<f64>> {
        match &self.constant(name)?.values {
            TensorValues::F32(v) => Some(v.iter().map(|&x| x as f64).collect()),
            TensorValues::F64(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// The length of a 1-D value (a shape) where known.
    pub fn length(&self, name: &str) -> Option<usize> {
        self.lengths
            .get(name)
            .copied()
            .or_else(|| self.constant_ints(name).map(|v| v.len()))
    }

    /// The rank-list input or attribute `axes` of a node (input `index` from opset 13 on).
    pub fn axes(&self, node: &Node, index: usize) -> Option<Vec<i64>> {
        if let Some(a) = node.ints("axes") {
            return Some(a.to_vec());
        }
        let name = node.inputs.get(index).filter(|n| !n.is_empty())?;
        self.constant_ints(name)
    }

    /// Records the facts of `node`'s outputs from its inputs.
    pub fn add(&mut self, node: &Node) {
        if node.op_type == "Constant" {
            if let Some(Attribute::Tensor(t)) = node.attributes.get("value") {
                if let Some(out) = node.outputs.first() {
                    self.set(out, t.elem_type(), Some(t.dims.len()));
                    self.constants.insert(out.clone(), t.clone());
                }
                return;
            }
        }
        let input = |i: usize| node.inputs.get(i).and_then(|n| self.get(n));
        let first = input(0);
        let first_type = first.map(|f| f.elem_type).unwrap_or_default();
        let first_rank = first.and_then(|f| f.rank);
        let max_rank = || {
            node.inputs
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| self.rank(n))
                .try_fold(0usize, |m, r| r.map(|r| m.max(r)))
        };
        let (elem_type, rank) = match node.op_type.as_str() {
            "Shape" => (ElemType::I64, Some(1)),
            "Size" => (ElemType::I64, Some(0)),
            "NonZero" => (ElemType::I64, Some(2)),
            "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or"
            | "Xor" => (ElemType::Bool, max_rank()),
            "Not" | "IsNaN" | "IsInf" => (ElemType::Bool, first_rank),
            "Cast" => (cast_type(node), first_rank),
            "ConstantOfShape" => {
                let t = match node.attributes.get("value") {
                    Some(Attribute::Tensor(t)) => t.elem_type(),
                    _ => ElemType::F32,
                };
                (t, node.inputs.first().and_then(|n| self.length(n)))
            }
            "Add" | "Sub" | "Mul" | "Div" | "Pow" | "PRelu" | "Sum" | "Max" | "Min" | "Mod" => {
                (first_type, max_rank())
            }
            "Where" => (
                input(1).map(|f| f.elem_type).unwrap_or_default(),
                max_rank(),
            ),
            "MatMul" => (first_type, max_rank()),
            "Gemm" | "Flatten" => (first_type, Some(2)),
            "Reshape" | "Expand" => {
                let len = node.inputs.get(1).and_then(|n| self.length(n));
                let rank = if node.op_type == "Expand" {
                    len.and_then(|l| first_rank.map(|r| r.max(l)))
                } else {
                    len
                };
                (first_type, rank)
            }
            "Unsqueeze" => (
                first_type,
                self.axes(node, 1)
                    .and_then(|a| first_rank.map(|r| r + a.len())),
            ),
            "Squeeze" => (
                first_type,
                self.axes(node, 1)
                    .and_then(|a| first_rank.map(|r| r.saturating_sub(a.len()))),
            ),
            "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL2" => {
                let keep = node.int("keepdims", 1) != 0;
                let rank = if keep {
                    first_rank
                } else {
                    match self.axes(node, 1) {
                        Some(a) if !a.is_empty() => first_rank.map(|r| r - a.len().min(r)),
                        Some(_) | None if node.inputs.len() < 2 => Some(0),
                        _ => None,
                    }
                };
                (first_type, rank)
            }
            "Gather" => {
                let idx = input(1).and_then(|f| f.rank);
                (
                    first_type,
                    first_rank.zip(idx).map(|(r, i)| (r + i).saturating_sub(1)),
                )
            }
            "Concat" | "Split" => (first_type, first_rank),
            "Range" => (first_type, Some(1)),
            // Every other operator keeps its first input's type and rank (activations,
            // convolutions, pooling, resizing, padding, slicing, transposes...).
            _ => (first_type, first_rank),
        };
        for out in node.outputs.iter().filter(|o| !o.is_empty()) {
            self.set(out, elem_type, rank);
        }
        let length = if rank == Some(1) {
            self.length_of(node, first_rank)
        } else {
            None
        };
        if let (Some(l), Some(out)) = (length, node.outputs.first()) {
            self.lengths.insert(out.clone(), l);
        }
        // The shape of a shape is known once its length is: `ConstantOfShape(Shape(s))`
        // (exporters write it) then has a known length too.
        if node.op_type == "Shape" && node.attributes.is_empty() && first_rank == Some(1) {
            if let (Some(l), Some(out)) = (
                node.inputs.first().and_then(|n| self.length(n)),
                node.outputs.first(),
            ) {
                self.constants
                    .insert(out.clone(), TensorData::i64(vec![1], vec![l as i64]));
            }
        }
    }

    /// The length of `node`'s 1-D output (shape arithmetic), where the inputs tell it.
    fn length_of(&self, node: &Node, first_rank: Option<usize>) -> Option<usize> {
        let input = |i: usize| node.inputs.get(i).filter(|n| !n.is_empty());
        let len = |i: usize| input(i).and_then(|n| self.length(n));
        let ints = |i: usize| input(i).and_then(|n| self.constant_ints(n));
        match node.op_type.as_str() {
            "Shape" => {
                let r = first_rank? as i64;
                let norm = |v: i64| if v < 0 { v + r } else { v }.clamp(0, r);
                let start = norm(node.int("start", 0));
                let end = norm(node.int("end", r));
                Some((end - start).max(0) as usize)
            }
            "Identity" | "Cast" => len(0),
            "Concat" => node
                .inputs
                .iter()
                .map(|n| self.length(n))
                .try_fold(0, |a, l| l.map(|l| a + l)),
            "Gather" if first_rank == Some(1) => ints(1).map(|v| v.len()),
            "Unsqueeze" if first_rank == Some(0) => self.axes(node, 1).map(|a| a.len()),
            "ConstantOfShape" => ints(0).and_then(|v| v.first().map(|&n| n.max(0) as usize)),
            "Expand" => {
                let x = if first_rank == Some(1) { len(0)? } else { 1 };
                ints(1).and_then(|v| v.first().map(|&n| x.max(n.max(0) as usize)))
            }
            "Slice" => {
                let n = len(0)? as i64;
                let (start, end) = (*ints(1)?.first()?, *ints(2)?.first()?);
                let step = match input(4) {
                    Some(_) => *ints(4)?.first()?,
                    None => 1,
                };
                slice_length(n, start, end, step)
            }
            "Add" | "Sub" | "Mul" | "Div" | "Mod" | "Max" | "Min" | "Where" | "Equal" | "Less"
            | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Xor" | "Not"
            | "Neg" | "Abs" | "Floor" | "Ceil" | "Sqrt" => node
                .inputs
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| match self.rank(n)? {
                    0 => Some(1),
                    1 => self.length(n),
                    _ => None,
                })
                .try_fold(0, |m, l| l.map(|l| m.max(l))),
            _ => None,
        }
    }
}

/// The number of elements `Slice` takes from a 1-D value of length `n`, as ONNX clamps.
fn slice_length(n: i64, start: i64, end: i64, step: i64) -> Option<usize> {
    if step == 0 {
        return None;
    }
    let norm = |v: i64| if v < 0 { v.saturating_add(n) } else { v };
    let (s, e) = (norm(start), norm(end));
    let count = if step > 0 {
        let (s, e) = (s.clamp(0, n), e.clamp(0, n));
        (e - s + step - 1).div_euclid(step)
    } else {
        let (s, e) = (s.clamp(-1, n - 1), e.clamp(-1, n - 1));
        (s - e - step - 1).div_euclid(-step)
    };
    Some(count.max(0) as usize)
}
