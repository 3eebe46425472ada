//! How numbers read on the page: about 4 significant digits, percentages, placeholders.

/// Shown where a value is unknown.
pub(crate) const NONE: &str = "–";

/// A number with about 4 significant digits (scientific outside `[1e-3, 1e5)`).
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

/// A ratio as a percentage, `0.25` -> `25.00%`.
pub(crate) fn pct(r: f64) -> String {
    if r.is_finite() {
        format!("{}%", num(r * 100.0))
    } else {
        num(r)
    }
}

/// [`num`] of a value that may be unknown ([`NONE`]).
pub(crate) fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| NONE.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_readable() {
        assert_eq!(num(12.5), "12.50");
        assert_eq!(num(0.875), "0.8750");
        assert_eq!(num(1234.5), "1234");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(2.5e-5), "2.500e-5");
        assert_eq!(num(f64::INFINITY), "∞");
        assert_eq!(pct(0.25), "25.00%");
        assert_eq!(opt(None), "–");
    }
}
