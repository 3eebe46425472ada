//! The real networks: the UpscalerJS ESRGAN packages (`@upscalerjs/esrgan-{slim,medium,thick}`,
//! fetched by `cargo xtask setup` into `.cache/npm/esrgan-*/package/`), converted by
//! `srlens_onnx::tfjs::convert` and run by this backend on the package's `assets/fixture.png`,
//! must reproduce the package's own `assets/samples/{s}x/result.png` within 1 grey level.
//! The slim and medium packages ship no x8 sample; their x8 models are checked against the
//! package's network run by TensorFlow.js (the packages' own runtime) on the same fixture,
//! `.cache/npm/esrgan-*/reference/8x/result.png`, made by `cargo xtask setup` with
//! `xtask/tfjs/reference.js`. That script also remakes slim's shipped x4 sample, which a test
//! here compares with the package's own.
//!
//! Preprocessing, as UpscalerJS does it: the PNG's RGB channels (alpha dropped) as floats
//! `v / 255` in `[0, 1]` (the backend maps them to the model's range from the converted
//! file's metadata: `[0, 255]` for RDN, `[0, 1]` for RRDN), the whole 128 x 128 image in one
//! pass (no patches). Postprocessing: `round(255 * y)` clipped to `[0, 255]` per channel.

use std::path::{Path, PathBuf};

use srlens_core::Tensor;
use srlens_plugin_candle::CandleModel;
use srlens_zoo::{fixture, images};

fn package(variant: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.cache/npm")
        .join(format!("esrgan-{variant}"))
        .join("package")
}

fn rgb(path: &Path) -> image::RgbImage {
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask setup` (it fetches the UpscalerJS packages and makes \
         the TensorFlow.js references)",
        path.display()
    );
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

/// Runs `variant` at `scale` on the fixture and returns the largest grey-level difference.
fn max_difference(variant: &str, scale: u32) -> u8 {
    let dir = package(variant);
    let model_json = dir.join(format!("models/x{scale}/model.json"));
    assert!(
        model_json.exists(),
        "{} is missing: run `cargo xtask setup` (it fetches the UpscalerJS packages)",
        model_json.display()
    );
    let graph = srlens_onnx::tfjs::convert(&model_json).expect("the converter reads the model");
    let model = CandleModel::from_graph(graph, &format!("{variant}-x{scale}"), None, 0)
        .expect("the backend loads the converted model");
    assert_eq!(model.model_info().scale, scale);
    let (input, want, _) = fixture::expected(&dir, scale);
    let img = rgb(&input);
    let (w, h) = img.dimensions();
    let (w, h) = (w as usize, h as usize);
    let mut data = vec![0f32; 3 * h * w];
    for (x, y, p) in img.enumerate_pixels() {
        for c in 0..3 {
            data[(c * h + y as usize) * w + x as usize] = p[c] as f32 / 255.0;
        }
    }
    let lr = Tensor::new(vec![1, 3, h, w], data).unwrap();
    let sr = model.forward_abi(&lr).expect("forward");
    let want = rgb(&want);
    let (ow, oh) = want.dimensions();
    assert_eq!(
        sr.dims(),
        vec![1, 3, oh as usize, ow as usize],
        "output size"
    );
    let (ow, oh) = (ow as usize, oh as usize);
    let mut worst = 0u8;
    for (x, y, p) in want.enumerate_pixels() {
        for c in 0..3 {
            let v = sr.data[(c * oh + y as usize) * ow + x as usize];
            let got = (v * 255.0).round().clamp(0.0, 255.0) as u8;
            worst = worst.max(got.abs_diff(p[c]));
        }
    }
    worst
}

fn check(variant: &str, scale: u32) {
    let d = max_difference(variant, scale);
    assert!(
        d <= 1,
        "esrgan-{variant} x{scale}: differs from {} by {d} grey levels",
        fixture::expected_png(&package(variant), scale).0.display()
    );
}

#[test]
fn slim_x2() {
    check("slim", 2);
}

#[test]
fn slim_x3() {
    check("slim", 3);
}

#[test]
fn slim_x4() {
    check("slim", 4);
}

#[test]
fn medium_x2() {
    check("medium", 2);
}

#[test]
fn medium_x3() {
    check("medium", 3);
}

#[test]
fn medium_x4() {
    check("medium", 4);
}

#[test]
fn thick_x2() {
    check("thick", 2);
}

#[test]
fn thick_x3() {
    check("thick", 3);
}

#[test]
fn thick_x4() {
    check("thick", 4);
}

#[test]
fn thick_x8() {
    check("thick", 8);
}

#[test]
fn slim_x8_matches_tensorflow_js() {
    check("slim", 8);
}

#[test]
fn medium_x8_matches_tensorflow_js() {
    check("medium", 8);
}

/// The reference script is checked where the package has its own answer: it must remake
/// esrgan-slim's shipped x4 sample within 1 grey level.
#[test]
fn tensorflow_js_reference_reproduces_a_shipped_sample() {
    let dir = package("slim");
    let made = rgb(&fixture::tfjs_reference_png(&dir, 4));
    let shipped = rgb(&fixture::sample_png(&dir, 4));
    let d = images::max_difference(&made, &shipped).expect("images of one size");
    assert!(
        d <= 1,
        "the TensorFlow.js reference of slim x4 differs from the package's sample by {d}"
    );
}
