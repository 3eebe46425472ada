//! Tests of the page and the records; `entry` and `summary` are shared with the CSV tests.

use super::*;
use crate::figures::{MapFigures, Window};
use crate::pictures::{encode_png, PICTURE_FILES};
use base64::Engine;
use image::{Rgb, RgbImage};
use std::collections::BTreeMap;

/// An entry with every figure set, its pictures under `a/`.
pub(crate) fn entry(label: &str, gap_rel: Option<f64>) -> MethodEntry {
    MethodEntry {
        label: label.into(),
        method: "lam".into(),
        model: "rdn-slim-x4".into(),
        backend: "candle".into(),
        image: "fixture.png".into(),
        scale: 4,
        lr_width: 64,
        lr_height: 64,
        window: Window {
            x0: 110,
            y0: 150,
            size: 16,
        },
        objective: "gradient_energy".into(),
        figures: MapFigures {
            di: 12.5,
            gini: 0.875,
            pixels_50: 10,
            pixels_95: 90,
            radius_50: 2.5,
            radius_95: 7.25,
            degenerate: false,
        },
        objective_input: Some(10.0),
        objective_baseline: Some(4.0),
        attribution_sum: Some(6.5),
        completeness_gap: Some(0.5),
        completeness_gap_rel: gap_rel,
        seconds: 1.25,
        params: [("steps".to_string(), serde_json::json!(50))].into(),
        plugins: BTreeMap::new(),
        pictures: Pictures::in_dir("a"),
        map_file: Some("a/attribution.npy".into()),
        map64_file: None,
        warnings: vec![],
        conditioning: None,
        faithfulness: None,
        provenance: Default::default(),
    }
}

/// Curves at 0, 1/2, 1 whose areas are 1 (deletion), 1.5 (insertion), 1.5 and 1 (random).
pub(crate) fn curves() -> crate::Faithfulness {
    crate::Faithfulness::new(
        "path `blur`".into(),
        4,
        vec![0.0, 0.5, 1.0],
        [
            vec![2.0, 1.0, 0.0],
            vec![0.0, 2.0, 2.0],
            vec![2.0, 2.0, 0.0],
            vec![0.0, 1.0, 2.0],
        ],
        0,
    )
}

/// A summary of `entries` with the default title and threshold.
pub(crate) fn summary(entries: Vec<MethodEntry>) -> ReportSummary {
    ReportSummary {
        entries,
        ..Default::default()
    }
}

/// Renders with fake picture bytes `01 02 03` for every path but `a/kde.png`.
fn render(s: &ReportSummary) -> String {
    render_report_with(s, &mut |p: &str| (p != "a/kde.png").then(|| vec![1, 2, 3]))
}

/// Every `data:` URI's payload in the page, base64-decoded.
fn embedded(html: &str) -> Vec<Vec<u8>> {
    html.split("src=\"data:image/png;base64,")
        .skip(1)
        .map(|rest| {
            let b64 = &rest[..rest.find('"').expect("closing quote")];
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("valid base64")
        })
        .collect()
}

#[test]
fn gap_formula() {
    let (g, r) = completeness_gap(6.5, 10.0, 4.0);
    assert!((g - 0.5).abs() < 1e-12 && (r - 0.5 / 6.0).abs() < 1e-12);
    assert_eq!(completeness_gap(0.0, 3.0, 3.0), (0.0, 0.0));
    assert!(completeness_gap(1.0, 3.0, 3.0).1.is_infinite());
}

#[test]
fn pictures_in_a_folder_are_the_files_map_pictures_writes() {
    let p = Pictures::in_dir("0-lam");
    assert_eq!(p.saliency, "0-lam/saliency.png");
    assert_eq!(p.sr_zoom, "0-lam/sr_zoom.png");
    assert_eq!(p.blend_zoom, "0-lam/blend_zoom.png");
    let all = [
        &p.saliency,
        &p.kde,
        &p.blend,
        &p.sr_window,
        &p.sr_zoom,
        &p.blend_zoom,
    ];
    for (path, file) in all.iter().zip(PICTURE_FILES) {
        assert_eq!(**path, format!("0-lam/{file}"));
    }
    assert_eq!(Pictures::in_dir("").kde, "kde.png");
}

