//! Central finite differences in float64 against the generated gradient graph run by ONNX
//! Runtime: the check every gradient rule and conformance case goes through.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use candle_core::{DType, Device, Tensor};
use srlens_onnx::{ElemType, Graph, TensorData, TensorValues};
use srlens_plugin_candle::Interpreter;

/// A float64 evaluation of a one-input graph: candle's interpreter in F64, or ONNX Runtime on
/// the graph converted to DOUBLE where candle lacks an operator.
pub enum Reference {
    /// Candle in F64.
    Candle(Interpreter),
    /// ONNX Runtime, DOUBLE tensors.
    Ort(Graph),
    /// A float64 function of the flat input, for an operator neither runs in DOUBLE.
    Function(fn(&[f64]) -> Vec<f64>),
}

/// `graph` with every float initializer and declared value in DOUBLE.
pub fn to_f64(graph: &Graph) -> Graph {
    let mut g = graph.clone();
    for t in g.initializers.values_mut() {
        if let TensorValues::F32(v) = &t.values {
            t.values = TensorValues::F64(v.iter().map(|&x| x as f64).collect());
        }
    }
    for v in g.inputs.iter_mut().chain(g.outputs.iter_mut()) {
        if v.elem_type == ElemType::F32 {
            v.elem_type = ElemType::F64;
        }
    }
    for n in &mut g.nodes {
        if n.op_type == "Constant" {
            if let Some(srlens_onnx::Attribute::Tensor(t)) = n.attributes.get_mut("value") {
                if let TensorValues::F32(v) = &t.values {
                    t.values = TensorValues::F64(v.iter().map(|&x| x as f64).collect());
                }
            }
        }
        if n.op_type == "Cast" && n.int("to", 0) == 1 {
            n.attributes
                .insert("to".into(), srlens_onnx::Attribute::Int(11));
        }
    }
    g
}

impl Reference {
    /// The reference for `graph`.
    pub fn new(graph: &Graph) -> Self {
        match Interpreter::new(graph.clone(), DType::F64) {
            Ok(i) => Reference::Candle(i),
            Err(_) => Reference::Ort(to_f64(graph)),
        }
    }

    /// The first output, flattened.
    pub fn eval(&self, x: &[f64], dims: &[i64]) -> Vec<f64> {
        match self {
            Reference::Candle(i) => {
                let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
                let t = Tensor::from_vec(x.to_vec(), shape, &Device::Cpu).unwrap();
                let y = i.run(&[t]).unwrap().remove(0);
                y.flatten_all().unwrap().to_vec1::<f64>().unwrap()
            }
            Reference::Function(f) => f(x),
            Reference::Ort(g) => {
                let name = g.inputs[0].name.clone();
                let t = TensorData {
                    dims: dims.to_vec(),
                    values: TensorValues::F64(x.to_vec()),
                };
                match srlens_plugin_ort::run_graph(g, &[(&name, t)])
                    .unwrap()
                    .remove(0)
                    .values
                {
                    TensorValues::F64(v) => v,
                    other => panic!("a DOUBLE graph returned {other:?}"),
                }
            }
        }
    }
}

/// Deterministic values in `[lo, hi)`.
pub fn values(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
    srlens_test_support::rng::SplitMix64(seed).vec(n, lo, hi)
}

/// The result of one gradient check.
#[derive(Debug)]
pub struct Checked {
    /// The largest difference between the graph's gradient and the finite differences,
    /// relative to the largest finite-difference value.
    pub relative: f64,
    /// How many input elements were checked (all of them, or random directions).
    pub elements: usize,
}

/// Runs the VJP graph of `graph` in ONNX Runtime at `x` with a random cotangent and compares
/// the input gradient with central differences of the float64 forward: every element when
/// the input has at most `per_element` elements, else four random directions.
pub fn check(
    graph: &Graph,
    x: &[f64],
    dims: &[i64],
    per_element: usize,
) -> Result<Checked, String> {
    check_against(graph, Reference::new(graph), x, dims, per_element)
}

/// [`check`] with the float64 forward from `reference` (an equivalent graph or function).
pub fn check_against(
    graph: &Graph,
    reference: Reference,
    x: &[f64],
    dims: &[i64],
    per_element: usize,
) -> Result<Checked, String> {
    let vjp = srlens_onnx::autodiff::vjp_graph(graph).map_err(|e| e.to_string())?;
    let y = reference.eval(x, dims);
    let ct = values(y.len(), 7, -1.0, 1.0);
    let x32 = TensorData::f32(dims.to_vec(), x.iter().map(|&v| v as f32).collect());
    // The output's dimensions, from one ONNX Runtime forward pass.
    let out = srlens_plugin_ort::run_graph(graph, &[(&graph.inputs[0].name, x32.clone())])
        .map_err(|e| e.to_string())?;
    let ct32 = TensorData::f32(out[0].dims.clone(), ct.iter().map(|&v| v as f32).collect());
    let res = srlens_plugin_ort::run_graph(
        &vjp,
        &[(&vjp.inputs[0].name, x32), (&vjp.inputs[1].name, ct32)],
    )
    .map_err(|e| e.to_string())?;
    let dx: Vec<f64> = match &res[1].values {
        TensorValues::F32(v) => v.iter().map(|&a| a as f64).collect(),
        other => return Err(format!("the gradient is not FLOAT: {other:?}")),
    };
    if dx.len() != x.len() || res[1].dims != dims {
        return Err(format!(
            "gradient of shape {:?} for an input of {dims:?}",
            res[1].dims
        ));
    }
    let objective = |x: &[f64]| -> f64 {
        reference
            .eval(x, dims)
            .iter()
            .zip(&ct)
            .map(|(a, b)| a * b)
            .sum()
    };
    let h = 1e-5;
    let directional = |v: &[f64]| -> (f64, f64) {
        let plus: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + h * b).collect();
        let minus: Vec<f64> = x.iter().zip(v).map(|(a, b)| a - h * b).collect();
        let fd = (objective(&plus) - objective(&minus)) / (2.0 * h);
        let an: f64 = dx.iter().zip(v).map(|(a, b)| a * b).sum();
        (fd, an)
    };
    let pairs: Vec<(f64, f64)> = if x.len() <= per_element {
        (0..x.len())
            .map(|i| {
                let mut e = vec![0.0; x.len()];
                e[i] = 1.0;
                directional(&e)
            })
            .collect()
    } else {
        (0..4)
            .map(|k| directional(&values(x.len(), 100 + k, -1.0, 1.0)))
            .collect()
    };
    let scale = pairs.iter().map(|p| p.0.abs()).fold(0.0, f64::max);
    if scale == 0.0 {
        return Err("the finite differences are all zero: the check would be empty".into());
    }
    let worst = pairs.iter().map(|(f, a)| (f - a).abs()).fold(0.0, f64::max);
    Ok(Checked {
        relative: worst / scale,
        elements: pairs.len(),
    })
}
