//! Rules of reductions and of `Softmax`: the cotangent spread back over the reduced axes.

use super::{RuleError, Site};
use crate::autodiff::emit::{Emitter, OPEN_END};
use crate::ir::Attribute;

/// The input cotangent of `ReduceSum`, `ReduceMean`, `ReduceL2`, `GlobalAveragePool` or
/// `Softmax`.
pub fn rule(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let node = site.node;
    let (x, y, g) = (site.input(0), site.output(), site.grad()?);
    match node.op_type.as_str() {
        "Softmax" => {
            let default = if site.opset >= 13 { -1 } else { 1 };
            let axis = node.int("axis", default);
            if site.opset < 13 {
                return Err("Softmax before opset 13 (flattening semantics) has no rule".into());
            }
            let gy = em.mul(g, y);
            let axes = em.ints(&[axis]);
            let s = em.op(
                "ReduceSum",
                &[&gy, &axes],
                &[("keepdims", Attribute::Int(1))],
            );
            let d = em.op("Sub", &[g, &s], &[]);
            Ok(em.mul(y, &d))
        }
        "GlobalAveragePool" => {
            let sx = em.shape(x);
            let spread = em.op("Expand", &[g, &sx], &[]);
            let start = em.ints(&[2]);
            let end = em.ints(&[OPEN_END]);
            let hw = em.op("Slice", &[&sx, &start, &end], &[]);
            let count = em.op("ReduceProd", &[&hw], &[("keepdims", Attribute::Int(0))]);
            let count = em.cast_like(&count, g);
            Ok(em.op("Div", &[&spread, &count], &[]))
        }
        _ => {
            let axes_input = node.inputs.get(1).is_some_and(|n| !n.is_empty());
            let axes = em.known.axes(node, 1);
            if axes_input && axes.is_none() {
                return Err("the reduced axes are computed at run time, not constants".into());
            }
            let axes = axes.unwrap_or_default();
            if axes.is_empty() && node.int("noop_with_empty_axes", 0) != 0 {
                return Ok(em.op("Identity", &[g], &[]));
            }
            let keep = node.int("keepdims", 1) != 0;
            let gk = if keep || axes.is_empty() {
                g.to_string()
            } else {
                let a = em.ints(&axes);
                em.op("Unsqueeze", &[g, &a], &[])
            };
            let sx = em.shape(x);
            let spread = em.op("Expand", &[&gk, &sx], &[]);
            if node.op_type == "ReduceSum" {
                return Ok(spread);
            }
            if node.op_type == "ReduceL2" {
                // d |x| / dx = x / |x|, and 0 where the norm is 0 (as torch's norm).
                let yk = if keep || axes.is_empty() {
                    y.to_string()
                } else {
                    let a = em.ints(&axes);
                    em.op("Unsqueeze", &[y, &a], &[])
                };
                let ratio = em.op("Div", &[x, &yk], &[]);
                let zero = em.scalar(0.0, x);
                let at_zero = em.op("Equal", &[&yk, &zero], &[]);
                let ratio = em.op("Where", &[&at_zero, &zero, &ratio], &[]);
                return Ok(em.mul(&spread, &ratio));
            }
            let sizes = if axes.is_empty() {
                sx.clone()
            } else {
                let a = em.ints(&axes);
                em.op("Gather", &[&sx, &a], &[])
            };
            let count = em.op("ReduceProd", &[&sizes], &[("keepdims", Attribute::Int(0))]);
            let count = em.cast_like(&count, g);
            Ok(em.op("Div", &[&spread, &count], &[]))
        }
    }
}
