//! The self-contained HTML report, the `summary.json` types and `summary.csv`.

use crate::figures::{MapFigures, Window};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

/// Default threshold on the relative completeness gap above which the report warns.
pub const DEFAULT_GAP_WARNING: f64 = 0.1;

/// One run: what `summary.json` holds and what [`render_report`] shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    /// Page title.
    pub title: String,
    /// Version of srlens that produced the run.
    #[serde(default)]
    pub srlens_version: String,
    /// When the run finished (free text, e.g. RFC 3339).
    #[serde(default)]
    pub created: String,
    /// The config file of the run, if any.
    #[serde(default)]
    pub config: String,
    /// Relative completeness gap above which a card shows "use more steps" (0.1 = 10%).
    #[serde(default = "default_gap_warning")]
    pub gap_warning: f64,
    /// One entry per attribution map (method x model x backend x image x window).
    pub entries: Vec<MethodEntry>,
}

fn default_gap_warning() -> f64 {
    DEFAULT_GAP_WARNING
}

impl Default for ReportSummary {
    fn default() -> Self {
        Self {
            title: "srlens report".into(),
            srlens_version: String::new(),
            created: String::new(),
            config: String::new(),
            gap_warning: DEFAULT_GAP_WARNING,
            entries: Vec::new(),
        }
    }
}

/// The pictures of one map: file paths relative to the report's directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pictures {
    /// SR output with the window drawn.
    pub sr_window: String,
    /// Saliency (view through seismic, nearest-upscaled).
    pub saliency: String,
    /// KDE of the view, bicubically upscaled.
    pub kde: String,
    /// Saliency blended over the upscaled LR input.
    pub blend: String,
}

/// One attribution map with everything reported about it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MethodEntry {
    /// The user's label for this entry (unique within the run).
    pub label: String,
    /// Method name (`lam`, `ig`, `smoothgrad`, ...).
    pub method: String,
    /// Model name or file.
    pub model: String,
    /// Backend name.
    pub backend: String,
    /// Input image (file name).
    pub image: String,
    /// SR scale factor.
    pub scale: usize,
    /// LR input width.
    #[serde(default)]
    pub lr_width: usize,
    /// LR input height.
    #[serde(default)]
    pub lr_height: usize,
    /// The window, in SR pixels.
    pub window: Window,
    /// Objective name (`gradient_energy` or `intensity`).
    pub objective: String,
    /// DI, Gini and mass figures of the map.
    pub figures: MapFigures,
    /// Objective `D(F(x))` at the input.
    #[serde(default)]
    pub objective_input: Option<f64>,
    /// Objective at the path's baseline (path methods).
    #[serde(default)]
    pub objective_baseline: Option<f64>,
    /// `sum(A)`, the sum of the signed map.
    #[serde(default)]
    pub attribution_sum: Option<f64>,
    /// `sum(A) - (D(input) - D(baseline))`, see [`completeness_gap`].
    #[serde(default)]
    pub completeness_gap: Option<f64>,
    /// `|gap| / |D(input) - D(baseline)|`, see [`completeness_gap`].
    #[serde(default)]
    pub completeness_gap_rel: Option<f64>,
    /// Wall-clock seconds for the attribution.
    pub seconds: f64,
    /// The method's parameters as used (defaults filled in).
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Plugin name -> version, for provenance.
    #[serde(default)]
    pub plugins: BTreeMap<String, String>,
    /// The four pictures.
    pub pictures: Pictures,
    /// The raw map (`attribution.npy`), relative to the report's directory.
    #[serde(default)]
    pub map_file: Option<String>,
    /// Extra warnings to show on the card.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl MethodEntry {
    /// Whether the relative completeness gap exceeds `threshold` (false when unknown).
    pub fn gap_is_large(&self, threshold: f64) -> bool {
        self.completeness_gap_rel
            .is_some_and(|r| r.is_nan() || r > threshold)
    }
}

