//! Rules of the linear operators: convolutions (a `Conv`'s input gradient is a `ConvTranspose`
//! with the same weights, and back), matrix products and inference-mode batch norm.

use super::{ranks, RuleError, Site};
use crate::autodiff::emit::{Emitter, OPEN_END};
use crate::ir::{Attribute, Node};

/// A convolution's `strides` and `dilations` over `spatial` axes (1 where absent).
fn strides_dilations(node: &Node, spatial: usize) -> (Vec<i64>, Vec<i64>) {
    let ones = vec![1i64; spatial];
    let get = |k: &str| node.ints(k).map(<[i64]>::to_vec).unwrap_or(ones.clone());
    (get("strides"), get("dilations"))
}

/// The explicit `pads` of a convolution with `spatial` spatial axes (from `auto_pad` where
/// that does not depend on the input size).
fn explicit_pads(node: &Node, spatial: usize, kernel: &[i64]) -> Result<Vec<i64>, RuleError> {
    let (strides, dilations) = strides_dilations(node, spatial);
    match node.string("auto_pad").unwrap_or("NOTSET") {
        "NOTSET" => Ok(node
            .ints("pads")
            .map(<[i64]>::to_vec)
            .unwrap_or(vec![0; 2 * spatial])),
        "VALID" => Ok(vec![0; 2 * spatial]),
        same @ ("SAME_UPPER" | "SAME_LOWER") if strides.iter().all(|&s| s == 1) => {
            let mut pads = vec![0; 2 * spatial];
            for i in 0..spatial {
                let total = dilations[i] * (kernel[i] - 1);
                let small = total / 2;
                let (begin, end) = if same == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                pads[i] = begin;
                pads[spatial + i] = end;
            }
            Ok(pads)
        }
        other => Err(format!(
            "auto_pad `{other}` with strides {strides:?} pads by the input's size; export the \
             network with explicit `pads`"
        )),
    }
}

/// The kernel's spatial size: the constant weight's dimensions, else `kernel_shape`.
fn kernel_shape(em: &Emitter, node: &Node) -> Result<Vec<i64>, RuleError> {
    if let Some(w) = em.known.constant(&node.inputs[1]) {
        return Ok(w.dims[2..].to_vec());
    }
    node.ints("kernel_shape")
        .map(<[i64]>::to_vec)
        .ok_or_else(|| "the weight is not a constant and there is no kernel_shape".to_string())
}

/// The input cotangent of `Conv` (a `ConvTranspose`) or of `ConvTranspose` (a `Conv`).
pub fn conv(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let node = site.node;
    let (x, w, g) = (site.input(0), site.input(1), site.grad()?);
    let kernel = kernel_shape(em, node)?;
    let spatial = kernel.len();
    if node.op_type == "ConvTranspose"
        && (node.ints("output_shape").is_some() || node.string("auto_pad").is_some())
    {
        return Err(
            "ConvTranspose with output_shape or auto_pad: export with explicit pads".to_string(),
        );
    }
    let pads = explicit_pads(node, spatial, &kernel)?;
    let (strides, dilations) = strides_dilations(node, spatial);
    let strided = strides.iter().any(|&s| s != 1);
    let group = ("group", Attribute::Int(node.int("group", 1)));
    let common = [
        ("strides", Attribute::Ints(strides)),
        ("dilations", Attribute::Ints(dilations)),
        group,
    ];
    let with_pads = |pads: Vec<i64>| {
        let mut a = common.to_vec();
        a.push(("pads", Attribute::Ints(pads)));
        a
    };
    if node.op_type == "ConvTranspose" {
        return Ok(em.op("Conv", &[g, w], &with_pads(pads)));
    }
    if !strided {
        // A stride-1 transposed convolution is a convolution with the kernel flipped and its
        // channel axes swapped, padded by `d (k - 1) - p`: with a constant weight, that
        // kernel is made here once, and runtimes run their (faster) Conv.
        let (_, dilations) = strides_dilations(node, spatial);
        let flipped_pads: Vec<i64> = (0..2 * spatial)
            .map(|i| dilations[i % spatial] * (kernel[i % spatial] - 1) - pads[i])
            .collect();
        if flipped_pads.iter().all(|&p| p >= 0) {
            if let Some(t) = em
                .known
                .constant(w)
                .and_then(|t| flipped_kernel(t, node.int("group", 1)))
            {
                let wf = em.constant(t);
                return Ok(em.op("Conv", &[g, &wf], &with_pads(flipped_pads)));
            }
        }
        return Ok(em.op("ConvTranspose", &[g, w], &with_pads(pads)));
    }
    // With strides, the end of the padded input may hold real rows that no output read (the
    // stride skipped them) and pad rows that some output read: the transposed convolution
    // covers the padded input up to the last row read, so it is cropped at the beginning
    // only, then cut or padded with zeros to the input's size.
    let mut begin_only = pads[..spatial].to_vec();
    begin_only.extend(std::iter::repeat_n(0, spatial));
    let ct = em.op("ConvTranspose", &[g, w], &with_pads(begin_only));
    let (start, end) = (em.ints(&[2]), em.ints(&[OPEN_END]));
    let sx = em.shape(x);
    let hw = em.op("Slice", &[&sx, &start, &end], &[]);
    let zeros = em.ints(&vec![0; spatial]);
    let axes = em.ints(&(2..2 + spatial as i64).collect::<Vec<_>>());
    let cut = em.op("Slice", &[&ct, &zeros, &hw, &axes], &[]);
    let sc = em.shape(&cut);
    let hc = em.op("Slice", &[&sc, &start, &end], &[]);
    let missing = em.op("Sub", &[&hw, &hc], &[]);
    let before = em.ints(&vec![0; 2 + spatial + 2]);
    let pads = em.op(
        "Concat",
        &[&before, &missing],
        &[("axis", Attribute::Int(0))],
    );
    Ok(em.op("Pad", &[&cut, &pads], &[]))
}

