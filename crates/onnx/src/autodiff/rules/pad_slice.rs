//! The gradients of `Pad` in its folding modes and of `Slice`: each other's adjoints, built
//! from the input's shape at run time.

use super::layout::ints_of;
use super::{RuleError, Site};
use crate::autodiff::emit::{Emitter, OPEN_END};
use crate::ir::Attribute;

/// The pads of a `Pad` node: a 1-D value (begins, then ends, one per padded axis), with its
/// values where they are constants.
pub struct Pads {
    /// The value's name.
    pub name: String,
    /// The values, where constant.
    pub values: Option<Vec<i64>>,
}

impl Pads {
    /// Pad `k` (of `2 * axes`) as a 1-element `int64` value.
    fn get(&self, em: &mut Emitter, k: usize) -> String {
        match &self.values {
            Some(v) => em.ints(&[v[k]]),
            None => {
                let i = em.ints(&[k as i64]);
                em.op("Gather", &[&self.name, &i], &[])
            }
        }
    }

    /// Whether pad `k` is known to be zero.
    fn is_zero(&self, k: usize) -> bool {
        self.values.as_ref().is_some_and(|v| v[k] == 0)
    }
}

/// The input cotangent of `Pad` in `reflect`, `edge` or `wrap` mode: per padded axis, the
/// middle of the cotangent plus each border folded back onto the input positions it copied
/// (reversed for `reflect`, summed onto the end pixel for `edge`, shifted for `wrap`). Pads
/// computed at run time work the same way (a zero-width border folds back nothing).
pub fn folded_pad(
    em: &mut Emitter,
    x: &str,
    g: &str,
    mode: &str,
    pads: &Pads,
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
        if pads.is_zero(k) && pads.is_zero(n_axes + k) {
            continue;
        }
        let a = if a < 0 { a + rank as i64 } else { a };
        let n = em.dim(x, a);
        let axis = em.ints(&[a]);
        let b_t = pads.get(em, k);
        let end_mid = em.op("Add", &[&b_t, &n], &[]);
        let mut sum = em.op("Slice", &[&g, &b_t, &end_mid, &axis], &[]);
        let one = em.ints(&[1]);
        for side in [0, 1] {
            let index = if side == 0 { k } else { n_axes + k };
            if pads.is_zero(index) {
                continue;
            }
            let w = pads.get(em, index);
            let part = if side == 0 {
                let zero = em.ints(&[0]);
                em.op("Slice", &[&g, &zero, &b_t, &axis], &[])
            } else {
                let open = em.ints(&[OPEN_END]);
                em.op("Slice", &[&g, &end_mid, &open, &axis], &[])
            };
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

/// The input cotangent of `Slice`: with constant bounds and steps of 1, the cotangent padded
/// with zeros where the slice cut (the bounds clamped as `Slice` clamps them, from the input's
/// shape); otherwise (bounds computed at run time, other steps) scattered back axis by axis.
pub fn slice(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let node = site.node;
    let x = site.input(0);
    let rank = em
        .known
        .rank(x)
        .ok_or_else(|| format!("the rank of `{x}` is not known from the graph"))?;
    let starts = ints_of(em, node, 1, "starts");
    let ends = ints_of(em, node, 2, "ends");
    let unit_steps = match node.inputs.get(4).filter(|n| !n.is_empty()) {
        None => true,
        Some(_) => ints_of(em, node, 4, "steps").is_some_and(|s| s.iter().all(|&v| v == 1)),
    };
    match (starts, ends) {
        (Some(starts), Some(ends)) if unit_steps => slice_by_pad(em, site, rank, &starts, &ends),
        _ => slice_by_scatter(em, site, rank),
    }
}

/// [`slice`] with constant bounds and steps of 1: `Pad`.
fn slice_by_pad(
    em: &mut Emitter,
    site: &Site,
    rank: usize,
    starts: &[i64],
    ends: &[i64],
) -> Result<String, RuleError> {
    let node = site.node;
    let (x, g) = (site.input(0), site.grad()?);
    let axes = ints_of(em, node, 3, "axes").unwrap_or_else(|| (0..starts.len() as i64).collect());
    let zero = em.ints(&[0]);
    let mut begin = vec![zero.clone(); rank];
    let mut end = vec![zero.clone(); rank];
    for ((&a, &s), &e) in axes.iter().zip(starts).zip(ends) {
        let a = normal_axis(a, rank)?;
        let dim = em.dim(x, a as i64);
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
        end[a] = em.op("Sub", &[&dim, &e], &[]);
        begin[a] = s;
    }
    let all: Vec<&str> = begin.iter().chain(&end).map(String::as_str).collect();
    let pads = em.op("Concat", &all, &[("axis", Attribute::Int(0))]);
    Ok(em.op("Pad", &[g, &pads], &[]))
}

/// [`slice`] in general: for each sliced axis, the input positions the slice took are found
/// by slicing `0..dim` with the node's own bounds at run time (so `Slice` itself clamps and
/// counts negative bounds), and the cotangent is scattered to them in zeros of the input's
/// extent along that axis. Each position is taken at most once, so a plain scatter is exact.
fn slice_by_scatter(em: &mut Emitter, site: &Site, rank: usize) -> Result<String, RuleError> {
    let node = site.node;
    let (x, g) = (site.input(0), site.grad()?);
    if node.inputs.len() < 3 {
        return Err(
            "a `Slice` before opset 10 (bounds as attributes) needs constant bounds".into(),
        );
    }
    let n_axes = em
        .known
        .length(&node.inputs[1])
        .ok_or("the number of sliced axes is not known from the graph")?;
    let axes = match node.inputs.get(3).filter(|n| !n.is_empty()) {
        None => (0..n_axes as i64).collect(),
        Some(a) => em
            .known
            .constant_ints(a)
            .ok_or("the sliced axes are not constants")?,
    };
    let steps = node.inputs.get(4).filter(|n| !n.is_empty()).cloned();
    let mut cur = g.to_string();
    for (k, &a) in axes.iter().enumerate() {
        let a = normal_axis(a, rank)?;
        let pick = em.ints(&[k as i64]);
        let start = em.op("Gather", &[&node.inputs[1], &pick], &[]);
        let end = em.op("Gather", &[&node.inputs[2], &pick], &[]);
        let step = match &steps {
            Some(s) => em.op("Gather", &[s, &pick], &[]),
            None => em.ints(&[1]),
        };
        let dim = em.dim(x, a as i64);
        let (zero, one) = (em.ints(&[0]), em.ints(&[1]));
        let zero_s = em.op("Squeeze", &[&zero], &[]);
        let dim_s = em.op("Squeeze", &[&dim], &[]);
        let one_s = em.op("Squeeze", &[&one], &[]);
        let all = em.op("Range", &[&zero_s, &dim_s, &one_s], &[]);
        let taken = em.op("Slice", &[&all, &start, &end, &zero, &step], &[]);
        let mut column = vec![1i64; rank];
        column[a] = -1;
        let column = em.ints(&column);
        let taken = em.op("Reshape", &[&taken, &column], &[]);
        let cur_shape = em.shape(&cur);
        let indices = em.op("Expand", &[&taken, &cur_shape], &[]);
        let axis_mask: Vec<i64> = (0..rank).map(|i| i64::from(i == a)).collect();
        let axis_mask = em.ints(&axis_mask);
        let axis_mask = em.op("Cast", &[&axis_mask], &[("to", Attribute::Int(9))]);
        let target = em.op("Where", &[&axis_mask, &dim, &cur_shape], &[]);
        let zeros = em.op("ConstantOfShape", &[&target], &[]);
        let zeros = em.cast_like(&zeros, &cur);
        cur = em.op(
            "ScatterElements",
            &[&zeros, &indices, &cur],
            &[("axis", Attribute::Int(a as i64))],
        );
    }
    Ok(cur)
}

/// `axis` (possibly negative) as an index into `rank` dimensions.
fn normal_axis(axis: i64, rank: usize) -> Result<usize, RuleError> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if a < 0 || a >= rank as i64 {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(a as usize)
}
