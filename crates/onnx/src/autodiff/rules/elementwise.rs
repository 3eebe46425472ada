//! Rules of elementwise operators: activations (masks and derivatives from the saved input or
//! output) and broadcasting arithmetic (cotangents summed back to each operand's shape).

use super::{ranks, RuleError, Site};
use crate::autodiff::emit::Emitter;

/// `g` where `mask` holds, else `otherwise` (zero when `None`).
fn select(em: &mut Emitter, mask: &str, g: &str, otherwise: Option<&str>) -> String {
    let other = match otherwise {
        Some(o) => o.to_string(),
        None => em.scalar(0.0, g),
    };
    em.op("Where", &[mask, g, &other], &[])
}

/// The mask `x > 0` (a bool tensor, which the forward graph computes and saves).
fn positive(em: &mut Emitter, x: &str) -> String {
    let zero = em.scalar(0.0, x);
    em.op("Greater", &[x, &zero], &[])
}

/// The cotangent of a one-input elementwise operator.
pub fn unary(em: &mut Emitter, site: &Site) -> Result<String, RuleError> {
    let (x, y, g) = (site.input(0), site.output(), site.grad()?);
    let node = site.node;
    Ok(match node.op_type.as_str() {
        "Neg" => em.neg(g),
        "Abs" => {
            let s = em.op("Sign", &[x], &[]);
            em.mul(g, &s)
        }
        // `relu(x) > 0` exactly where `x > 0`: the mask reads the output, so that the forward
        // graph keeps the convolution's output for the Relu alone and ONNX Runtime can fuse
        // the two (the mask from the input cost thick 8 % of a forward).
        "Relu" => {
            let m = positive(em, y);
            select(em, &m, g, None)
        }
        "LeakyRelu" => {
            let alpha = node.float("alpha", 0.01);
            // With a positive slope the output's sign is the input's, as for Relu.
            let m = positive(em, if alpha > 0.0 { y } else { x });
            let alpha = em.scalar(alpha as f64, g);
            let scaled = em.mul(g, &alpha);
            select(em, &m, g, Some(&scaled))
        }
        "Sigmoid" => {
            let one = em.scalar(1.0, y);
            let rest = em.op("Sub", &[&one, y], &[]);
            let d = em.mul(y, &rest);
            em.mul(g, &d)
        }
        "Tanh" => {
            let one = em.scalar(1.0, y);
            let sq = em.mul(y, y);
            let d = em.op("Sub", &[&one, &sq], &[]);
            em.mul(g, &d)
        }
        "Exp" => em.mul(g, y),
        "Sqrt" => {
            let half = em.scalar(0.5, g);
            let h = em.mul(g, &half);
            em.op("Div", &[&h, y], &[])
        }
        "Reciprocal" => {
            let sq = em.mul(y, y);
            let p = em.mul(g, &sq);
            em.neg(&p)
        }
        "Erf" => {
            let sq = em.mul(x, x);
            let n = em.neg(&sq);
            let e = em.op("Exp", &[&n], &[]);
            let c = em.scalar(std::f64::consts::FRAC_2_SQRT_PI, g);
            let d = em.mul(&e, &c);
            em.mul(g, &d)
        }
        "Cast" => em.cast_like(g, x),
        other => return Err(format!("no elementwise rule for `{other}`")),
    })
}

