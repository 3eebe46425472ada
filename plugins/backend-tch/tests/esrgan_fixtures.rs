//! The fixture check on libtorch: each UpscalerJS network traced to TorchScript
//! (`zoo/*.pt`, made by `cargo xtask setup`) must reproduce its package's own
//! `assets/samples/{s}x/result.png` from `assets/fixture.png` within 1 grey level, with the
//! same pre- and postprocessing as the Candle backend's check: RGB / 255 in, `round(255 y)` out.
//! Where a package ships no sample (slim and medium x8), the TensorFlow.js reference made by
//! `cargo xtask setup` (`.cache/npm/esrgan-*/reference/8x/result.png`) stands in, as on Candle.

mod common;

use std::path::PathBuf;

use srlens_core::Tensor;
use srlens_plugin_tch::TchModel;

fn rgb(path: &PathBuf) -> image::RgbImage {
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask setup`",
        path.display()
    );
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

fn to_tensor(img: &image::RgbImage) -> Tensor {
    let (w, h) = img.dimensions();
    let (w, h) = (w as usize, h as usize);
    let mut data = vec![0f32; 3 * h * w];
    for (x, y, p) in img.enumerate_pixels() {
        for c in 0..3 {
            data[(c * h + y as usize) * w + x as usize] = p[c] as f32 / 255.0;
        }
    }
    Tensor::new(vec![1, 3, h, w], data).unwrap()
}

/// The largest grey-level difference between `zoo/esrgan-{variant}-x{scale}.pt` on the
/// fixture and the package's result.
fn max_difference(variant: &str, scale: u32) -> u8 {
    let range = if variant == "thick" {
        "[0, 1]"
    } else {
        "[0, 255]"
    };
    let model = TchModel::load(
        &common::zoo(&format!("esrgan-{variant}-x{scale}.pt")),
        &format!(r#"{{"input_range": {range}}}"#),
        0,
        "cpu",
    )
    .unwrap_or_else(|e| panic!("esrgan-{variant}-x{scale}.pt: {e}"));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.cache/npm")
        .join(format!("esrgan-{variant}/package"));
    let (input, want, _) = srlens_zoo::fixture::expected(&dir, scale);
    let sr = model
        .forward_abi(&to_tensor(&rgb(&input)))
        .expect("forward");
    let want = rgb(&want);
    let (ow, oh) = want.dimensions();
    let (ow, oh) = (ow as usize, oh as usize);
    assert_eq!(sr.dims(), vec![1, 3, oh, ow], "output size");
    let mut worst = 0u8;
    for (x, y, p) in want.enumerate_pixels() {
        for c in 0..3 {
            let v = sr.data[(c * oh + y as usize) * ow + x as usize];
            worst = worst.max(((v * 255.0).round().clamp(0.0, 255.0) as u8).abs_diff(p[c]));
        }
    }
    worst
}

/// All twelve models: the package's sample, or TensorFlow.js's output where there is none.
#[test]
fn every_traced_zoo_model_reproduces_its_packages_output() {
    let models = [
        ("slim", [2, 3, 4, 8].as_slice()),
        ("medium", &[2, 3, 4, 8]),
        ("thick", &[2, 3, 4, 8]),
    ];
    let mut results = Vec::new();
    for (variant, scales) in models {
        for &s in scales {
            results.push((format!("esrgan-{variant}-x{s}"), max_difference(variant, s)));
        }
    }
    assert_eq!(results.len(), 12);
    let bad: Vec<_> = results.iter().filter(|(_, d)| *d > 1).collect();
    assert!(
        bad.is_empty(),
        "more than 1 grey level off: {bad:?} (all: {results:?})"
    );
}
