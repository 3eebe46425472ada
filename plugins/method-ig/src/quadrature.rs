//! Quadrature rules on `[0, 1]`, with Captum's names and points.
//!
//! `riemann_left`: `a_i = i/n`; `riemann_right`: `(i+1)/n`; `riemann_middle`: `(i+0.5)/n`;
//! all with weights `1/n`. `riemann_trapezoid`: `a_i = i/(n-1)` (Captum's points) with the
//! trapezoid rule's weights `1/(n-1)`, halved at both ends. Captum uses `1/n` there, so its
//! weights sum to `(n-1)/n` and a linear model misses completeness by `1/n`; we keep the
//! points and use the weights of the rule the name promises. `gausslegendre` (the default):
//! `numpy.polynomial.legendre.leggauss(n)` mapped from `[-1, 1]` to `[0, 1]`
//! (`a = (1+x)/2`, `w/2`), nodes ascending.

use serde::{Deserialize, Serialize};
use srlens_core::PluginError;
use srlens_plugin_kit::invalid_config;

/// A quadrature rule over `a in [0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quadrature {
    /// `a_i = i/n`, `w_i = 1/n`.
    RiemannLeft,
    /// `a_i = (i+1)/n`, `w_i = 1/n`.
    RiemannRight,
    /// `a_i = (i+0.5)/n`, `w_i = 1/n`.
    RiemannMiddle,
    /// `a_i = i/(n-1)`, `w_i = 1/(n-1)` halved at the ends (needs `n >= 2`).
    RiemannTrapezoid,
    /// Gauss-Legendre nodes and weights on `[0, 1]`.
    #[default]
    #[serde(rename = "gausslegendre")]
    GaussLegendre,
}

impl Quadrature {
    /// The name configs use.
    pub fn name(self) -> &'static str {
        match self {
            Quadrature::RiemannLeft => "riemann_left",
            Quadrature::RiemannRight => "riemann_right",
            Quadrature::RiemannMiddle => "riemann_middle",
            Quadrature::RiemannTrapezoid => "riemann_trapezoid",
            Quadrature::GaussLegendre => "gausslegendre",
        }
    }

    /// Checks that the rule has `n` points; `what` names the caller in errors.
    pub fn check(self, what: &str, n: usize) -> Result<(), PluginError> {
        if n == 0 {
            return Err(invalid_config(format!(
                "{what}: `steps` must be at least 1 (default 50), got 0"
            ))
            .with_key("steps"));
        }
        srlens_plugin_kit::limits::check_at_most(what, "steps", n)?;
        if self == Quadrature::RiemannTrapezoid && n < 2 {
            return Err(invalid_config(format!(
                "{what}: quadrature `riemann_trapezoid` needs `steps` >= 2, got {n}"
            ))
            .with_key("steps"));
        }
        Ok(())
    }

    /// Point `i` of `n` and its weight: `(a_i, w_i)`. Call [`Quadrature::check`] first.
    pub fn point(self, i: usize, n: usize) -> (f64, f64) {
        let nf = n as f64;
        match self {
            Quadrature::RiemannLeft => (i as f64 / nf, 1.0 / nf),
            Quadrature::RiemannRight => ((i + 1) as f64 / nf, 1.0 / nf),
            Quadrature::RiemannMiddle => ((i as f64 + 0.5) / nf, 1.0 / nf),
            Quadrature::RiemannTrapezoid => {
                let h = 1.0 / (nf - 1.0);
                let w = if i == 0 || i == n - 1 { h / 2.0 } else { h };
                (i as f64 * h, w)
            }
            Quadrature::GaussLegendre => {
                let (x, w) = gauss_legendre_node(n, i);
                ((1.0 + x) / 2.0, w / 2.0)
            }
        }
    }

    /// All `n` points and weights.
    pub fn rule(self, n: usize) -> (Vec<f64>, Vec<f64>) {
        (0..n).map(|i| self.point(i, n)).unzip()
    }
}

