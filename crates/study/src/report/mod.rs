//! The study's `report.html`: one self-contained page (pictures and plots inline as `data:`
//! URIs, no network) with the table, the plots ([`plots`]) and a grid of maps per image and
//! window (rows models, columns methods) from the pictures the runs wrote.

pub mod plots;

use std::path::Path;

use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::error::{Error, Result};
use crate::manifest::StudyManifest;
use crate::results::{ResultLine, Status};
use crate::summary::{mean_sd, summarise, Stat, Summary};

/// The largest side of a map in the grid (pictures are shrunk to it, so that a study of many
/// images stays a page a browser opens).
const THUMB: u32 = 256;

const CSS: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;vertical-align:top}\
th{background:#f3f3f3}td.num{text-align:right}.plots img{margin:.5em;border:1px solid #ddd}\
.grid td{text-align:center}.grid img{display:block;margin:auto;width:192px;height:auto;image-rendering:pixelated}.failed{color:#a00;max-width:16em;font-size:.85em}\
.note{color:#555;font-size:.9em}";

/// Writes `out/report.html` for `lines` (sorted; their `dir`s relative to `out`).
pub fn write(out: &Path, manifest: &StudyManifest, lines: &[ResultLine]) -> Result<()> {
    let summary = summarise(manifest, lines);
    let html = render(&summary, manifest, lines, &mut |rel| {
        std::fs::read(out.join(rel)).ok()
    });
    let p = out.join("report.html");
    srlens_report::write_atomic(&p, html.as_bytes()).map_err(|e| Error::Io {
        path: p.clone(),
        message: e.to_string(),
    })
}

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn svg_img(svg: &str, alt: &str) -> Markup {
    html! { img src=(data_uri("image/svg+xml", svg.as_bytes())) alt=(alt) width="640" height="400"; }
}

/// A PNG shrunk to at most [`THUMB`] pixels a side, as a data URI.
fn thumbnail(bytes: &[u8]) -> Option<String> {
    let img = image::load_from_memory(bytes).ok()?.to_rgb8();
    let (w, h) = img.dimensions();
    let img = if w.max(h) > THUMB {
        let f = THUMB as f64 / w.max(h) as f64;
        let (nw, nh) = (
            ((w as f64 * f).round() as u32).max(1),
            ((h as f64 * f).round() as u32).max(1),
        );
        image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let png = srlens_report::pictures::encode_png(&img).ok()?;
    Some(data_uri("image/png", &png))
}

/// The page; `load` reads a picture by its path relative to the report.
pub fn render(
    s: &Summary,
    manifest: &StudyManifest,
    lines: &[ResultLine],
    load: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
) -> String {
    let shards = if manifest.merged.is_empty() {
        manifest
            .shard
            .map(|s| format!("shard {s}"))
            .unwrap_or_else(|| "the whole study".into())
    } else {
        format!(
            "merged from shards {}",
            manifest
                .merged
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let ok = lines.iter().filter(|l| l.status == Status::Ok).count();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "srlens study" }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "srlens study" }
                p.note {
                    (lines.len()) " items, " (ok) " ok, " (lines.len() - ok) " failed; " (shards)
                    ". Config: " code { (manifest.config_file) } ", study hash " code { (&manifest.study_hash[..16]) } "."
                }
                p.note { "Windows: " (s.windows_rule) ". " (s.metrics) "." }
                h2 { "Table" }
                (table(s))
                @if !s.failures.is_empty() {
                    h2 { "Failures" }
                    ul { @for f in &s.failures {
                        li { (f.model) " / " (f.method) " / " (f.image) " / " (f.window.as_deref().unwrap_or("-")) ": " (f.reason) }
                    } }
                }
                h2 { "Plots" }
                div.plots {
                    (svg_img(&plots::di_bars(s), "DI per model"))
                    (svg_img(&plots::di_psnr(s), "DI against PSNR"))
                    (svg_img(&plots::mass_curves(s, lines), "mass against distance"))
                    (svg_img(&plots::receptive_field(s), "receptive field against the 95 % mass radius"))
                    (svg_img(&plots::texture_di(s, lines), "texture against DI"))
                    @if s.rows.iter().any(|r| !r.sanity.is_empty()) {
                        (svg_img(&plots::sanity(s), "sanity check: similarity against layers randomised"))
                    }
                }
                @if s.rows.iter().any(|r| !r.sanity.is_empty()) {
                    p.note { "Sanity check: each run's maps of the randomised networks, side by side, are in its folder's " code { "sanity/report.html" } " (" code { "runs/<model>/<method>/<image>/sanity/" } ")." }
                }
                @let unbounded: Vec<&str> = s.rows.iter().filter(|r| r.receptive_field.is_none() && r.ok > 0).map(|r| r.model.as_str()).collect();
                @if !unbounded.is_empty() {
                    p.note { "Receptive field not bounded by the backend (global operations such as attention over the whole image), so not plotted: " (unbounded.join(", ")) "." }
                }
                h2 { "Maps" }
                p.note { "Each cell: the saliency over the LR input (blend.png), shrunk to at most " (THUMB) " pixels a side; the first column is the SR output around the window." }
                (grids(s, lines, load))
            }
        }
    };
    page.into_string()
}

fn table(s: &Summary) -> Markup {
    let gap = |st: &Stat| Stat {
        n: st.n,
        mean: st.mean.map(|v| v * 100.0),
        sd: st.sd.map(|v| v * 100.0),
    };
    let opt = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |v| format!("{v:.d$}"));
    let sanity = s.rows.iter().any(|r| !r.sanity.is_empty());
    html! {
        table {
            tr { th{"Model"} th{"Method"} th{"Maps"} th{"DI"} th{"r50 (LR px)"} th{"r95 (LR px)"} th{"Gap (%)"} th{"PSNR (dB)"} th{"SSIM"} th{"Receptive field"} th{"Parameters"} @if sanity { th{"Sanity: Spearman / SSIM"} } }
            @for r in &s.rows {
                tr {
                    td { (r.model) } td { (r.method) }
                    td.num { (r.ok) @if r.failed > 0 { " (" (r.failed) " failed)" } }
                    td.num { (mean_sd(&r.di, 2)) } td.num { (mean_sd(&r.radius_50, 1)) } td.num { (mean_sd(&r.radius_95, 1)) }
                    td.num { (mean_sd(&gap(&r.gap_rel), 1)) } td.num { (opt(r.psnr, 2)) } td.num { (opt(r.ssim, 4)) }
                    td.num { (r.receptive_field.map_or("unbounded".into(), |v| v.to_string())) }
                    td.num { (r.parameters.map_or("-".into(), |v| v.to_string())) }
                    @if sanity { td.num { (crate::summary::sanity_cell(r)) } }
                }
            }
        }
    }
}

