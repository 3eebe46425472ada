//! The `srlens.*` metadata of an SR model file, as every ONNX backend reads it.
//!
//! - `srlens.scale`: the upscaling factor, a positive integer (`"4"`).
//! - `srlens.input_range`: the values the model takes, `"lo,hi"` (`"0,255"`; default `0,1`).
//! - `srlens.output_range`: the values it returns, `"lo,hi"`; it applies only while the input
//!   range is the file's own (an `input_range` option given to a backend replaces both).
//!
//! Errors are [`Error::Graph`] with a message for the user.

use crate::error::{Error, Result};
use crate::ir::Graph;

/// The metadata key of the upscaling factor.
pub const SCALE: &str = "srlens.scale";
/// The metadata key of the input range.
pub const INPUT_RANGE: &str = "srlens.input_range";
/// The metadata key of the output range.
pub const OUTPUT_RANGE: &str = "srlens.output_range";

/// Parses a range such as `"0,255"`, the value of the metadata entry `key` (named in errors).
pub fn parse_range(key: &str, text: &str) -> Result<[f32; 2]> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let bad = || Error::Graph(format!("metadata {key} `{text}`: expected `lo,hi`"));
    if parts.len() != 2 {
        return Err(bad());
    }
    let lo: f32 = parts[0].parse().map_err(|_| bad())?;
    let hi: f32 = parts[1].parse().map_err(|_| bad())?;
    Ok([lo, hi])
}

/// Parses the metadata `srlens.scale`: a positive integer (the host divides by it).
pub fn parse_scale(text: &str) -> Result<u32> {
    match text.trim().parse::<u32>() {
        Ok(scale) if scale > 0 => Ok(scale),
        _ => Err(Error::Graph(format!(
            "metadata srlens.scale `{text}` is not accepted: expected a positive integer \
             (the upscaling factor: 1, 2, 3, 4, ...)"
        ))),
    }
}

/// The file's `srlens.scale`, if it has one.
pub fn scale(graph: &Graph) -> Result<Option<u32>> {
    graph
        .metadata
        .get(SCALE)
        .map(|s| parse_scale(s))
        .transpose()
}

/// The model's input range: `option` when given, else the file's `srlens.input_range`, else
/// `[0, 1]`. The bounds are not checked here (the backend reports them as an option error).
pub fn input_range(graph: &Graph, option: Option<[f32; 2]>) -> Result<[f32; 2]> {
    match option {
        Some(r) => Ok(r),
        None => match graph.metadata.get(INPUT_RANGE) {
            Some(t) => parse_range(INPUT_RANGE, t),
            None => Ok([0.0, 1.0]),
        },
    }
}

/// The model's output range for the input range `input` (from [`input_range`]): the file's
/// `srlens.output_range` when `input` is the file's own input range (no option replaced it),
/// else `input`.
pub fn output_range(graph: &Graph, input: [f32; 2]) -> Result<[f32; 2]> {
    match graph.metadata.get(OUTPUT_RANGE) {
        Some(t) if is_files_input_range(graph, input) => parse_range(OUTPUT_RANGE, t),
        _ => Ok(input),
    }
}

/// Whether `range` is the file's own input range (no option overrode it), so that the file's
/// output range applies too.
fn is_files_input_range(graph: &Graph, range: [f32; 2]) -> bool {
    let file = match graph.metadata.get(INPUT_RANGE) {
        Some(t) => parse_range(INPUT_RANGE, t).ok(),
        None => Some([0.0, 1.0]),
    };
    file == Some(range)
}

/// The scale a probe shows: an `h x w` input gave an `oh x ow` output. The error says to set
/// `srlens.scale` when the sizes are not one whole factor on both axes.
pub fn scale_from_probe(h: usize, w: usize, oh: usize, ow: usize) -> Result<u32> {
    if !oh.is_multiple_of(h) || !ow.is_multiple_of(w) || oh / h != ow / w || oh < h {
        return Err(Error::Graph(format!(
            "cannot infer the scale: a {h}x{w} input gives a {oh}x{ow} output; set the \
             metadata srlens.scale"
        )));
    }
    Ok((oh / h) as u32)
}

/// Why `range` (a model's value range) is not usable: its upper bound must exceed its lower.
pub fn range_problem(range: [f32; 2]) -> Option<String> {
    (range[1].partial_cmp(&range[0]) != Some(std::cmp::Ordering::Greater))
        .then(|| format!("input_range {range:?}: the upper bound must exceed the lower one"))
}