/// The cotangents of a broadcasting operator's operands (and of `PRelu`, `Where`, `Expand`,
/// `Clip`, whose only active operands are their data).
pub fn binary(em: &mut Emitter, site: &Site) -> Result<Vec<Option<String>>, RuleError> {
    let node = site.node;
    let g = site.grad()?.to_string();
    let (a, b, y) = (site.input(0), site.input(1), site.output());
    let mut out: Vec<Option<String>> = vec![None; node.inputs.len()];
    // The cotangent `d` of operand `i`, summed back to its shape.
    let mut back = |em: &mut Emitter, i: usize, d: String| -> Result<(), RuleError> {
        let (rx, ry) = ranks(em, site, i)?;
        out[i] = Some(em.unbroadcast(&d, site.input(i), Some(y), rx, ry));
        Ok(())
    };
    match node.op_type.as_str() {
        "Add" | "Sub" => {
            if site.is_active(0) {
                let d = em.op("Identity", &[&g], &[]);
                back(em, 0, d)?;
            }
            if site.is_active(1) {
                let d = if node.op_type == "Sub" {
                    em.neg(&g)
                } else {
                    em.op("Identity", &[&g], &[])
                };
                back(em, 1, d)?;
            }
        }
        "Mul" => {
            if site.is_active(0) {
                let d = em.mul(&g, b);
                back(em, 0, d)?;
            }
            if site.is_active(1) {
                let d = em.mul(&g, a);
                back(em, 1, d)?;
            }
        }
        "Div" => {
            if site.is_active(0) {
                let d = em.op("Div", &[&g, b], &[]);
                back(em, 0, d)?;
            }
            if site.is_active(1) {
                // d(a/b)/db = -y/b.
                let q = em.op("Div", &[y, b], &[]);
                let p = em.mul(&g, &q);
                let d = em.neg(&p);
                back(em, 1, d)?;
            }
        }
        "Pow" => {
            site.only_active(&[0], "the base (a constant exponent)")?;
            // d(a^p)/da = p a^(p-1), the exponent in the base's type.
            let bp = em.cast_like(b, a);
            let one = em.scalar(1.0, a);
            let pm1 = em.op("Sub", &[&bp, &one], &[]);
            let pw = em.op("Pow", &[a, &pm1], &[]);
            let d = em.mul(&pw, &bp);
            let d = em.mul(&g, &d);
            back(em, 0, d)?;
        }
        "PRelu" => {
            site.only_active(&[0], "the data input (a constant slope)")?;
            let m = positive(em, a);
            let scaled = em.mul(&g, b);
            out[0] = Some(select(em, &m, &g, Some(&scaled)));
        }
        "Clip" => {
            site.only_active(&[0], "the data input (constant bounds)")?;
            let bound = |em: &mut Emitter, i: usize, attr: &str| -> Option<String> {
                match node.inputs.get(i).filter(|n| !n.is_empty()) {
                    Some(n) => Some(n.clone()),
                    None => node
                        .attributes
                        .get(attr)
                        .map(|_| em.scalar(node.float(attr, 0.0) as f64, a)),
                }
            };
            let lo = bound(em, 1, "min");
            let hi = bound(em, 2, "max");
            let mut mask: Option<String> = None;
            for (bound, cmp) in [(lo, "GreaterOrEqual"), (hi, "LessOrEqual")] {
                if let Some(v) = bound {
                    let m = em.op(cmp, &[a, &v], &[]);
                    mask = Some(match mask {
                        Some(prev) => em.op("And", &[&prev, &m], &[]),
                        None => m,
                    });
                }
            }
            out[0] = Some(match mask {
                Some(m) => select(em, &m, &g, None),
                None => em.op("Identity", &[&g], &[]),
            });
        }
        "Where" => {
            site.only_active(&[1, 2], "the two branches (a constant condition)")?;
            let c = site.input(0);
            for i in [1usize, 2] {
                if site.is_active(i) {
                    let zero = em.scalar(0.0, &g);
                    let d = if i == 1 {
                        em.op("Where", &[c, &g, &zero], &[])
                    } else {
                        em.op("Where", &[c, &zero, &g], &[])
                    };
                    back(em, i, d)?;
                }
            }
        }
        "Expand" => {
            site.only_active(&[0], "the data input (a constant shape)")?;
            let d = em.op("Identity", &[&g], &[]);
            back(em, 0, d)?;
        }
        other => return Err(format!("no broadcasting rule for `{other}`")),
    }
    Ok(out)
}
