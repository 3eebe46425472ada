//! SmoothGrad, SmoothGrad-squared and VarGrad over any method.
//!
//! Each of `samples` noisy copies `x + e` of the input, `e ~ N(0, sigma_n^2)` with
//! `sigma_n = noise * (max(x) - min(x))`, is attributed by the inner method (by name, through
//! the host's registry, with `inner_options`); the maps are combined by their mean
//! (`smoothgrad`), the mean of their squares (`smoothgrad_sq`) or their population variance
//! (`vargrad`), as Captum's `NoiseTunnel` does. The noisy copies are not clipped.
//!
//! Options: `samples` (default 25, >= 1), `noise` (default 0.15, >= 0), `seed` (default 0),
//! `inner` (default `gradient`), `inner_options` (a table, default empty). The noise is
//! `srlens_plugin_kit::random::SeededRng::new(seed)`'s normal stream, sample after sample,
//! each in CHW order: the same seed gives the same noise on every backend and platform.
//!
//! With a model loaded with `precision = "f64"` all three compute in float64: the noisy copies
//! `x + e` from the image's own float64 values and the same normals unrounded (the float32
//! run's noise up to rounding), the inner method called in float64, the combination in
//! float64.

pub mod smoothgrad;

pub use smoothgrad::{SmoothGrad, SmoothGradOptions, Variant};

srlens_plugin_kit::export_plugin! {
    name: "smoothgrad",
    backends: [],
    methods: [
        ("smoothgrad", "SmoothGrad: the mean of an inner method's maps over noisy copies of the input", || Ok(SmoothGrad(Variant::Mean))),
        ("smoothgrad_sq", "SmoothGrad-squared: the mean of the squared maps over noisy copies", || Ok(SmoothGrad(Variant::MeanOfSquares))),
        ("vargrad", "VarGrad: the variance of the maps over noisy copies", || Ok(SmoothGrad(Variant::Variance))),
    ],
    paths: [],
}
