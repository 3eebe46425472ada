//! An independent float64 evaluation of the attribution spec for [`TinyNet`]: forward pass,
//! gradient-energy objective, blur path, and the input gradient by fourth-order central
//! finite differences.

use srlens_test_support::blur64::{blur64, kernel64, path_kernels64};

use super::{TinyNet, HIDDEN};

fn conv3x3(x: &[f64], cin: usize, h: usize, w: usize, wt: &[f64], b: &[f64]) -> Vec<f64> {
    let cout = b.len();
    let mut y = vec![0.0; cout * h * w];
    for o in 0..cout {
        for i in 0..h {
            for j in 0..w {
                let mut acc = b[o];
                for c in 0..cin {
                    for u in 0..3 {
                        for v in 0..3 {
                            let (ii, jj) = (i as i64 + u as i64 - 1, j as i64 + v as i64 - 1);
                            if ii < 0 || jj < 0 || ii >= h as i64 || jj >= w as i64 {
                                continue;
                            }
                            acc += wt[((o * cin + c) * 3 + u) * 3 + v]
                                * x[(c * h + ii as usize) * w + jj as usize];
                        }
                    }
                }
                y[(o * h + i) * w + j] = acc;
            }
        }
    }
    y
}

impl TinyNet {
    /// The SR output `3 x 2h x 2w` of an LR image `3 x h x w`, in f64.
    pub fn forward64(&self, x: &[f64], h: usize, w: usize) -> Vec<f64> {
        let mut a = conv3x3(x, 3, h, w, &self.w1, &self.b1);
        a.iter_mut().for_each(|v| *v = v.max(0.0));
        let z = conv3x3(&a, HIDDEN, h, w, &self.w2, &self.b2);
        let (sh, sw) = (2 * h, 2 * w);
        let mut y = vec![0.0; 3 * sh * sw];
        for c in 0..3 {
            for i in 0..sh {
                for j in 0..sw {
                    y[(c * sh + i) * sw + j] = if self.nearest {
                        z[(c * h + i / 2) * w + j / 2]
                    } else {
                        // DepthToSpace DCR: channel (di * 2 + dj) * 3 + c.
                        let k = ((i % 2) * 2 + j % 2) * 3 + c;
                        z[(k * h + i / 2) * w + j / 2]
                    };
                }
            }
        }
        y
    }
}

/// The gradient energy of `y` (`3 x sh x sw`) in the window, per the spec.
pub fn gradient_energy(y: &[f64], sh: usize, sw: usize, x0: usize, y0: usize, size: usize) -> f64 {
    let mut d = 0.0;
    for c in 0..3 {
        for i in y0..(y0 + size).min(sh - 1) {
            for j in x0..(x0 + size).min(sw - 1) {
                let at = (c * sh + i) * sw + j;
                let dv = y[at] - y[at + sw];
                let dh = y[at] - y[at + 1];
                d += (dv * dv + dh * dh).sqrt();
            }
        }
    }
    d
}

/// `dD/dx` at `x` by fourth-order central differences with step `eps`
/// (`(-f(x+2e) + 8 f(x+e) - 8 f(x-e) + f(x-2e)) / 12e`): with `eps = 1e-4` the truncation
/// error is about `1e-16` times the fifth derivative, the rounding error about `1e-12 |f|`.
pub fn fd_gradient(f: &dyn Fn(&[f64]) -> f64, x: &[f64], eps: f64) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    let mut p = x.to_vec();
    for k in 0..x.len() {
        let mut at = |d: f64| {
            p[k] = x[k] + d;
            f(&p)
        };
        let (f2, f1, m1, m2) = (at(2.0 * eps), at(eps), at(-eps), at(-2.0 * eps));
        p[k] = x[k];
        g[k] = (-f2 + 8.0 * f1 - 8.0 * m1 + m2) / (12.0 * eps);
    }
    g
}

/// LAM (spec) in f64 for `net` at `x` (`3 x h x w`), the window, `sigma`, `steps`, `l`.
/// Returns the map, D(x) and D(baseline).
#[allow(clippy::too_many_arguments)]
pub fn lam64(
    net: &TinyNet,
    x: &[f64],
    h: usize,
    w: usize,
    win: (usize, usize, usize),
    sigma: f64,
    steps: usize,
    l: usize,
) -> (Vec<f64>, f64, f64) {
    let objective =
        |p: &[f64]| gradient_energy(&net.forward64(p, h, w), 2 * h, 2 * w, win.0, win.1, win.2);
    let mut map = vec![0.0; x.len()];
    for i in 0..steps {
        let (k1, dk) = path_kernels64(sigma, l, i, steps);
        let p = blur64(x, 3, h, w, &k1);
        let d = blur64(x, 3, h, w, &dk);
        let g = fd_gradient(&objective, &p, 1e-4);
        for k in 0..x.len() {
            map[k] += g[k] * d[k] / steps as f64;
        }
    }
    let baseline = blur64(x, 3, h, w, &kernel64(sigma, l));
    (map, objective(x), objective(&baseline))
}

