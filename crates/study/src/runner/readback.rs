//! What a finished run's files say about each of its windows: report.json whole, the mass
//! curve from attribution.npy, and the model's PSNR/SSIM from the run's `sr.png`.

use std::path::Path;

use image::RgbImage;

/// The report.json of one window's folder.
pub fn report(dir: &Path) -> std::result::Result<serde_json::Value, String> {
    let p = dir.join("report.json");
    let text =
        std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", p.display()))
}

/// The fraction of the map's mass (`|sum over channels|`, as the report's `view`) within
/// distance `r` of the window's centre (LR pixels, pixel centres), for `r = 0, 1, ...`
/// until all of it; empty for an all-zero map.
pub fn mass_curve(dir: &Path, centre: (f64, f64)) -> std::result::Result<Vec<f64>, String> {
    let p = dir.join("attribution.npy");
    let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    let (shape, data) =
        srlens_report::npy::decode_npy(&bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    let [c, h, w] = shape[..] else {
        return Err(format!(
            "{}: expected a C x H x W map, got {shape:?}",
            p.display()
        ));
    };
    let plane = h * w;
    let mut by_radius: Vec<f64> = Vec::new();
    let mut total = 0.0;
    for i in 0..h {
        for j in 0..w {
            let v = (0..c)
                .map(|ch| data[ch * plane + i * w + j] as f64)
                .sum::<f64>()
                .abs();
            let d =
                ((j as f64 + 0.5 - centre.0).powi(2) + (i as f64 + 0.5 - centre.1).powi(2)).sqrt();
            let r = d.ceil() as usize;
            if by_radius.len() <= r {
                by_radius.resize(r + 1, 0.0);
            }
            by_radius[r] += v;
            total += v;
        }
    }
    if total <= 0.0 {
        return Ok(Vec::new());
    }
    let mut acc = 0.0;
    Ok(by_radius
        .iter()
        .map(|v| {
            acc += v;
            acc / total
        })
        .collect())
}

/// PSNR and SSIM (Y channel, a border of `scale` pixels cut) of the run's `sr.png`
/// against the HR `reference`.
pub fn scores(
    run_dir: &Path,
    reference: &RgbImage,
    scale: u32,
) -> std::result::Result<(f64, f64), String> {
    let p = run_dir.join("sr.png");
    let sr = srlens_zoo::images::read_rgb(&p).map_err(|e| e.to_string())?;
    srlens_zoo::metrics::sr_scores(reference, &sr, scale as usize).map_err(|e| e.to_string())
}
