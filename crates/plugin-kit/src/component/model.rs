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
pub type Cotangents<'a> = dyn FnMut(&Tensor) -> Result<Vec<Tensor>, PluginError> + Send + 'a;

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

/// Conveniences every [`SrModel`] has: the checked calls the ABI wrapper makes.
pub trait SrModelExt: SrModel {
    /// The forward pass, with the SR output's shape and finiteness checked.
    fn checked_forward(&self, lr: &Tensor) -> Result<Tensor, PluginError> {
        let want = sr_shape(self, lr)?;
        let sr = self.forward(lr)?;
        let what = what(self);
        checks::shape(&what, "the SR output", &sr, &want)?;
        checks::finite(&what, "the SR output", &sr.data)?;
        Ok(sr)
    }

    /// One forward pass and one backward pass per objective, as [`Model::gradient`]:
    /// the objectives' values and input gradients, shapes and finiteness checked.
    fn gradients(
        &self,
        lr: &Tensor,
        objectives: &[ObjectiveBox],
    ) -> Result<Vec<InputGradient>, PluginError> {
        let want = sr_shape(self, lr)?;
        let what = what(self);
        let mut values = Vec::with_capacity(objectives.len());
        let mut cotangents = |sr: &Tensor| {
            checks::shape(&what, "the SR output", sr, &want)?;
            checks::finite(&what, "the SR output", &sr.data)?;
            let mut out = Vec::with_capacity(objectives.len());
            for o in objectives {
                let v = o.value_and_grad(sr).into_result()?;
                checks::shape(&what, "the objective's gradient", &v.grad, &want)?;
                values.push(v.values);
                out.push(v.grad);
            }
            Ok(out)
        };
        let grads = self.vjp(lr, &mut cotangents)?;
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
        grads
            .into_iter()
            .zip(values)
            .map(|(grad, values)| {
                checks::shape(&what, "the input gradient", &grad, &lr.dims())?;
                checks::finite(&what, "the input gradient", &grad.data)?;
                Ok(InputGradient { values, grad })
            })
            .collect()
    }
}

impl<M: SrModel + ?Sized> SrModelExt for M {}

fn what<M: SrModel + ?Sized>(model: &M) -> String {
    format!("model `{}`", model.info().name)
}

/// The SR shape for `lr`, after checking `lr` against the model's channels.
fn sr_shape<M: SrModel + ?Sized>(model: &M, lr: &Tensor) -> Result<Vec<usize>, PluginError> {
    let info = model.info();
    let d = lr.dims();
    if d.len() != 4 || d[1] != info.channels as usize || lr.len() != d.iter().product::<usize>() {
        return Err(PluginError::new(
            ErrorKind::InvalidInput,
            format!(
                "{}: takes N x {} x H x W tensors, got shape {d:?}",
                what(model),
                info.channels
            ),
        ));
    }
    let s = info.scale as usize;
    Ok(vec![d[0], d[1], d[2] * s, d[3] * s])
}

struct KitModel<M> {
    model: M,
}

impl<M: SrModel> Model for KitModel<M> {
    fn info(&self) -> ModelInfo {
        self.model.info()
    }

    fn forward(&self, lr: &Tensor) -> PluginResult<Tensor> {
        guard(|| self.model.checked_forward(lr))
    }

    fn gradient(
        &self,
        lr: &Tensor,
        objectives: RSlice<'_, ObjectiveBox>,
    ) -> PluginResult<RVec<InputGradient>> {
        guard(|| {
            self.model
                .gradients(lr, objectives.as_slice())
                .map(RVec::from)
        })
    }
}

/// The ABI object of `model`.
pub fn model_box(model: impl SrModel) -> ModelBox {
    Model_TO::from_value(KitModel { model }, TD_Opaque)
}