#[test]
fn report_shows_labels_pictures_and_escapes_text() {
    let mut a = entry("LAM <50 steps> & \"more\"", Some(0.05));
    a.params.insert(
        "note".into(),
        serde_json::json!("<script>alert(1)</script>"),
    );
    let b = entry("IG black", None);
    let html = render(&summary(vec![a, b]));
    assert!(html.contains("LAM &lt;50 steps&gt; &amp; &quot;more&quot;"));
    assert!(html.contains("IG black"));
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Five of six pictures embedded per card, the missing one is shown as such.
    assert_eq!(html.matches("data:image/png;base64,AQID").count(), 10);
    assert_eq!(html.matches("missing: a/kde.png").count(), 2);
    for s in [
        "rdn-slim-x4",
        "candle",
        "fixture.png",
        "x0=110, y0=150, size=16",
        "12.50",
    ] {
        assert!(html.contains(s), "{s}");
    }
    assert!(!html.contains("http"), "external reference in the page");
    assert!(!html.contains("src=\"/") && !html.contains("<link"));
}

#[test]
fn render_report_reads_pictures_relative_to_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::fs::write(dir.path().join("a/saliency.png"), [0xffu8, 0x00, 0x10]).unwrap();
    let html = render_report(&summary(vec![entry("a", None)]), dir.path());
    // base64 of ff 00 10 is "/wAQ".
    assert!(html.contains("data:image/png;base64,/wAQ"));
    assert_eq!(html.matches("class=\"missing\"").count(), 5);
}

#[test]
fn a_summary_from_before_the_zooms_parses_and_shows_no_zoom() {
    let mut s = summary(vec![entry("a", None)]);
    let mut j = serde_json::to_value(&s).unwrap();
    let pics = j["entries"][0]["pictures"].as_object_mut().unwrap();
    pics.remove("sr_zoom");
    pics.remove("blend_zoom");
    j["entries"][0]["figures"]
        .as_object_mut()
        .unwrap()
        .remove("degenerate");
    let old: ReportSummary = serde_json::from_value(j).unwrap();
    s.entries[0].pictures.sr_zoom.clear();
    s.entries[0].pictures.blend_zoom.clear();
    assert_eq!(old, s);
    let html = render(&old);
    assert_eq!(html.matches("<figure>").count(), 4);
    assert!(!html.contains("missing: a/sr_zoom.png") && !html.contains("SR zoom"));
}

#[test]
fn warning_appears_iff_gap_is_large() {
    let small = render(&summary(vec![entry("a", Some(0.099))]));
    assert!(!small.contains("use more steps"));
    let large = render(&summary(vec![entry("a", Some(0.25))]));
    assert_eq!(large.matches("use more steps").count(), 1);
    assert!(large.contains("25.00%"));
    let none = render(&summary(vec![entry("a", None)]));
    assert!(!none.contains("use more steps"));
    let mut s = summary(vec![entry("a", Some(0.05))]);
    s.gap_warning = 0.01;
    assert!(render(&s).contains("use more steps"));
}

/// The defect: the caller (crates/cli) also pushed its own completeness-gap text into
/// `warnings`, so the card showed the gap warning twice.
#[test]
fn gap_warning_is_shown_once_even_if_the_record_repeats_it() {
    let mut e = entry("a", Some(0.25));
    e.warnings = vec![
        "the completeness gap is 25.0 % of D(input) - D(baseline): use more steps".into(),
        "the input was resized".into(),
        "the input was resized".into(),
    ];
    let html = render(&summary(vec![e.clone()]));
    assert_eq!(html.matches("use more steps").count(), 1, "{html}");
    assert_eq!(html.matches("the input was resized").count(), 1);
    // The renderer's own text again in the record: still once.
    e.warnings = vec![e.gap_warning(0.1).unwrap()];
    let html = render(&summary(vec![e.clone()]));
    assert_eq!(html.matches("use more steps").count(), 1);
    assert_eq!(
        e.card_warnings(0.1),
        vec!["Completeness gap 25.00% exceeds 10%: use more steps."]
    );
}

