//! Rules of the operators that move values without arithmetic: reshapes and transposes
//! (inverted), pixel shuffles, nearest upsampling (block sums), padding and slicing (each
//! other's adjoint), concatenation (a split).

use super::{RuleError, Site};
use crate::autodiff::emit::Emitter;
use crate::ir::{Attribute, Node};

/// The source index of output index `dst` of a nearest `Resize` by the integer factor `s`,
/// with the node's coordinate mode and rounding (`None`: a mode whose mapping depends on the
/// size).
fn nearest_source(node: &Node, dst: i64, s: i64) -> Option<i64> {
    let (d, sf) = (dst as f64, s as f64);
    let x = match node
        .string("coordinate_transformation_mode")
        .unwrap_or("half_pixel")
    {
        "half_pixel" | "pytorch_half_pixel" | "half_pixel_symmetric" => (d + 0.5) / sf - 0.5,
        "asymmetric" => d / sf,
        "tf_half_pixel_for_nn" => (d + 0.5) / sf,
        _ => return None,
    };
    let r = match node.string("nearest_mode").unwrap_or("round_prefer_floor") {
        "round_prefer_floor" if x.fract() == 0.5 => x.floor(),
        "round_prefer_ceil" if x.fract() == 0.5 => x.ceil(),
        "round_prefer_floor" | "round_prefer_ceil" => x.round(),
        "floor" => x.floor(),
        "ceil" => x.ceil(),
        _ => return None,
    };
    Some(r as i64)
}

/// The integer scale factors of a nearest `Resize`/`Upsample` that copies each input pixel
/// into a block (checked against the node's own index mapping), or why there is no rule.
fn block_scales(em: &Emitter, node: &Node) -> Result<Vec<i64>, RuleError> {
    if node.string("mode").unwrap_or("nearest") != "nearest" {
        return Err(format!(
            "{} mode `{}` has no rule yet (only nearest)",
            node.op_type,
            node.string("mode").unwrap_or("")
        ));
    }
    let scales_input = match (node.op_type.as_str(), node.inputs.len()) {
        ("Resize", n) if n > 2 => 2,
        _ => 1,
    };
    let scales = match node.attributes.get("scales") {
        Some(Attribute::Floats(f)) => Some(f.iter().map(|&v| v as f64).collect()),
        _ => node
            .inputs
            .get(scales_input)
            .filter(|n| !n.is_empty())
            .and_then(|n| em.known.constant_floats(n))
            .filter(|v| !v.is_empty()),
    };
    let scales = scales.ok_or_else(|| {
        "resizing to sizes computed at run time has no rule; export with constant scale \
         factors"
            .to_string()
    })?;
    // With `axes` (opset 18), the scales are those of the listed axes, 1 elsewhere.
    let scales = match node.ints("axes") {
        Some(axes) => {
            let rank = em
                .known
                .rank(&node.inputs[0])
                .ok_or("the rank of the resized input is not known")?;
            let mut full = vec![1.0; rank];
            for (&a, &s) in axes.iter().zip(&scales) {
                let a = if a < 0 { a + rank as i64 } else { a };
                *full
                    .get_mut(a as usize)
                    .ok_or_else(|| format!("axis {a} is out of range"))? = s;
            }
            full
        }
        None => scales,
    };
    let mut out = vec![];
    for (i, &s) in scales.iter().enumerate() {
        let k = s.round() as i64;
        if (s - k as f64).abs() > 1e-6 || k < 1 || (i < 2 && k != 1) {
            return Err(format!(
                "scales {scales:?}: only whole spatial factors (and 1 on batch and channels) \
                 have a rule"
            ));
        }
        out.push(k);
    }
    for &s in &out[2..] {
        let inside = |src: i64| src.clamp(0, 5);
        if (0..6 * s).any(|dst| nearest_source(node, dst, s).map(inside) != Some(dst / s)) {
            return Err(format!(
                "nearest resizing with coordinate_transformation_mode `{}` and nearest_mode \
                 `{}` does not copy pixels into whole blocks; no rule",
                node.string("coordinate_transformation_mode")
                    .unwrap_or("half_pixel"),
                node.string("nearest_mode").unwrap_or("round_prefer_floor")
            ));
        }
    }
    Ok(out)
}

