//! Convolutions, pixel shuffles, nearest-neighbour resizing and padding.

use std::sync::Arc;

use candle_core::Tensor;
use srlens_onnx::Node;

use super::{axis, is_float, opt, req, NodeCtx};
use crate::conv::{conv2d, conv2d_bias, dilate, pad_or_crop, ConvKernel};
use crate::convert::{floats, ints, DEVICE};
use crate::error::{Error, Result};

/// Load-time checks of `Conv` and `ConvTranspose` attributes.
pub fn check_conv(node: &Node) -> Result<()> {
    for name in ["strides", "dilations", "kernel_shape"] {
        if let Some(v) = node.ints(name) {
            if v.len() != 2 {
                return Err(Error::unsupported(format!(
                    "{} with {name} {v:?}: only 2-D (NCHW) convolutions are supported",
                    node.op_type
                )));
            }
            if name == "dilations" && v[0] != v[1] {
                return Err(Error::unsupported(format!(
                    "{} with dilations {v:?}: only equal dilations along height and width are supported",
                    node.op_type
                )));
            }
        }
    }
    let auto_pad = node.string("auto_pad").unwrap_or("NOTSET");
    if !["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"].contains(&auto_pad) {
        return Err(Error::unsupported(format!(
            "{} with auto_pad `{auto_pad}`",
            node.op_type
        )));
    }
    Ok(())
}

/// Load-time checks of `Resize` and `Upsample` attributes: nearest-neighbour only.
pub fn check_resize(node: &Node) -> Result<()> {
    let mode = node.string("mode").unwrap_or("nearest");
    if mode != "nearest" {
        return Err(Error::unsupported(format!(
            "{} mode `{mode}` is not supported: only `nearest` is",
            node.op_type
        )));
    }
    let ctm = node
        .string("coordinate_transformation_mode")
        .unwrap_or("half_pixel");
    let known = [
        "half_pixel",
        "pytorch_half_pixel",
        "align_corners",
        "asymmetric",
        "tf_half_pixel_for_nn",
        "half_pixel_symmetric",
    ];
    if !known.contains(&ctm) {
        return Err(Error::unsupported(format!(
            "Resize coordinate_transformation_mode `{ctm}` is not supported; supported: {}",
            known.join(", ")
        )));
    }
    let nm = node.string("nearest_mode").unwrap_or("round_prefer_floor");
    if !["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].contains(&nm) {
        return Err(Error::unsupported(format!(
            "Resize nearest_mode `{nm}` is not supported"
        )));
    }
    let policy = node.string("keep_aspect_ratio_policy").unwrap_or("stretch");
    if !["stretch", "not_larger", "not_smaller"].contains(&policy) {
        return Err(Error::unsupported(format!(
            "Resize keep_aspect_ratio_policy `{policy}` is not supported"
        )));
    }
    Ok(())
}

/// Load-time checks of `Pad`.
pub fn check_pad(node: &Node) -> Result<()> {
    let mode = node.string("mode").unwrap_or("constant");
    if !["constant", "reflect", "edge", "wrap"].contains(&mode) {
        return Err(Error::unsupported(format!(
            "Pad mode `{mode}` is not supported"
        )));
    }
    Ok(())
}

/// The kernels a `Conv` (one per group) or `ConvTranspose` node uses for weight `w`.
pub fn prepare_kernels(node: &Node, w: &Tensor) -> Result<Vec<Arc<ConvKernel>>> {
    if w.rank() != 4 {
        return Err(Error::unsupported(format!(
            "{} weight of shape {:?}: only 2-D convolutions are supported",
            node.op_type,
            w.dims()
        )));
    }
    let group = node.int("group", 1).max(1) as usize;
    let m = w.dim(0)?;
    if m % group != 0 {
        return Err(Error::Input(format!(
            "{m} weight rows do not split into {group} groups"
        )));
    }
    let transposed = node.op_type == "ConvTranspose";
    (0..group)
        .map(|g| {
            let part = w.narrow(0, g * m / group, m / group)?;
            let k = if transposed {
                ConvKernel::from_transposed(&part)?
            } else {
                ConvKernel::new(&part)?
            };
            Ok(Arc::new(k))
        })
        .collect()
}

