//! Rules of the normalizations transformers and some CNNs use: `LayerNormalization` and
//! `InstanceNormalization`, recomputing the normalized input in the backward pass from the
//! saved input (the standard formula `dx = (g' - mean(g') - x̂ mean(g' x̂)) / σ`, with
//! `g' = g * scale` and the means over the normalized axes).

use super::{ranks, RuleError, Site};
use crate::autodiff::emit::Emitter;
use crate::ir::Attribute;

/// `ReduceMean` over `axes` keeping them (axes as an input from opset 18, an attribute before).
fn mean(em: &mut Emitter, x: &str, axes: &[i64], opset: i64) -> String {
    let keep = ("keepdims", Attribute::Int(1));
    if opset >= 18 {
        let a = em.ints(axes);
        em.op("ReduceMean", &[x, &a], &[keep])
    } else {
        em.op(
            "ReduceMean",
            &[x],
            &[keep, ("axes", Attribute::Ints(axes.to_vec()))],
        )
    }
}

/// The input cotangent of `LayerNormalization` or `InstanceNormalization`.
pub fn rule(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let node = site.node;
    let (x, scale, g) = (site.input(0), site.input(1), site.grad()?);
    let (r, _) = ranks(em, site, 0)?;
    let (axes, scale) = if node.op_type == "LayerNormalization" {
        let a = node.int("axis", -1);
        let a = if a < 0 { a + r as i64 } else { a };
        if a < 0 || a >= r as i64 {
            return Err(format!("axis {a} is out of range for rank {r}"));
        }
        ((a..r as i64).collect::<Vec<_>>(), scale.to_string())
    } else {
        // InstanceNormalization: per sample and channel over the spatial axes; the scale is
        // per channel.
        let mut shape = vec![-1i64];
        shape.extend(std::iter::repeat_n(1, r.saturating_sub(2)));
        let shape = em.ints(&shape);
        let s = em.op("Reshape", &[scale, &shape], &[]);
        ((2..r as i64).collect::<Vec<_>>(), s)
    };
    let opset = site.opset;
    let mu = mean(em, x, &axes, opset);
    let xc = em.op("Sub", &[x, &mu], &[]);
    let sq = em.mul(&xc, &xc);
    let var = mean(em, &sq, &axes, opset);
    let eps = em.scalar(node.float("epsilon", 1e-5) as f64, x);
    let v = em.op("Add", &[&var, &eps], &[]);
    let sd = em.op("Sqrt", &[&v], &[]);
    let inv = em.op("Reciprocal", &[&sd], &[]);
    let xhat = em.mul(&xc, &inv);
    let gs = em.mul(g, &scale);
    let m1 = mean(em, &gs, &axes, opset);
    let gx = em.mul(&gs, &xhat);
    let m2 = mean(em, &gx, &axes, opset);
    let t = em.mul(&xhat, &m2);
    let d = em.op("Sub", &[&gs, &m1], &[]);
    let d = em.op("Sub", &[&d, &t], &[]);
    Ok(em.mul(&d, &inv))
}
