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
            )));
        }
        if self == Quadrature::RiemannTrapezoid && n < 2 {
            return Err(invalid_config(format!(
                "{what}: quadrature `riemann_trapezoid` needs `steps` >= 2, got {n}"
            )));
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

    #[test]
    fn riemann_rules_match_captum_points() {
        let n = 4;
        assert_eq!(
            Quadrature::RiemannLeft.rule(n).0,
            vec![0.0, 0.25, 0.5, 0.75]
        );
        assert_eq!(
            Quadrature::RiemannRight.rule(n).0,
            vec![0.25, 0.5, 0.75, 1.0]
        );
        assert_eq!(
            Quadrature::RiemannMiddle.rule(n).0,
            vec![0.125, 0.375, 0.625, 0.875]
        );
        let (a, w) = Quadrature::RiemannTrapezoid.rule(n);
        let t = 1.0 / 3.0;
        assert_eq!(a, vec![0.0, t, 2.0 * t, 1.0]);
        assert_eq!(w, vec![t / 2.0, t, t, t / 2.0]);
        for q in [
            Quadrature::RiemannLeft,
            Quadrature::RiemannRight,
            Quadrature::RiemannMiddle,
        ] {
            assert_eq!(q.rule(n).1, vec![0.25; 4]);
        }
    }

    #[test]
    fn trapezoid_and_middle_are_exact_for_linear_and_close_for_smooth() {
        // exp on [0, 1]: trapezoid error (b-a) h^2 f''/12, middle half of it.
        let exact = std::f64::consts::E - 1.0;
        for n in [10usize, 100] {
            let (a, w) = Quadrature::RiemannTrapezoid.rule(n);
            let t: f64 = a.iter().zip(&w).map(|(a, w)| w * a.exp()).sum();
            let h = 1.0 / (n - 1) as f64;
            assert!((t - exact).abs() < h * h * std::f64::consts::E / 12.0 + 1e-15);
            assert!((t - exact).abs() > h * h / 12.0 * 0.9);
            let (a, w) = Quadrature::RiemannTrapezoid.rule(n);
            let lin: f64 = a.iter().zip(&w).map(|(a, w)| w * (3.0 * a + 1.0)).sum();
            assert!(close(lin, 2.5, 1e-14));
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
