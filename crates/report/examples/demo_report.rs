//! Renders an example report from synthetic maps: `cargo run -p srlens-report --example
//! demo_report -- OUT_DIR` (default `/tmp/srlens-demo-report`), then open `OUT_DIR/report.html`.

use srlens_report::pictures::{tensor_to_rgb, MapPictures, DEFAULT_ALPHA};
use srlens_report::{
    completeness_gap, map_figures, npy::write_npy_atomic, render_report, summary_csv, view,
    write_atomic, MethodEntry, Pictures, ReportSummary, Window,
};
use std::path::PathBuf;

fn main() -> srlens_report::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/srlens-demo-report".into()),
    );
    let (c, h, w, s) = (3usize, 64usize, 64usize, 4usize);
    // A synthetic LR image: diagonal stripes and a disc; the SR output is its 4x upscale.
    let mut lr = vec![0.0f32; c * h * w];
    for i in 0..h {
        for j in 0..w {
            let stripe = (((i + j) / 6) % 2) as f32 * 0.5 + 0.2;
            let disc = ((i as f32 - 40.0).powi(2) + (j as f32 - 20.0).powi(2)).sqrt() < 12.0;
            let v = if disc { 0.85 } else { stripe };
            lr[i * w + j] = v;
            lr[h * w + i * w + j] = v * 0.9;
            lr[2 * h * w + i * w + j] = if disc { 0.3 } else { v * 0.7 };
        }
    }
    let lr_img = tensor_to_rgb(&lr, c, h, w)?;
    let sr_img = srlens_report::pictures::upscale_bicubic(&lr_img, s)?;
    let window = Window {
        x0: 110,
        y0: 150,
        size: 16,
    };
    let centre = window.centre_lr(s);
    let mut entries = Vec::new();
    // Three fake "methods" with increasing spread (SmoothGrad has a large completeness gap),
    // and a blank map (spread 0: all zero, so degenerate: "DI undefined").
    for (k, (label, method, spread, gap_frac)) in [
        ("LAM (50 steps)", "lam", 1.5f64, 0.02f64),
        ("IG, black baseline", "ig", 4.0, 0.04),
        ("SmoothGrad", "smoothgrad", 9.0, 0.35),
        ("Gradient (blank map)", "gradient", 0.0, 0.0),
    ]
    .into_iter()
    .enumerate()
    {
        let mut map = vec![0.0f32; c * h * w];
        for ch in 0..c {
            for i in 0..h {
                for j in 0..w {
                    let d2 =
                        (j as f64 + 0.5 - centre.0).powi(2) + (i as f64 + 0.5 - centre.1).powi(2);
                    let ripple = ((i * 7 + j * 13 + ch * 5 + k) % 17) as f64 / 17.0 - 0.3;
                    map[ch * h * w + i * w + j] = if spread == 0.0 {
                        0.0
                    } else {
                        ((-d2 / (2.0 * spread * spread)).exp() * (1.0 + 0.5 * ripple)) as f32
                    };
                }
            }
        }
        let dir = out.join(format!("{k}-{method}"));
        std::fs::create_dir_all(&dir).map_err(|e| srlens_report::Error::Io {
            path: dir.clone(),
            source: e,
        })?;
        let v = view(&map, c, h, w)?;
        let pics = MapPictures::render(&v, h, w, &lr_img, &sr_img, window, DEFAULT_ALPHA)?;
        pics.write_all(&dir)?;
        write_npy_atomic(&dir.join("attribution.npy"), &map, &[c, h, w])?;
        let sum: f64 = map.iter().map(|&x| x as f64).sum();
        let (d_in, d_base) = (sum * (1.0 + gap_frac) + 3.0, 3.0);
        let (gap, rel) = completeness_gap(sum, d_in, d_base);
        let rel_dir = format!("{k}-{method}");
        entries.push(MethodEntry {
            label: label.into(),
            method: method.into(),
            model: "esrgan-slim x4 (RDN)".into(),
            backend: "candle".into(),
            image: "synthetic.png".into(),
            scale: s,
            lr_width: w,
            lr_height: h,
            window,
            objective: "gradient_energy".into(),
            figures: map_figures(&map, c, h, w, centre)?,
            objective_input: Some(d_in),
            objective_baseline: Some(d_base),
            attribution_sum: Some(sum),
            completeness_gap: Some(gap),
            completeness_gap_rel: Some(rel),
            seconds: 3.2 * (k as f64 + 1.0),
            params: [
                ("steps".to_string(), serde_json::json!(50)),
                ("sigma".to_string(), serde_json::json!(1.2)),
                ("kernel".to_string(), serde_json::json!(9)),
            ]
            .into(),
            plugins: [("srlens-method-".to_string() + method, "0.1.0".to_string())].into(),
            pictures: Pictures::in_dir(&rel_dir),
            map_file: Some(format!("{rel_dir}/attribution.npy")),
            map64_file: None,
            warnings: vec![],
            conditioning: None,
            faithfulness: None,
            provenance: Default::default(),
        });
    }
    let summary = ReportSummary {
        title: "srlens report: demo".into(),
        srlens_version: env!("CARGO_PKG_VERSION").into(),
        created: "2025-01-01T00:00:00Z".into(),
        config: "configs/compare-methods.toml".into(),
        entries,
        ..Default::default()
    };
    let json = serde_json::to_string_pretty(&summary).expect("plain data serialises");
    write_atomic(&out.join("summary.json"), json.as_bytes())?;
    write_atomic(&out.join("summary.csv"), summary_csv(&summary).as_bytes())?;
    write_atomic(
        &out.join("report.html"),
        render_report(&summary, &out).as_bytes(),
    )?;
    println!("{}", out.join("report.html").display());
    Ok(())
}