/// The adjoint of [`conv3x3`] with respect to its input: `dL/dx` from `dL/dy` (`cout x h x w`).
fn conv3x3_adjoint(gy: &[f64], cin: usize, h: usize, w: usize, wt: &[f64]) -> Vec<f64> {
    let cout = gy.len() / (h * w);
    let mut gx = vec![0.0; cin * h * w];
    for o in 0..cout {
        for i in 0..h {
            for j in 0..w {
                let g = gy[(o * h + i) * w + j];
                for c in 0..cin {
                    for u in 0..3 {
                        for v in 0..3 {
                            let (ii, jj) = (i as i64 + u as i64 - 1, j as i64 + v as i64 - 1);
                            if ii < 0 || jj < 0 || ii >= h as i64 || jj >= w as i64 {
                                continue;
                            }
                            gx[(c * h + ii as usize) * w + jj as usize] +=
                                wt[((o * cin + c) * 3 + u) * 3 + v] * g;
                        }
                    }
                }
            }
        }
    }
    gx
}

/// `dD/dx` of the gradient energy in the window `win` at `x` (`3 x h x w`) by reverse-mode
/// differentiation of [`TinyNet::forward64`] in f64, exact wherever the network is
/// differentiable (no ReLU input and no window difference exactly zero; there the zero
/// subgradient). Finite differences are not: ReLU kinks lie within their step of many path
/// points.
pub fn gradient64(
    net: &TinyNet,
    x: &[f64],
    h: usize,
    w: usize,
    win: (usize, usize, usize),
) -> Vec<f64> {
    let z1 = conv3x3(x, 3, h, w, &net.w1, &net.b1);
    let a: Vec<f64> = z1.iter().map(|v| v.max(0.0)).collect();
    let z2 = conv3x3(&a, HIDDEN, h, w, &net.w2, &net.b2);
    let y = net.forward64(x, h, w);
    let (sh, sw) = (2 * h, 2 * w);
    let (x0, y0, size) = win;
    let mut gy = vec![0.0; y.len()];
    for c in 0..3 {
        for i in y0..(y0 + size).min(sh - 1) {
            for j in x0..(x0 + size).min(sw - 1) {
                let at = (c * sh + i) * sw + j;
                let (dv, dh) = (y[at] - y[at + sw], y[at] - y[at + 1]);
                let s = (dv * dv + dh * dh).sqrt();
                if s > 0.0 {
                    gy[at] += (dv + dh) / s;
                    gy[at + sw] -= dv / s;
                    gy[at + 1] -= dh / s;
                }
            }
        }
    }
    let mut gz2 = vec![0.0; z2.len()];
    for c in 0..3 {
        for i in 0..sh {
            for j in 0..sw {
                let k = if net.nearest {
                    c
                } else {
                    ((i % 2) * 2 + j % 2) * 3 + c
                };
                gz2[(k * h + i / 2) * w + j / 2] += gy[(c * sh + i) * sw + j];
            }
        }
    }
    let mut gz1 = conv3x3_adjoint(&gz2, HIDDEN, h, w, &net.w2);
    for (g, z) in gz1.iter_mut().zip(&z1) {
        if *z <= 0.0 {
            *g = 0.0;
        }
    }
    conv3x3_adjoint(&gz1, 3, h, w, &net.w1)
}

/// Integrated Gradients (spec) in f64 for `net` at `x` (`3 x h x w`) from the baseline `b`,
/// with the quadrature `rule` (points `a_i` in `[0, 1]` and weights `w_i`):
/// `A = (x - b) * sum_i w_i dD/dp (b + a_i (x - b))`, the gradients by [`gradient64`].
/// Returns the map, D(x) and D(b).
pub fn ig64(
    net: &TinyNet,
    x: &[f64],
    b: &[f64],
    (h, w): (usize, usize),
    win: (usize, usize, usize),
    rule: &[(f64, f64)],
) -> (Vec<f64>, f64, f64) {
    let objective =
        |p: &[f64]| gradient_energy(&net.forward64(p, h, w), 2 * h, 2 * w, win.0, win.1, win.2);
    let mut map = vec![0.0; x.len()];
    for &(a, wt) in rule {
        let p: Vec<f64> = x.iter().zip(b).map(|(x, b)| b + a * (x - b)).collect();
        let g = gradient64(net, &p, h, w, win);
        for k in 0..x.len() {
            map[k] += wt * g[k] * (x[k] - b[k]);
        }
    }
    (map, objective(x), objective(b))
}

/// SmoothGrad and its variants (spec) over the plain gradient in f64 for `net`, from
/// `dD/dx` ([`gradient64`]) at `x + e` for each noise image `e` of `noises`: their mean
/// (`smoothgrad`), the mean of their squares (`smoothgrad_sq`) and their population variance
/// (`vargrad`), each summed directly.
pub fn smoothgrad64(
    net: &TinyNet,
    x: &[f64],
    (h, w): (usize, usize),
    win: (usize, usize, usize),
    noises: &[Vec<f64>],
) -> [Vec<f64>; 3] {
    let n = noises.len() as f64;
    let grads: Vec<Vec<f64>> = noises
        .iter()
        .map(|e| {
            let p: Vec<f64> = x.iter().zip(e).map(|(x, e)| x + e).collect();
            gradient64(net, &p, h, w, win)
        })
        .collect();
    let mean: Vec<f64> = (0..x.len())
        .map(|k| grads.iter().map(|g| g[k]).sum::<f64>() / n)
        .collect();
    let squares = (0..x.len())
        .map(|k| grads.iter().map(|g| g[k] * g[k]).sum::<f64>() / n)
        .collect();
    let variance = (0..x.len())
        .map(|k| grads.iter().map(|g| (g[k] - mean[k]).powi(2)).sum::<f64>() / n)
        .collect();
    [mean, squares, variance]
}
