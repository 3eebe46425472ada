//! PSNR, SSIM and luma against scikit-image's numbers (tests/fixtures/make_metrics.py).

use image::RgbImage;
use srlens_zoo::metrics::{luma, psnr, sr_scores, ssim};

fn image(w: u32, h: u32, v: &[serde_json::Value]) -> RgbImage {
    let bytes: Vec<u8> = v.iter().map(|x| x.as_u64().unwrap() as u8).collect();
    RgbImage::from_raw(w, h, bytes).unwrap()
}

#[test]
fn matches_scikit_image() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/metrics.json"
    ))
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let (w, h) = (
            c["width"].as_u64().unwrap() as u32,
            c["height"].as_u64().unwrap() as u32,
        );
        let border = c["border"].as_u64().unwrap() as usize;
        let a = image(w, h, c["a"].as_array().unwrap());
        let b = image(w, h, c["b"].as_array().unwrap());
        let ya = luma(&a).shave(border);
        let ya = if border == 0 { luma(&a) } else { ya.unwrap() };
        let want_y: Vec<f64> = c["luma_a"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(ya.data.len(), want_y.len());
        for (g, w) in ya.data.iter().zip(&want_y) {
            assert!((g - w).abs() < 1e-9, "luma {g} vs {w}");
        }
        let yb = if border == 0 {
            luma(&b)
        } else {
            luma(&b).shave(border).unwrap()
        };
        let (p, s) = (
            psnr(&ya, &yb, 255.0).unwrap(),
            ssim(&ya, &yb, 255.0).unwrap(),
        );
        let (wp, ws) = (c["psnr"].as_f64().unwrap(), c["ssim"].as_f64().unwrap());
        assert!((p - wp).abs() < 1e-9, "PSNR {p} vs scikit-image {wp}");
        assert!((s - ws).abs() < 1e-9, "SSIM {s} vs scikit-image {ws}");
        if border > 0 {
            let (p2, s2) = sr_scores(&b, &a, border).unwrap();
            assert!((p2 - wp).abs() < 1e-9 && (s2 - ws).abs() < 1e-9);
        }
    }
}
