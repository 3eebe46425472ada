//! The study's aggregates per model x method (mean and standard deviation of DI, the mass
//! radii, the completeness gap and the deletion/insertion areas over the random order's; the model's PSNR/SSIM on the images) and the failures, as
//! `summary.json`, `summary.csv` and `summary.md` (a Markdown table ready for a paper).
//!
//! Everything here is computed from the result lines alone, in the study's order, so that
//! the summary of merged shards is the summary of the whole study, byte for byte; it holds
//! no times, dates or folders.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::StudyManifest;
use crate::results::{ResultLine, Status};

/// Mean and sample standard deviation (n - 1) of some values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// How many values.
    pub n: usize,
    /// Their mean (none without values).
    pub mean: Option<f64>,
    /// Their sample standard deviation (none below 2 values).
    pub sd: Option<f64>,
}

impl Stat {
    /// Of `values`, in order.
    pub fn of(values: &[f64]) -> Stat {
        let n = values.len();
        if n == 0 {
            return Stat::default();
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = (n > 1).then(|| {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        });
        Stat {
            n,
            mean: Some(mean),
            sd,
        }
    }
}

/// One model x method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The model's label.
    pub model: String,
    /// The method's label.
    pub method: String,
    /// Items (maps asked for).
    pub items: usize,
    /// Of them, ok.
    pub ok: usize,
    /// Of them, failed.
    pub failed: usize,
    /// Of the ok ones, degenerate (DI undefined, left out of the DI figures).
    pub degenerate: usize,
    /// Diffusion Index (`figures.di`).
    pub di: Stat,
    /// Radius holding 50 % of the mass, LR pixels (`figures.radius_50`).
    pub radius_50: Stat,
    /// Radius holding 95 % of the mass, LR pixels (`figures.radius_95`).
    pub radius_95: Stat,
    /// Relative completeness gap (`completeness_gap_rel`).
    pub gap_rel: Stat,
    /// The deletion area over the random order's (`faithfulness`; below 1 is better than
    /// chance).
    #[serde(default)]
    pub deletion_ratio: Stat,
    /// The insertion area over the random order's (above 1 is better than chance).
    #[serde(default)]
    pub insertion_ratio: Stat,
    /// The model's mean PSNR (dB) over the images it ran on (Y, `scale`-pixel border).
    pub psnr: Option<f64>,
    /// The model's mean SSIM, likewise.
    pub ssim: Option<f64>,
    /// The images behind PSNR/SSIM.
    pub images: usize,
    /// The receptive-field radius (LR pixels) the backend reported, where it bounds it.
    pub receptive_field: Option<u64>,
    /// The model's parameters.
    pub parameters: Option<u64>,
    /// The model's architecture, where its file names it.
    pub architecture: Option<String>,
    /// The precision the maps were computed in (`provenance.precision`: `float32`, or
    /// `float64` for a backend with `precision = "f64"`).
    #[serde(default)]
    pub precision: Option<String>,
    /// The fraction of the windows' pixel-channels with a gradient magnitude below 1e-3
    /// (`conditioning.small_fraction`: how much rounding sets the maps).
    #[serde(default)]
    pub small_gradient: Stat,
    /// The sanity check (`[sanity]`): the maps' similarity to the randomised networks'
    /// maps, per number of layers randomised (empty without `[sanity]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sanity: Vec<SanityLevel>,
}

/// The sanity check's figures over the windows at one number of layers randomised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SanityLevel {
    /// Layers randomised.
    pub layers: usize,
    /// Of the network's parameterised layers.
    pub total_layers: usize,
    /// Spearman's rank correlation of the absolute maps.
    pub spearman_abs: Stat,
    /// Spearman's rank correlation of the signed maps.
    pub spearman_signed: Stat,
    /// SSIM of the absolute maps.
    pub ssim: Stat,
}

impl Row {
    /// The sanity level with the most layers randomised.
    pub fn sanity_last(&self) -> Option<&SanityLevel> {
        self.sanity.iter().max_by_key(|l| l.layers)
    }
}

