//! Conversions between ONNX constants, ABI tensors and candle tensors.

use candle_core::{DType, Device, Tensor};
use srlens_onnx::{TensorData, TensorValues};
use srlens_plugin_kit::Real;

use crate::error::{Error, Result};

/// The device every tensor lives on.
pub const DEVICE: Device = Device::Cpu;

/// An ONNX constant as a candle tensor: floats in `float` (F32 or F64), integers as I64,
/// booleans as U8.
pub fn constant(t: &TensorData, float: DType) -> Result<Tensor> {
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| Error::Load(format!("negative dimension {d}"))))
        .collect::<Result<_>>()?;
    let out = match &t.values {
        TensorValues::F32(v) => Tensor::from_slice(v, dims, &DEVICE)?.to_dtype(float)?,
        TensorValues::F64(v) => Tensor::from_slice(v, dims, &DEVICE)?.to_dtype(float)?,
        TensorValues::I64(v) => Tensor::from_slice(v, dims, &DEVICE)?,
        TensorValues::I32(v) => {
            let v: Vec<i64> = v.iter().map(|&x| x as i64).collect();
            Tensor::from_vec(v, dims, &DEVICE)?
        }
        TensorValues::Bool(v) => {
            let v: Vec<u8> = v.iter().map(|&x| x as u8).collect();
            Tensor::from_vec(v, dims, &DEVICE)?
        }
    };
    Ok(out)
}

/// An element type of the ABI's tensors that candle also holds: `f32` or `f64`.
pub trait AbiFloat: Real + candle_core::WithDType {}

impl<R: Real + candle_core::WithDType> AbiFloat for R {}

/// An ABI tensor (of either precision) as a candle tensor of `dtype`.
pub fn from_abi<R: AbiFloat>(t: &R::Tensor, dtype: DType) -> Result<Tensor> {
    let dims = R::dims(t);
    let data = R::data(t);
    if dims.iter().product::<usize>() != data.len() {
        return Err(Error::Input(format!(
            "tensor of shape {dims:?} carries {} values",
            data.len()
        )));
    }
    Ok(Tensor::from_slice(data, dims, &DEVICE)?.to_dtype(dtype)?)
}

/// A candle tensor as an ABI tensor of precision `R` (values converted).
pub fn to_abi<R: AbiFloat>(t: &Tensor) -> Result<R::Tensor> {
    let dims = t.dims().to_vec();
    let data = t.to_dtype(R::DTYPE)?.flatten_all()?.to_vec1::<R>()?;
    R::tensor(dims, data).ok_or_else(|| Error::Input("tensor size mismatch".to_string()))
}

/// The values of a (small) tensor as `i64`s, row-major.
pub fn ints(t: &Tensor) -> Result<Vec<i64>> {
    Ok(t.to_dtype(DType::I64)?.flatten_all()?.to_vec1::<i64>()?)
}

/// The values of a (small) tensor as `f64`s, row-major.
pub fn floats(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?)
}
