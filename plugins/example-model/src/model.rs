//! [`ExampleModel`]: the network behind the srlens `Model` ABI.

use candle_core::{Device, Tensor as CTensor, Var};
use srlens_core::abi_stable::std_types::{ROption, RSlice, RString, RVec};
use srlens_core::{
    InputGradient, Model, ModelInfo, ObjectiveRef, PluginError, PluginResult, Tensor,
};
use srlens_plugin_kit::guard;

use crate::error::{Error, Result};
use crate::net::{Fsrcnn, CHANNELS};

/// A loaded network and what it says about itself.
#[derive(Debug)]
pub struct ExampleModel {
    net: Fsrcnn,
    info: ModelInfo,
}

impl ExampleModel {
    /// Wraps `net`, naming it `name`.
    pub fn new(net: Fsrcnn, name: &str) -> Self {
        let info = ModelInfo {
            name: RString::from(name),
            scale: net.scale() as u32,
            channels: CHANNELS as u32,
            input_range: [0.0, 1.0],
            parameters: net.parameter_count(),
            receptive_field: ROption::RSome(net.receptive_field()),
        };
        ExampleModel { net, info }
    }

    /// The network.
    pub fn net(&self) -> &Fsrcnn {
        &self.net
    }

    fn run(&self, lr: &Tensor) -> Result<Tensor> {
        to_abi(&self.net.forward(&from_abi(lr)?)?)
    }

    fn grad(&self, lr: &Tensor, objectives: &[ObjectiveRef<'_>]) -> Result<Vec<InputGradient>> {
        let x = Var::from_tensor(&from_abi(lr)?)?;
        let y = self.net.forward(x.as_tensor())?;
        let sr = to_abi(&y)?;
        let mut out = Vec::with_capacity(objectives.len());
        for (k, objective) in objectives.iter().enumerate() {
            let value = objective
                .value_and_grad(&sr)
                .into_result()
                .map_err(|e| Error::Input(format!("objective {k} failed: {}", e.message)))?;
            if value.grad.shape != sr.shape {
                return Err(Error::Input(format!(
                    "objective {k} returned a gradient of shape {:?} for an output of shape {:?}",
                    value.grad.shape.as_slice(),
                    sr.shape.as_slice()
                )));
            }
            // d objective / d x = J^T g: backpropagate sum(y * g) with g held constant.
            let g = from_abi(&value.grad)?;
            let grads = (&y * &g)?.sum_all()?.backward()?;
            let gx = match grads.get(x.as_tensor()) {
                Some(t) => to_abi(t)?,
                None => Tensor::zeros(lr.dims()),
            };
            out.push(InputGradient {
                values: value.values,
                grad: gx,
            });
        }
        Ok(out)
    }
}

/// An ABI tensor (`N x C x H x W`) as a candle tensor.
pub fn from_abi(t: &Tensor) -> Result<CTensor> {
    let dims = t.dims();
    if dims.len() != 4 || t.data.len() != dims.iter().product::<usize>() {
        return Err(Error::Input(format!(
            "expected an N x C x H x W tensor; got shape {dims:?} with {} values",
            t.data.len()
        )));
    }
    Ok(CTensor::from_slice(t.data.as_slice(), dims, &Device::Cpu)?)
}

/// A candle tensor as an ABI tensor.
pub fn to_abi(t: &CTensor) -> Result<Tensor> {
    let data = t.flatten_all()?.to_vec1::<f32>()?;
    Ok(Tensor::new(t.dims().to_vec(), data).expect("candle's shape matches its data"))
}

impl Model for ExampleModel {
    fn info(&self) -> ModelInfo {
        self.info.clone()
    }

    fn forward(&self, lr: &Tensor) -> PluginResult<Tensor> {
        guard(|| self.run(lr).map_err(PluginError::from))
    }

    fn gradient(
        &self,
        lr: &Tensor,
        objectives: RSlice<'_, ObjectiveRef<'_>>,
    ) -> PluginResult<RVec<InputGradient>> {
        guard(|| {
            self.grad(lr, objectives.as_slice())
                .map(RVec::from)
                .map_err(PluginError::from)
        })
    }
}
