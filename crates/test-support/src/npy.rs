//! `.npy` files, read through `srlens_report::npy::decode_npy` (the reader srlens itself uses).

use std::path::Path;

use srlens_core::Tensor;

/// Reads a little-endian float32, C-order `.npy` file: its shape and values. Panics naming the
/// file when it cannot be read or is not such a file.
pub fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    srlens_report::npy::decode_npy(&bytes)
        .unwrap_or_else(|e| panic!("{}: not a float32 .npy: {e}", path.display()))
}

/// Reads a little-endian float64, C-order `.npy` file (`attribution64.npy`): its shape and
/// values. Panics naming the file when it cannot be read or is not such a file.
pub fn read_npy64(path: &Path) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    srlens_report::npy::decode_npy_as::<f64>(&bytes)
        .unwrap_or_else(|e| panic!("{}: not a float64 .npy: {e}", path.display()))
}

/// Reads a float32 `.npy` file as a [`Tensor`].
pub fn read_npy_tensor(path: &Path) -> Tensor {
    let (shape, data) = read_npy(path);
    Tensor::new(shape, data).expect("npy size matches its shape")
}
