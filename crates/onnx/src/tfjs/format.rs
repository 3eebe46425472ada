//! The parts of a TF.js layers `model.json` the converter reads.

use serde::Deserialize;
use serde_json::Value;

/// The top level of `model.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelJson {
    /// `"layers-model"` for a layers model.
    #[serde(default)]
    pub format: Option<String>,
    /// The Keras model (either `{model_config: ...}` or the model config itself).
    pub model_topology: Value,
    /// Where the weights are.
    pub weights_manifest: Vec<WeightGroup>,
}

/// One group of the weights manifest: files concatenated in order, then sliced.
#[derive(Debug, Deserialize)]
pub(crate) struct WeightGroup {
    /// Shard files, relative to `model.json`'s folder.
    pub paths: Vec<String>,
    /// The weights, in storage order.
    pub weights: Vec<WeightSpec>,
}

/// One weight in the manifest.
#[derive(Debug, Deserialize)]
pub(crate) struct WeightSpec {
    /// E.g. `F_0/kernel`.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its element type; only `float32` is supported.
    pub dtype: String,
    /// Quantization parameters; quantized weights are not supported.
    #[serde(default)]
    pub quantization: Option<Value>,
}

/// A Keras functional model config: `{class_name, config: {layers, input_layers, ...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ModelConfig {
    /// `Functional` or `Model`.
    pub class_name: String,
    /// The graph.
    pub config: FunctionalConfig,
}

/// The graph of a Keras functional model.
#[derive(Debug, Deserialize)]
pub(crate) struct FunctionalConfig {
    /// The model's name.
    #[serde(default)]
    pub name: String,
    /// Layers, usually in topological order.
    pub layers: Vec<Layer>,
    /// `[[layer, node, tensor], ...]`.
    pub input_layers: Vec<Value>,
    /// `[[layer, node, tensor], ...]`.
    pub output_layers: Vec<Value>,
}

/// One Keras layer.
#[derive(Debug, Deserialize)]
pub(crate) struct Layer {
    /// E.g. `Conv2D`.
    pub class_name: String,
    /// Unique layer name.
    pub name: String,
    /// Class-specific settings.
    #[serde(default)]
    pub config: Value,
    /// `[[[layer, node, tensor, kwargs], ...]]`: one entry per call of the layer.
    #[serde(default)]
    pub inbound_nodes: Value,
}