/// Why `graph` is not an SR model's graph: it must have one image input (an input that is not
/// also an initializer) and an output.
pub fn signature_problem(graph: &Graph) -> Option<String> {
    let inputs: Vec<&str> = graph
        .inputs
        .iter()
        .map(|v| v.name.as_str())
        .filter(|n| !graph.initializers.contains_key(*n))
        .collect();
    (inputs.len() != 1 || graph.outputs.is_empty()).then(|| {
        format!(
            "an SR model has one image input and one output; this graph has inputs [{}] and {} outputs",
            inputs.join(", "),
            graph.outputs.len()
        )
    })
}

/// The metadata key of the architecture's name (`srlens import` writes spandrel's).
pub const ARCHITECTURE: &str = "srlens.architecture";
/// The metadata key of the multiple of H and W a network pads its input to internally (the
/// attention window of a Swin network; `srlens import` writes it).
pub const WINDOW_MULTIPLE: &str = "srlens.window_multiple";

/// The facts a backend reports in its model metadata (JSON): the `receptive_field` from the
/// graph's operators (the radius, or why there is none) and, where the file says them, the
/// `architecture` and the `window_multiple` the network pads to itself.
pub fn model_facts(
    graph: &Graph,
    receptive: &std::result::Result<crate::ReceptiveField, String>,
) -> serde_json::Value {
    let mut facts = match receptive {
        Ok(rf) => {
            serde_json::json!({ "receptive_field": { "radius": rf.radius, "from": "onnx graph" } })
        }
        Err(why) => {
            serde_json::json!({ "receptive_field": null, "receptive_field_unbounded": why })
        }
    };
    if let Some(a) = graph.metadata.get(ARCHITECTURE) {
        facts["architecture"] = a.clone().into();
    }
    if let Some(m) = graph
        .metadata
        .get(WINDOW_MULTIPLE)
        .and_then(|m| m.trim().parse::<u32>().ok())
        .filter(|&m| m > 1)
    {
        facts["window_multiple"] = m.into();
    }
    // What a sanity check (`srlens sanity`) randomises, layer by layer from the output end.
    facts["layers"] = crate::randomize::layers(graph).len().into();
    if let Some(k) = graph.metadata.get(crate::randomize::RANDOMIZED) {
        facts["randomized_layers"] = k.parse::<u64>().unwrap_or(0).into();
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(entries: &[(&str, &str)]) -> Graph {
        let mut g = Graph::default();
        for (k, v) in entries {
            g.metadata.insert(k.to_string(), v.to_string());
        }
        g
    }

    #[test]
    fn model_facts_carry_the_architecture_and_a_window_multiple_above_one() {
        let g = graph(&[(ARCHITECTURE, "SwinIR"), (WINDOW_MULTIPLE, "8")]);
        let f = model_facts(&g, &Err("attention".into()));
        assert_eq!(f["architecture"], "SwinIR");
        assert_eq!(f["window_multiple"], 8);
        assert_eq!(f["receptive_field_unbounded"], "attention");
        let f = model_facts(&graph(&[(WINDOW_MULTIPLE, "1")]), &Err(String::new()));
        assert!(f.get("window_multiple").is_none() && f.get("architecture").is_none());
    }

    #[test]
    fn ranges_follow_the_file_unless_an_option_replaces_them() {
        let g = graph(&[(INPUT_RANGE, "0, 255"), (OUTPUT_RANGE, "0,1")]);
        let input = input_range(&g, None).unwrap();
        assert_eq!(input, [0.0, 255.0]);
        assert_eq!(output_range(&g, input).unwrap(), [0.0, 1.0]);
        let input = input_range(&g, Some([-1.0, 1.0])).unwrap();
        assert_eq!(output_range(&g, input).unwrap(), [-1.0, 1.0]);
        let plain = graph(&[]);
        assert_eq!(input_range(&plain, None).unwrap(), [0.0, 1.0]);
        assert_eq!(output_range(&plain, [0.0, 1.0]).unwrap(), [0.0, 1.0]);
    }

    #[test]
    fn malformed_entries_are_errors_naming_the_key() {
        let e = input_range(&graph(&[(INPUT_RANGE, "0;255")]), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "metadata srlens.input_range `0;255`: expected `lo,hi`"
        );
        let e = scale(&graph(&[(SCALE, "0")])).unwrap_err();
        assert!(e.to_string().contains("positive integer"), "{e}");
        assert_eq!(scale(&graph(&[(SCALE, " 4")])).unwrap(), Some(4));
        assert_eq!(scale(&graph(&[])).unwrap(), None);
    }
}