fn single(node: &Node, name: &str) -> usize {
    node.ints(name)
        .and_then(|v| v.first().copied())
        .unwrap_or(1)
        .max(1) as usize
}

/// The `(height, width)` strides.
fn strides(node: &Node) -> (usize, usize) {
    match node.ints("strides") {
        Some(v) if v.len() == 2 => (v[0].max(1) as usize, v[1].max(1) as usize),
        _ => (1, 1),
    }
}

/// Every `step`-th entry of `x` along `dim`, from 0 (differentiable).
fn subsample(x: &Tensor, dim: usize, step: usize) -> Result<Tensor> {
    if step == 1 {
        return Ok(x.clone());
    }
    let idx: Vec<u32> = (0..x.dim(dim)?).step_by(step).map(|v| v as u32).collect();
    let ids = Tensor::from_vec(idx.clone(), idx.len(), &DEVICE)?;
    Ok(x.contiguous()?.index_select(&ids, dim)?)
}

/// `[top, left, bottom, right]` padding of a convolution.
fn conv_pads(node: &Node, input: [usize; 2], k: [usize; 2], s: [usize; 2], d: usize) -> [isize; 4] {
    let auto_pad = node.string("auto_pad").unwrap_or("NOTSET");
    match auto_pad {
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut p = [0isize; 4];
            for i in 0..2 {
                let out = input[i].div_ceil(s[i]);
                let need = (out - 1) * s[i] + (k[i] - 1) * d + 1;
                let total = need.saturating_sub(input[i]) as isize;
                let (b, e) = if auto_pad == "SAME_UPPER" {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                };
                p[i] = b;
                p[i + 2] = e;
            }
            p
        }
        "VALID" => [0; 4],
        _ => match node.ints("pads") {
            Some(v) if v.len() == 4 => [v[0] as isize, v[1] as isize, v[2] as isize, v[3] as isize],
            _ => [0; 4],
        },
    }
}

fn bias(y: Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    match b {
        Some(b) => {
            let b = b.to_dtype(y.dtype())?.reshape((1, (), 1, 1))?;
            Ok(y.broadcast_add(&b)?)
        }
        None => Ok(y),
    }
}

fn kernels(ctx: &NodeCtx<'_>, w: &Tensor) -> Result<Vec<Arc<ConvKernel>>> {
    match ctx.kernels {
        Some(k) => Ok(k.to_vec()),
        None => prepare_kernels(ctx.node, &w.to_dtype(ctx.dtype)?),
    }
}

fn check_rank4(op: &str, x: &Tensor) -> Result<()> {
    if x.rank() != 4 {
        return Err(Error::unsupported(format!(
            "{op} on an input of shape {:?}: only 2-D (NCHW) inputs are supported",
            x.dims()
        )));
    }
    Ok(())
}

/// `Conv`: 2-D, any padding (asymmetric by explicit zero padding), stride, dilation, groups.
pub fn conv(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let n = ctx.node;
    let x = req(inputs, 0)?;
    let w = req(inputs, 1)?;
    check_rank4("Conv", x)?;
    let (_, c, h, wd) = x.dims4()?;
    let ks = kernels(ctx, w)?;
    let (_, cg, kh, kw) = ks[0].weight().dims4()?;
    if cg * ks.len() != c {
        return Err(Error::Input(format!(
            "Conv input has {c} channels, the weight expects {} ({} groups of {cg})",
            cg * ks.len(),
            ks.len()
        )));
    }
    let ((sh, sw), d) = (strides(n), single(n, "dilations"));
    let p = conv_pads(n, [h, wd], [kh, kw], [sh, sw], d);
    // Unequal strides: a stride-1 convolution, then every sh-th row and sw-th column.
    let s = if sh == sw { sh } else { 1 };
    let (x, pad) = if p.iter().all(|&v| v == p[0]) && p[0] >= 0 {
        (x.clone(), p[0] as usize)
    } else {
        let x = pad_or_crop(x, 2, p[0], p[2])?;
        (pad_or_crop(&x, 3, p[1], p[3])?, 0)
    };
    if ks.len() == 1 && sh == sw {
        // The bias is added inside the convolution.
        return Ok(conv2d_bias(&x, &ks[0], opt(inputs, 2), pad, s, d)?);
    }
    let y = if ks.len() == 1 {
        conv2d(&x, &ks[0], pad, s, d)?
    } else {
        let parts = ks
            .iter()
            .enumerate()
            .map(|(g, k)| conv2d(&x.narrow(1, g * cg, cg)?, k, pad, s, d))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Tensor::cat(&parts, 1)?
    };
    let y = if sh == sw {
        y
    } else {
        subsample(&subsample(&y, 2, sh)?, 3, sw)?
    };
    bias(y, opt(inputs, 2))
}

