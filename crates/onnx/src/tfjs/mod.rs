//! Converting TensorFlow.js layers models (`model.json` + `group1-shard*.bin`), such as the
//! UpscalerJS ESRGAN packages, into NCHW ONNX graphs.
//!
//! The graph reads `input` (`[N, C, H, W]`, symbolic `N`, `H`, `W`) and writes `output`;
//! weights become initializers named after the TF.js weights (`F_0/kernel`, `F_0/bias`), with
//! kernels transposed from `[kh, kw, in, out]` to `[out, in, kh, kw]`. Metadata:
//! `srlens.scale`, `srlens.input_range` and `srlens.output_range` (`"0,255"` for RDN,
//! `"0,1"` for RRDN, told apart by RRDN's `MultiplyBeta`/`PixelShuffle` layers),
//! `srlens.architecture`, `srlens.source` (`package@version`, from the enclosing npm
//! package's `package.json`), `srlens.source_file`, `srlens.license`.

mod format;
mod layers;
mod weights;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::ir::{Dim, Graph, ValueInfo};
use format::{Layer, ModelConfig, ModelJson};
use layers::{Emitter, ValueMeta};

/// The opset of converted graphs.
pub const OPSET: i64 = 17;

/// Converts the TF.js layers model at `model_json` (its weight shards beside it).
pub fn convert(model_json: &Path) -> Result<Graph> {
    let fail = |message: String| Error::Format {
        path: model_json.to_path_buf(),
        message,
    };
    let bytes = crate::io::read(model_json)?;
    let model: ModelJson = serde_json::from_slice(&bytes).map_err(|e| {
        fail(format!("not a TF.js layers model: {e} (expected model.json with modelTopology and weightsManifest)"))
    })?;
    if let Some(f) = model.format.as_deref().filter(|f| *f != "layers-model") {
        return Err(fail(format!(
            "format '{f}' is not supported (expected 'layers-model')"
        )));
    }
    let topology = model
        .model_topology
        .get("model_config")
        .unwrap_or(&model.model_topology);
    let config: ModelConfig = serde_json::from_value(topology.clone()).map_err(|e| {
        fail(format!("not a Keras functional model: {e} (expected modelTopology.model_config with layers, input_layers, output_layers)"))
    })?;
    if !matches!(config.class_name.as_str(), "Functional" | "Model") {
        return Err(fail(format!(
            "model class '{}' is not supported (expected a functional model: Functional or Model)",
            config.class_name
        )));
    }
    let cfg = &config.config;
    let input = single_endpoint(&cfg.input_layers, "input_layers").map_err(&fail)?;
    let output = single_endpoint(&cfg.output_layers, "output_layers").map_err(&fail)?;
    if input == output {
        return Err(fail("the input layer is the output layer".to_string()));
    }

    let mut by_name: HashMap<&str, &Layer> = HashMap::new();
    for l in &cfg.layers {
        if by_name.insert(l.name.as_str(), l).is_some() {
            return Err(fail(format!("two layers are named '{}'", l.name)));
        }
    }
    let mut inbound: HashMap<&str, Vec<String>> = HashMap::new();
    for l in &cfg.layers {
        let srcs = inbound_layers(l)
            .map_err(|m| fail(format!("layer '{}' ({}): {m}", l.name, l.class_name)))?;
        inbound.insert(l.name.as_str(), srcs);
    }
    let order = topological_order(&output, &by_name, &inbound).map_err(&fail)?;
    if !inbound[input.as_str()].is_empty() {
        return Err(fail(format!(
            "the input layer '{input}' has inbound layers"
        )));
    }
    if let Some(src) = order
        .iter()
        .find(|n| **n != input && inbound[n.as_str()].is_empty())
    {
        return Err(fail(format!(
            "layer '{src}' has no inputs; only one graph input ('{input}') is supported"
        )));
    }
    if order.first() != Some(&input) {
        return Err(fail(format!(
            "the output '{output}' does not depend on the input '{input}'"
        )));
    }

    let dir = model_json.parent().unwrap_or(Path::new("."));
    let weights = weights::load(dir, &model.weights_manifest).map_err(&fail)?;
    let package = find_package(dir);
    let folder = dir.file_name().map(|f| f.to_string_lossy().into_owned());
    let graph_name = match (&package, folder) {
        (Some(p), Some(f)) => format!("{}-{f}", p.short_name()),
        (Some(p), None) => p.short_name(),
        (None, _) => cfg.name.clone(),
    };
    let mut em = Emitter::new(
        Graph {
            name: graph_name,
            opset: OPSET,
            ..Graph::default()
        },
        weights,
    );

    let mut values: HashMap<&str, ValueMeta> = HashMap::new();
    let input_layer = by_name[input.as_str()];
    let in_meta = input_value(input_layer).map_err(&fail)?;
    em.graph.inputs.push(ValueInfo {
        name: in_meta.name.clone(),
        shape: vec![
            Dim::Symbolic("N".into()),
            in_meta
                .channels
                .map_or(Dim::Symbolic("C".into()), |c| Dim::Fixed(c as i64)),
            Dim::Symbolic("H".into()),
            Dim::Symbolic("W".into()),
        ],
        ..Default::default()
    });
    values.insert(input.as_str(), in_meta);
    for name in order.iter().skip(1) {
        let layer = by_name[name.as_str()];
        let ins: Vec<ValueMeta> = inbound[name.as_str()]
            .iter()
            .map(|s| values[s.as_str()].clone())
            .collect();
        let out_name = if *name == output {
            "output".to_string()
        } else {
            value_name(name)
        };
        let meta = em.layer(layer, &ins, &out_name).map_err(|m| {
            fail(format!(
                "layer '{}' ({}): {m}",
                layer.name, layer.class_name
            ))
        })?;
        values.insert(name.as_str(), meta);
    }
    let unused = em.unused_weights();
    if !unused.is_empty() {
        return Err(fail(format!("weights not used by any layer: {unused:?}")));
    }

    let out_meta = &values[output.as_str()];
    let rrdn = em.saw_rrdn_layers;
    let mut graph = em.graph;
    graph.outputs.push(ValueInfo {
        name: out_meta.name.clone(),
        shape: vec![
            Dim::Symbolic("N".into()),
            out_meta
                .channels
                .map_or(Dim::Symbolic("C_out".into()), |c| Dim::Fixed(c as i64)),
            Dim::Symbolic("H_out".into()),
            Dim::Symbolic("W_out".into()),
        ],
        ..Default::default()
    });
    let md = &mut graph.metadata;
    md.insert("srlens.scale".into(), format_scale(out_meta.scale));
    let range = if rrdn { "0,1" } else { "0,255" };
    md.insert("srlens.input_range".into(), range.into());
    md.insert("srlens.output_range".into(), range.into());
    md.insert(
        "srlens.architecture".into(),
        if rrdn { "rrdn" } else { "rdn" }.into(),
    );
    md.insert(
        "srlens.converter".into(),
        format!("srlens-onnx {} tfjs", env!("CARGO_PKG_VERSION")),
    );
    match &package {
        Some(p) => {
            md.insert("srlens.source".into(), format!("{}@{}", p.name, p.version));
            if let Ok(rel) = model_json.strip_prefix(&p.root) {
                md.insert(
                    "srlens.source_file".into(),
                    rel.to_string_lossy().replace('\\', "/"),
                );
            }
            if let Some(l) = &p.license {
                md.insert("srlens.license".into(), l.clone());
            }
        }
        None => {
            md.insert("srlens.source".into(), model_json.display().to_string());
        }
    }
    crate::check::validate(&graph)?;
    Ok(graph)
}

