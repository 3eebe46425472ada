//! The gradients of `Pad` in its folding modes and of `Slice`: each other's adjoints, built
//! from the input's shape at run time.

use super::layout::ints_of;
use super::{RuleError, Site};
use crate::autodiff::emit::{Emitter, OPEN_END};
use crate::ir::Attribute;

/// The input cotangent of `Pad` in `reflect`, `edge` or `wrap` mode: per padded axis, the
/// middle of the cotangent plus each border folded back onto the input positions it copied
/// (reversed for `reflect`, summed onto the end pixel for `edge`, shifted for `wrap`).
pub fn folded_pad(
    em: &mut Emitter,
    x: &str,
    g: &str,
    mode: &str,
    pads: &[i64],
    axes: &[i64],
) -> Result<String, RuleError> {
    if !["reflect", "edge", "wrap"].contains(&mode) {
        return Err(format!("Pad mode `{mode}` has no rule"));
    }
    let rank = em
        .known
        .rank(x)
        .ok_or_else(|| format!("the rank of `{x}` is not known from the graph"))?;
    let n_axes = axes.len();
    let mut g = g.to_string();
    for (k, &a) in axes.iter().enumerate() {
        let (b, e) = (pads[k], pads[n_axes + k]);
        if b == 0 && e == 0 {
            continue;
        }
        let a = if a < 0 { a + rank as i64 } else { a };
        let n = em.dim(x, a);
        let axis = em.ints(&[a]);
        let b_t = em.ints(&[b]);
        let end_mid = em.op("Add", &[&b_t, &n], &[]);
        let mut sum = em.op("Slice", &[&g, &b_t, &end_mid, &axis], &[]);
        let one = em.ints(&[1]);
        for side in [0, 1] {
            let width = if side == 0 { b } else { e };
            if width == 0 {
                continue;
            }
            let part = if side == 0 {
                let zero = em.ints(&[0]);
                em.op("Slice", &[&g, &zero, &b_t, &axis], &[])
            } else {
                let open = em.ints(&[OPEN_END]);
                em.op("Slice", &[&g, &end_mid, &open, &axis], &[])
            };
            let w = em.ints(&[width]);
            let (t, before) = match (mode, side) {
                // Left border i copies x[b - i]: reversed onto 1..=b.
                ("reflect", 0) => (reverse(em, &part, &axis), one.clone()),
                // Right border k copies x[n - 2 - k]: reversed onto n-1-e..=n-2.
                ("reflect", _) => {
                    let t = reverse(em, &part, &axis);
                    let s = em.op("Sub", &[&n, &one], &[]);
                    (t, em.op("Sub", &[&s, &w], &[]))
                }
                ("edge", _) => {
                    let keep = ("keepdims", Attribute::Int(1));
                    let t = em.op("ReduceSum", &[&part, &axis], &[keep]);
                    let before = if side == 0 {
                        em.ints(&[0])
                    } else {
                        em.op("Sub", &[&n, &one], &[])
                    };
                    (t, before)
                }
                // wrap: the left border copies the input's last b, the right its first e.
                (_, 0) => (part, em.op("Sub", &[&n, &w], &[])),
                _ => (part, em.ints(&[0])),
            };
            let folded = place(em, &t, &before, &n, a as usize, rank);
            sum = em.op("Add", &[&sum, &folded], &[]);
        }
        g = sum;
    }
    Ok(em.op("Identity", &[&g], &[]))
}

/// `t` reversed along the 1-element `axis`.
fn reverse(em: &mut Emitter, t: &str, axis: &str) -> String {
    let (s, e, step) = (em.ints(&[-1]), em.ints(&[i64::MIN]), em.ints(&[-1]));
    em.op("Slice", &[t, &s, &e, axis, &step], &[])
}

/// `t` padded with zeros along `axis` to the length `n`, `before` of them first.
fn place(em: &mut Emitter, t: &str, before: &str, n: &str, axis: usize, rank: usize) -> String {
    let len = em.dim(t, axis as i64);
    let used = em.op("Add", &[before, &len], &[]);
    let after = em.op("Sub", &[n, &used], &[]);
    let zero = em.ints(&[0]);
    let mut parts: Vec<String> = vec![zero; 2 * rank];
    parts[axis] = before.to_string();
    parts[rank + axis] = after;
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let p = em.op("Concat", &refs, &[("axis", Attribute::Int(0))]);
    em.op("Pad", &[t, &p], &[])
}

/// The input cotangent of `Slice` (steps of 1): the cotangent padded with zeros where the
/// slice cut, with the cut's bounds clamped as `Slice` clamps them, from the input's shape.
pub fn slice(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let node = site.node;
    let (x, g) = (site.input(0), site.grad()?);
    let starts = ints_of(em, node, 1, "starts").ok_or("the starts are not constants")?;
    let ends = ints_of(em, node, 2, "ends").ok_or("the ends are not constants")?;
    let rank = em
        .known
        .rank(x)
        .ok_or_else(|| format!("the rank of `{x}` is not known from the graph"))?;
    let axes = ints_of(em, node, 3, "axes").unwrap_or_else(|| (0..starts.len() as i64).collect());
    if let Some(steps) = ints_of(em, node, 4, "steps") {
        if steps.iter().any(|&s| s != 1) {
            return Err(format!("steps {steps:?}: only steps of 1 have a rule yet"));
        }
    }
    let zero = em.ints(&[0]);
    let mut begin = vec![zero.clone(); rank];
    let mut end = vec![zero.clone(); rank];
    for ((&a, &s), &e) in axes.iter().zip(&starts).zip(&ends) {
        let a = if a < 0 { a + rank as i64 } else { a };
        if a < 0 || a >= rank as i64 {
            return Err(format!("axis {a} is out of range for rank {rank}"));
        }
        let dim = em.dim(x, a);
        let mut clamp = |v: i64| {
            let c = em.ints(&[v.clamp(-(i64::MAX / 2), i64::MAX / 2)]);
            if v < 0 {
                let sum = em.op("Add", &[&dim, &c], &[]);
                em.op("Max", &[&sum, &zero], &[])
            } else {
                em.op("Min", &[&c, &dim], &[])
            }
        };
        let s = clamp(s);
        let e = clamp(e);
        let e = em.op("Max", &[&e, &s], &[]);
        end[a as usize] = em.op("Sub", &[&dim, &e], &[]);
        begin[a as usize] = s;
    }
    let all: Vec<&str> = begin.iter().chain(&end).map(String::as_str).collect();
    let pads = em.op("Concat", &all, &[("axis", Attribute::Int(0))]);
    Ok(em.op("Pad", &[g, &pads], &[]))
}