/// `ConvTranspose` as a stride-1 convolution of the dilated, padded input with the flipped
/// kernel (per group).
pub fn conv_transpose(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let n = ctx.node;
    let x = req(inputs, 0)?;
    let w = req(inputs, 1)?;
    check_rank4("ConvTranspose", x)?;
    let (_, c, h, wd) = x.dims4()?;
    let ks = kernels(ctx, w)?;
    let (_, cg, kh, kw) = ks[0].weight().dims4()?;
    if cg * ks.len() != c {
        return Err(Error::Input(format!(
            "ConvTranspose input has {c} channels, the weight expects {}",
            cg * ks.len()
        )));
    }
    let ((sh, sw), d) = (strides(n), single(n, "dilations"));
    let op = n
        .ints("output_padding")
        .map(|v| v.to_vec())
        .unwrap_or_else(|| vec![0, 0]);
    let (oph, opw) = (
        op.first().copied().unwrap_or(0),
        op.get(1).copied().unwrap_or(0),
    );
    let auto_pad = n.string("auto_pad").unwrap_or("NOTSET");
    let dims = [(h, kh, oph, sh), (wd, kw, opw, sw)];
    // Floor division, as in the ONNX reference (a negative total adds output at the end).
    let split = |total: isize, upper: bool| {
        let half = total.div_euclid(2);
        if upper {
            (half, total - half)
        } else {
            (total - half, half)
        }
    };
    let p: [isize; 4] = if let Some(out) = n.ints("output_shape") {
        let out = &out[out.len().saturating_sub(2)..];
        let mut p = [0isize; 4];
        for (i, (len, k, o, s)) in dims.into_iter().enumerate() {
            let full = (s * (len - 1) + (k - 1) * d + 1) as isize + o as isize;
            let (b, e) = split(full - out[i] as isize, auto_pad == "SAME_UPPER");
            p[i] = b;
            p[i + 2] = e;
        }
        p
    } else if auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER" {
        let mut p = [0isize; 4];
        for (i, (len, k, o, s)) in dims.into_iter().enumerate() {
            let full = (s * (len - 1) + (k - 1) * d + 1) as isize + o as isize;
            let total = (full - (len * s) as isize).max(0);
            let (b, e) = split(total, auto_pad == "SAME_UPPER");
            p[i] = b;
            p[i + 2] = e;
        }
        p
    } else {
        conv_pads(n, [h, wd], [kh, kw], [sh, sw], d)
    };
    let xd = dilate(x, sh, sw)?;
    let ekh = (d * (kh - 1)) as isize;
    let ekw = (d * (kw - 1)) as isize;
    let xd = pad_or_crop(&xd, 2, ekh - p[0], ekh - p[2] + oph as isize)?;
    let xd = pad_or_crop(&xd, 3, ekw - p[1], ekw - p[3] + opw as isize)?;
    if ks.len() == 1 {
        // The bias is added inside the convolution.
        return Ok(conv2d_bias(&xd, &ks[0], opt(inputs, 2), 0, 1, d)?);
    }
    let parts = ks
        .iter()
        .enumerate()
        .map(|(g, k)| conv2d(&xd.narrow(1, g * cg, cg)?, k, 0, 1, d))
        .collect::<candle_core::Result<Vec<_>>>()?;
    bias(Tensor::cat(&parts, 1)?, opt(inputs, 2))
}