/// The kernel of a stride-1 convolution's input gradient as a convolution: for a weight
/// `M x C/g x k...` in `g` groups, `C x M/g x k...` with each group's channel axes swapped and
/// the spatial axes reversed. `None` for a non-float weight.
fn flipped_kernel(w: &crate::ir::TensorData, group: i64) -> Option<crate::ir::TensorData> {
    use crate::ir::{TensorData, TensorValues};
    let TensorValues::F32(v) = &w.values else {
        return None;
    };
    let g = group.max(1) as usize;
    let (m, cg) = (w.dims[0] as usize, w.dims[1] as usize);
    let area: usize = w.dims[2..].iter().product::<i64>() as usize;
    if m % g != 0 || v.len() != m * cg * area {
        return None;
    }
    let mg = m / g;
    let mut out = vec![0f32; v.len()];
    for gi in 0..g {
        for o in 0..mg {
            for c in 0..cg {
                let src = ((gi * mg + o) * cg + c) * area;
                let dst = ((gi * cg + c) * mg + o) * area;
                for k in 0..area {
                    // Reversing the flattened spatial index reverses every spatial axis.
                    out[dst + k] = v[src + area - 1 - k];
                }
            }
        }
    }
    let mut dims = w.dims.clone();
    dims[0] = (g * cg) as i64;
    dims[1] = mg as i64;
    Some(TensorData::f32(dims, out))
}

/// The cotangents of `MatMul` and `Gemm` operands.
pub fn matmul(em: &mut Emitter, site: &Site) -> Result<Vec<Option<String>>, RuleError> {
    let node = site.node;
    let g = site.grad()?.to_string();
    let (a, b) = (site.input(0).to_string(), site.input(1).to_string());
    let mut out = vec![None; node.inputs.len()];
    if node.op_type == "MatMul" {
        let (ra, ry) = ranks(em, site, 0)?;
        let (rb, _) = ranks(em, site, 1)?;
        if ra < 2 || rb < 2 {
            return Err(
                "MatMul of a 1-D operand has no rule yet (both operands need rank >= 2)".into(),
            );
        }
        let swap = |r: usize| -> Attribute {
            let mut p: Vec<i64> = (0..r as i64).collect();
            p.swap(r - 1, r - 2);
            Attribute::Ints(p)
        };
        if site.is_active(0) {
            let bt = em.op("Transpose", &[&b], &[("perm", swap(rb))]);
            let d = em.op("MatMul", &[&g, &bt], &[]);
            out[0] = Some(em.unbroadcast(&d, &a, None, ra, ry));
        }
        if site.is_active(1) {
            let at = em.op("Transpose", &[&a], &[("perm", swap(ra))]);
            let d = em.op("MatMul", &[&at, &g], &[]);
            out[1] = Some(em.unbroadcast(&d, &b, None, rb, ry));
        }
        return Ok(out);
    }
    // Gemm: Y = alpha op(A) op(B) + beta C.
    let (ta, tb) = (node.int("transA", 0), node.int("transB", 0));
    let alpha = Attribute::Float(node.float("alpha", 1.0));
    let gemm = |em: &mut Emitter, x: &str, y: &str, tx: i64, ty: i64| {
        em.op(
            "Gemm",
            &[x, y],
            &[
                ("alpha", alpha.clone()),
                ("transA", Attribute::Int(tx)),
                ("transB", Attribute::Int(ty)),
            ],
        )
    };
    if site.is_active(0) {
        out[0] = Some(if ta == 1 {
            gemm(em, &b, &g, tb, 1)
        } else {
            gemm(em, &g, &b, 0, 1 - tb)
        });
    }
    if site.is_active(1) {
        out[1] = Some(if tb == 1 {
            gemm(em, &g, &a, 1, ta)
        } else {
            gemm(em, &a, &g, 1 - ta, 0)
        });
    }
    if site.is_active(2) {
        let (rc, _) = ranks(em, site, 2)?;
        let beta = em.scalar(node.float("beta", 1.0) as f64, &g);
        let d = em.mul(&g, &beta);
        out[2] = Some(em.unbroadcast(&d, site.input(2), Some(site.output()), rc, 2));
    }
    Ok(out)
}

/// The input cotangent of inference-mode `BatchNormalization`: `g * scale / sqrt(var + eps)`
/// per channel.
pub fn batch_norm(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let node = site.node;
    let (scale, var, g) = (site.input(1), site.input(4), site.grad()?);
    let (rx, _) = ranks(em, site, 0)?;
    let eps = em.scalar(node.float("epsilon", 1e-5) as f64, g);
    let v = em.op("Add", &[var, &eps], &[]);
    let sd = em.op("Sqrt", &[&v], &[]);
    let coef = em.op("Div", &[scale, &sd], &[]);
    let mut shape = vec![-1i64];
    shape.extend(std::iter::repeat_n(1, rx.saturating_sub(2)));
    let shape = em.ints(&shape);
    let coef = em.op("Reshape", &[&coef, &shape], &[]);
    Ok(em.mul(g, &coef))
}
