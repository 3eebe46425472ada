//! Cascading weight randomisation (Adebayo et al., "Sanity checks for saliency maps", 2018):
//! the graph's parameterised layers, and their weights re-drawn from the output end, so that
//! a map can be compared with the maps of the same network with its top layers randomised.

use crate::error::{Error, Result};
use crate::ir::{Graph, TensorValues};

/// The metadata key [`randomize_top`] records its count under.
pub const RANDOMIZED: &str = "srlens.randomized_layers";

/// The graph's parameterised layers in topological order: for each node that takes a
/// floating-point initializer of rank 2 or more (a `Conv`, `ConvTranspose`, `Gemm` or
/// `MatMul` weight), the float initializers it takes (the weight and its bias), each in one
/// layer only (the first that takes it).
pub fn layers(graph: &Graph) -> Vec<Vec<String>> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for node in &graph.nodes {
        let float = |name: &String| {
            graph
                .initializers
                .get(name)
                .filter(|t| matches!(t.values, TensorValues::F32(_) | TensorValues::F64(_)))
        };
        let has_weight = node
            .inputs
            .iter()
            .any(|i| float(i).is_some_and(|t| t.dims.len() >= 2));
        if !has_weight {
            continue;
        }
        let own: Vec<String> = node
            .inputs
            .iter()
            .filter(|i| float(i).is_some() && seen.insert((*i).clone()))
            .cloned()
            .collect();
        if !own.is_empty() {
            out.push(own);
        }
    }
    out
}

/// Re-draws the initializers of the last `count` of [`layers`] (the output end first, as
/// Adebayo et al.'s cascade), each value from a normal distribution with the mean 0 and
/// the standard deviation of that initializer's trained values (so that activations keep
/// their scale); `normal` gives standard normal draws. Records `count` in the graph's
/// [`RANDOMIZED`] metadata. Returns the number of layers.
pub fn randomize_top(
    graph: &mut Graph,
    count: usize,
    normal: &mut dyn FnMut() -> f64,
) -> Result<usize> {
    let all = layers(graph);
    if count > all.len() {
        return Err(Error::Graph(format!(
            "cannot randomise {count} layers: the network has {} parameterised layers (choose 0 to {})",
            all.len(),
            all.len()
        )));
    }
    for layer in all.iter().rev().take(count) {
        for name in layer {
            let t = graph
                .initializers
                .get_mut(name)
                .expect("listed by layers()");
            match &mut t.values {
                TensorValues::F32(v) => {
                    let sd = std_dev(v.iter().map(|&x| x as f64));
                    v.iter_mut().for_each(|x| *x = (normal() * sd) as f32);
                }
                TensorValues::F64(v) => {
                    let sd = std_dev(v.iter().copied());
                    v.iter_mut().for_each(|x| *x = normal() * sd);
                }
                _ => {}
            }
        }
    }
    graph
        .metadata
        .insert(RANDOMIZED.to_string(), count.to_string());
    Ok(all.len())
}

/// A backend's `randomize_layers = count` option on the model file `file`: nothing for 0,
/// else [`randomize_top`], its error naming the option and the file.
pub fn apply_option(
    graph: &mut Graph,
    count: u32,
    normal: &mut dyn FnMut() -> f64,
    file: &str,
) -> std::result::Result<(), String> {
    if count == 0 {
        return Ok(());
    }
    randomize_top(graph, count as usize, normal)
        .map(|_| ())
        .map_err(|e| format!("randomize_layers: {file}: {e}"))
}

/// The population standard deviation of `values`.
fn std_dev(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    (values.map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::GraphBuilder;
    use crate::ir::TensorData;

    fn two_convs() -> Graph {
        let mut g = GraphBuilder::new("two");
        g.input("x", &[1, 1, 4, 4]);
        let w = |v: f32| TensorData::f32(vec![1, 1, 1, 1], vec![v]);
        g.initializer("w1", w(2.0))
            .initializer("b1", TensorData::f32(vec![1], vec![0.5]))
            .initializer("w2", TensorData::f32(vec![2, 1, 1, 1], vec![1.0, 3.0]))
            .initializer("shape", TensorData::i64(vec![1], vec![4]));
        let h = g.op("Conv", &["x", "w1", "b1"], &[]);
        let r = g.op("Relu", &[&h], &[]);
        let y = g.op("Conv", &[&r, "w2"], &[]);
        g.output(&y, &[1, 2, 4, 4]);
        g.build().unwrap()
    }

    #[test]
    fn layers_are_the_weighted_nodes_and_the_top_ones_are_redrawn_with_their_spread() {
        let mut g = two_convs();
        assert_eq!(
            layers(&g),
            [vec!["w1".to_string(), "b1".into()], vec!["w2".into()]]
        );
        let before = g.clone();
        let mut draws = [1.0, -1.0].into_iter().cycle();
        assert_eq!(
            randomize_top(&mut g, 1, &mut || draws.next().unwrap()).unwrap(),
            2
        );
        // w2 = [1, 3] has the standard deviation 1: the draws themselves.
        assert_eq!(
            g.initializers["w2"].values,
            TensorValues::F32(vec![1.0, -1.0])
        );
        assert_eq!(g.initializers["w1"], before.initializers["w1"]);
        let err = randomize_top(&mut g, 3, &mut || 0.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 parameterised layers"), "{err}");
    }
}
