//! Static facts about values that the gradient rules and the split need: element types and
//! ranks, propagated through the nodes in order (unknown where an operator's output rank
//! depends on data that is not constant).

use std::collections::HashMap;

use crate::ir::{Attribute, Dim, ElemType, Graph, Node, TensorData, TensorValues};

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
    /// The dimensions of values, each a fixed size, a named free size of the graph's input
    /// (equal names: equal sizes), or unknown.
    dims: HashMap<String, Vec<Option<Dim>>>,
}

/// The operators whose output has their first input's shape.
const SHAPE_KEEPING: &[&str] = &[
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Exp",
    "Sqrt",
    "Reciprocal",
    "Abs",
    "Neg",
    "Erf",
    "Clip",
    "Cast",
    "CastLike",
    "Identity",
    "Dropout",
    "Softmax",
    "LogSoftmax",
    "LayerNormalization",
    "InstanceNormalization",
    "BatchNormalization",
    "Sign",
    "Floor",
    "Ceil",
    "Not",
    "IsNaN",
    "IsInf",
];

/// The broadcasting operators.
const BROADCASTING: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "PRelu",
    "Where",
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "And",
    "Or",
    "Xor",
    "Max",
    "Min",
    "Sum",
    "Mod",
];

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
            let dims = v
                .shape
                .iter()
                .map(|d| match d {
                    Dim::Symbolic(n) if n.is_empty() => None,
                    d => Some(d.clone()),
                })
                .collect();
            k.dims.insert(v.name.clone(), dims);
        }
        for (name, t) in &graph.initializers {
            k.set(name, t.elem_type(), Some(t.dims.len()));
            k.dims.insert(
                name.clone(),
                t.dims.iter().map(|&d| Some(Dim::Fixed(d))).collect(),
            );
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
                    self.dims.insert(
                        out.clone(),
                        t.dims.iter().map(|&d| Some(Dim::Fixed(d))).collect(),
                    );
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
        if let (Some(dims), Some(out)) = (self.dims_of(node), node.outputs.first()) {
            if rank.is_none_or(|r| r == dims.len()) {
                self.dims.insert(out.clone(), dims);
            }
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

    /// The dimensions of `name`, each where known (see [`Known::dims`]); `None` when not even
    /// the rank is.
    pub fn dims(&self, name: &str) -> Option<Vec<Option<Dim>>> {
        self.dims
            .get(name)
            .cloned()
            .or_else(|| self.rank(name).map(|r| vec![None; r]))
    }

    /// The dimensions of `node`'s first output from its inputs', where an operator keeps or
    /// sets them: elementwise operators, broadcasting, `Conv` (channels from the weights, the
    /// spatial sizes where stride 1 and the pads keep them), `Concat`.
    fn dims_of(&self, node: &Node) -> Option<Vec<Option<Dim>>> {
        let op = node.op_type.as_str();
        let input = |i: usize| {
            node.inputs
                .get(i)
                .filter(|n| !n.is_empty())
                .and_then(|n| self.dims.get(n))
        };
        if SHAPE_KEEPING.contains(&op) {
            return input(0).cloned();
        }
        if BROADCASTING.contains(&op) {
            let all: Vec<&Vec<Option<Dim>>> = node
                .inputs
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| self.dims.get(n))
                .collect::<Option<_>>()?;
            let rank = all.iter().map(|d| d.len()).max()?;
            return Some(
                (0..rank)
                    .map(|k| {
                        let at: Vec<Option<&Dim>> = all
                            .iter()
                            .map(|d| match (k + d.len()).checked_sub(rank) {
                                Some(i) => d[i].as_ref(),
                                None => Some(&Dim::Fixed(1)),
                            })
                            .collect();
                        broadcast_dim(&at)
                    })
                    .collect(),
            );
        }
        match op {
            "Conv" => {
                let x = input(0)?;
                let w = input(1)?;
                if x.len() != 4 || w.len() != 4 {
                    return None;
                }
                let mut out = vec![x[0].clone(), w[0].clone(), None, None];
                let ones = [1, 1];
                let strides = node.ints("strides").unwrap_or(&ones);
                let dil = node.ints("dilations").unwrap_or(&ones);
                let zeros = [0, 0, 0, 0];
                let pads = node.ints("pads").unwrap_or(&zeros);
                let auto = node.string("auto_pad").unwrap_or("NOTSET");
                for a in 0..2 {
                    let Some(Dim::Fixed(k)) = w[2 + a] else {
                        continue;
                    };
                    let span = dil.get(a).copied().unwrap_or(1) * (k - 1);
                    let same = match auto {
                        "SAME_UPPER" | "SAME_LOWER" => true,
                        "NOTSET" => pads
                            .get(a)
                            .zip(pads.get(2 + a))
                            .is_some_and(|(b, e)| b + e == span),
                        _ => false,
                    };
                    if same && strides.get(a).copied().unwrap_or(1) == 1 {
                        out[2 + a] = x[2 + a].clone();
                    }
                }
                Some(out)
            }
            "Concat" => {
                let all: Vec<&Vec<Option<Dim>>> = node
                    .inputs
                    .iter()
                    .map(|n| self.dims.get(n))
                    .collect::<Option<_>>()?;
                let rank = all.first()?.len();
                let axis = node.int("axis", 0);
                let axis = if axis < 0 { axis + rank as i64 } else { axis } as usize;
                Some(
                    (0..rank)
                        .map(|k| {
                            if k == axis {
                                all.iter()
                                    .map(|d| match d.get(k)? {
                                        Some(Dim::Fixed(n)) => Some(*n),
                                        _ => None,
                                    })
                                    .sum::<Option<i64>>()
                                    .map(Dim::Fixed)
                            } else {
                                all.iter().find_map(|d| d.get(k).cloned().flatten())
                            }
                        })
                        .collect(),
                )
            }
            _ => None,
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

/// One dimension of a broadcast from the operands' (`None`: unknown; shorter operands count
/// as 1): the one size other than 1 all known operands agree on, where no unknown one could
/// differ from it.
fn broadcast_dim(at: &[Option<&Dim>]) -> Option<Dim> {
    let one = Dim::Fixed(1);
    let mut size: Option<&Dim> = None;
    for d in at.iter().flatten().filter(|d| **d != &one) {
        match size {
            None => size = Some(d),
            Some(s) if s == *d => {}
            Some(_) => return None,
        }
    }
    match size {
        // An unknown operand is 1 or the known size: either way, the output has it.
        Some(s) => Some(s.clone()),
        None if at.iter().all(Option::is_some) => Some(one),
        None => None,
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
