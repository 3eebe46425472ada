//! The page itself, a `maud` template: every piece of text is escaped by construction.

use super::format::{num, opt, pct, NONE};
use super::record::{MethodEntry, ReportSummary};
use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::collections::BTreeSet;
use std::path::Path;

/// The page's style sheet, inlined so the page needs nothing else.
const CSS: &str = include_str!("style.css");

/// Renders the report, reading each picture from `base_dir` joined with its relative path.
/// A picture that cannot be read is shown as a visible "missing" box.
pub fn render_report(summary: &ReportSummary, base_dir: &Path) -> String {
    render_report_with(summary, &mut |rel: &str| {
        std::fs::read(base_dir.join(rel)).ok()
    })
}

/// Renders the report with a custom picture loader (relative path -> PNG bytes).
///
/// The page is self-contained: pictures are embedded as base64 `data:` URIs and the style
/// sheet is inline. Each card shows each of its [`MethodEntry::card_warnings`] once.
pub fn render_report_with(
    summary: &ReportSummary,
    load: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
) -> String {
    let varying = Varying::of(&summary.entries);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (summary.title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { (summary.title) }
                    (run_table(summary))
                }
                @if summary.entries.is_empty() {
                    p.empty { "No attribution maps in this run." }
                } @else {
                    (overview(summary))
                    section.cards {
                        @for e in &summary.entries {
                            (card(e, summary.gap_warning, &varying, &mut *load))
                        }
                    }
                }
                (glossary())
            }
        }
    };
    page.into_string()
}

/// Which run-level fields differ between entries (shown on every card only then).
struct Varying {
    model: bool,
    backend: bool,
    image: bool,
    window: bool,
}

impl Varying {
    fn of(entries: &[MethodEntry]) -> Self {
        let differs = |f: &dyn Fn(&MethodEntry) -> String| {
            entries.iter().map(f).collect::<BTreeSet<_>>().len() > 1
        };
        Self {
            model: differs(&|e| e.model.clone()),
            backend: differs(&|e| e.backend.clone()),
            image: differs(&|e| e.image.clone()),
            window: differs(&window_text),
        }
    }
}

fn window_text(e: &MethodEntry) -> String {
    let w = e.window;
    format!(
        "x0={}, y0={}, size={} (SR px), scale x{}",
        w.x0, w.y0, w.size, e.scale
    )
}

/// The distinct non-empty values of `f` over the entries, in first-seen order.
fn distinct(entries: &[MethodEntry], f: impl Fn(&MethodEntry) -> String) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for v in entries.iter().map(f) {
        if !v.is_empty() && !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen
}