/// Per image and window: rows models, columns methods.
fn grids(
    s: &Summary,
    lines: &[ResultLine],
    load: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
) -> Markup {
    let mut models: Vec<&str> = Vec::new();
    let mut methods: Vec<&str> = Vec::new();
    for r in &s.rows {
        if !models.contains(&r.model.as_str()) {
            models.push(&r.model);
        }
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    // (image order, window order) -> its lines.
    let mut cells: std::collections::BTreeMap<(usize, usize), Vec<&ResultLine>> =
        Default::default();
    for l in lines {
        cells.entry((l.order[2], l.order[3])).or_default().push(l);
    }
    let mut pic = |l: &ResultLine, file: &str| -> Option<String> {
        let dir = l.dir.as_ref()?;
        thumbnail(&load(&format!("{dir}/{file}"))?)
    };
    html! {
        @for group in cells.values() {
            @let first = group[0];
            h3 {
                (first.image) " — "
                @match &first.window {
                    Some(w) => { "window " (w.label) " (x " (w.x) ", y " (w.y) ", size " (w.size) ")" }
                    None => { "no window" }
                }
                @if let Some(t) = first.texture { span.note { " texture " (format!("{t:.2}")) } }
            }
            table.grid {
                tr { th { "model" } th { "SR around the window" } @for m in &methods { th { (m) } } }
                @for model in &models {
                    tr {
                        th { (model) }
                        @let any = group.iter().find(|l| l.model == *model && l.status == Status::Ok);
                        td { @if let Some(src) = any.and_then(|l| pic(l, "sr_zoom.png")) { img src=(src) alt="SR around the window"; } @else { "-" } }
                        @for m in &methods {
                            @let l = group.iter().find(|l| l.model == *model && l.method == *m);
                            td {
                                @match l {
                                    Some(l) if l.status == Status::Ok => {
                                        @if let Some(src) = pic(l, "blend.png") { img src=(src) alt="map"; } @else { "picture missing" }
                                        "DI " (if l.degenerate() { "undefined".to_string() } else { l.figure("figures.di").map_or("-".into(), |d| format!("{d:.2}")) })
                                    }
                                    Some(l) => { div.failed { "failed: " (l.reason.as_deref().unwrap_or("")) } }
                                    None => { "-" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