/// Two entries: every figure with its formatting, every picture a decodable PNG, each
/// warning once, the missing picture as a visible box.
#[test]
fn two_entries_show_every_figure_and_picture() {
    let a = entry("LAM", Some(0.05));
    let mut b = entry("IG", Some(0.3));
    b.method = "ig".into();
    b.figures = MapFigures {
        di: 47.25,
        gini: 0.5275,
        pixels_50: 123,
        pixels_95: 456,
        radius_50: 0.125,
        radius_95: 31.5,
        degenerate: false,
    };
    b.objective_input = Some(1234.5);
    b.objective_baseline = Some(0.002);
    b.attribution_sum = Some(-2.5e-5);
    b.completeness_gap = Some(-370.0);
    b.pictures = Pictures::in_dir("b");
    b.warnings = vec!["the input was resized".into()];
    // Real PNGs, each w x 3 with its own width, so each embedded picture names its file.
    let paths: Vec<String> = [&a, &b]
        .iter()
        .flat_map(|e| {
            let p = &e.pictures;
            [
                &p.sr_window,
                &p.sr_zoom,
                &p.blend,
                &p.blend_zoom,
                &p.saliency,
                &p.kde,
            ]
            .map(|s| s.clone())
        })
        .collect();
    let missing = "b/blend_zoom.png";
    let html = render_report_with(&summary(vec![a, b]), &mut |p: &str| {
        let k = paths.iter().position(|q| q == p)?;
        (p != missing).then(|| {
            encode_png(&RgbImage::from_pixel(k as u32 + 1, 3, Rgb([k as u8, 9, 9]))).unwrap()
        })
    });
    for row in [
        // LAM
        "<tr><th>Diffusion index</th><td>12.50</td></tr>",
        "<tr><th>Gini</th><td>0.8750</td></tr>",
        "<tr><th>LR pixels for 50% / 95%</th><td>10 / 90</td></tr>",
        "<tr><th>Radius for 50% / 95%</th><td>2.500 / 7.250 LR px</td></tr>",
        "<tr><th>Objective at input</th><td>10.00</td></tr>",
        "<tr><th>Objective at baseline</th><td>4.000</td></tr>",
        "<tr><th>Sum of attribution</th><td>6.500</td></tr>",
        "<tr><th>Completeness gap</th><td>0.5000 (<span class=\"ok\">5.000%</span>)</td></tr>",
        // IG
        "<tr><th>Diffusion index</th><td>47.25</td></tr>",
        "<tr><th>Gini</th><td>0.5275</td></tr>",
        "<tr><th>LR pixels for 50% / 95%</th><td>123 / 456</td></tr>",
        "<tr><th>Radius for 50% / 95%</th><td>0.1250 / 31.50 LR px</td></tr>",
        "<tr><th>Objective at input</th><td>1234</td></tr>",
        "<tr><th>Objective at baseline</th><td>0.002000</td></tr>",
        "<tr><th>Sum of attribution</th><td>-2.500e-5</td></tr>",
        "<tr><th>Completeness gap</th><td>-370.0 (<span class=\"bad\">30.00%</span>)</td></tr>",
        // The overview rows.
        "<td>LAM</td><td>lam</td><td>12.50</td><td>0.8750</td><td>10</td><td>90</td>\
         <td>2.500</td><td>7.250</td><td><span>5.000%</span></td><td>1.250</td>",
        "<td>IG</td><td>ig</td><td>47.25</td><td>0.5275</td><td>123</td><td>456</td>\
         <td>0.1250</td><td>31.50</td><td><span class=\"bad\">30.00%</span></td><td>1.250</td>",
    ] {
        assert_eq!(html.matches(row).count(), 1, "{row}\n{html}");
    }
    // Every picture but the missing one is embedded once, decodes as PNG and is the right one.
    let pngs = embedded(&html);
    assert_eq!(pngs.len(), 11);
    let mut widths: Vec<u32> = pngs
        .iter()
        .map(|bytes| {
            let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
                .expect("a PNG")
                .to_rgb8();
            assert_eq!(img.get_pixel(0, 0).0, [img.width() as u8 - 1, 9, 9]);
            img.width()
        })
        .collect();
    widths.sort();
    let missing_k = paths.iter().position(|q| q == missing).unwrap() as u32;
    let want: Vec<u32> = (1..=12).filter(|&w| w != missing_k + 1).collect();
    assert_eq!(widths, want);
    assert_eq!(
        html.matches("<div class=\"missing\">missing: b/blend_zoom.png</div>")
            .count(),
        1
    );
    assert_eq!(html.matches("class=\"missing\"").count(), 1);
    // Warnings: IG's gap and its own, each once; none on LAM's card.
    assert_eq!(
        html.matches("Completeness gap 30.00% exceeds 10%: use more steps.")
            .count(),
        1
    );
    assert_eq!(html.matches("the input was resized").count(), 1);
    assert_eq!(html.matches("class=\"warn\"").count(), 2);
    // Nearest-upscaled pictures are drawn pixelated, the others smoothly.
    assert_eq!(html.matches("<img class=\"pixelated\"").count(), 5);
}

