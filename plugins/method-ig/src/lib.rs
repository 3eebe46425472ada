//! Integrated Gradients, gradient and input x gradient, with straight-line paths.
//!
//! Components (see `attribution-spec.md`):
//! - path `line`: `p(a) = b + a (x - b)`, derivative `x - b`. Options: `baseline` =
//!   `black` (default) | `blur` (`sigma` 1.2, `kernel` 9) | `noise` (uniform `[0, 1)`,
//!   `seed` 0) | `constant` (`value`, required) | an image file: a string ending in
//!   `.png`/`.jpg`/`.jpeg`, or `{ image = "path" }` (relative to the config's folder, see
//!   `srlens_plugin_kit::paths`; the input's size; 1-channel inputs read luma, 3-channel
//!   RGB, 8-bit values / 255);
//!   `quadrature` = `riemann_left` | `riemann_right` | `riemann_middle` |
//!   `riemann_trapezoid` | `gausslegendre` (default), see [`quadrature`]. A key that the chosen
//!   baseline does not use is an error.
//! - path `blur_line`: the line from `blur(x, k_sigma)`; options `sigma`, `kernel`,
//!   `quadrature`.
//! - method `ig`: `steps` (default 50) plus the `line` options; integrates along `line`.
//! - methods `gradient` and `input_x_gradient`: no options.
//!
//! Every component also computes in float64 (a model loaded with `precision = "f64"`): the
//! paths and their baselines from the image's own float64 values (noise and image files give
//! the same numbers as in float32, unrounded), `ig` through the float64 path and gradients.

pub mod baseline;
pub mod gradient;
pub mod ig;
pub mod line;
pub mod quadrature;

pub use gradient::{Gradient, InputXGradient};
pub use ig::{Ig, IgOptions};
pub use line::{BlurLinePath, Line, LineOptions, LinePath};
pub use quadrature::Quadrature;

srlens_plugin_kit::export_plugin! {
    name: "ig",
    backends: [],
    methods: [
        ("ig", "Integrated Gradients along a straight line from a baseline (Sundararajan et al. 2017)", || Ok(Ig)),
        ("gradient", "The plain input gradient dD/dx", || Ok(Gradient)),
        ("input_x_gradient", "The input times its gradient, x * dD/dx", || Ok(InputXGradient)),
    ],
    paths: [
        ("line", "The straight line b + a (x - b) from a baseline (black, blur, noise, constant, image)", || Ok(LinePath)),
        ("blur_line", "The straight line from the blurred input blur(x, sigma) to x", || Ok(BlurLinePath)),
    ],
}
