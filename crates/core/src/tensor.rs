//! The tensor that crosses the plugin boundary.

use abi_stable::{std_types::RVec, StableAbi};

/// A dense `f32` tensor, row-major; images are NCHW.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Default)]
pub struct Tensor {
    /// The dimensions, outermost first.
    pub shape: RVec<u64>,
    /// `shape.iter().product()` values, row-major.
    pub data: RVec<f32>,
}

impl Tensor {
    /// A tensor from a shape and matching data; `None` when the sizes disagree.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Option<Self> {
        if shape.iter().product::<usize>() != data.len() {
            return None;
        }
        Some(Tensor {
            shape: shape.into_iter().map(|d| d as u64).collect(),
            data: RVec::from(data),
        })
    }

    /// A tensor of zeros.
    pub fn zeros(shape: Vec<usize>) -> Self {
        let n = shape.iter().product();
        Tensor::new(shape, vec![0.0; n]).expect("sizes agree by construction")
    }

    /// The dimensions as `usize`.
    pub fn dims(&self) -> Vec<usize> {
        self.shape.iter().map(|&d| d as usize).collect()
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor holds no values.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}
