//! Reading and writing `.onnx` model files and `.pb` tensor files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use onnx_protobuf::{ModelProto, TensorProto};
use protobuf::Message;

use crate::error::{Error, Result};
use crate::ir::{Graph, TensorData};
use crate::{model_pb, tensor_pb};

/// Reads an ONNX model file.
pub fn read_file(path: &Path) -> Result<Graph> {
    let bytes = read(path)?;
    read_bytes(&bytes, path)
}

/// Decodes an ONNX model held in memory; `path_for_errors` names it in error messages.
pub fn read_bytes(bytes: &[u8], path_for_errors: &Path) -> Result<Graph> {
    let not_onnx = |why: String| Error::Format {
        path: path_for_errors.to_path_buf(),
        message: format!("not an ONNX model: {why} (expected a protobuf ModelProto, a .onnx file)"),
    };
    if bytes.is_empty() {
        return Err(not_onnx("the file is empty".to_string()));
    }
    let model = ModelProto::parse_from_bytes(bytes)
        .map_err(|e| not_onnx(format!("protobuf decoding failed: {e}")))?;
    if model.graph.is_none() {
        return Err(not_onnx("it has no graph".to_string()));
    }
    model_pb::graph_from_model(&model).map_err(|message| Error::Format {
        path: path_for_errors.to_path_buf(),
        message,
    })
}

/// Encodes a graph as the bytes of an ONNX model file.
pub fn to_bytes(graph: &Graph) -> Result<Vec<u8>> {
    model_pb::model_from_graph(graph)
        .write_to_bytes()
        .map_err(|e| Error::Graph(format!("cannot encode graph '{}': {e}", graph.name)))
}

/// Writes a graph as an ONNX model file, atomically (a temporary file, then a rename).
pub fn write_file(graph: &Graph, path: &Path) -> Result<()> {
    write_atomic(path, &to_bytes(graph)?)
}

/// Reads a serialized `TensorProto` (`.pb`, as in the ONNX conformance test cases).
pub fn read_tensor_pb(path: &Path) -> Result<TensorData> {
    let bytes = read(path)?;
    let format = |why: String| Error::Format {
        path: path.to_path_buf(),
        message: format!("not an ONNX tensor: {why} (expected a protobuf TensorProto, a .pb file)"),
    };
    let t = TensorProto::parse_from_bytes(&bytes)
        .map_err(|e| format(format!("protobuf decoding failed: {e}")))?;
    if t.data_type == 0 {
        return Err(format("it has no element type".to_string()));
    }
    tensor_pb::decode(&t).map_err(format)
}

/// Writes a tensor as a serialized `TensorProto` named `name`, atomically.
pub fn write_tensor_pb(tensor: &TensorData, name: &str, path: &Path) -> Result<()> {
    let bytes = tensor_pb::encode(name, tensor)
        .write_to_bytes()
        .map_err(|e| Error::Graph(format!("cannot encode tensor '{name}': {e}")))?;
    write_atomic(path, &bytes)
}

/// Reads a whole file, mapping errors to [`Error::Io`].
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to a temporary file next to `path`, syncs it, then renames it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path has no file name",
        ))
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp: PathBuf = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(source));
    }
    Ok(())
}
