//! The tensors that cross the plugin boundary: [`Tensor`] (`f32`, every call) and
//! [`Tensor64`] (`f64`, the float64 calls added in srlens-core 1.1).

use abi_stable::{std_types::RVec, StableAbi};

/// Defines a dense row-major tensor type of one element type and its constructors.
macro_rules! dense_tensor {
    ($(#[$doc:meta])* $name:ident, $elem:ty) => {
        $(#[$doc])*
        #[repr(C)]
        #[derive(StableAbi, Debug, Clone, PartialEq, Default)]
        pub struct $name {
            /// The dimensions, outermost first.
            pub shape: RVec<u64>,
            /// `shape.iter().product()` values, row-major.
            pub data: RVec<$elem>,
        }

        impl $name {
            /// A tensor from a shape and matching data; `None` when the sizes disagree.
            pub fn new(shape: Vec<usize>, data: Vec<$elem>) -> Option<Self> {
                if shape.iter().product::<usize>() != data.len() {
                    return None;
                }
                Some($name {
                    shape: shape.into_iter().map(|d| d as u64).collect(),
                    data: RVec::from(data),
                })
            }

            /// A tensor of zeros.
            pub fn zeros(shape: Vec<usize>) -> Self {
                let n = shape.iter().product();
                $name::new(shape, vec![0.0; n]).expect("sizes agree by construction")
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
    };
}

dense_tensor!(
    /// A dense `f32` tensor, row-major; images are NCHW.
    Tensor,
    f32
);

dense_tensor!(
    /// A dense `f64` tensor, row-major; images are NCHW. What the float64 calls carry
    /// (a backend loaded with `precision = "f64"`).
    Tensor64,
    f64
);

impl Tensor {
    /// The same values in `f64` (exact).
    pub fn to_f64(&self) -> Tensor64 {
        Tensor64 {
            shape: self.shape.clone(),
            data: self.data.iter().map(|&v| v as f64).collect(),
        }
    }
}

impl Tensor64 {
    /// The values rounded to `f32`.
    pub fn to_f32(&self) -> Tensor {
        Tensor {
            shape: self.shape.clone(),
            data: self.data.iter().map(|&v| v as f32).collect(),
        }
    }
}