/// The ONNX value name for a layer's output (the names `input`/`output` are reserved).
fn value_name(layer: &str) -> String {
    match layer {
        "input" | "output" => format!("{layer}_"),
        _ => layer.to_string(),
    }
}

/// The graph input's metadata from the `InputLayer`.
fn input_value(layer: &Layer) -> std::result::Result<ValueMeta, String> {
    if layer.class_name != "InputLayer" {
        return Err(format!(
            "the input layer '{}' has class '{}', expected InputLayer",
            layer.name, layer.class_name
        ));
    }
    let shape = layer
        .config
        .get("batch_input_shape")
        .or_else(|| layer.config.get("batch_shape"))
        .and_then(Value::as_array);
    let channels = match shape {
        Some(s) if s.len() == 4 => s[3].as_u64().map(|c| c as usize),
        Some(s) => {
            return Err(format!(
                "input layer '{}' has rank {}, expected 4 (NHWC)",
                layer.name,
                s.len()
            ))
        }
        None => None,
    };
    Ok(ValueMeta {
        name: "input".to_string(),
        channels,
        scale: 1.0,
    })
}

/// `name` from `[[name, 0, 0]]`.
fn single_endpoint(list: &[Value], what: &str) -> std::result::Result<String, String> {
    match list {
        [Value::Array(e)] if e.first().and_then(Value::as_str).is_some() => {
            Ok(e[0].as_str().unwrap_or_default().to_string())
        }
        _ => Err(format!(
            "{what} must name exactly one layer, found {}",
            Value::from(list.to_vec())
        )),
    }
}

