//! Splits the emitted gradient computation into the forward and the backward graph.
//!
//! What does not depend on the cotangent and is cheap to keep (shapes, masks, and values
//! computed from constants) moves into the forward graph, which returns it: a `Relu` saves a
//! one-byte mask instead of its input, a broadcasting `Add` saves its operands' shapes, not
//! the operands. Everything else stays in the backward graph, which reads the forward values
//! it needs (the saved values) by name.

use std::collections::{BTreeMap, HashSet};

use super::emit::Emitter;
use super::GradientGraphs;
use crate::check::validate;
use crate::error::{Error, Result};
use crate::ir::{Dim, Graph, Node, ValueInfo};

/// Builds the two graphs from the emitted nodes.
pub fn split(
    graph: &Graph,
    em: Emitter,
    x: &str,
    y: &str,
    cotangent: String,
    input_gradient: String,
) -> Result<GradientGraphs> {
    let Emitter {
        nodes,
        constants,
        known,
        ..
    } = em;
    let is_constant = |n: &str| constants.contains_key(n) || graph.initializers.contains_key(n);
    let mut forward_values: HashSet<String> = HashSet::from([x.to_string()]);
    for node in &graph.nodes {
        forward_values.extend(node.outputs.iter().cloned());
    }
    let mut on_cotangent: HashSet<String> = HashSet::from([cotangent.clone()]);
    let (mut hoisted, mut backward): (Vec<Node>, Vec<Node>) = (vec![], vec![]);
    for node in nodes {
        let inputs: Vec<&str> = node
            .inputs
            .iter()
            .filter(|i| !i.is_empty())
            .map(String::as_str)
            .collect();
        if inputs.iter().any(|i| on_cotangent.contains(*i)) {
            on_cotangent.extend(node.outputs.iter().cloned());
            backward.push(node);
            continue;
        }
        let available = inputs
            .iter()
            .all(|i| forward_values.contains(*i) || is_constant(i));
        let small_result = node.outputs.iter().all(|o| !known.is_float(o));
        let from_small = inputs.iter().all(|i| is_constant(i) || !known.is_float(i));
        // A tensor of zeros is cheaper to make again than to keep.
        let big_from_shape = node.op_type == "ConstantOfShape";
        if available && (small_result || from_small) && !big_from_shape {
            forward_values.extend(node.outputs.iter().cloned());
            hoisted.push(node);
        } else {
            backward.push(node);
        }
    }
    let produced: HashSet<&str> = backward
        .iter()
        .flat_map(|n| n.outputs.iter().map(String::as_str))
        .collect();
    let mut saved: Vec<String> = vec![];
    for node in &backward {
        for i in &node.inputs {
            if !i.is_empty()
                && forward_values.contains(i)
                && !produced.contains(i.as_str())
                && !is_constant(i)
                && !saved.contains(i)
            {
                saved.push(i.clone());
            }
        }
    }
    let info = |name: &str, template: Option<&ValueInfo>| -> Result<ValueInfo> {
        if let Some(t) = template {
            return Ok(ValueInfo {
                name: name.to_string(),
                ..t.clone()
            });
        }
        let facts = known.get(name).ok_or_else(|| {
            Error::Graph(format!(
                "the gradient reads `{name}`, which has no known type"
            ))
        })?;
        let rank = facts.rank.ok_or_else(|| {
            Error::Graph(format!(
                "graph '{}': the backward pass needs `{name}`, whose rank is not known from \
                 the graph (a Reshape to a shape computed at run time?)",
                graph.name
            ))
        })?;
        Ok(ValueInfo {
            name: name.to_string(),
            shape: vec![Dim::Symbolic(String::new()); rank],
            elem_type: facts.elem_type,
        })
    };
    let declared = |name: &str| {
        graph
            .outputs
            .iter()
            .chain(&graph.inputs)
            .find(|v| v.name == name)
    };
    let saved_infos: Vec<ValueInfo> = saved
        .iter()
        .map(|s| info(s, declared(s)))
        .collect::<Result<_>>()?;

    let reads = |nodes: &[Node]| -> BTreeMap<String, crate::ir::TensorData> {
        let used: HashSet<&str> = nodes
            .iter()
            .flat_map(|n| n.inputs.iter().map(String::as_str))
            .collect();
        graph
            .initializers
            .iter()
            .chain(&constants)
            .filter(|(k, _)| used.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };

    let mut forward = graph.clone();
    forward.initializers.extend(
        reads(&hoisted)
            .into_iter()
            .filter(|(k, _)| constants.contains_key(k)),
    );
    forward.nodes.extend(hoisted);
    for v in &saved_infos {
        if !forward.outputs.iter().any(|o| o.name == v.name) {
            forward.outputs.push(v.clone());
        }
    }

    let y_info = declared(y).cloned().unwrap_or_default();
    let x_info = declared(x).cloned().unwrap_or_default();
    let mut inputs = saved_infos;
    inputs.push(ValueInfo {
        name: cotangent.clone(),
        ..y_info
    });
    let backward = Graph {
        name: format!("{}_backward", graph.name),
        opset: graph.opset,
        inputs,
        outputs: vec![ValueInfo {
            name: input_gradient.clone(),
            ..x_info
        }],
        initializers: reads(&backward),
        nodes: backward,
        metadata: BTreeMap::from([("srlens.gradient_of".to_string(), graph.name.clone())]),
    };
    validate(&forward)?;
    validate(&backward)?;
    Ok(GradientGraphs {
        forward,
        backward,
        saved,
        cotangent,
        input_gradient,
    })
}

/// The forward and backward graphs as one: inputs the model's input and the cotangent,
/// outputs the model's first output and the input gradient.
pub fn join(graph: &Graph, g: &GradientGraphs) -> Graph {
    let mut joined = g.forward.clone();
    joined.name = format!("{}_vjp", graph.name);
    joined.outputs.truncate(1);
    let cot = g
        .backward
        .inputs
        .iter()
        .find(|v| v.name == g.cotangent)
        .cloned()
        .unwrap_or_default();
    joined.inputs.push(cot);
    for (k, v) in &g.backward.initializers {
        joined
            .initializers
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    joined.nodes.extend(g.backward.nodes.iter().cloned());
    joined.outputs.extend(g.backward.outputs.iter().cloned());
    joined
        .metadata
        .insert("srlens.gradient_of".into(), graph.name.clone());
    joined
}
