//! A linear objective, whose gradient is known exactly.

use srlens_core::abi_stable::std_types::RVec;
use srlens_core::{Objective, ObjectiveValue, PluginResult, Tensor};

/// `sum(w * sr)` per batch item, for fixed weights `w` shaped like the SR batch: its gradient
/// is `w`.
#[derive(Debug, Clone)]
pub struct Linear(pub Tensor);

impl Linear {
    /// The objective's value for each item of `sr`, accumulated in `f64`.
    pub fn values(&self, sr: &Tensor) -> Vec<f64> {
        let n = sr.dims()[0];
        let per = sr.len() / n;
        (0..n)
            .map(|b| {
                (b * per..(b + 1) * per)
                    .map(|i| sr.data[i] as f64 * self.0.data[i] as f64)
                    .sum()
            })
            .collect()
    }
}

impl Objective for Linear {
    fn value_and_grad(&self, sr: &Tensor) -> PluginResult<ObjectiveValue> {
        assert_eq!(sr.dims(), self.0.dims(), "objective weights and SR shapes");
        PluginResult::ROk(ObjectiveValue {
            values: RVec::from(self.values(sr)),
            grad: self.0.clone(),
        })
    }
}
