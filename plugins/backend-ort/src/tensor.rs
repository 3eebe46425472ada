//! Tensors between srlens and ONNX Runtime, and [`GraphSession`]: any graph run in ONNX
//! Runtime on the CPU (for tests of generated graphs, among others).

use std::sync::Mutex;

use ort::session::Session;
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};
use srlens_onnx::{Graph, TensorData, TensorValues};

use crate::error::{Error, Result};
use crate::runtime::{self, LibraryChoice, Runtime, SessionSettings};

/// An f32 tensor of `shape` holding `data` (moved, not copied, into ONNX Runtime).
pub fn f32_value(shape: &[usize], data: Vec<f32>) -> Result<DynValue> {
    Ok(Tensor::from_array((shape.to_vec(), data))?.into_dyn())
}

/// A constant tensor as an ONNX Runtime value (f32, f64, i64, i32 or bool).
pub fn to_value(t: &TensorData) -> Result<DynValue> {
    let dims: Vec<i64> = t.dims.clone();
    if dims.iter().any(|&d| d < 0) || dims.iter().product::<i64>() as usize != t.len() {
        return Err(Error::Input(format!(
            "a tensor of shape {dims:?} holds {} values",
            t.len()
        )));
    }
    Ok(match &t.values {
        TensorValues::F32(v) => Tensor::from_array((dims, v.clone()))?.into_dyn(),
        TensorValues::F64(v) => Tensor::from_array((dims, v.clone()))?.into_dyn(),
        TensorValues::I64(v) => Tensor::from_array((dims, v.clone()))?.into_dyn(),
        TensorValues::I32(v) => Tensor::from_array((dims, v.clone()))?.into_dyn(),
        TensorValues::Bool(v) => Tensor::from_array((dims, v.clone()))?.into_dyn(),
    })
}

/// An ONNX Runtime tensor's shape and f32 values (borrowed); an error for another type.
pub fn f32_view(value: &DynValue) -> Result<(Vec<usize>, &[f32])> {
    let (shape, data) = value.try_extract_tensor::<f32>()?;
    Ok((shape.iter().map(|&d| d.max(0) as usize).collect(), data))
}

/// An ONNX Runtime tensor as a [`TensorData`] (f32, f64, i64, i32 or bool; copied).
pub fn from_value(value: &DynValue) -> Result<TensorData> {
    let ty = match value.dtype() {
        ValueType::Tensor { ty, .. } => *ty,
        other => {
            return Err(Error::Unsupported(format!(
                "an output of type {other:?} is not a tensor"
            )))
        }
    };
    fn take<T: ort::value::PrimitiveTensorElementType + Clone>(
        value: &DynValue,
        wrap: fn(Vec<T>) -> TensorValues,
    ) -> Result<TensorData> {
        let (shape, data) = value.try_extract_tensor::<T>()?;
        Ok(TensorData {
            dims: shape.to_vec(),
            values: wrap(data.to_vec()),
        })
    }
    match ty {
        TensorElementType::Float32 => take::<f32>(value, TensorValues::F32),
        TensorElementType::Float64 => take::<f64>(value, TensorValues::F64),
        TensorElementType::Int64 => take::<i64>(value, TensorValues::I64),
        TensorElementType::Int32 => take::<i32>(value, TensorValues::I32),
        TensorElementType::Bool => take::<bool>(value, TensorValues::Bool),
        other => Err(Error::Unsupported(format!(
            "an output of element type {other:?}: srlens reads f32, f64, i64, i32 and bool"
        ))),
    }
}

/// A graph in an ONNX Runtime session, run with named [`TensorData`] inputs.
pub struct GraphSession {
    session: Mutex<Session>,
    outputs: Vec<String>,
}

impl std::fmt::Debug for GraphSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphSession")
            .field("outputs", &self.outputs)
            .finish()
    }
}

impl GraphSession {
    /// `graph` on the CPU with ONNX Runtime's basic optimisations, loading the library from
    /// `ORT_DYLIB_PATH` or the default (`cargo xtask setup`) when no model has loaded one.
    pub fn new(graph: &Graph) -> Result<Self> {
        let rt = runtime::load(&LibraryChoice::resolve(None, std::path::Path::new("")))?;
        let settings = SessionSettings {
            optimization: crate::options::Optimization::Basic,
            ..SessionSettings::default()
        };
        Self::with(rt, graph, &settings)
    }

    /// `graph` in `rt` with `settings`.
    pub fn with(rt: &Runtime, graph: &Graph, settings: &SessionSettings) -> Result<Self> {
        let bytes = srlens_onnx::to_bytes(graph).map_err(|e| Error::Load(e.to_string()))?;
        let session = rt.session(&bytes, settings)?;
        Ok(GraphSession {
            session: Mutex::new(session),
            outputs: graph.outputs.iter().map(|v| v.name.clone()).collect(),
        })
    }

    /// Runs the graph on `inputs` (by name) and returns every graph output, in order.
    pub fn run(&self, inputs: &[(&str, TensorData)]) -> Result<Vec<TensorData>> {
        let values = inputs
            .iter()
            .map(|(name, t)| Ok((name.to_string(), to_value(t)?)))
            .collect::<Result<Vec<_>>>()?;
        let named: Vec<(&str, &DynValue)> = values.iter().map(|(n, v)| (n.as_str(), v)).collect();
        self.run_values(&named)?.iter().map(from_value).collect()
    }

    /// Runs the graph on ONNX Runtime values (by name, borrowed) and returns every graph
    /// output, in order.
    pub fn run_values(&self, inputs: &[(&str, &DynValue)]) -> Result<Vec<DynValue>> {
        run_session(&self.session, inputs, &self.outputs)
    }
}

/// Runs `session` on `inputs` (borrowed) and returns the outputs named `outputs`, in order.
pub fn run_session(
    session: &Mutex<Session>,
    inputs: &[(&str, &DynValue)],
    outputs: &[String],
) -> Result<Vec<DynValue>> {
    let mut session = session.lock().unwrap_or_else(|e| e.into_inner());
    let feed: Vec<(
        std::borrow::Cow<'_, str>,
        ort::session::SessionInputValue<'_>,
    )> = inputs
        .iter()
        .map(|(name, v)| ((*name).into(), (*v).into()))
        .collect();
    let mut out = session.run(feed)?;
    outputs
        .iter()
        .map(|name| {
            if name.is_empty() {
                return Err(Error::Load("a graph output has no name".into()));
            }
            out.remove(name.as_str())
                .ok_or_else(|| Error::Runtime(format!("the session returned no output `{name}`")))
        })
        .collect()
}

/// Runs `graph` in ONNX Runtime on the CPU with `inputs` (by name) and returns its outputs,
/// in order: f32, f64, i64, i32 and bool tensors in and out.
pub fn run_graph(graph: &Graph, inputs: &[(&str, TensorData)]) -> Result<Vec<TensorData>> {
    GraphSession::new(graph)?.run(inputs)
}
