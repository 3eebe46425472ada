//! The backend's options and the device names it accepts.

use ort::session::builder::GraphOptimizationLevel;

use srlens_plugin_kit::Precision;

use crate::error::{Error, Result};

/// The ort backend's options (`options` of a config's `[model]` table, as JSON).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The ONNX Runtime 1.31 shared library (`libonnxruntime.so`), relative to the config's
    /// folder; else `ORT_DYLIB_PATH`, else the one `cargo xtask setup` installs in `.venv`.
    #[serde(default)]
    pub library: Option<String>,
    /// ONNX Runtime's graph optimisations (default `all`).
    #[serde(default)]
    pub optimization: Optimization,
    /// The model's own input range, overriding the file's `srlens.input_range` metadata,
    /// e.g. `[0, 255]`.
    #[serde(default)]
    pub input_range: Option<[f32; 2]>,
    /// For sanity checks (`srlens sanity`): re-draw the weights of this many parameterised
    /// layers, from the output end (`srlens_onnx::randomize`; default 0, the trained network).
    #[serde(default)]
    pub randomize_layers: u32,
    /// The seed of the re-drawn weights.
    #[serde(default)]
    pub randomize_seed: u64,
    /// Only `"f32"`: ONNX Runtime runs the model's float32 graph (candle and tch take
    /// `"f64"`).
    #[serde(default)]
    pub precision: Precision,
}

/// ONNX Runtime's graph optimisation level.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimization {
    /// No graph rewrites.
    Disable,
    /// Constant folding and redundant node removal.
    Basic,
    /// Also complex node fusions.
    Extended,
    /// Also layout optimisations (the default).
    #[default]
    All,
}

impl Optimization {
    /// ort's level.
    pub fn level(self) -> GraphOptimizationLevel {
        match self {
            Optimization::Disable => GraphOptimizationLevel::Disable,
            Optimization::Basic => GraphOptimizationLevel::Level1,
            Optimization::Extended => GraphOptimizationLevel::Level2,
            Optimization::All => GraphOptimizationLevel::All,
        }
    }
}

impl Options {
    /// Parses the JSON options (empty means `{}`); unknown keys are errors listing the
    /// accepted ones.
    pub fn parse(json: &str) -> Result<Self> {
        let o: Options = srlens_plugin_kit::parse_options("backend `ort`", json)
            .map_err(|e| Error::Config(e.message.to_string()))?;
        if o.precision != Precision::F32 {
            return Err(Error::Unsupported(
                "backend `ort`: precision = \"f64\" is not available: ONNX Runtime runs the \
                 model's float32 graph; the candle and tch backends compute in float64"
                    .to_string(),
            ));
        }
        Ok(o)
    }
}

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// ONNX Runtime's CPU execution provider.
    Cpu,
    /// The CUDA execution provider on the GPU with this index.
    Cuda(i32),
}

/// Parses `cpu` (or empty), `cuda` or `cuda:N`.
pub fn parse_device(name: &str) -> Result<Device> {
    let name = name.trim().to_ascii_lowercase();
    match name.as_str() {
        "" | "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        other => match other.strip_prefix("cuda:").map(str::parse::<i32>) {
            Some(Ok(i)) if i >= 0 => Ok(Device::Cuda(i)),
            _ => Err(Error::Config(format!(
                "device `{name}`: the ort backend accepts `cpu`, `cuda` or `cuda:N`"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        let o = Options::parse("").unwrap();
        assert_eq!(o.optimization, Optimization::All);
        assert!(o.library.is_none() && o.input_range.is_none());
        let o = Options::parse(r#"{"optimization": "basic", "input_range": [0, 255]}"#).unwrap();
        assert_eq!(o.optimization, Optimization::Basic);
        assert_eq!(o.input_range, Some([0.0, 255.0]));
    }

    #[test]
    fn devices() {
        assert_eq!(parse_device(" CPU").unwrap(), Device::Cpu);
        assert_eq!(parse_device("").unwrap(), Device::Cpu);
        assert_eq!(parse_device("cuda").unwrap(), Device::Cuda(0));
        assert_eq!(parse_device("cuda:2").unwrap(), Device::Cuda(2));
        for bad in ["tpu", "cuda:-1", "cuda:x"] {
            let e = parse_device(bad).unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{e}");
        }
    }
}