/// Completeness of a path method: `(gap, rel)` with `gap = sum(A) - (D(input) - D(baseline))`
/// and `rel = |gap| / |D(input) - D(baseline)|` (0 if both are 0, infinite if only the
/// difference is).
pub fn completeness_gap(
    attribution_sum: f64,
    objective_input: f64,
    objective_baseline: f64,
) -> (f64, f64) {
    let diff = objective_input - objective_baseline;
    let gap = attribution_sum - diff;
    let rel = if diff != 0.0 {
        gap.abs() / diff.abs()
    } else if gap == 0.0 {
        0.0
    } else {
        f64::INFINITY
    };
    (gap, rel)
}

/// Renders the report, reading each picture from `base_dir` joined with its relative path.
/// A picture that cannot be read is shown as a visible "missing" box.
pub fn render_report(summary: &ReportSummary, base_dir: &Path) -> String {
    render_report_with(summary, &mut |rel: &str| {
        std::fs::read(base_dir.join(rel)).ok()
    })
}

/// Renders the report with a custom picture loader (relative path -> PNG bytes).
pub fn render_report_with(
    summary: &ReportSummary,
    load: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
) -> String {
    let mut h = String::with_capacity(1 << 16);
    let title = esc(&summary.title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{title}</h1>\n"
    );
    render_run_table(&mut h, summary);
    h.push_str("</header>\n");
    if summary.entries.is_empty() {
        h.push_str("<p class=\"empty\">No attribution maps in this run.</p>\n");
    } else {
        render_overview(&mut h, summary);
        let varying = Varying::of(&summary.entries);
        h.push_str("<section class=\"cards\">\n");
        for e in &summary.entries {
            render_card(&mut h, e, summary.gap_warning, &varying, load);
        }
        h.push_str("</section>\n");
    }
    let _ = write!(h, "{GLOSSARY}");
    h.push_str("</body>\n</html>\n");
    h
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
            window: differs(&|e| window_text(e)),
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

fn distinct(entries: &[MethodEntry], f: impl Fn(&MethodEntry) -> String) -> String {
    let mut seen = Vec::new();
    for e in entries {
        let v = f(e);
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.iter().map(|s| esc(s)).collect::<Vec<_>>().join("<br>")
}

fn render_run_table(h: &mut String, s: &ReportSummary) {
    let e = &s.entries;
    h.push_str("<table class=\"run\">\n");
    let mut row = |k: &str, v: String| {
        if !v.is_empty() {
            let _ = writeln!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
        }
    };
    row("Model", distinct(e, |e| e.model.clone()));
    row("Backend", distinct(e, |e| e.backend.clone()));
    row(
        "Image",
        distinct(e, |e| {
            if e.lr_width > 0 {
                format!("{} ({}x{} LR)", e.image, e.lr_width, e.lr_height)
            } else {
                e.image.clone()
            }
        }),
    );
    row("Window", distinct(e, window_text));
    row("Objective", distinct(e, |e| e.objective.clone()));
    row("Config", esc(&s.config));
    row("srlens", esc(&s.srlens_version));
    row("Created", esc(&s.created));
    h.push_str("</table>\n");
}

fn render_overview(h: &mut String, s: &ReportSummary) {
    h.push_str(
        "<section class=\"overview\"><h2>Overview</h2>\n<table class=\"figs\">\n<tr><th>Label</th>\
         <th>Method</th><th>DI</th><th>Gini</th><th>px 50%</th><th>px 95%</th><th>r 50%</th>\
         <th>r 95%</th><th>Gap (rel.)</th><th>Seconds</th></tr>\n",
    );
    for e in &s.entries {
        let f = &e.figures;
        let gap = match e.completeness_gap_rel {
            Some(r) => {
                let cls = if e.gap_is_large(s.gap_warning) {
                    " class=\"bad\""
                } else {
                    ""
                };
                format!("<span{cls}>{}</span>", pct(r))
            }
            None => "&ndash;".into(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{gap}</td><td>{}</td></tr>",
            esc(&e.label),
            esc(&e.method),
            num(f.di),
            num(f.gini),
            f.pixels_50,
            f.pixels_95,
            num(f.radius_50),
            num(f.radius_95),
            num(e.seconds)
        );
    }
    h.push_str("</table></section>\n");
}

fn render_card(
    h: &mut String,
    e: &MethodEntry,
    threshold: f64,
    varying: &Varying,
    load: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
) {
    let _ = writeln!(
        h,
        "<article class=\"card\">\n<h2>{}</h2>\n<p class=\"sub\">method <b>{}</b></p>",
        esc(&e.label),
        esc(&e.method)
    );
    let mut ctx = Vec::new();
    if varying.model {
        ctx.push(format!("model {}", esc(&e.model)));
    }
    if varying.backend {
        ctx.push(format!("backend {}", esc(&e.backend)));
    }
    if varying.image {
        ctx.push(format!("image {}", esc(&e.image)));
    }
    if varying.window {
        ctx.push(format!("window {}", esc(&window_text(e))));
    }
    if !ctx.is_empty() {
        let _ = writeln!(h, "<p class=\"sub\">{}</p>", ctx.join(" &middot; "));
    }
    h.push_str("<div class=\"pics\">\n");
    let p = &e.pictures;
    for (caption, path) in [
        ("SR output + window", &p.sr_window),
        ("Saliency", &p.saliency),
        ("KDE", &p.kde),
        ("Blend", &p.blend),
    ] {
        let img = match load(path) {
            Some(bytes) => format!(
                "<img src=\"data:image/png;base64,{}\" alt=\"{}\">",
                base64::engine::general_purpose::STANDARD.encode(bytes),
                esc(caption)
            ),
            None => format!("<div class=\"missing\">missing: {}</div>", esc(path)),
        };
        let _ = writeln!(
            h,
            "<figure>{img}<figcaption>{caption}</figcaption></figure>"
        );
    }
    h.push_str("</div>\n");
    if e.gap_is_large(threshold) {
        let _ = writeln!(
            h,
            "<p class=\"warn\">&#9888; Completeness gap {} exceeds {}: use more steps.</p>",
            e.completeness_gap_rel.map(pct).unwrap_or_default(),
            esc(&format!("{}%", threshold * 100.0))
        );
    }
    for w in &e.warnings {
        let _ = writeln!(h, "<p class=\"warn\">&#9888; {}</p>", esc(w));
    }
    let f = &e.figures;
    h.push_str("<table class=\"figs\">\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row("Diffusion index", num(f.di));
    row("Gini", num(f.gini));
    row(
        "LR pixels for 50% / 95%",
        format!("{} / {}", f.pixels_50, f.pixels_95),
    );
    row(
        "Radius for 50% / 95%",
        format!("{} / {} LR px", num(f.radius_50), num(f.radius_95)),
    );
    let opt = |v: Option<f64>| v.map(num).unwrap_or_else(|| "&ndash;".into());
    row("Objective at input", opt(e.objective_input));
    if e.objective_baseline.is_some() || e.completeness_gap.is_some() {
        row("Objective at baseline", opt(e.objective_baseline));
        row("Sum of attribution", opt(e.attribution_sum));
        let rel = e
            .completeness_gap_rel
            .map(pct)
            .unwrap_or_else(|| "&ndash;".into());
        let cls = if e.gap_is_large(threshold) {
            "bad"
        } else {
            "ok"
        };
        row(
            "Completeness gap",
            format!(
                "{} (<span class=\"{cls}\">{rel}</span>)",
                opt(e.completeness_gap)
            ),
        );
    }
    row("Seconds", num(e.seconds));
    h.push_str("</table>\n");
    if !e.params.is_empty() {
        h.push_str("<details open><summary>Parameters</summary><table class=\"params\">\n");
        for (k, v) in &e.params {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
        }
        h.push_str("</table></details>\n");
    }
    if !e.plugins.is_empty() {
        let list: Vec<String> = e
            .plugins
            .iter()
            .map(|(k, v)| format!("{} {}", esc(k), esc(v)))
            .collect();
        let _ = writeln!(h, "<p class=\"prov\">plugins: {}</p>", list.join(", "));
    }
    if let Some(m) = &e.map_file {
        let _ = writeln!(
            h,
            "<p class=\"prov\">raw map: <a href=\"{0}\">{0}</a></p>",
            esc(m)
        );
    }
    h.push_str("</article>\n");
}

/// One row per entry: labels, figures, objectives, gaps, seconds and parameters (as JSON).
pub fn summary_csv(summary: &ReportSummary) -> String {
    let mut out = String::from(
        "label,method,model,backend,image,scale,window_x0,window_y0,window_size,objective,\
         di,gini,pixels_50,pixels_95,radius_50,radius_95,objective_input,objective_baseline,\
         attribution_sum,completeness_gap,completeness_gap_rel,seconds,params\n",
    );
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for e in &summary.entries {
        let f = &e.figures;
        let params = serde_json::to_string(&e.params).unwrap_or_default();
        let cells = [
            csv(&e.label),
            csv(&e.method),
            csv(&e.model),
            csv(&e.backend),
            csv(&e.image),
            e.scale.to_string(),
            e.window.x0.to_string(),
            e.window.y0.to_string(),
            e.window.size.to_string(),
            csv(&e.objective),
            f.di.to_string(),
            f.gini.to_string(),
            f.pixels_50.to_string(),
            f.pixels_95.to_string(),
            f.radius_50.to_string(),
            f.radius_95.to_string(),
            opt(e.objective_input),
            opt(e.objective_baseline),
            opt(e.attribution_sum),
            opt(e.completeness_gap),
            opt(e.completeness_gap_rel),
            e.seconds.to_string(),
            csv(&params),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A number with about 4 significant digits (scientific outside `[1e-3, 1e5)`).
fn num(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "&infin;".into()
        } else {
            "&minus;&infin;".into()
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

fn pct(r: f64) -> String {
    if r.is_finite() {
        format!("{}%", num(r * 100.0))
    } else {
        num(r)
    }
}

const CSS: &str = "
:root{--fg:#1d2330;--muted:#5b6577;--line:#dde2ea;--bg:#f5f7fa;--card:#fff;--bad:#b42318;--ok:#067647}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 12px}
h2{font-size:17px;margin:0 0 4px}
table{border-collapse:collapse}
th,td{text-align:left;padding:3px 10px 3px 0;vertical-align:top}
th{color:var(--muted);font-weight:500}
table.run{margin-bottom:8px}
.overview{margin:16px 0 20px}
.overview table.figs{background:var(--card);border:1px solid var(--line);border-radius:6px}
.overview table.figs th,.overview table.figs td{padding:5px 12px;border-bottom:1px solid var(--line)}
.overview table.figs td{font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;width:400px;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.sub{margin:0 0 8px;color:var(--muted)}
.pics{display:grid;grid-template-columns:1fr 1fr;gap:8px;margin:8px 0}
figure{margin:0}
figure img{width:100%;display:block;border:1px solid var(--line);image-rendering:auto}
figcaption{font-size:12px;color:var(--muted);text-align:center;margin-top:2px}
.missing{aspect-ratio:1;display:flex;align-items:center;justify-content:center;border:1px dashed var(--bad);color:var(--bad);font-size:12px;word-break:break-all;padding:6px}
.card table.figs td{font-variant-numeric:tabular-nums}
.warn{background:#fef3f2;border:1px solid #fecdca;color:var(--bad);padding:6px 10px;border-radius:6px;margin:8px 0;font-weight:600}
.bad{color:var(--bad);font-weight:600}
.ok{color:var(--ok)}
details{margin-top:8px}
summary{cursor:pointer;color:var(--muted)}
table.params th,table.params td{font-size:12px;vertical-align:baseline}
table.params td{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.prov{color:var(--muted);font-size:12px;margin:6px 0 0;word-break:break-all}
.empty{color:var(--muted)}
footer{margin-top:28px;color:var(--muted);font-size:12px;max-width:900px}
";

const GLOSSARY: &str =
    "<footer>\n<p><b>Diffusion index</b> DI = (1 &minus; Gini) &times; 100 of the \
view |&Sigma;<sub>c</sub> A| / max: larger means more input pixels took part. DI depends on the \
input size; compare networks on the same images and windows only. <b>Pixels / radius for \
50% / 95%</b>: the fewest LR pixels, and the radius around the window centre (LR pixels), \
holding that share of the attribution mass. <b>Completeness gap</b>: sum of the map minus \
(objective at input &minus; objective at baseline), for path methods; a large relative gap \
means the path integral needs more steps. Saliency and KDE use matplotlib's <i>seismic</i> \
colormap at 0.5 + 0.5 &times; value (white = 0, dark red = maximum).</p>\n</footer>\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(label: &str, gap_rel: Option<f64>) -> MethodEntry {
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
            pictures: Pictures {
                sr_window: "a/sr.png".into(),
                saliency: "a/sal.png".into(),
                kde: "a/kde.png".into(),
                blend: "a/blend.png".into(),
            },
            map_file: Some("a/attribution.npy".into()),
            warnings: vec![],
        }
    }

    fn summary(entries: Vec<MethodEntry>) -> ReportSummary {
        ReportSummary {
            entries,
            ..Default::default()
        }
    }

    fn render(s: &ReportSummary) -> String {
        render_report_with(s, &mut |p: &str| (p != "a/kde.png").then(|| vec![1, 2, 3]))
    }

    #[test]
    fn gap_formula() {
        let (g, r) = completeness_gap(6.5, 10.0, 4.0);
        assert!((g - 0.5).abs() < 1e-12 && (r - 0.5 / 6.0).abs() < 1e-12);
        assert_eq!(completeness_gap(0.0, 3.0, 3.0), (0.0, 0.0));
        assert!(completeness_gap(1.0, 3.0, 3.0).1.is_infinite());
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
        // Three of four pictures embedded per card, the missing one is shown as such.
        assert_eq!(html.matches("data:image/png;base64,AQID").count(), 6);
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
        std::fs::write(dir.path().join("a/sal.png"), [0xffu8, 0x00, 0x10]).unwrap();
        let html = render_report(&summary(vec![entry("a", None)]), dir.path());
        // base64 of ff 00 10 is "/wAQ".
        assert!(html.contains("data:image/png;base64,/wAQ"));
        assert_eq!(html.matches("class=\"missing\"").count(), 3);
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
        let html = render(&summary(vec![e]));
        assert_eq!(html.matches("use more steps").count(), 1, "{html}");
        assert_eq!(html.matches("the input was resized").count(), 1);
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
    fn csv_has_one_quoted_row_per_entry() {
        let csv_text = summary_csv(&summary(vec![entry("a,b", Some(0.2)), entry("c", None)]));
        let lines: Vec<&str> = csv_text.lines().collect();
        assert_eq!(lines.len(), 3);
        let ncols = lines[0].split(',').count();
        assert_eq!(ncols, 23);
        assert!(lines[1].starts_with("\"a,b\",lam,rdn-slim-x4,candle,fixture.png,4,110,150,16,"));
        assert!(lines[1].contains(",12.5,0.875,10,90,2.5,7.25,10,4,6.5,0.5,0.2,1.25,"));
        assert!(lines[1].ends_with("\"{\"\"steps\"\":50}\""));
        assert!(lines[2].contains(",0.5,,1.25,"));
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(num(12.5), "12.50");
        assert_eq!(num(0.875), "0.8750");
        assert_eq!(num(1234.5), "1234");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(2.5e-5), "2.500e-5");
        assert_eq!(pct(0.25), "25.00%");
    }
}
