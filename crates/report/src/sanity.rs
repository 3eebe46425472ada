//! The sanity check's record and pages (Adebayo et al., "Sanity checks for saliency maps",
//! 2018): each map of the trained network against the map of the same network with its
//! layers randomised from the output end, cascading; a map that explains the network
//! changes as its weights do.

use std::path::Path;

use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::{Deserialize, Serialize};

use crate::html::format::num;
use crate::plot::{line_plot, Curve, LinePlot};

/// One map of a randomised network against the trained network's map of the same method
/// and window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SanityRow {
    /// The entry's label (method label, with the window's when there are several).
    pub label: String,
    /// How many layers were randomised (0: the trained network).
    pub layers: usize,
    /// Spearman's rank correlation of the absolute maps (`|sum_c A|`, Adebayo's "absolute").
    pub spearman_abs: f64,
    /// Spearman's rank correlation of the signed maps (`sum_c A`).
    pub spearman_signed: f64,
    /// SSIM of the absolute maps, each scaled to `[0, 1]` by its maximum.
    pub ssim: f64,
    /// The map's saliency picture, relative to the report.
    pub saliency: String,
}

/// What `sanity.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SanityReport {
    /// The model.
    pub model: String,
    /// The backend.
    pub backend: String,
    /// The network's parameterised layers (what can be randomised).
    pub total_layers: usize,
    /// The numbers of layers randomised, in order (0 first).
    pub steps: Vec<usize>,
    /// The seed of the random weights.
    pub seed: u64,
    /// Every map against its trained counterpart, by label then layers.
    pub rows: Vec<SanityRow>,
}

