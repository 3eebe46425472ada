//! Degenerate results are findings, not maps: what the host can tell from a map's numbers
//! and its objective values (a window whose objective is zero, a path whose baseline is the
//! input, a map that is zero or near zero against the objective's scale, values that are NaN
//! or infinite). A blank picture never goes out without its cause.

use srlens_core::Attribution;

/// A map's L1 norm at most this fraction of the objective's scale counts as zero (float32
/// rounding of a map that should be zero is far below it; a real map is far above it).
pub const NEAR_ZERO: f64 = 1e-6;

/// What the host found about one map.
#[derive(Debug, Default, PartialEq)]
pub struct Findings {
    /// The map describes nothing: its DI is undefined.
    pub degenerate: bool,
    /// What to tell the user, most important first.
    pub warnings: Vec<String>,
}

/// Inspects a method's map and objective values.
pub fn inspect(a: &Attribution) -> Findings {
    let input = a.objective_input;
    let baseline: Option<f64> = a.objective_baseline.into_option();
    let non_finite = a.map.data.iter().filter(|v| !v.is_finite()).count();
    let l1: f64 = a
        .map
        .data
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| (v as f64).abs())
        .sum();
    let scale = input.abs().max(baseline.map_or(0.0, f64::abs));
    let mut f = Findings::default();
    if scale == 0.0 {
        f.warnings.push(format!(
            "The objective is 0 on this window (D(input) = {input}{}): the window is flat (the \
             gradient objective) or black (intensity), so there is nothing for the map to \
             explain. Choose a window with structure.",
            baseline.map_or(String::new(), |b| format!(", D(baseline) = {b}"))
        ));
    } else if let Some(b) = baseline {
        if (input - b).abs() <= NEAR_ZERO * scale {
            f.warnings.push(format!(
                "The baseline's objective equals the input's (D(input) = {input:.6e}, \
                 D(baseline) = {b:.6e}): the path has no length (a blur of kernel 1 or sigma \
                 0, or a baseline equal to the input), so the map is zero by construction."
            ));
        }
    }
    if non_finite > 0 {
        f.degenerate = true;
        f.warnings.push(format!(
            "{non_finite} of the map's {} values are NaN or infinite: the model's forward or \
             gradient pass produced them (a division by zero, a square root or logarithm of 0, \
             an overflow), so the map's figures are undefined. The objective was {input}.",
            a.map.data.len()
        ));
        return f;
    }
    if l1 == 0.0 || l1 <= NEAR_ZERO * scale {
        f.degenerate = true;
        if l1 == 0.0 && scale != 0.0 && f.warnings.is_empty() {
            f.warnings.push(format!(
                "The map is exactly zero although the objective is not (D(input) = \
                 {input:.6e}): its gradient with respect to the input vanished at every path \
                 point, so the window's output did not depend on the input there (a dead \
                 activation, an output clamped at its range, a branch that ignores the input)."
            ));
        }
        if l1 != 0.0 {
            f.warnings.push(format!(
                "The map is near zero: sum |A| = {l1:.3e} against an objective of {scale:.3e} \
                 (below {NEAR_ZERO:e} of it), so its DI is undefined."
            ));
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::{ROption, RString, RVec};
    use srlens_core::Tensor;

    fn attribution(map: Vec<f32>, input: f64, baseline: Option<f64>) -> Attribution {
        Attribution {
            map: Tensor::new(vec![1, 1, map.len()], map).unwrap(),
            objective_input: input,
            objective_baseline: ROption::from(baseline),
            parameters: RString::from("{}"),
            warnings: RVec::new(),
        }
    }

    #[test]
    fn a_real_map_has_no_findings() {
        let f = inspect(&attribution(vec![0.1, -0.3, 0.2], 1.0, Some(0.4)));
        assert_eq!(f, Findings::default());
    }

    #[test]
    fn a_zero_objective_is_a_warning_and_its_zero_map_degenerate() {
        let f = inspect(&attribution(vec![0.0; 3], 0.0, None));
        assert!(f.degenerate);
        assert!(f.warnings[0].contains("objective is 0"), "{:?}", f.warnings);
    }

    #[test]
    fn a_baseline_equal_to_the_input_is_named() {
        let f = inspect(&attribution(vec![0.0; 3], 0.7, Some(0.7)));
        assert!(f.degenerate);
        assert!(
            f.warnings[0].contains("path has no length"),
            "{:?}",
            f.warnings
        );
    }

    #[test]
    fn a_map_with_nan_or_infinity_is_degenerate_with_the_count() {
        let f = inspect(&attribution(
            vec![f32::NAN, 0.5, f32::INFINITY],
            2.0,
            Some(1.0),
        ));
        assert!(f.degenerate);
        assert!(f.warnings[0].starts_with("2 of the map's 3 values are NaN or infinite"));
    }

    #[test]
    fn an_exactly_zero_map_of_a_live_objective_says_the_gradient_vanished() {
        let f = inspect(&attribution(vec![0.0; 3], 2.0, Some(1.0)));
        assert!(f.degenerate);
        assert!(f.warnings[0].contains("vanished"), "{:?}", f.warnings);
    }

    #[test]
    fn a_near_zero_map_is_degenerate_with_its_numbers() {
        let f = inspect(&attribution(vec![1e-9, 0.0, -1e-9], 5.0, None));
        assert!(f.degenerate);
        assert!(f.warnings[0].contains("near zero"), "{:?}", f.warnings);
        // Just above the threshold, the map is a map.
        let f = inspect(&attribution(vec![1e-5, 0.0, 0.0], 5.0, None));
        assert_eq!(f, Findings::default());
    }
}