/// Node `i` (ascending, `0..n`) of the `n`-point Gauss-Legendre rule on `[-1, 1]` and its
/// weight: Newton's method on the Legendre polynomial `P_n` in `f64`, mirrored so the rule is
/// exactly symmetric. `O(n)` per Newton step, so a chunk of nodes costs `O(chunk * n)`.
pub fn gauss_legendre_node(n: usize, i: usize) -> (f64, f64) {
    assert!(n >= 1 && i < n, "node {i} of a {n}-point rule");
    if 2 * i + 1 == n {
        // The middle node of an odd rule is 0.
        let (_, dp) = legendre(n, 0.0);
        return (0.0, 2.0 / (dp * dp));
    }
    if 2 * i >= n {
        let (x, w) = gauss_legendre_node(n, n - 1 - i);
        return (-x, w);
    }
    // Lower half: root k = i+1 counted from -1 (Tricomi's initial guess, negated).
    let mut x = -(std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
    for _ in 0..100 {
        let (p, dp) = legendre(n, x);
        let dx = p / dp;
        x -= dx;
        if dx.abs() <= 1e-16 * x.abs().max(1e-3) {
            break;
        }
    }
    let (_, dp) = legendre(n, x);
    (x, 2.0 / ((1.0 - x * x) * dp * dp))
}

/// `(P_n(x), P_n'(x))` by the three-term recurrence.
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let (mut p0, mut p1) = (1.0f64, x);
    for j in 1..n {
        let p2 = ((2 * j + 1) as f64 * x * p1 - j as f64 * p0) / (j + 1) as f64;
        p0 = p1;
        p1 = p2;
    }
    if n == 0 {
        return (1.0, 0.0);
    }
    // P_n'(x) = n (x P_n - P_{n-1}) / (x^2 - 1)
    let dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
    (p1, dp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn rule11(n: usize) -> Vec<(f64, f64)> {
        (0..n).map(|i| gauss_legendre_node(n, i)).collect()
    }

    #[test]
    fn gauss_legendre_matches_closed_forms() {
        let s = |v: f64| v.sqrt();
        let expected: Vec<Vec<(f64, f64)>> = vec![
            vec![(0.0, 2.0)],
            vec![(-1.0 / s(3.0), 1.0), (1.0 / s(3.0), 1.0)],
            vec![(-s(0.6), 5.0 / 9.0), (0.0, 8.0 / 9.0), (s(0.6), 5.0 / 9.0)],
            {
                let a = s(3.0 / 7.0 - 2.0 / 7.0 * s(6.0 / 5.0));
                let b = s(3.0 / 7.0 + 2.0 / 7.0 * s(6.0 / 5.0));
                let wa = (18.0 + s(30.0)) / 36.0;
                let wb = (18.0 - s(30.0)) / 36.0;
                vec![(-b, wb), (-a, wa), (a, wa), (b, wb)]
            },
            {
                let a = s(5.0 - 2.0 * s(10.0 / 7.0)) / 3.0;
                let b = s(5.0 + 2.0 * s(10.0 / 7.0)) / 3.0;
                let wa = (322.0 + 13.0 * s(70.0)) / 900.0;
                let wb = (322.0 - 13.0 * s(70.0)) / 900.0;
                vec![(-b, wb), (-a, wa), (0.0, 128.0 / 225.0), (a, wa), (b, wb)]
            },
        ];
        for (k, exp) in expected.iter().enumerate() {
            let got = rule11(k + 1);
            for ((x, w), (ex, ew)) in got.iter().zip(exp) {
                assert!(close(*x, *ex, 1e-15), "n={} x={x} vs {ex}", k + 1);
                assert!(close(*w, *ew, 1e-14), "n={} w={w} vs {ew}", k + 1);
            }
        }
    }

    #[test]
    fn gauss_legendre_integrates_degree_2n_minus_1_exactly() {
        for n in 1..=40usize {
            let (a, w) = Quadrature::GaussLegendre.rule(n);
            for deg in 0..2 * n {
                let got: f64 = a.iter().zip(&w).map(|(a, w)| w * a.powi(deg as i32)).sum();
                let exact = 1.0 / (deg as f64 + 1.0);
                assert!(
                    close(got, exact, 1e-13),
                    "n={n} deg={deg}: {got} vs {exact}"
                );
            }
        }
        // Degree 2n is not exact, and misses by the textbook error term on [0, 1]:
        // (n!)^4 / ((2n+1) ((2n)!)^2) for f = x^(2n), f^(2n) = (2n)!.
        for n in 1..=7usize {
            let (a, w) = Quadrature::GaussLegendre.rule(n);
            let deg = 2 * n;
            let got: f64 = a.iter().zip(&w).map(|(a, w)| w * a.powi(deg as i32)).sum();
            let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
            let term = fact(n).powi(4) / ((2 * n + 1) as f64 * fact(2 * n).powi(2));
            let miss = 1.0 / (deg as f64 + 1.0) - got;
            assert!((miss - term).abs() < 1e-5 * term, "n={n}: {miss} vs {term}");
        }
    }

    #[test]
    fn gauss_legendre_large_rules_are_sorted_and_sum_to_one() {
        for n in [50usize, 128, 501, 1000] {
            let (a, w) = Quadrature::GaussLegendre.rule(n);
            assert!(a.windows(2).all(|p| p[0] < p[1]), "n={n}");
            assert!(a[0] > 0.0 && a[n - 1] < 1.0);
            assert!(close(w.iter().sum::<f64>(), 1.0, 1e-13), "n={n}");
            assert!(w.iter().all(|&w| w > 0.0));
            // Integrates x^(2k) for some k well below 2n exactly too.
            let got: f64 = a.iter().zip(&w).map(|(a, w)| w * a.powi(20)).sum();
            assert!(close(got, 1.0 / 21.0, 1e-13));
        }
    }

    /// Captum's `torch.linspace(start, end, n)`, written independently of [`Quadrature`]:
    /// `n` evenly spaced values from `start` to `end` inclusive (`[start]` for `n = 1`).
    fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
        if n == 1 {
            return vec![start];
        }
        (0..n)
            .map(|i| start + (end - start) * i as f64 / (n - 1) as f64)
            .collect()
    }

    /// The points and weights of every rule as Captum's `approximation_parameters` defines
    /// them (`captum/attr/_utils/approximation_methods.py`), with the trapezoid weights of the
    /// true trapezoid rule on Captum's points (see the module docs): `(rule, points, weights)`.
    fn captum_rules(n: usize) -> Vec<(Quadrature, Vec<f64>, Vec<f64>)> {
        let nf = n as f64;
        let mut trapezoid_w = vec![1.0 / (nf - 1.0); n];
        trapezoid_w[0] /= 2.0;
        trapezoid_w[n - 1] /= 2.0;
        // Gauss-Legendre: the moment equations sum_i w_i a_i^k = 1/(k+1), k < 2n, fix the
        // rule; its nodes are the roots of the shifted Legendre polynomial, found here by
        // bisection on the explicit sum P_n(2a-1) = sum_k C(n,k) C(n+k,k) (-1)^(n+k) a^k and
        // weighted by w = 1 / (a (1-a) P_n'(2a-1)^2) (both on [0, 1]).
        let (gl_a, gl_w) = shifted_legendre_rule(n);
        vec![
            (
                Quadrature::RiemannLeft,
                linspace(0.0, 1.0 - 1.0 / nf, n),
                vec![1.0 / nf; n],
            ),
            (
                Quadrature::RiemannRight,
                linspace(1.0 / nf, 1.0, n),
                vec![1.0 / nf; n],
            ),
            (
                Quadrature::RiemannMiddle,
                linspace(1.0 / (2.0 * nf), 1.0 - 1.0 / (2.0 * nf), n),
                vec![1.0 / nf; n],
            ),
            (
                Quadrature::RiemannTrapezoid,
                linspace(0.0, 1.0, n),
                trapezoid_w,
            ),
            (Quadrature::GaussLegendre, gl_a, gl_w),
        ]
    }

    /// The shifted Legendre polynomial `P~_n(a) = P_n(2a - 1)` and its derivative in `a`, from
    /// the explicit sum (not the three-term recurrence the code under test uses).
    fn shifted_legendre(n: usize, a: f64) -> (f64, f64) {
        let binom = |n: usize, k: usize| -> f64 {
            (0..k).fold(1.0, |acc, j| acc * (n - j) as f64 / (j + 1) as f64)
        };
        let (mut p, mut dp) = (0.0, 0.0);
        for k in 0..=n {
            let c =
                binom(n, k) * binom(n + k, k) * if (n + k).is_multiple_of(2) { 1.0 } else { -1.0 };
            p += c * a.powi(k as i32);
            if k > 0 {
                dp += c * k as f64 * a.powi(k as i32 - 1);
            }
        }
        (p, dp)
    }

    /// The `n`-point Gauss-Legendre rule on `[0, 1]` by bisection (small `n` only: the
    /// explicit sum loses precision fast).
    fn shifted_legendre_rule(n: usize) -> (Vec<f64>, Vec<f64>) {
        // Sign changes on a fine grid bracket the n roots.
        let grid = 20_000;
        let mut roots = vec![];
        for g in 0..grid {
            let (mut lo, mut hi) = (g as f64 / grid as f64, (g + 1) as f64 / grid as f64);
            let (flo, fhi) = (shifted_legendre(n, lo).0, shifted_legendre(n, hi).0);
            if flo == 0.0 {
                roots.push(lo);
                continue;
            }
            if flo * fhi >= 0.0 {
                continue;
            }
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if shifted_legendre(n, mid).0 * shifted_legendre(n, lo).0 <= 0.0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            roots.push(0.5 * (lo + hi));
        }
        assert_eq!(roots.len(), n, "bracketed every root of P~_{n}");
        let weights = roots
            .iter()
            .map(|&a| {
                let dp = shifted_legendre(n, a).1;
                1.0 / (a * (1.0 - a) * dp * dp)
            })
            .collect();
        (roots, weights)
    }

    #[test]
    fn every_rule_has_captums_points_and_weights() {
        for n in [2usize, 3, 4, 5, 7, 8] {
            for (q, points, weights) in captum_rules(n) {
                let (a, w) = q.rule(n);
                assert_eq!(a.len(), n, "{} n={n}", q.name());
                for i in 0..n {
                    assert!(
                        close(a[i], points[i], 1e-12),
                        "{} n={n} point {i}: {} vs {}",
                        q.name(),
                        a[i],
                        points[i]
                    );
                    assert!(
                        close(w[i], weights[i], 1e-12),
                        "{} n={n} weight {i}: {} vs {}",
                        q.name(),
                        w[i],
                        weights[i]
                    );
                }
            }
        }
    }

    /// The rule's approximation of the integral of `exp` on `[0, 1]`.
    fn exp_sum(q: Quadrature, n: usize) -> f64 {
        let (a, w) = q.rule(n);
        a.iter().zip(&w).map(|(a, w)| w * a.exp()).sum()
    }

    #[test]
    fn every_rule_integrates_exp_as_its_closed_form_says() {
        // The integral of exp on [0, 1] is e - 1. Each Riemann sum of exp is a geometric
        // series with a closed form; with h the spacing and r = e^h:
        //   left:      h (e - 1) / (r - 1)            (h = 1/n)
        //   right:     r * left
        //   middle:    sqrt(r) * left
        //   trapezoid: h ((r e - 1)/(r - 1) - (1 + e)/2)   (h = 1/(n-1))
        // and Gauss-Legendre misses by (n!)^4 / ((2n+1) ((2n)!)^3) exp(xi), xi in [0, 1].
        let e = std::f64::consts::E;
        let exact = e - 1.0;
        let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
        for n in [2usize, 3, 5, 10, 50] {
            let h = 1.0 / n as f64;
            let r = h.exp();
            let left = h * (e - 1.0) / (r - 1.0);
            let tol = 1e-13;
            let got = exp_sum(Quadrature::RiemannLeft, n);
            assert!(close(got, left, tol), "left n={n}: {got} vs {left}");
            let got = exp_sum(Quadrature::RiemannRight, n);
            assert!(
                close(got, r * left, tol),
                "right n={n}: {got} vs {}",
                r * left
            );
            let got = exp_sum(Quadrature::RiemannMiddle, n);
            let middle = r.sqrt() * left;
            assert!(close(got, middle, tol), "middle n={n}: {got} vs {middle}");
            // The middle rule beats both one-sided rules and undershoots exp (convex).
            assert!(middle < exact && exact - middle < (left - exact).abs());
            let ht = 1.0 / (n - 1) as f64;
            let rt = ht.exp();
            let trapezoid = ht * ((rt * e - 1.0) / (rt - 1.0) - (1.0 + e) / 2.0);
            let got = exp_sum(Quadrature::RiemannTrapezoid, n);
            assert!(
                close(got, trapezoid, tol),
                "trapezoid n={n}: {got} vs {trapezoid}"
            );
            // Trapezoid overshoots a convex function.
            assert!(trapezoid > exact);
            if n <= 5 {
                let term = fact(n).powi(4) / ((2 * n + 1) as f64 * fact(2 * n).powi(3));
                let miss = exact - exp_sum(Quadrature::GaussLegendre, n);
                assert!(
                    miss >= term * (1.0 - 1e-6) && miss <= term * e * (1.0 + 1e-6),
                    "gausslegendre n={n}: misses by {miss}, expected in [{term}, {}]",
                    term * e
                );
            }
        }
    }

    #[test]
    fn every_rule_with_weights_summing_to_one_is_exact_for_linear_functions() {
        // int_0^1 (3a + 1) da = 2.5: exact for middle, trapezoid and Gauss-Legendre; left
        // misses by -3/(2n), right by +3/(2n).
        for n in [2usize, 4, 9] {
            let lin = |q: Quadrature| {
                let (a, w) = q.rule(n);
                a.iter()
                    .zip(&w)
                    .map(|(a, w)| w * (3.0 * a + 1.0))
                    .sum::<f64>()
            };
            let d = 3.0 / (2.0 * n as f64);
            assert!(close(lin(Quadrature::RiemannLeft), 2.5 - d, 1e-13));
            assert!(close(lin(Quadrature::RiemannRight), 2.5 + d, 1e-13));
            for q in [
                Quadrature::RiemannMiddle,
                Quadrature::RiemannTrapezoid,
                Quadrature::GaussLegendre,
            ] {
                assert!(close(lin(q), 2.5, 1e-13), "{} n={n}: {}", q.name(), lin(q));
            }
        }
    }

    #[test]
    fn bad_sizes_are_errors() {
        let e = Quadrature::RiemannTrapezoid
            .check("method `ig`", 1)
            .unwrap_err();
        assert_eq!(
            e.message.as_str(),
            "method `ig`: quadrature `riemann_trapezoid` needs `steps` >= 2, got 1"
        );
        assert!(Quadrature::GaussLegendre.check("m", 0).is_err());
        assert!(Quadrature::RiemannLeft.check("m", 1).is_ok());
    }
}