/// `DepthToSpace`, modes `DCR` (the default) and `CRD`.
pub fn depth_to_space(ctx: &NodeCtx<'_>, x: &Tensor) -> Result<Tensor> {
    check_rank4("DepthToSpace", x)?;
    let b = ctx.node.int("blocksize", 0).max(1) as usize;
    let (n, c, h, w) = x.dims4()?;
    if c % (b * b) != 0 {
        return Err(Error::Input(format!(
            "{c} channels do not divide by blocksize^2 = {}",
            b * b
        )));
    }
    let co = c / (b * b);
    let mode = ctx.node.string("mode").unwrap_or("DCR");
    let y = match mode {
        "DCR" => x
            .reshape((n, b, b, co, h, w))?
            .permute((0, 3, 4, 1, 5, 2))?,
        "CRD" => x
            .reshape((n, co, b, b, h, w))?
            .permute((0, 1, 4, 2, 5, 3))?,
        other => return Err(Error::unsupported(format!("DepthToSpace mode `{other}`"))),
    };
    Ok(y.reshape((n, co, h * b, w * b))?)
}

/// `SpaceToDepth`.
pub fn space_to_depth(ctx: &NodeCtx<'_>, x: &Tensor) -> Result<Tensor> {
    check_rank4("SpaceToDepth", x)?;
    let b = ctx.node.int("blocksize", 0).max(1) as usize;
    let (n, c, h, w) = x.dims4()?;
    if h % b != 0 || w % b != 0 {
        return Err(Error::Input(format!(
            "{h}x{w} does not divide by blocksize {b}"
        )));
    }
    let y = x.reshape((n, c, h / b, b, w / b, b))?;
    let y = match ctx.node.string("mode").unwrap_or("DCR") {
        "DCR" => y.permute((0, 3, 5, 1, 2, 4))?,
        "CRD" => y.permute((0, 1, 3, 5, 2, 4))?,
        other => return Err(Error::unsupported(format!("SpaceToDepth mode `{other}`"))),
    };
    Ok(y.reshape((n, c * b * b, h / b, w / b))?)
}

/// The source index of each output index of a nearest-neighbour resize along one axis.
pub fn nearest_indices(
    input: usize,
    output: usize,
    scale: f64,
    ctm: &str,
    nearest_mode: &str,
) -> Vec<u32> {
    let (fi, fo) = (input as f64, output as f64);
    (0..output)
        .map(|o| {
            let o = o as f64;
            let x = match ctm {
                "pytorch_half_pixel" if output > 1 => (o + 0.5) / scale - 0.5,
                "pytorch_half_pixel" => 0.0,
                "align_corners" if output > 1 => o * (fi - 1.0) / (fo - 1.0),
                "align_corners" => 0.0,
                "asymmetric" => o / scale,
                "tf_half_pixel_for_nn" => (o + 0.5) / scale,
                "half_pixel_symmetric" => {
                    let adj = fo / (scale * fi);
                    let offset = fi / 2.0 * (1.0 - adj);
                    offset + (o + 0.5) / scale - 0.5
                }
                _ => (o + 0.5) / scale - 0.5,
            };
            let frac = x - x.floor();
            let i = match nearest_mode {
                "floor" => x.floor(),
                "ceil" => x.ceil(),
                "round_prefer_ceil" if frac == 0.5 => x.ceil(),
                _ if frac == 0.5 => x.floor(),
                _ => x.round(),
            };
            i.clamp(0.0, fi - 1.0) as u32
        })
        .collect()
}

