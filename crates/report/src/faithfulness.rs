//! Deletion and insertion curves of a map (LPI's and RISE's faithfulness test): the objective
//! as the LR pixels are replaced by the path's baseline in order of attribution, most
//! important first (deletion), or put back into the baseline in that order (insertion),
//! each against the same curve in a random order. A faithful map deletes faster (a smaller
//! deletion area) and inserts faster (a larger insertion area) than the random order.

use serde::{Deserialize, Serialize};

/// The curves of one map and their areas.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faithfulness {
    /// What the pixels are replaced by: the baseline of the path the method used, or the
    /// default blur path's when the method used none.
    pub baseline: String,
    /// The fractions moved, `0, 1/n, ..., 1`, of [`Faithfulness::pixels`].
    pub fractions: Vec<f64>,
    /// How many LR pixels the curves move: those that can reach the window (the receptive
    /// field's box; the whole image when the backend does not bound it).
    #[serde(default)]
    pub pixels: usize,
    /// The objective after deleting each fraction, most attributed pixels first.
    pub deletion: Vec<f64>,
    /// The objective after inserting each fraction into the baseline, most attributed first.
    pub insertion: Vec<f64>,
    /// [`Faithfulness::deletion`] in a random order of the pixels (seeded).
    pub random_deletion: Vec<f64>,
    /// [`Faithfulness::insertion`] in the same random order.
    pub random_insertion: Vec<f64>,
    /// The area under the deletion curve (trapezoid rule over the fractions): smaller is
    /// more faithful.
    pub deletion_area: f64,
    /// The area under the insertion curve: larger is more faithful.
    pub insertion_area: f64,
    /// The area under the random-order deletion curve.
    pub random_deletion_area: f64,
    /// The area under the random-order insertion curve.
    pub random_insertion_area: f64,
    /// The seed of the random order.
    pub seed: u64,
}

/// The area under a curve (trapezoid rule over the fractions).
pub fn area(fractions: &[f64], values: &[f64]) -> f64 {
    fractions
        .windows(2)
        .zip(values.windows(2))
        .map(|(f, v)| (f[1] - f[0]) * (v[0] + v[1]) / 2.0)
        .sum()
}

impl Faithfulness {
    /// The record of the four curves at `fractions` of `pixels` pixels, with their areas.
    pub fn new(
        baseline: String,
        pixels: usize,
        fractions: Vec<f64>,
        [deletion, insertion, random_deletion, random_insertion]: [Vec<f64>; 4],
        seed: u64,
    ) -> Self {
        let a = |v: &[f64]| area(&fractions, v);
        Faithfulness {
            deletion_area: a(&deletion),
            insertion_area: a(&insertion),
            random_deletion_area: a(&random_deletion),
            random_insertion_area: a(&random_insertion),
            baseline,
            pixels,
            fractions,
            deletion,
            insertion,
            random_deletion,
            random_insertion,
            seed,
        }
    }

    /// The deletion area over the random order's (below 1: the map finds the pixels that
    /// matter faster than chance); none when the random area is zero.
    pub fn deletion_ratio(&self) -> Option<f64> {
        (self.random_deletion_area != 0.0).then(|| self.deletion_area / self.random_deletion_area)
    }

    /// The insertion area over the random order's (above 1 is better than chance).
    pub fn insertion_ratio(&self) -> Option<f64> {
        (self.random_insertion_area != 0.0)
            .then(|| self.insertion_area / self.random_insertion_area)
    }

    /// The four curves as an SVG line plot.
    pub fn plot(&self) -> String {
        let pts = |v: &[f64]| -> Vec<(f64, f64)> {
            self.fractions
                .iter()
                .copied()
                .zip(v.iter().copied())
                .collect()
        };
        crate::plot::line_plot(
            &crate::plot::LinePlot {
                caption: "Deletion and insertion",
                x_desc: "fraction of the LR pixels that reach the window",
                y_desc: "objective",
                size: (420, 280),
                y_range: None,
                legend: plotters::prelude::SeriesLabelPosition::MiddleRight,
            },
            &[
                crate::plot::Curve::new("deletion", pts(&self.deletion), 0, false),
                crate::plot::Curve::new("insertion", pts(&self.insertion), 1, false),
                crate::plot::Curve::new("deletion, random", pts(&self.random_deletion), 0, true),
                crate::plot::Curve::new("insertion, random", pts(&self.random_insertion), 1, true),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_the_trapezoids_and_ratios_compare_with_the_random_order() {
        let f = Faithfulness::new(
            "blur".into(),
            4,
            vec![0.0, 0.5, 1.0],
            [
                vec![2.0, 1.0, 0.0],
                vec![0.0, 2.0, 2.0],
                vec![2.0, 2.0, 0.0],
                vec![0.0, 1.0, 2.0],
            ],
            7,
        );
        assert_eq!(f.deletion_area, 1.0);
        assert_eq!(f.insertion_area, 1.5);
        assert_eq!(f.random_deletion_area, 1.5);
        assert_eq!(f.random_insertion_area, 1.0);
        assert_eq!(f.deletion_ratio(), Some(1.0 / 1.5));
        assert_eq!(f.insertion_ratio(), Some(1.5));
        let svg = f.plot();
        assert!(
            svg.starts_with("<svg") && svg.contains("deletion, random"),
            "{svg}"
        );
    }
}