impl SanityReport {
    /// The labels, in order of first appearance.
    pub fn labels(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !out.contains(&r.label.as_str()) {
                out.push(&r.label);
            }
        }
        out
    }

    /// Similarity against layers randomised: per label, Spearman of the absolute and the
    /// signed maps (solid) and SSIM (dashed).
    pub fn plot(&self) -> String {
        let mut curves = Vec::new();
        for (i, label) in self.labels().into_iter().enumerate() {
            let own: Vec<&SanityRow> = self.rows.iter().filter(|r| r.label == label).collect();
            let pts = |f: fn(&SanityRow) -> f64| -> Vec<(f64, f64)> {
                own.iter().map(|r| (r.layers as f64, f(r))).collect()
            };
            curves.push(Curve::new(
                &format!("{label}: Spearman |A|"),
                pts(|r| r.spearman_abs),
                3 * i,
                false,
            ));
            curves.push(Curve::new(
                &format!("{label}: Spearman A"),
                pts(|r| r.spearman_signed),
                3 * i + 1,
                false,
            ));
            curves.push(Curve::new(
                &format!("{label}: SSIM"),
                pts(|r| r.ssim),
                3 * i + 2,
                true,
            ));
        }
        line_plot(
            &LinePlot {
                caption: "Cascading randomisation: similarity to the trained network's map",
                x_desc: "layers randomised, from the output end",
                y_desc: "similarity",
                size: (640, 400),
                y_range: Some((-0.2, 1.05)),
                legend: plotters::prelude::SeriesLabelPosition::UpperRight,
            },
            &curves,
        )
    }

    /// A Markdown table.
    pub fn markdown(&self) -> String {
        let mut t = format!(
            "Sanity check of {} ({}): {} parameterised layers, randomised from the output end \
             (seed {}).\n\n| Map | Layers randomised | Spearman abs | Spearman signed | SSIM |\n|---|---:|---:|---:|---:|\n",
            self.model, self.backend, self.total_layers, self.seed
        );
        for r in &self.rows {
            t.push_str(&format!(
                "| {} | {} | {:.4} | {:.4} | {:.4} |\n",
                r.label, r.layers, r.spearman_abs, r.spearman_signed, r.ssim
            ));
        }
        t
    }

    /// The rows as CSV.
    pub fn csv(&self) -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        const OK: &str = "CSV into memory";
        w.write_record(["label", "layers", "spearman_abs", "spearman_signed", "ssim"])
            .expect(OK);
        for r in &self.rows {
            w.write_record([
                r.label.clone(),
                r.layers.to_string(),
                r.spearman_abs.to_string(),
                r.spearman_signed.to_string(),
                r.ssim.to_string(),
            ])
            .expect(OK);
        }
        String::from_utf8(w.into_inner().expect(OK)).expect(OK)
    }

    /// The self-contained page: the plot, the saliency pictures per label and number of
    /// layers (the paper's figure), and the table; pictures are read from `base_dir`.
    pub fn html(&self, base_dir: &Path) -> String {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let picture = |path: &str| -> Markup {
            match std::fs::read(base_dir.join(path)) {
                Ok(bytes) => html! {
                    img.pixelated src=(format!("data:image/png;base64,{}", b64(&bytes))) alt=(path);
                },
                Err(_) => html! { div.missing { "missing: " (path) } },
            }
        };
        let title = format!("srlens sanity check: {}", self.model);
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { (title) }
                    style { (PreEscaped(SANITY_CSS)) }
                }
                body {
                    h1 { (title) }
                    p {
                        "Each map of the trained network against the map of the same network \
                         with its last k parameterised layers (of " (self.total_layers) ") \
                         re-drawn at random, cascading from the output end (Adebayo et al., \
                         2018; seed " (self.seed) ", backend " (self.backend) "). A map that \
                         explains the network changes as its weights do: the similarity should \
                         fall as k grows. The rank correlation of the absolute maps stays high \
                         for any map that fades with the distance from the window (the \
                         receptive field's shape, which random weights share); the signed \
                         correlation and SSIM follow the weights."
                    }
                    img src=(format!("data:image/svg+xml;base64,{}", b64(self.plot().as_bytes()))) alt="similarity against layers randomised";
                    @for label in self.labels() {
                        h2 { (label) }
                        div.row {
                            @for r in self.rows.iter().filter(|r| r.label == label) {
                                figure {
                                    (picture(&r.saliency))
                                    figcaption {
                                        "k = " (r.layers) br;
                                        "ρ " (num(r.spearman_abs)) " · SSIM " (num(r.ssim))
                                    }
                                }
                            }
                        }
                    }
                    h2 { "Table" }
                    table {
                        tr { th { "Map" } th { "Layers randomised" } th { "Spearman |A|" } th { "Spearman A" } th { "SSIM" } }
                        @for r in &self.rows {
                            tr {
                                td { (r.label) } td { (r.layers) } td { (num(r.spearman_abs)) }
                                td { (num(r.spearman_signed)) } td { (num(r.ssim)) }
                            }
                        }
                    }
                }
            }
        }
        .into_string()
    }
}

const SANITY_CSS: &str = "body{font-family:sans-serif;margin:1.5em;max-width:1400px}\
.row{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;text-align:center;font-size:12px}\
figure img{width:128px;height:128px}.pixelated{image-rendering:pixelated}\
.missing{width:128px;height:128px;border:1px dashed #c00;color:#c00;font-size:11px}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_list_every_row_and_name_missing_pictures() {
        let row = |layers: usize, s: f64| SanityRow {
            label: "lam".into(),
            layers,
            spearman_abs: s,
            spearman_signed: s / 2.0,
            ssim: s,
            saliency: format!("k{layers}/lam/saliency.png"),
        };
        let r = SanityReport {
            model: "m".into(),
            backend: "candle".into(),
            total_layers: 4,
            steps: vec![0, 2],
            seed: 0,
            rows: vec![row(0, 1.0), row(2, 0.25)],
        };
        let md = r.markdown();
        assert!(
            md.contains("| lam | 2 | 0.2500 | 0.1250 | 0.2500 |"),
            "{md}"
        );
        assert_eq!(r.csv().lines().count(), 3);
        let page = r.html(Path::new("/nonexistent"));
        assert!(page.contains("missing: k2/lam/saliency.png"));
        assert!(page.contains("data:image/svg+xml;base64,"));
    }
}