/// The inputs' integer list at `index`, else the attribute `attr` (older opsets).
pub(super) fn ints_of(em: &Emitter, node: &Node, index: usize, attr: &str) -> Option<Vec<i64>> {
    if let Some(v) = node.ints(attr) {
        return Some(v.to_vec());
    }
    let name = node.inputs.get(index).filter(|n| !n.is_empty())?;
    em.known.constant_ints(name)
}

/// The input cotangent of a one-data-input layout operator.
pub fn rule(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let node = site.node;
    let (x, g) = (site.input(0), site.grad()?);
    match node.op_type.as_str() {
        "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => Ok(em.reshape_like(g, x)),
        "Transpose" => Ok(match node.ints("perm") {
            Some(p) => {
                let mut inv = vec![0i64; p.len()];
                for (i, &a) in p.iter().enumerate() {
                    inv[a as usize] = i as i64;
                }
                em.op("Transpose", &[g], &[("perm", Attribute::Ints(inv))])
            }
            None => em.op("Transpose", &[g], &[]),
        }),
        "SpaceToDepth" => {
            // Each mode's SpaceToDepth is undone by the DepthToSpace of the same mode.
            let b = node.int("blocksize", 1);
            let mode = node.string("mode").unwrap_or("DCR").to_string();
            Ok(em.op(
                "DepthToSpace",
                &[g],
                &[
                    ("blocksize", Attribute::Int(b)),
                    ("mode", Attribute::String(mode)),
                ],
            ))
        }
        "DepthToSpace" => {
            let b = node.int("blocksize", 1);
            let dcr = em.op("SpaceToDepth", &[g], &[("blocksize", Attribute::Int(b))]);
            if node.string("mode").unwrap_or("DCR") != "CRD" {
                return Ok(dcr);
            }
            // SpaceToDepth orders channels (block, c); CRD wants (c, block).
            let sd = em.shape(&dcr);
            let (zero, one, two, four) =
                (em.ints(&[0]), em.ints(&[1]), em.ints(&[2]), em.ints(&[4]));
            let n = em.op("Slice", &[&sd, &zero, &one], &[]);
            let hw = em.op("Slice", &[&sd, &two, &four], &[]);
            let mid = em.ints(&[b * b, -1]);
            let split = em.op("Concat", &[&n, &mid, &hw], &[("axis", Attribute::Int(0))]);
            let r = em.op("Reshape", &[&dcr, &split], &[]);
            let t = em.op(
                "Transpose",
                &[&r],
                &[("perm", Attribute::Ints(vec![0, 2, 1, 3, 4]))],
            );
            Ok(em.reshape_like(&t, x))
        }
        "Resize" | "Upsample" => {
            let scales = block_scales(em, node)?;
            // g as [N, C, H, sh, W, sw, ...], summed over the block axes.
            let sx = em.shape(x);
            let head = em.ints(&[0]);
            let two = em.ints(&[2]);
            let mut parts = vec![em.op("Slice", &[&sx, &head, &two], &[])];
            let mut block_axes = vec![];
            for (i, &s) in scales.iter().enumerate().skip(2) {
                let (a, b) = (em.ints(&[i as i64]), em.ints(&[i as i64 + 1]));
                parts.push(em.op("Slice", &[&sx, &a, &b], &[]));
                parts.push(em.ints(&[s]));
                block_axes.push(2 * i as i64 - 1);
            }
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            let blocks = em.op("Concat", &refs, &[("axis", Attribute::Int(0))]);
            let r = em.op("Reshape", &[g, &blocks], &[]);
            let axes = em.ints(&block_axes);
            Ok(em.op(
                "ReduceSum",
                &[&r, &axes],
                &[("keepdims", Attribute::Int(0))],
            ))
        }
        "Pad" => pad(em, site),
        "Slice" => super::pad_slice::slice(em, site),
        other => Err(format!("no layout rule for `{other}`")),
    }
}

