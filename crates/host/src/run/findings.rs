//! Degenerate results are findings, not maps: what the host can tell from a map's numbers
//! and its objective values (a window whose objective is zero, a path whose baseline is the
//! input, a map that is zero or near zero against the objective's scale).

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
    let l1: f64 = a.map.data.iter().map(|&v| (v as f64).abs()).sum();
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
    if l1 == 0.0 || l1 <= NEAR_ZERO * scale {
        f.degenerate = true;
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
    fn a_near_zero_map_is_degenerate_with_its_numbers() {
        let f = inspect(&attribution(vec![1e-9, 0.0, -1e-9], 5.0, None));
        assert!(f.degenerate);
        assert!(f.warnings[0].contains("near zero"), "{:?}", f.warnings);
        // Just above the threshold, the map is a map.
        let f = inspect(&attribution(vec![1e-5, 0.0, 0.0], 5.0, None));
        assert_eq!(f, Findings::default());
    }
}
