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
