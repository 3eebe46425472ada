//! The backend's options and the device names it accepts.

use srlens_plugin_kit::Precision;
use tch::Device;

use crate::error::{Error, Result};

/// The tch backend's options (`options` of a config's `[model]` table, as JSON).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The model's own value range for its input and output, e.g. `[0, 255]` (default `[0, 1]`).
    #[serde(default)]
    pub input_range: Option<[f32; 2]>,
    /// The upscaling factor the model is expected to have; it is checked against the factor a
    /// small forward pass shows (and used when that pass cannot run).
    #[serde(default)]
    pub scale: Option<u32>,
    /// Input and output channels (default 3).
    #[serde(default)]
    pub channels: Option<u32>,
    /// For sanity checks (`srlens sanity`): re-draw the parameters of this many layers (the
    /// TorchScript modules that own a weight of rank 2 or more), from the output end (default
    /// 0, the trained network).
    #[serde(default)]
    pub randomize_layers: u32,
    /// The seed of the re-drawn parameters.
    #[serde(default)]
    pub randomize_seed: u64,
    /// The floating-point type the network computes in: `"f32"` (default) or `"f64"` (the
    /// module converted to float64: weights, activations and gradients; the host then runs
    /// the method in float64 and writes `attribution64.npy`).
    #[serde(default)]
    pub precision: Precision,
}

impl Options {
    /// Parses the JSON options, checking the range.
    pub fn parse(json: &str) -> Result<Self> {
        let o: Options = srlens_plugin_kit::parse_options("backend `tch`", json)
            .map_err(|e| Error::Config(e.message.to_string()))?;
        let [lo, hi] = o.range();
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater)
            || !lo.is_finite()
            || !hi.is_finite()
        {
            return Err(Error::Config(format!(
                "backend `tch`: input_range [{lo}, {hi}]: the upper bound must exceed the lower one"
            )));
        }
        if o.scale == Some(0) || o.channels == Some(0) {
            return Err(Error::Config(
                "backend `tch`: scale and channels must be positive".to_string(),
            ));
        }
        Ok(o)
    }

    /// The model's value range.
    pub fn range(&self) -> [f32; 2] {
        self.input_range.unwrap_or([0.0, 1.0])
    }
}

/// Parses `cpu` (or empty), `cuda` or `cuda:N`, checking that the CUDA device exists.
pub fn parse_device(name: &str) -> Result<Device> {
    let name = name.trim().to_ascii_lowercase();
    let index = match name.as_str() {
        "" | "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(i)) => i,
            _ => {
                return Err(Error::Config(format!(
                    "device `{name}`: the tch backend accepts `cpu`, `cuda` or `cuda:N`"
                )))
            }
        },
    };
    if !tch::Cuda::is_available() {
        let why = if tch::utils::has_cudart() {
            "libtorch has CUDA support, but no NVIDIA GPU or driver was found"
        } else {
            "this libtorch has no CUDA support (a CPU-only build)"
        };
        return Err(Error::Unsupported(format!(
            "device `{name}`: CUDA is not available to libtorch here ({why}); use device = \"cpu\""
        )));
    }
    let count = tch::Cuda::device_count();
    if index as i64 >= count {
        return Err(Error::Unsupported(format!(
            "device `{name}`: libtorch sees {count} CUDA device(s), numbered from 0"
        )));
    }
    Ok(Device::Cuda(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let o = Options::parse("").unwrap();
        assert_eq!(o.range(), [0.0, 1.0]);
        assert_eq!(o.scale, None);
        let e = Options::parse(r#"{"range": [0, 255]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `range`"), "{e}");
        assert!(e.to_string().contains("input_range"), "{e}");
        let e = Options::parse(r#"{"input_range": [1, 1]}"#).unwrap_err();
        assert!(e.to_string().contains("upper bound"), "{e}");
    }

    #[test]
    fn devices() {
        assert_eq!(parse_device("CPU").unwrap(), Device::Cpu);
        assert_eq!(parse_device("").unwrap(), Device::Cpu);
        let e = parse_device("tpu").unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e}");
        if !tch::Cuda::is_available() {
            let e = parse_device("cuda:0").unwrap_err();
            assert!(matches!(e, Error::Unsupported(_)), "{e}");
            assert!(e.to_string().contains("CUDA is not available"), "{e}");
        }
    }
}