fn run_table(s: &ReportSummary) -> Markup {
    let e = &s.entries;
    let one = |v: &str| (!v.is_empty()).then(|| v.to_string()).into_iter().collect();
    let rows: [(&str, Vec<String>); 9] = [
        ("Model", distinct(e, |e| e.model.clone())),
        ("Backend", distinct(e, |e| e.backend.clone())),
        ("Precision", distinct(e, |e| e.provenance.precision.clone())),
        (
            "Image",
            distinct(e, |e| {
                if e.lr_width > 0 {
                    format!("{} ({}x{} LR)", e.image, e.lr_width, e.lr_height)
                } else {
                    e.image.clone()
                }
            }),
        ),
        ("Window", distinct(e, window_text)),
        ("Objective", distinct(e, |e| e.objective.clone())),
        ("Config", one(&s.config)),
        ("srlens", one(&s.srlens_version)),
        ("Created", one(&s.created)),
    ];
    html! {
        table.run {
            @for (k, values) in &rows {
                @if !values.is_empty() {
                    tr {
                        th { (k) }
                        td {
                            @for (i, v) in values.iter().enumerate() {
                                @if i > 0 { br; }
                                (v)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The DI as the page shows it: "undefined" for a degenerate map, never "100".
fn di_cell(e: &MethodEntry) -> Markup {
    html! {
        @match e.figures.di_defined() {
            Some(di) => (num(di)),
            None => span.bad { "undefined" },
        }
    }
}

fn overview(s: &ReportSummary) -> Markup {
    html! {
        section.overview {
            h2 { "Overview" }
            table.figs {
                tr {
                    @for h in ["Label", "Method", "DI", "Gini", "px 50%", "px 95%", "r 50%",
                               "r 95%", "Gap (rel.)", "Seconds"] {
                        th { (h) }
                    }
                }
                @for e in &s.entries {
                    @let f = &e.figures;
                    tr {
                        td { (e.label) }
                        td { (e.method) }
                        td { (di_cell(e)) }
                        td { (f.gini_defined().map(num).unwrap_or_else(|| NONE.into())) }
                        @if f.degenerate {
                            @for _ in 0..4 { td { (NONE) } }
                        } @else {
                            td { (f.pixels_50) }
                            td { (f.pixels_95) }
                            td { (num(f.radius_50)) }
                            td { (num(f.radius_95)) }
                        }
                        td {
                            @match e.completeness_gap_rel {
                                Some(r) => span class=[e.gap_is_large(s.gap_warning).then_some("bad")] { (pct(r)) },
                                None => (NONE),
                            }
                        }
                        td { (num(e.seconds)) }
                    }
                }
            }
        }
    }
}

/// One picture: the embedded PNG, or a visible "missing" box when it cannot be loaded.
fn figure(
    caption: &str,
    path: &str,
    pixelated: bool,
    load: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
) -> Markup {
    let data = load(path).map(|bytes| {
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    });
    html! {
        figure {
            @match &data {
                Some(src) => img class=[pixelated.then_some("pixelated")] src=(src) alt=(caption);,
                None => div.missing { "missing: " (path) },
            }
            figcaption { (caption) }
        }
    }
}

fn card(
    e: &MethodEntry,
    threshold: f64,
    varying: &Varying,
    load: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
) -> Markup {
    let mut ctx = Vec::new();
    if varying.model {
        ctx.push(format!("model {}", e.model));
    }
    if varying.backend {
        ctx.push(format!("backend {}", e.backend));
    }
    if varying.image {
        ctx.push(format!("image {}", e.image));
    }
    if varying.window {
        ctx.push(format!("window {}", window_text(e)));
    }
    let p = &e.pictures;
    let zoom_side = super::super::zoom::ZOOM_CONTEXT;
    // (caption, path, nearest-upscaled, a zoom); pairs: whole picture beside its zoom.
    let mut pics: Vec<(String, &str, bool, bool)> = vec![
        ("SR output, window boxed".into(), &p.sr_window, false, false),
        (
            format!("SR zoom ({zoom_side}x the window)"),
            &p.sr_zoom,
            true,
            true,
        ),
        ("Blend (saliency over input)".into(), &p.blend, false, false),
        (
            format!("Blend zoom ({zoom_side}x the window)"),
            &p.blend_zoom,
            true,
            true,
        ),
        ("Saliency".into(), &p.saliency, true, false),
        ("KDE".into(), &p.kde, false, false),
    ];
    // A summary from before the zooms has no zoom paths: show no zoom rather than a box.
    pics.retain(|(_, path, _, is_zoom)| !(*is_zoom && path.is_empty()));
    let f = &e.figures;
    let large = e.gap_is_large(threshold);
    html! {
        article class=(if f.degenerate { "card degenerate" } else { "card" }) {
            h2 { (e.label) }
            p.sub { "method " b { (e.method) } }
            @if !ctx.is_empty() { p.sub { (ctx.join(" · ")) } }
            @for w in e.card_warnings(threshold) {
                p.warn { "⚠ " (w) }
            }
            div.pics {
                @for (caption, path, pixelated, _) in &pics {
                    (figure(caption, path, *pixelated, &mut *load))
                }
                @if let Some(fa) = &e.faithfulness {
                    figure {
                        img src=(format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(fa.plot()))) alt="deletion and insertion curves";
                        figcaption { "Deletion / insertion (dashed: random order)" }
                    }
                }
            }
            table.figs {
                tr { th { "Diffusion index" } td { (di_cell(e)) } }
                tr { th { "Gini" } td { (f.gini_defined().map(num).unwrap_or_else(|| "undefined".into())) } }
                @if f.degenerate {
                    tr { th { "LR pixels for 50% / 95%" } td { (NONE) } }
                    tr { th { "Radius for 50% / 95%" } td { (NONE) } }
                } @else {
                    tr { th { "LR pixels for 50% / 95%" } td { (f.pixels_50) " / " (f.pixels_95) } }
                    tr {
                        th { "Radius for 50% / 95%" }
                        td { (num(f.radius_50)) " / " (num(f.radius_95)) " LR px" }
                    }
                }
                tr { th { "Objective at input" } td { (opt(e.objective_input)) } }
                @if e.objective_baseline.is_some() || e.completeness_gap.is_some() {
                    tr { th { "Objective at baseline" } td { (opt(e.objective_baseline)) } }
                    tr { th { "Sum of attribution" } td { (opt(e.attribution_sum)) } }
                    tr {
                        th { "Completeness gap" }
                        td {
                            (opt(e.completeness_gap)) " ("
                            span class=(if large { "bad" } else { "ok" }) {
                                (e.completeness_gap_rel.map(pct).unwrap_or_else(|| NONE.into()))
                            }
                            ")"
                        }
                    }
                }
                @if let Some(fa) = &e.faithfulness {
                    tr {
                        th { "Deletion area (random)" }
                        td { (num(fa.deletion_area)) " (" (num(fa.random_deletion_area)) ")" }
                    }
                    tr {
                        th { "Insertion area (random)" }
                        td { (num(fa.insertion_area)) " (" (num(fa.random_insertion_area)) ")" }
                    }
                }
                tr { th { "Seconds" } td { (num(e.seconds)) } }
            }
            @if !e.params.is_empty() {
                details open {
                    summary { "Parameters" }
                    table.params {
                        @for (k, v) in &e.params {
                            tr {
                                th { (k) }
                                td {
                                    @match v {
                                        serde_json::Value::String(s) => (s),
                                        other => (other.to_string()),
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !e.plugins.is_empty() {
                p.prov {
                    "plugins: "
                    (e.plugins.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "))
                }
            }
            @if let Some(m) = &e.map_file {
                p.prov { "raw map: " a href=(m) { (m) } }
            }
        }
    }
}

fn glossary() -> Markup {
    html! {
        footer {
            p {
                b { "Diffusion index" } " DI = (1 − Gini) × 100 of the view |Σ" sub { "c" }
                " A| / max: larger means more input pixels took part. DI depends on the input \
                size; compare networks on the same images and windows only. An all-zero map has \
                no DI (\"DI undefined\"). "
                b { "Pixels / radius for 50% / 95%" } ": the fewest LR pixels, and the radius \
                around the window centre (LR pixels), holding that share of the attribution \
                mass. "
                b { "Completeness gap" } ": sum of the map minus (objective at input − objective \
                at baseline), for path methods; a large relative gap means the path integral \
                needs more steps. Saliency and KDE use matplotlib's " i { "seismic" }
                " colormap at 0.5 + 0.5 × value (white = 0, dark red = maximum). "
                b { "Deletion / insertion" } ": the objective as the LR pixels are replaced by \
                the path's baseline, most attributed first (deletion; a faithful map falls \
                faster than the dashed random order: a smaller area), or put back into the \
                baseline in that order (insertion; a larger area than random). "
                b { "Zooms" } ": a crop of " (super::super::zoom::ZOOM_CONTEXT)
                "x the window's side around it (clamped to the image), nearest-upscaled, the \
                window outlined (red on the SR output, blue on the blend)."
            }
        }
    }
}
