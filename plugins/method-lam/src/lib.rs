//! Local Attribution Maps (Gu & Dong, CVPR 2021): the progressive-blur path and LAM itself,
//! exactly as `attribution-spec.md` defines them.

pub mod lam;
pub mod progressive_blur;

pub use lam::{Lam, LamOptions};
pub use progressive_blur::{BlurPathOptions, ProgressiveBlurPath};

srlens_plugin_kit::export_plugin! {
    name: "lam",
    backends: [],
    methods: [(
        "lam",
        "Local Attribution Map: integrated gradients along a progressive-blur path (Gu & Dong 2021)",
        || Ok(Lam)
    )],
    paths: [(
        "blur",
        "LAM's progressive blur path, from blur(x, sigma) to x",
        || Ok(ProgressiveBlurPath)
    )],
}
