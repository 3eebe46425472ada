//! [`ExampleModel`]: the network behind the srlens `Model` ABI.

use candle_core::{Device, Tensor as CTensor, Var};
use srlens_core::abi_stable::std_types::{ROption, RString};
use srlens_core::{ModelInfo, PluginError, Tensor};
use srlens_plugin_kit::{Cotangents, SrModel};

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
            metadata: RString::from("{}"),
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

    fn vjp_impl(&self, lr: &Tensor, cotangents: &mut Cotangents<'_>) -> Result<Vec<Tensor>> {
        let x = Var::from_tensor(&from_abi(lr)?)?;
        let y = self.net.forward(x.as_tensor())?;
        let sr = to_abi(&y)?;
        let mut out = Vec::new();
        for g in cotangents(&sr).map_err(|e| Error::Input(e.message.to_string()))? {
            // d objective / d x = J^T g: backpropagate sum(y * g) with g held constant.
            let g = from_abi(&g)?;
            let grads = (&y * &g)?.sum_all()?.backward()?;
            out.push(match grads.get(x.as_tensor()) {
                Some(t) => to_abi(t)?,
                None => Tensor::zeros(lr.dims()),
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

impl SrModel for ExampleModel {
    fn info(&self) -> ModelInfo {
        self.info.clone()
    }

    fn forward(&self, lr: &Tensor) -> std::result::Result<Tensor, PluginError> {
        self.run(lr).map_err(PluginError::from)
    }

    fn vjp(
        &self,
        lr: &Tensor,
        cotangents: &mut Cotangents<'_>,
    ) -> std::result::Result<Vec<Tensor>, PluginError> {
        self.vjp_impl(lr, cotangents).map_err(PluginError::from)
    }
}
