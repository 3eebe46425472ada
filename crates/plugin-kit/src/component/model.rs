//! [`SrModel`]: a loaded network in plain Rust, wrapped into the ABI by [`model_box`].

use srlens_core::{
    abi_stable::{
        sabi_trait::TD_Opaque,
        std_types::{RSlice, RVec},
    },
    ErrorKind, InputGradient, InputGradient64, Model, ModelBox, ModelInfo, Model_TO, ObjectiveBox,
    PluginError, PluginResult, Tensor, Tensor64,
};

use super::checks;
use crate::{guard, precision::Real};

/// Called by [`SrModel::vjp`] with the SR batch: returns one cotangent `d objective / d sr`
/// per objective, each of the SR batch's shape.
pub type Cotangents<'a> = CotangentsOf<'a, f32>;

/// [`Cotangents`] in float64, for [`SrModel::vjp_f64`].
pub type Cotangents64<'a> = CotangentsOf<'a, f64>;

/// [`Cotangents`] in the precision `R`.
pub type CotangentsOf<'a, R> =
    dyn FnMut(&<R as Real>::Tensor) -> Result<Vec<<R as Real>::Tensor>, PluginError> + Send + 'a;

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

    /// [`vjp`](Self::vjp) in float64 throughout, for a model loaded with
    /// `precision = "f64"`; the default answers that the model computes in float32 only.
    fn vjp_f64(
        &self,
        lr: &Tensor64,
        cotangents: &mut Cotangents64<'_>,
    ) -> Result<Vec<Tensor64>, PluginError> {
        let _ = (lr, cotangents);
        Err(PluginError::float64_unsupported(&what(self)))
    }
}

/// Conveniences every [`SrModel`] has: the checked calls the ABI wrapper makes.
pub trait SrModelExt: SrModel {
    /// The forward pass, with the SR output's shape and finiteness checked.
    fn checked_forward(&self, lr: &Tensor) -> Result<Tensor, PluginError> {
        let want = sr_shape(self, &lr.dims(), lr.len())?;
        let sr = self.forward(lr)?;
        let what = what(self);
        checks::shape::<f32>(&what, "the SR output", &sr, &want)?;
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
        gradients_in::<f32, Self>(self, lr, objectives)
    }

    /// [`gradients`](Self::gradients) in float64, as [`Model::gradient_f64`].
    fn gradients_f64(
        &self,
        lr: &Tensor64,
        objectives: &[ObjectiveBox],
    ) -> Result<Vec<InputGradient64>, PluginError> {
        gradients_in::<f64, Self>(self, lr, objectives)
    }
}

/// [`SrModelExt::gradients`] in the precision `R`.
fn gradients_in<R: Real, M: SrModel + ?Sized>(
    model: &M,
    lr: &R::Tensor,
    objectives: &[ObjectiveBox],
) -> Result<Vec<R::Gradient>, PluginError> {
    let lr_dims = R::dims(lr);
    let want = sr_shape(model, &lr_dims, R::data(lr).len())?;
    let what = what(model);
    let mut values = Vec::with_capacity(objectives.len());
    let mut cotangents = |sr: &R::Tensor| {
        checks::shape::<R>(&what, "the SR output", sr, &want)?;
        checks::finite(&what, "the SR output", R::data(sr))?;
        let mut out = Vec::with_capacity(objectives.len());
        for o in objectives {
            let (v, grad) = R::objective(o, sr)?;
            checks::shape::<R>(&what, "the objective's gradient", &grad, &want)?;
            values.push(v);
            out.push(grad);
        }
        Ok(out)
    };
    let grads = R::vjp(model, lr, &mut cotangents)?;
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
            checks::shape::<R>(&what, "the input gradient", &grad, &lr_dims)?;
            checks::finite(&what, "the input gradient", R::data(&grad))?;
            Ok(R::gradient(values, grad))
        })
        .collect()
}

impl<M: SrModel + ?Sized> SrModelExt for M {}

fn what<M: SrModel + ?Sized>(model: &M) -> String {
    format!("model `{}`", model.info().name)
}

/// The SR shape for `lr`, after checking `lr` against the model's channels.
fn sr_shape<M: SrModel + ?Sized>(
    model: &M,
    d: &[usize],
    len: usize,
) -> Result<Vec<usize>, PluginError> {
    let info = model.info();
    if d.len() != 4 || d[1] != info.channels as usize || len != d.iter().product::<usize>() {
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

    fn gradient_f64(
        &self,
        lr: &Tensor64,
        objectives: RSlice<'_, ObjectiveBox>,
    ) -> PluginResult<RVec<InputGradient64>> {
        guard(|| {
            self.model
                .gradients_f64(lr, objectives.as_slice())
                .map(RVec::from)
        })
    }
}

/// The ABI object of `model`.
pub fn model_box(model: impl SrModel) -> ModelBox {
    Model_TO::from_value(KitModel { model }, TD_Opaque)
}