/// The input cotangent of `Pad`: for constant padding, the cotangent sliced where the input
/// lies; for the folding modes, [`folded_pad`](super::pad_slice::folded_pad). Pads computed at
/// run time (an exporter's padding to a multiple of a window) must not be negative: a negative
/// constant pad crops, and only constant ones can be checked here.
fn pad(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let node = site.node;
    let (x, g) = (site.input(0), site.grad()?);
    let values = ints_of(em, node, 1, "pads");
    if let Some(pads) = &values {
        if pads.iter().any(|&p| p < 0) {
            return Err(format!(
                "negative pads {pads:?} (cropping) have no rule yet"
            ));
        }
    }
    let axes_given = node.inputs.get(3).is_some_and(|a| !a.is_empty());
    let n = match &values {
        Some(v) => v.len() / 2,
        // Without `axes`, `Pad` pads every axis.
        None if !axes_given => em
            .known
            .rank(x)
            .ok_or_else(|| format!("the rank of `{x}` is not known from the graph"))?,
        None => {
            let len = node
                .inputs
                .get(1)
                .and_then(|p| em.known.length(p))
                .ok_or("the number of pads is not known from the graph")?;
            len / 2
        }
    };
    let name = match &values {
        Some(v) => em.ints(v),
        None => node.inputs[1].clone(),
    };
    let pads = super::pad_slice::Pads { name, values };
    let axes = ints_of(em, node, 3, "axes").unwrap_or_else(|| (0..n as i64).collect());
    if axes_given && ints_of(em, node, 3, "axes").is_none() {
        return Err("the padded axes are computed at run time, not constants".into());
    }
    let mode = node.string("mode").unwrap_or("constant");
    if mode != "constant" {
        return super::pad_slice::folded_pad(em, x, g, mode, &pads, &axes);
    }
    let (begin, end) = (em.ints(&[0]), em.ints(&[n as i64]));
    let zero = em.ints(&[0]);
    let starts = em.op("Slice", &[&pads.name, &begin, &end, &zero], &[]);
    let axes_t = em.ints(&axes);
    let shape = em.shape(x);
    let extent = em.op("Gather", &[&shape, &axes_t], &[]);
    let ends = em.op("Add", &[&starts, &extent], &[]);
    Ok(em.op("Slice", &[g, &starts, &ends, &axes_t], &[]))
}

/// The cotangents of `Concat`'s inputs: the cotangent split at the inputs' sizes.
pub fn concat(em: &mut Emitter, site: &Site) -> Result<Vec<Option<String>>, RuleError> {
    let node = site.node;
    let g = site.grad()?.to_string();
    let axis = node.int("axis", 0);
    // The sizes along the axis: constants where the graph tells them (channels, mostly).
    let fixed: Option<Vec<i64>> = node
        .inputs
        .iter()
        .map(|x| {
            let dims = em.known.dims(x)?;
            let a = if axis < 0 {
                axis + dims.len() as i64
            } else {
                axis
            };
            match dims.get(usize::try_from(a).ok()?)? {
                Some(crate::ir::Dim::Fixed(n)) => Some(*n),
                _ => None,
            }
        })
        .collect();
    let split = match fixed {
        Some(sizes) => em.ints(&sizes),
        None => {
            let sizes: Vec<String> = node.inputs.iter().map(|x| em.dim(x, axis)).collect();
            let refs: Vec<&str> = sizes.iter().map(String::as_str).collect();
            em.op("Concat", &refs, &[("axis", Attribute::Int(0))])
        }
    };
    let parts = em.op_n(
        "Split",
        &[&g, &split],
        &[("axis", Attribute::Int(axis))],
        node.inputs.len(),
    );
    Ok(parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| site.is_active(i).then_some(p))
        .collect())
}

