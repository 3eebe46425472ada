//! [`SrModel`]: a loaded network in plain Rust, wrapped into the ABI by [`model_box`].

use srlens_core::{
    abi_stable::{
        sabi_trait::TD_Opaque,
        std_types::{RSlice, RVec},
    },
    ErrorKind, InputGradient, Model, ModelBox, ModelInfo, Model_TO, ObjectiveBox, PluginError,
    PluginResult, Tensor,
};

use super::checks;
use crate::guard;

/// Called by [`SrModel::vjp`] with the SR batch: returns one cotangent `d objective / d sr`
/// per objective, each of the SR batch's shape.
pub type Cotangents<'a> = dyn FnMut(&Tensor) -> Result<Vec<Tensor>, PluginError> + 'a;

/// An SR network. Tensors are NCHW in `[0, 1]`; the kit checks shapes and finite values of
/// everything the model returns, evaluates the objectives, and contains panics.
pub trait SrModel: Send + Sync + 'static {
    /// What the model is: name, scale (at least 1), channels, input range, parameters.
    fn info(&self) -> ModelInfo;

    /// Super-resolves `lr` (`N x C x H x W`) into `N x C x sH x sW`.
    fn forward(&self, lr: &Tensor) -> Result<Tensor, PluginError>;

    /// One forward pass of `lr`; then `cotangents(sr)` gives the vectors `d objective / d sr`
    /// (one per objective); returns their vector-Jacobian products `d objective / d lr`, in
    /// order, each of `lr`'s shape (one backward pass each, into the input only).
    fn vjp(&self, lr: &Tensor, cotangents: &mut Cotangents<'_>)
        -> Result<Vec<Tensor>, PluginError>;
}

struct KitModel<M> {
    model: M,
}

impl<M: SrModel> KitModel<M> {
    fn what(&self) -> String {
        format!("model `{}`", self.model.info().name)
    }

    fn sr_shape(&self, lr: &Tensor) -> Result<Vec<usize>, PluginError> {
        let info = self.model.info();
        let d = lr.dims();
        if d.len() != 4 || d[1] != info.channels as usize || lr.len() != d.iter().product::<usize>() {
            return Err(PluginError::new(
                ErrorKind::InvalidInput,
                format!(
                    "{}: takes N x {} x H x W tensors, got shape {d:?}",
                    self.what(),
                    info.channels
                ),
            ));
        }
        let s = info.scale as usize;
        Ok(vec![d[0], d[1], d[2] * s, d[3] * s])
    }

    fn checked_forward(&self, lr: &Tensor) -> Result<Tensor, PluginError> {
        let want = self.sr_shape(lr)?;
        let sr = self.model.forward(lr)?;
        let what = self.what();
        checks::shape(&what, "the SR output", &sr, &want)?;
        checks::finite(&what, "the SR output", &sr.data)?;
        Ok(sr)
    }
}

impl<M: SrModel> Model for KitModel<M> {
    fn info(&self) -> ModelInfo {
        self.model.info()
    }

    fn forward(&self, lr: &Tensor) -> PluginResult<Tensor> {
        guard(|| self.checked_forward(lr))
    }

    fn gradient(
        &self,
        lr: &Tensor,
        objectives: RSlice<'_, ObjectiveBox>,
    ) -> PluginResult<RVec<InputGradient>> {
        guard(|| {
            let want = self.sr_shape(lr)?;
            let what = self.what();
            let mut values = Vec::with_capacity(objectives.len());
            let mut cotangents = |sr: &Tensor| {
                checks::shape(&what, "the SR output", sr, &want)?;
                checks::finite(&what, "the SR output", &sr.data)?;
                let mut out = Vec::with_capacity(objectives.len());
                for o in objectives.iter() {
                    let v = o.value_and_grad(sr).into_result()?;
                    checks::shape(&what, "the objective's gradient", &v.grad, &want)?;
                    values.push(v.values);
                    out.push(v.grad);
                }
                Ok(out)
            };
            let grads = self.model.vjp(lr, &mut cotangents)?;
            if grads.len() != objectives.len() || values.len() != objectives.len() {
                return Err(PluginError::new(
                    ErrorKind::Backend,
                    format!(
                        "{what}: {} input gradient(s) for {} objective(s)",
                        grads.len(),
                        objectives.len()
                    ),
                ));
            }
            let mut out = RVec::with_capacity(grads.len());
            for (grad, values) in grads.into_iter().zip(values) {
                checks::shape(&what, "the input gradient", &grad, &lr.dims())?;
                checks::finite(&what, "the input gradient", &grad.data)?;
                out.push(InputGradient { values, grad });
            }
            Ok(out)
        })
    }
}

/// The ABI object of `model`.
pub fn model_box(model: impl SrModel) -> ModelBox {
    Model_TO::from_value(KitModel { model }, TD_Opaque)
}
