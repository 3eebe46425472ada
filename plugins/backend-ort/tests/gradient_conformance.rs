//! The gradient rules on every ONNX conformance case of the operators they cover (the cases
//! the candle backend runs, `../backend-candle/tests/fixtures/onnx-cases/`, written from the
//! `onnx` package): for each float input of a case, the other inputs fixed at the case's
//! values, the VJP graph runs in ONNX Runtime and its input gradient is compared with
//! central differences of the float64 forward.

mod fd;

use std::path::{Path, PathBuf};

use fd::check;
use srlens_onnx::autodiff::{CONSTANT_OPS, DIFFERENTIABLE_OPS};
use srlens_onnx::{Graph, TensorValues};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../backend-candle/tests/fixtures/onnx-cases")
}

/// Refusals, as (part of the case's name, part of the reason): every refusal must match one,
/// and each must still happen (a new rule moves its cases to the checked ones).
const REFUSED: &[(&str, &str)] = &[
    // Weights, statistics, slopes and exponents given as graph inputs: no gradient into them.
    ("", "the rule covers only"),
    ("test_convtranspose_kernel_shape", "explicit pads"),
    ("test_convtranspose_output_shape", "explicit pads"),
    ("test_convtranspose_autopad_same", "explicit pads"),
    ("test_conv_with_autopad_same", "explicit `pads`"),
    ("test_matmul_", "1-D operand"),
    ("_old", "opset 11 is older than 13"),
    ("ort_softmax_opset11", "opset 11 is older than 13"),
    ("test_upsample_nearest", "opset 9 is older than 13"),
    ("test_gather_", "opset 16 or later"),
    ("test_group_normalization_", "is not known from the graph"),
    ("test_mvn_expanded_ver18", "computed at run time"),
    ("test_resize_", "sizes computed at run time"),
    ("test_resize_downsample", "only whole spatial factors"),
    // Zero-sized inputs or outputs: nothing to differentiate.
    ("empty_set", "all zero"),
    ("test_reshape_allowzero_reordered", "all zero"),
    ("test_slice_start_out_of_bounds", "all zero"),
    ("test_split_zero_size_splits", "all zero"),
    // Padding with -inf: the objective is -inf for every input, so central differences
    // (inf - inf) cannot see its gradient (the candle backend runs the case's forward).
    ("ort_pad_constant_neg_inf", "all zero"),
    // Clip's bounds get no gradient where no value reaches them, and a minimum above the
    // maximum clips every value (the derivative is zero everywhere).
    ("test_clip_inbounds_expanded", "all zero"),
    ("test_clip_splitbounds_expanded", "all zero"),
    ("test_clip_min_greater_than_max", "all zero"),
    // SpaceToDepth's `mode` is newer than ONNX Runtime 1.31: it cannot run the case at all.
    ("test_spacetodepth_", "Unrecognized attribute: mode"),
];

/// Operators whose derivative jumps at 0: a case input sitting exactly there is moved off it.
const KINKED: &[&str] = &["Relu", "LeakyRelu", "PRelu", "Abs", "Clip"];

/// The graph of one case differentiated with respect to input `i`: the other inputs become
/// constants with the case's values. `None` when input `i` or the first output is not float.
fn single_input(graph: &Graph, inputs: &[srlens_onnx::TensorData], i: usize) -> Option<Graph> {
    if !matches!(inputs[i].values, TensorValues::F32(_)) || !graph.outputs[0].elem_type.is_float() {
        return None;
    }
    let mut g = graph.clone();
    let all = std::mem::take(&mut g.inputs);
    for (k, v) in all.into_iter().enumerate() {
        if k == i {
            g.inputs.push(v);
        } else {
            g.initializers.insert(v.name.clone(), inputs[k].clone());
        }
    }
    g.outputs.truncate(1);
    Some(g)
}

#[test]
fn every_conformance_case_of_a_differentiable_operator() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("the conformance cases")
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let (mut checked, mut refused, mut failures) = (vec![], vec![], vec![]);
    for dir in dirs {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut graph = srlens_onnx::read_file(&dir.join("model.onnx")).unwrap();
        // Cases stamped with an opset newer than ONNX Runtime 1.31 supports (26): the
        // operators here did not change after it.
        graph.opset = graph.opset.min(26);
        let ops: Vec<&str> = graph.nodes.iter().map(|n| n.op_type.as_str()).collect();
        let covered = ops
            .iter()
            .all(|o| DIFFERENTIABLE_OPS.contains(o) || CONSTANT_OPS.contains(o))
            && ops
                .iter()
                .any(|o| DIFFERENTIABLE_OPS.contains(o) && *o != "Identity");
        if !covered {
            continue;
        }
        let inputs: Vec<srlens_onnx::TensorData> = (0..graph.inputs.len())
            .map(|k| srlens_onnx::read_tensor_pb(&dir.join(format!("input_{k}.pb"))).unwrap())
            .collect();
        for i in 0..graph.inputs.len() {
            let Some(g) = single_input(&graph, &inputs, i) else {
                continue;
            };
            let mut x: Vec<f64> = match &inputs[i].values {
                TensorValues::F32(v) => v.iter().map(|&a| a as f64).collect(),
                _ => unreachable!(),
            };
            if ops.iter().any(|o| KINKED.contains(o)) {
                for v in x.iter_mut().filter(|v| **v == 0.0) {
                    *v = 1e-3;
                }
            }
            let label = format!("{case} (input {i})");
            match check(&g, &x, &inputs[i].dims, 400) {
                Ok(c) if c.relative < 1e-4 => checked.push(label),
                Ok(c) => failures.push(format!("{label}: off by {:.2e}", c.relative)),
                Err(e) => match REFUSED
                    .iter()
                    .position(|(n, why)| case.contains(n) && e.contains(why))
                {
                    Some(k) => refused.push(k),
                    None => failures.push(format!("{label}: {e}")),
                },
            }
        }
    }
    for (k, pattern) in REFUSED.iter().enumerate() {
        assert!(
            refused.contains(&k),
            "{pattern:?} no longer happens: remove it"
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} inputs of conformance cases checked: {checked:?}",
        checked.len()
    );
    assert!(checked.len() >= 80, "only {} inputs checked", checked.len());
}