/// The input cotangent of `Split`: the outputs' cotangents concatenated back, zeros for
/// outputs that do not reach the objective.
pub fn split(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let node = site.node;
    let axis = node.int("axis", 0);
    let mut parts = vec![];
    for (o, g) in node.outputs.iter().zip(&site.grads) {
        parts.push(match g {
            Some(g) => g.clone(),
            None => {
                let s = em.shape(o);
                em.op("ConstantOfShape", &[&s], &[])
            }
        });
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    Ok(em.op("Concat", &refs, &[("axis", Attribute::Int(axis))]))
}

/// The data cotangent of `Gather`: the cotangent added back at the gathered indices
/// (`ScatterND` with `reduction = "add"`, the gathered axis moved to the front and back).
pub fn gather(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let node = site.node;
    if site.opset < 16 {
        return Err("Gather on data needs ScatterND with reduction, opset 16 or later".into());
    }
    let (x, idx, g) = (site.input(0), site.input(1), site.grad()?);
    let r = em
        .known
        .rank(x)
        .ok_or_else(|| format!("the rank of `{x}` is not known from the graph"))?;
    let ri = em
        .known
        .rank(idx)
        .ok_or_else(|| format!("the rank of `{idx}` is not known from the graph"))?;
    let a = node.int("axis", 0);
    let a = if a < 0 { a + r as i64 } else { a } as usize;
    if a >= r {
        return Err(format!("axis {a} is out of range for rank {r}"));
    }
    // A scalar index drops the axis: gather with a 1-element index instead, whose cotangent
    // is `g` with the axis put back.
    let (idx, g, ri) = if ri == 0 {
        let one = em.ints(&[1]);
        let axis = em.ints(&[a as i64]);
        (
            em.op("Reshape", &[idx, &one], &[]),
            em.op("Unsqueeze", &[g, &axis], &[]),
            1,
        )
    } else {
        (idx.to_string(), g.to_string(), ri)
    };
    let (idx, g) = (idx.as_str(), g.as_str());
    // Negative indices count from the end of the axis.
    let dim = em.dim(x, a as i64);
    let zero = em.ints(&[0]);
    let negative = em.op("Less", &[idx, &zero], &[]);
    let wrapped = em.op("Add", &[idx, &dim], &[]);
    let idx = em.op("Where", &[&negative, &wrapped, idx], &[]);
    let last = em.ints(&[-1]);
    let idx = em.op("Unsqueeze", &[&idx, &last], &[]);
    // x with axis a first; g with the index axes first.
    let mut px: Vec<i64> = vec![a as i64];
    px.extend((0..r as i64).filter(|&k| k != a as i64));
    let mut pg: Vec<i64> = (a as i64..(a + ri) as i64).collect();
    pg.extend(0..a as i64);
    pg.extend((a + ri) as i64..(r + ri - 1) as i64);
    let sx = em.shape(x);
    let order = em.ints(&px);
    let st = em.op("Gather", &[&sx, &order], &[]);
    let zeros = em.op("ConstantOfShape", &[&st], &[]);
    let zeros = em.op("CastLike", &[&zeros, g], &[]);
    let gt = em.op("Transpose", &[g], &[("perm", Attribute::Ints(pg))]);
    let scattered = em.op(
        "ScatterND",
        &[&zeros, &idx, &gt],
        &[("reduction", Attribute::String("add".into()))],
    );
    let mut inv = vec![0i64; r];
    for (i, &p) in px.iter().enumerate() {
        inv[p as usize] = i as i64;
    }
    Ok(em.op(
        "Transpose",
        &[&scattered],
        &[("perm", Attribute::Ints(inv))],
    ))
}