/// Resizes `x` along `dim` by the index map `idx`: a reshape + broadcast for integer
/// repetition, an index selection otherwise (both differentiable).
fn apply_indices(x: &Tensor, dim: usize, idx: &[u32]) -> Result<Tensor> {
    let len = x.dim(dim)?;
    if idx.len() == len && idx.iter().enumerate().all(|(i, &v)| v as usize == i) {
        return Ok(x.clone());
    }
    if len > 0 && idx.len().is_multiple_of(len) {
        let k = idx.len() / len;
        if idx.iter().enumerate().all(|(i, &v)| v as usize == i / k) {
            let mut shape = x.dims().to_vec();
            let expanded = x.unsqueeze(dim + 1)?;
            let mut big = expanded.dims().to_vec();
            big[dim + 1] = k;
            shape[dim] = len * k;
            return Ok(expanded.broadcast_as(big)?.reshape(shape)?);
        }
    }
    let ids = Tensor::from_slice(idx, idx.len(), &DEVICE)?;
    Ok(x.contiguous()?.index_select(&ids, dim)?)
}

fn non_empty(t: Option<&Tensor>) -> Option<&Tensor> {
    t.filter(|t| t.elem_count() > 0)
}

/// `Resize` and `Upsample`, nearest neighbour, every coordinate mode and rounding rule.
pub fn resize(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let n = ctx.node;
    let x = req(inputs, 0)?;
    let rank = x.rank();
    let upsample = n.op_type == "Upsample";
    let old = upsample || ctx.opset < 11;
    let (ctm, nm) = if old {
        ("asymmetric", "floor")
    } else {
        (
            n.string("coordinate_transformation_mode")
                .unwrap_or("half_pixel"),
            n.string("nearest_mode").unwrap_or("round_prefer_floor"),
        )
    };
    let (scales, sizes) = if old {
        let s = match non_empty(opt(inputs, 1)) {
            Some(t) => Some(floats(t)?),
            None => match n.attributes.get("scales") {
                Some(srlens_onnx::Attribute::Floats(v)) => {
                    Some(v.iter().map(|&f| f as f64).collect())
                }
                _ => None,
            },
        };
        (s, None)
    } else {
        (
            non_empty(opt(inputs, 2)).map(floats).transpose()?,
            non_empty(opt(inputs, 3)).map(ints).transpose()?,
        )
    };
    let axes: Vec<usize> = match n.ints("axes") {
        Some(a) => a.iter().map(|&a| axis(a, rank)).collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    let policy = n.string("keep_aspect_ratio_policy").unwrap_or("stretch");
    // not_larger / not_smaller: one scale for every resized axis, the smallest / largest.
    let common = match (&sizes, policy) {
        (Some(sz), "not_larger" | "not_smaller") => {
            let r = axes
                .iter()
                .zip(sz)
                .map(|(&d, &o)| Ok(o as f64 / x.dim(d)? as f64));
            let r: Vec<f64> = r.collect::<Result<_>>()?;
            let pick = if policy == "not_larger" {
                f64::min
            } else {
                f64::max
            };
            r.into_iter().reduce(pick)
        }
        _ => None,
    };
    let mut resized = Vec::new();
    for (i, &dim) in axes.iter().enumerate() {
        let len = x.dim(dim)?;
        let (out, scale) = match (&scales, &sizes) {
            (_, Some(_)) if common.is_some() => {
                let s = common.unwrap_or(1.0);
                (((len as f64) * s).round() as usize, s)
            }
            (_, Some(sz)) => {
                let o = *sz
                    .get(i)
                    .ok_or_else(|| Error::Input("too few sizes".into()))?;
                (o as usize, o as f64 / len as f64)
            }
            (Some(sc), None) => {
                let s = *sc
                    .get(i)
                    .ok_or_else(|| Error::Input("too few scales".into()))?;
                (((len as f64) * s).floor() as usize, s)
            }
            (None, None) => {
                return Err(Error::Input(format!("{} needs scales or sizes", n.op_type)))
            }
        };
        if out == len && scale == 1.0 {
            continue;
        }
        resized.push((dim, nearest_indices(len, out, scale, ctm, nm)));
    }
    // Whole-number factors on H and W only (the SR networks' upsampling): one custom op.
    let factor = |dim: usize, idx: &[u32]| -> Option<usize> {
        let len = x.dim(dim).ok()?;
        let k = idx.len() / len.max(1);
        (len > 0
            && idx.len() == k * len
            && idx.iter().enumerate().all(|(i, &v)| v as usize == i / k))
        .then_some(k)
    };
    if rank == 4
        && !resized.is_empty()
        && resized
            .iter()
            .all(|(d, idx)| *d >= 2 && factor(*d, idx).is_some())
    {
        let f = |axis: usize| {
            resized
                .iter()
                .find(|(d, _)| *d == axis)
                .and_then(|(d, idx)| factor(*d, idx))
                .unwrap_or(1)
        };
        return Ok(crate::upsample::nearest(x, f(2), f(3))?);
    }
    let mut y = x.clone();
    for (dim, idx) in resized {
        y = apply_indices(&y, dim, &idx)?;
    }
    Ok(y)
}

/// `Pad`: constant (any value), reflect, edge and wrap modes; negative pads crop.
pub fn pad(ctx: &NodeCtx<'_>, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    let n = ctx.node;
    let x = req(inputs, 0)?;
    let rank = x.rank();
    let (pads, value) = if ctx.opset >= 11 {
        let p = ints(req(inputs, 1)?)?;
        let v = non_empty(opt(inputs, 2))
            .map(floats)
            .transpose()?
            .map(|v| v[0]);
        (p, v.unwrap_or(0.0))
    } else {
        let p = n.ints("pads").map(|v| v.to_vec()).unwrap_or_default();
        (p, n.float("value", 0.0) as f64)
    };
    let axes: Vec<usize> = match non_empty(opt(inputs, 3)) {
        Some(t) => ints(t)?
            .into_iter()
            .map(|a| axis(a, rank))
            .collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(Error::Input(format!(
            "{} pads for {} axes",
            pads.len(),
            axes.len()
        )));
    }
    let mode = n.string("mode").unwrap_or("constant");
    if mode == "constant" && !value.is_finite() && is_float(x) {
        // `x - value` would be NaN: pad with zeros, then put the value where a padded mask
        // of ones is zero.
        let mut zeros = n.clone();
        zeros.attributes.remove("value");
        let sub = NodeCtx {
            node: &zeros,
            dtype: ctx.dtype,
            opset: ctx.opset,
            kernels: None,
        };
        let mut args = inputs.to_vec();
        if let Some(v) = args.get_mut(2) {
            *v = None;
        }
        let y = pad(&sub, &args)?;
        args[0] = Some(x.ones_like()?);
        let inside = pad(&sub, &args)?.ne(0.0f64)?;
        let fill = Tensor::full(value, y.dims(), y.device())?.to_dtype(y.dtype())?;
        return Ok(inside.where_cond(&y, &fill)?);
    }
    let k = axes.len();
    let mut y = x.clone();
    if mode == "constant" && value != 0.0 {
        y = y.affine(1.0, -value)?;
    }
    for (i, &dim) in axes.iter().enumerate() {
        let (b, e) = (pads[i] as isize, pads[i + k] as isize);
        if b == 0 && e == 0 {
            continue;
        }
        if mode == "constant" {
            y = pad_or_crop(&y, dim, b, e)?;
            continue;
        }
        y = pad_or_crop(&y, dim, b.min(0), e.min(0))?;
        let len = y.dim(dim)? as isize;
        let (b, e) = (b.max(0), e.max(0));
        let idx: Vec<u32> = (-b..len + e)
            .map(|j| {
                let i = match mode {
                    "edge" => j.clamp(0, len - 1),
                    "wrap" => j.rem_euclid(len),
                    _ => {
                        let period = 2 * (len - 1).max(1);
                        let m = j.rem_euclid(period);
                        if m < len {
                            m
                        } else {
                            period - m
                        }
                    }
                };
                i.clamp(0, len - 1) as u32
            })
            .collect();
        y = apply_indices(&y, dim, &idx)?;
    }
    if mode == "constant" && value != 0.0 {
        y = y.affine(1.0, value)?;
    }
    Ok(y)
}