/// The sanity levels of `lines`, by number of layers randomised.
fn sanity_levels(lines: &[&&ResultLine]) -> Vec<SanityLevel> {
    let mut by_k: std::collections::BTreeMap<usize, Vec<&crate::results::SanityPoint>> =
        Default::default();
    for p in lines.iter().flat_map(|l| &l.sanity) {
        by_k.entry(p.layers).or_default().push(p);
    }
    by_k.into_iter()
        .map(|(layers, points)| {
            let stat = |f: fn(&crate::results::SanityPoint) -> f64| {
                Stat::of(&points.iter().map(|p| f(p)).collect::<Vec<_>>())
            };
            SanityLevel {
                layers,
                total_layers: points[0].total_layers,
                spearman_abs: stat(|p| p.spearman_abs),
                spearman_signed: stat(|p| p.spearman_signed),
                ssim: stat(|p| p.ssim),
            }
        })
        .collect()
}

/// An item that failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Model label.
    pub model: String,
    /// Method label.
    pub method: String,
    /// Image file name.
    pub image: String,
    /// Window label (none when the image could not be read).
    pub window: Option<String>,
    /// Why.
    pub reason: String,
}

/// What `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The study's hash.
    pub study_hash: String,
    /// How the windows were chosen.
    pub windows_rule: String,
    /// How PSNR/SSIM are measured.
    pub metrics: String,
    /// One row per model x method, in the study's order.
    pub rows: Vec<Row>,
    /// Every failed item, in the study's order.
    pub failures: Vec<Failure>,
}

/// The summary of `lines` (sorted by `order`).
pub fn summarise(manifest: &StudyManifest, lines: &[ResultLine]) -> Summary {
    let scale = manifest.config["scale"].as_u64().unwrap_or(4);
    let mut rows: Vec<Row> = Vec::new();
    let mut groups: Vec<((usize, usize), Vec<&ResultLine>)> = Vec::new();
    for l in lines {
        let k = (l.order[0], l.order[1]);
        match groups.last_mut() {
            Some((g, v)) if *g == k => v.push(l),
            _ => groups.push((k, vec![l])),
        }
    }
    groups.sort_by_key(|(k, _)| *k);
    for (_, g) in groups {
        let ok: Vec<&&ResultLine> = g.iter().filter(|l| l.status == Status::Ok).collect();
        let defined: Vec<&&&ResultLine> = ok.iter().filter(|l| !l.degenerate()).collect();
        let fig = |name: &str, from: &[&&&ResultLine]| {
            Stat::of(
                &from
                    .iter()
                    .filter_map(|l| l.figure(name))
                    .collect::<Vec<_>>(),
            )
        };
        let all_ok: Vec<&&&ResultLine> = ok.iter().collect();
        let ratio = |curve: &str| {
            let values: Vec<f64> = ok
                .iter()
                .filter_map(|l| {
                    let own = l.figure(&format!("faithfulness.{curve}_area"))?;
                    let random = l.figure(&format!("faithfulness.random_{curve}_area"))?;
                    (random != 0.0).then(|| own / random)
                })
                .collect();
            Stat::of(&values)
        };
        let mut seen = std::collections::BTreeSet::new();
        let per_image: Vec<(f64, f64)> = ok
            .iter()
            .filter(|l| seen.insert(l.image_sha256.clone()))
            .filter_map(|l| Some((l.psnr?, l.ssim?)))
            .collect();
        let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let first = ok.first();
        let provenance = |k: &str| {
            first
                .and_then(|l| l.report.as_ref())
                .map(|r| r["provenance"][k].clone())
        };
        rows.push(Row {
            model: g[0].model.clone(),
            method: g[0].method.clone(),
            items: g.len(),
            ok: ok.len(),
            failed: g.len() - ok.len(),
            degenerate: ok.len() - defined.len(),
            di: fig("figures.di", &defined),
            radius_50: fig("figures.radius_50", &defined),
            radius_95: fig("figures.radius_95", &defined),
            gap_rel: fig("completeness_gap_rel", &all_ok),
            deletion_ratio: ratio("deletion"),
            insertion_ratio: ratio("insertion"),
            psnr: mean(per_image.iter().map(|p| p.0).collect()),
            ssim: mean(per_image.iter().map(|p| p.1).collect()),
            images: per_image.len(),
            receptive_field: provenance("receptive_field").and_then(|r| r["radius"].as_u64()),
            parameters: provenance("parameters").and_then(|p| p.as_u64()),
            architecture: provenance("architecture").and_then(|a| a.as_str().map(String::from)),
            precision: provenance("precision").and_then(|p| p.as_str().map(String::from)),
            small_gradient: fig("conditioning.small_fraction", &all_ok),
            sanity: sanity_levels(&ok),
        });
    }
    let failures = lines
        .iter()
        .filter(|l| l.status == Status::Failed)
        .map(|l| Failure {
            model: l.model.clone(),
            method: l.method.clone(),
            image: l.image.clone(),
            window: l.window.as_ref().map(|w| w.label.clone()),
            reason: l.reason.clone().unwrap_or_default(),
        })
        .collect();
    Summary {
        study_hash: manifest.study_hash.clone(),
        windows_rule: manifest.windows_rule.clone(),
        metrics: format!(
            "PSNR and SSIM on the Y channel (BT.601), a border of {scale} pixels cut, of the SR \
             output against the HR image, averaged over the images"
        ),
        rows,
        failures,
    }
}