/// The layers feeding `layer` (Keras `inbound_nodes`: one call, entries `[name, 0, 0, {}]`).
fn inbound_layers(layer: &Layer) -> std::result::Result<Vec<String>, String> {
    let calls = match &layer.inbound_nodes {
        Value::Null => return Ok(Vec::new()),
        Value::Array(calls) => calls,
        _ => {
            return Err(
                "inbound_nodes is not a list (Keras 3 models are not supported)".to_string(),
            )
        }
    };
    match calls.as_slice() {
        [] => Ok(Vec::new()),
        [Value::Array(entries)] => entries
            .iter()
            .map(|e| match e.as_array().map(Vec::as_slice) {
                Some([Value::String(name), n, t, ..])
                    if n.as_u64() == Some(0) && t.as_u64() == Some(0) =>
                {
                    Ok(name.clone())
                }
                _ => Err(format!(
                    "inbound entry {e} is not supported (expected [layer, 0, 0, {{}}])"
                )),
            })
            .collect(),
        [_] => Err(
            "inbound_nodes has an unexpected form (Keras 3 models are not supported)".to_string(),
        ),
        _ => Err(format!(
            "the layer is called {} times; shared layers are not supported",
            calls.len()
        )),
    }
}

/// Layers needed for `output`, dependencies first (iterative depth-first search).
fn topological_order(
    output: &str,
    by_name: &HashMap<&str, &Layer>,
    inbound: &HashMap<&str, Vec<String>>,
) -> std::result::Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: HashMap<String, Mark> = HashMap::new();
    let mut order = Vec::new();
    let mut stack: Vec<(String, usize)> = vec![(output.to_string(), 0)];
    if !by_name.contains_key(output) {
        return Err(format!("the output layer '{output}' does not exist"));
    }
    marks.insert(output.to_string(), Mark::Open);
    while let Some((name, next)) = stack.pop() {
        let deps = &inbound[name.as_str()];
        if next < deps.len() {
            let dep = deps[next].clone();
            stack.push((name.clone(), next + 1));
            match marks.get(&dep) {
                Some(Mark::Done) => {}
                Some(Mark::Open) => return Err(format!("the layers form a cycle through '{dep}'")),
                None => {
                    if !by_name.contains_key(dep.as_str()) {
                        return Err(format!(
                            "layer '{name}' reads '{dep}', which does not exist"
                        ));
                    }
                    marks.insert(dep.clone(), Mark::Open);
                    stack.push((dep, 0));
                }
            }
        } else {
            marks.insert(name.clone(), Mark::Done);
            order.push(name);
        }
    }
    Ok(order)
}

/// `"4"` for an integral scale, else the decimal value.
fn format_scale(scale: f64) -> String {
    if (scale - scale.round()).abs() < 1e-9 {
        format!("{}", scale.round() as i64)
    } else {
        format!("{scale}")
    }
}

/// The npm package that holds a model.
#[derive(Debug)]
struct Package {
    /// The folder of `package.json`.
    root: PathBuf,
    /// E.g. `@upscalerjs/esrgan-slim`.
    name: String,
    /// E.g. `1.0.0`.
    version: String,
    /// E.g. `MIT`.
    license: Option<String>,
}

impl Package {
    /// The package name without its scope (`esrgan-slim`).
    fn short_name(&self) -> String {
        self.name
            .rsplit('/')
            .next()
            .unwrap_or(&self.name)
            .to_string()
    }
}

/// Looks for `package.json` in `dir` and up to three folders above it.
fn find_package(dir: &Path) -> Option<Package> {
    dir.ancestors().take(4).find_map(|d| {
        let bytes = std::fs::read(d.join("package.json")).ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        Some(Package {
            root: d.to_path_buf(),
            name: v.get("name")?.as_str()?.to_string(),
            version: v
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
            license: v.get("license").and_then(Value::as_str).map(str::to_string),
        })
    })
}

#[cfg(test)]
mod tests;
