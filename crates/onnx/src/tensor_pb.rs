//! Conversion between ONNX `TensorProto` messages and [`TensorData`].

use onnx_protobuf::tensor_proto::{DataLocation, DataType};
use onnx_protobuf::TensorProto;

use crate::ir::{TensorData, TensorValues};

/// Decodes a `TensorProto` (raw or typed storage); the error text says what is unsupported.
pub(crate) fn decode(t: &TensorProto) -> std::result::Result<TensorData, String> {
    let label = tensor_label(t);
    if t.data_location.value() == DataLocation::EXTERNAL as i32 || !t.external_data.is_empty() {
        return Err(format!(
            "{label} stores its data in an external file, which is not supported"
        ));
    }
    if t.segment.is_some() {
        return Err(format!("{label} is segmented, which is not supported"));
    }
    if let Some(d) = t.dims.iter().find(|d| **d < 0) {
        return Err(format!("{label} has a negative dimension {d}"));
    }
    let count = element_count(&t.dims)
        .ok_or_else(|| format!("{label} has too many elements ({:?})", t.dims))?;
    let raw = !t.raw_data.is_empty() || (count == 0 && typed_len(t) == 0);
    let values = match t.data_type {
        x if x == DataType::FLOAT as i32 => TensorValues::F32(if raw {
            from_raw(&t.raw_data, count, &label, f32::from_le_bytes)?
        } else {
            t.float_data.clone()
        }),
        x if x == DataType::DOUBLE as i32 => TensorValues::F64(if raw {
            from_raw(&t.raw_data, count, &label, f64::from_le_bytes)?
        } else {
            t.double_data.clone()
        }),
        x if x == DataType::INT64 as i32 => TensorValues::I64(if raw {
            from_raw(&t.raw_data, count, &label, i64::from_le_bytes)?
        } else {
            t.int64_data.clone()
        }),
        x if x == DataType::INT32 as i32 => TensorValues::I32(if raw {
            from_raw(&t.raw_data, count, &label, i32::from_le_bytes)?
        } else {
            t.int32_data.clone()
        }),
        x if x == DataType::BOOL as i32 => TensorValues::Bool(if raw {
            from_raw(&t.raw_data, count, &label, |b: [u8; 1]| b[0] != 0)?
        } else {
            t.int32_data.iter().map(|v| *v != 0).collect()
        }),
        other => {
            return Err(format!(
            "{label} has element type {} ({other}); supported: FLOAT, DOUBLE, INT64, INT32, BOOL",
            type_name(other)
        ))
        }
    };
    let data = TensorData {
        dims: t.dims.clone(),
        values,
    };
    if data.len() != count {
        return Err(format!(
            "{label} has {} values but its dims {:?} need {count}",
            data.len(),
            t.dims
        ));
    }
    Ok(data)
}

/// Encodes a tensor as a `TensorProto` with little-endian `raw_data`.
pub(crate) fn encode(name: &str, data: &TensorData) -> TensorProto {
    let mut t = TensorProto::new();
    t.name = name.to_string();
    t.dims = data.dims.clone();
    let (ty, raw): (DataType, Vec<u8>) = match &data.values {
        TensorValues::F32(v) => (
            DataType::FLOAT,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        TensorValues::F64(v) => (
            DataType::DOUBLE,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        TensorValues::I64(v) => (
            DataType::INT64,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        TensorValues::I32(v) => (
            DataType::INT32,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        TensorValues::Bool(v) => (DataType::BOOL, v.iter().map(|b| u8::from(*b)).collect()),
    };
    t.data_type = ty as i32;
    t.raw_data = raw;
    t
}

/// The number of elements for `dims` (1 for a scalar), or `None` on overflow.
fn element_count(dims: &[i64]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |acc, d| acc.checked_mul(usize::try_from(*d).ok()?))
}

/// The number of values held in the typed fields.
fn typed_len(t: &TensorProto) -> usize {
    t.float_data.len()
        + t.double_data.len()
        + t.int64_data.len()
        + t.int32_data.len()
        + t.uint64_data.len()
        + t.string_data.len()
}

/// Splits little-endian `raw` into `count` values of `N` bytes.
fn from_raw<T, const N: usize>(
    raw: &[u8],
    count: usize,
    label: &str,
    convert: impl Fn([u8; N]) -> T,
) -> std::result::Result<Vec<T>, String> {
    if raw.len() != count * N {
        return Err(format!(
            "{label} has {} bytes of raw_data; {count} elements of {N} bytes need {}",
            raw.len(),
            count * N
        ));
    }
    Ok(raw
        .chunks_exact(N)
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            convert(b)
        })
        .collect())
}

/// `tensor 'name'` or `an unnamed tensor`, for messages.
fn tensor_label(t: &TensorProto) -> String {
    if t.name.is_empty() {
        "an unnamed tensor".to_string()
    } else {
        format!("tensor '{}'", t.name)
    }
}

/// The ONNX name of an element type code.
fn type_name(code: i32) -> String {
    match <DataType as protobuf::Enum>::from_i32(code) {
        Some(t) => format!("{t:?}"),
        None => "unknown".to_string(),
    }
}