/// `12.34 ± 1.23`, `12.34` (one value) or `-`.
pub fn mean_sd(s: &Stat, digits: usize) -> String {
    match (s.mean, s.sd) {
        (Some(m), Some(sd)) => format!("{m:.digits$} ± {sd:.digits$}"),
        (Some(m), None) => format!("{m:.digits$}"),
        _ => "-".into(),
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// The Markdown table (and the failures).
pub fn markdown(s: &Summary) -> String {
    let mut t = String::from(
        "| Model | Method | Maps | DI | r50 (LR px) | r95 (LR px) | Completeness gap (%) | Deletion / random | Insertion / random | Sanity: Spearman / SSIM | PSNR (dB) | SSIM | Receptive field (LR px) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in &s.rows {
        let gap = Stat {
            n: r.gap_rel.n,
            mean: r.gap_rel.mean.map(|v| v * 100.0),
            sd: r.gap_rel.sd.map(|v| v * 100.0),
        };
        t.push_str(&format!(
            "| {} | {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.model,
            r.method,
            r.ok,
            if r.failed > 0 {
                format!(" ({} failed)", r.failed)
            } else {
                String::new()
            },
            mean_sd(&r.di, 2),
            mean_sd(&r.radius_50, 1),
            mean_sd(&r.radius_95, 1),
            mean_sd(&gap, 1),
            mean_sd(&r.deletion_ratio, 2),
            mean_sd(&r.insertion_ratio, 2),
            sanity_cell(r),
            opt(r.psnr, 2),
            opt(r.ssim, 4),
            r.receptive_field
                .map_or("unbounded".into(), |v| v.to_string()),
        ));
    }
    t.push_str(&format!(
        "\nMean ± sample standard deviation over the windows. Deletion / insertion: the area \
         under the map's deletion (insertion) curve over the random order's; below (above) 1 \
         the map finds the pixels the window depends on faster than chance. Sanity: the rank \
         correlation of the absolute maps and their SSIM against the maps of the network with \
         its last k of n parameterised layers randomised (the most layers of `[sanity]`; near 0 \
         means the map depends on the weights, as it should). Windows: {}. {}.\n",
        s.windows_rule, s.metrics
    ));
    if !s.failures.is_empty() {
        t.push_str(&format!("\n**{} failed item(s):**\n\n", s.failures.len()));
        for f in &s.failures {
            t.push_str(&format!(
                "- {} / {} / {} / {}: {}\n",
                f.model,
                f.method,
                f.image,
                f.window.as_deref().unwrap_or("-"),
                f.reason.replace('\n', " ")
            ));
        }
    }
    t
}

/// `0.12 ± 0.03 / 0.05 ± 0.01 (k 8 of 8)` or `-`: the sanity check with the most layers
/// randomised.
pub fn sanity_cell(r: &Row) -> String {
    r.sanity_last().map_or("-".into(), |l| {
        format!(
            "{} / {} (k {} of {})",
            mean_sd(&l.spearman_abs, 2),
            mean_sd(&l.ssim, 2),
            l.layers,
            l.total_layers
        )
    })
}

/// The CSV columns.
pub const CSV_COLUMNS: [&str; 33] = [
    "model",
    "method",
    "items",
    "ok",
    "failed",
    "degenerate",
    "di_mean",
    "di_sd",
    "radius_50_mean",
    "radius_50_sd",
    "radius_95_mean",
    "radius_95_sd",
    "gap_rel_mean",
    "gap_rel_sd",
    "psnr_db",
    "ssim",
    "images",
    "receptive_field",
    "parameters",
    "architecture",
    "di_n",
    "deletion_ratio_mean",
    "deletion_ratio_sd",
    "insertion_ratio_mean",
    "insertion_ratio_sd",
    "precision",
    "small_gradient_mean",
    "small_gradient_sd",
    "sanity_layers",
    "sanity_spearman_abs_mean",
    "sanity_spearman_abs_sd",
    "sanity_ssim_mean",
    "sanity_ssim_sd",
];

/// `summary.csv`: one line per row, full precision.
pub fn csv(s: &Summary) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).expect("in memory");
    let f = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for r in &s.rows {
        let last = r.sanity_last();
        w.write_record([
            r.model.clone(),
            r.method.clone(),
            r.items.to_string(),
            r.ok.to_string(),
            r.failed.to_string(),
            r.degenerate.to_string(),
            f(r.di.mean),
            f(r.di.sd),
            f(r.radius_50.mean),
            f(r.radius_50.sd),
            f(r.radius_95.mean),
            f(r.radius_95.sd),
            f(r.gap_rel.mean),
            f(r.gap_rel.sd),
            f(r.psnr),
            f(r.ssim),
            r.images.to_string(),
            r.receptive_field.map_or(String::new(), |v| v.to_string()),
            r.parameters.map_or(String::new(), |v| v.to_string()),
            r.architecture.clone().unwrap_or_default(),
            r.di.n.to_string(),
            f(r.deletion_ratio.mean),
            f(r.deletion_ratio.sd),
            f(r.insertion_ratio.mean),
            f(r.insertion_ratio.sd),
            r.precision.clone().unwrap_or_default(),
            f(r.small_gradient.mean),
            f(r.small_gradient.sd),
            last.map_or(String::new(), |l| l.layers.to_string()),
            f(last.and_then(|l| l.spearman_abs.mean)),
            f(last.and_then(|l| l.spearman_abs.sd)),
            f(last.and_then(|l| l.ssim.mean)),
            f(last.and_then(|l| l.ssim.sd)),
        ])
        .expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8")
}

/// Writes `summary.json`, `summary.csv` and `summary.md` into `out`.
pub fn write_all(out: &Path, manifest: &StudyManifest, lines: &[ResultLine]) -> Result<Summary> {
    let s = summarise(manifest, lines);
    let write = |name: &str, text: String| {
        let p = out.join(name);
        srlens_report::write_atomic(&p, text.as_bytes()).map_err(|e| Error::Io {
            path: p.clone(),
            message: e.to_string(),
        })
    };
    write(
        "summary.json",
        serde_json::to_string_pretty(&s).expect("a summary serialises"),
    )?;
    write("summary.csv", csv(&s))?;
    write("summary.md", markdown(&s))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats() {
        let s = Stat::of(&[1.0, 2.0, 3.0]);
        assert_eq!((s.n, s.mean, s.sd), (3, Some(2.0), Some(1.0)));
        assert_eq!(Stat::of(&[4.0]).sd, None);
        assert_eq!(mean_sd(&Stat::of(&[1.0, 2.0, 3.0]), 2), "2.00 ± 1.00");
        assert_eq!(mean_sd(&Stat::default(), 2), "-");
    }
}