#[test]
fn degenerate_map_shows_di_undefined_never_100() {
    let mut e = entry("blank", None);
    e.figures = crate::figures::map_figures(&[0.0; 12], 3, 2, 2, (1.0, 1.0)).unwrap();
    assert!(e.figures.degenerate && e.figures.di == 100.0);
    let html = render(&summary(vec![e.clone(), entry("ok", None)]));
    assert_eq!(html.matches(DEGENERATE_WARNING).count(), 1);
    assert!(html.contains("DI undefined"));
    assert!(html.contains("<article class=\"card degenerate\">"));
    assert!(html.contains(
        "<tr><th>Diffusion index</th><td><span class=\"bad\">undefined</span></td></tr>"
    ));
    assert!(html.contains("<tr><th>Gini</th><td>undefined</td></tr>"));
    assert!(!html.contains("100.0"), "a DI of 100 is shown");
    // The caller can mark a map degenerate too.
    let mut marked = entry("marked", None);
    marked.figures.degenerate = true;
    let html = render(&summary(vec![marked]));
    assert!(html.contains("DI undefined") && !html.contains("12.50"));
}

#[test]
fn json_roundtrip_and_defaults() {
    let s = summary(vec![entry("a", Some(0.2))]);
    let j = serde_json::to_string_pretty(&s).unwrap();
    let back: ReportSummary = serde_json::from_str(&j).unwrap();
    assert_eq!(back, s);
    let minimal = r#"{"title":"t","entries":[]}"#;
    let m: ReportSummary = serde_json::from_str(minimal).unwrap();
    assert_eq!(m.gap_warning, DEFAULT_GAP_WARNING);
    assert!(render(&m).contains("No attribution maps"));
}

#[test]
fn a_card_with_curves_plots_them_and_lists_the_areas_beside_random() {
    let mut a = entry("lam", None);
    a.faithfulness = Some(curves());
    let html = render(&summary(vec![a, entry("ig", None)]));
    assert_eq!(html.matches("data:image/svg+xml;base64,").count(), 1);
    assert!(
        html.contains("Deletion area (random)</th><td>1.000 (1.500)"),
        "{html}"
    );
    assert!(html.contains("Insertion area (random)</th><td>1.500 (1.000)"));
}
