//! Structural checks on a [`Graph`].

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::ir::Graph;

/// Checks that the graph is well formed: every value is defined once (as a graph input, an
/// initializer or a node output), every node input is defined before the node (topological
/// order), every graph output is defined, and the opset is positive.
pub fn validate(graph: &Graph) -> Result<()> {
    let err = |m: String| Err(Error::Graph(format!("graph '{}': {m}", graph.name)));
    if graph.opset <= 0 {
        return err(format!(
            "opset {} is not a valid opset version",
            graph.opset
        ));
    }
    let mut defined: BTreeSet<&str> = BTreeSet::new();
    for name in graph.inputs.iter().map(|v| v.name.as_str()) {
        if !defined.insert(name) {
            return err(format!("input '{name}' is declared twice"));
        }
    }
    for name in graph.initializers.keys() {
        if !defined.insert(name) {
            return err(format!("'{name}' is both a graph input and an initializer"));
        }
    }
    for node in &graph.nodes {
        for input in node.inputs.iter().filter(|i| !i.is_empty()) {
            if !defined.contains(input.as_str()) {
                return err(format!(
                    "node '{}' ({}) reads '{input}', which is not defined before it",
                    node.name, node.op_type
                ));
            }
        }
        for output in node.outputs.iter().filter(|o| !o.is_empty()) {
            if !defined.insert(output) {
                return err(format!(
                    "node '{}' ({}) writes '{output}', which is already defined",
                    node.name, node.op_type
                ));
            }
        }
    }
    for output in &graph.outputs {
        if !defined.contains(output.name.as_str()) {
            return err(format!(
                "output '{}' is not produced by the graph",
                output.name
            ));
        }
    }
    Ok(())
}
