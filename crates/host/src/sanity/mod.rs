//! `srlens sanity` as a library (Adebayo et al., "Sanity checks for saliency maps", 2018):
//! the config's run on the trained network, then on the same network with its last k
//! parameterised layers re-drawn at random (the backends' `randomize_layers` option),
//! cascading from the output end; each map against the trained network's, by rank
//! correlation and SSIM, as `sanity.json`, `sanity.csv`, `sanity.md` and `report.html`.

mod similarity;

use std::path::{Path, PathBuf};

use srlens_report::{write_atomic, MethodEntry, ReportSummary, SanityReport, SanityRow};

use crate::config;
use crate::error::{Error, Result};
use crate::run::{run, Observer, RunArgs};
pub use similarity::{spearman, ssim_of_views};

/// The options of a sanity check.
#[derive(Debug, Clone, Default)]
pub struct SanityArgs {
    /// The run's config, overrides, output folder and plugins.
    pub run: RunArgs,
    /// The numbers of layers to randomise (none: 1, 2, 4, ... and all of them).
    pub layers: Option<Vec<usize>>,
    /// The seed of the random weights.
    pub seed: u64,
    /// A finished run of the same config (its folder) to compare against, instead of running
    /// the trained network again (a study's run).
    pub trained: Option<PathBuf>,
    /// Where the layers were given, for errors (default `--layers`).
    pub layers_key: Option<String>,
}

/// The observer of a randomised run: its maps' warnings (a randomised network, a badly
/// conditioned window) are in its own reports, and would bury the trained run's.
struct NoWarnings<'a>(&'a dyn Observer);

impl Observer for NoWarnings<'_> {
    fn progress(&self, label: &str) -> std::sync::Arc<dyn crate::run::ProgressSink> {
        self.0.progress(label)
    }
    fn note(&self, what: &str, text: &str) {
        self.0.note(what, text);
    }
    fn warning(&self, _: &str) {}
}

/// `1, 2, 4, ...` below `total`, then `total`.
pub fn default_steps(total: usize) -> Vec<usize> {
    let mut steps: Vec<usize> = std::iter::successors(Some(1usize), |k| Some(k * 2))
        .take_while(|&k| k < total)
        .collect();
    if total > 0 {
        steps.push(total);
    }
    steps
}

fn read_summary(dir: &Path) -> Result<ReportSummary> {
    let p = dir.join("summary.json");
    let text = std::fs::read_to_string(&p).map_err(|e| Error::Output {
        path: p.clone(),
        message: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Output {
        path: p,
        message: format!("not a summary.json of srlens run: {e}"),
    })
}

fn read_map(dir: &Path, e: &MethodEntry) -> Result<(Vec<usize>, Vec<f32>)> {
    let p = dir.join(e.map_file.as_deref().unwrap_or_default());
    let bytes = std::fs::read(&p).map_err(|err| Error::Output {
        path: p.clone(),
        message: err.to_string(),
    })?;
    srlens_report::npy::decode_npy(&bytes).map_err(|err| Error::Output {
        path: p,
        message: err.to_string(),
    })
}

/// `to` as seen from `from` (both absolute): `..`s when `from` lies inside `to`, else `to`.
fn relative_to(from: &Path, to: &Path) -> String {
    match from.strip_prefix(to) {
        Ok(inner) => {
            let depth = inner.components().count();
            if depth == 0 {
                ".".into()
            } else {
                vec![".."; depth].join("/")
            }
        }
        Err(_) => to.display().to_string(),
    }
}

/// Runs the sanity check; returns the folder its report was written to and the report.
pub fn sanity(args: &SanityArgs, observer: &dyn Observer) -> Result<(PathBuf, SanityReport)> {
    let cfg = config::load(&args.run.config, &args.run.overrides)?;
    let out = match &args.run.out {
        Some(o) => o.clone(),
        None => cfg.resolve(&cfg.config.out),
    };
    let run_k = |k: usize| -> Result<PathBuf> {
        let mut overrides = args.run.overrides.clone();
        overrides.push("faithfulness.steps=0".into());
        if k > 0 {
            overrides.push(format!("model.options.randomize_layers={k}"));
            overrides.push(format!("model.options.randomize_seed={}", args.seed));
        }
        observer.note("sanity", &format!("{k} layer(s) randomised"));
        let run_args = RunArgs {
            overrides,
            out: Some(out.join(format!("k{k}"))),
            ..args.run.clone()
        };
        if k == 0 {
            run(&run_args, observer)
        } else {
            run(&run_args, &NoWarnings(observer))
        }
    };
    let (trained_dir, trained_rel) = match &args.trained {
        Some(dir) => {
            let dir = std::path::absolute(dir).map_err(|e| Error::Output {
                path: dir.clone(),
                message: e.to_string(),
            })?;
            let out = std::path::absolute(&out).unwrap_or_else(|_| out.clone());
            let rel = relative_to(&out, &dir);
            (dir, rel)
        }
        None => (run_k(0)?, "k0".to_string()),
    };
    let trained = read_summary(&trained_dir)?;
    let first = trained.entries.first().ok_or_else(|| {
        Error::Config(format!(
            "{}: the run made no maps",
            args.run.config.display()
        ))
    })?;
    let Some(total) = first.provenance.layers.map(|l| l as usize) else {
        return Err(Error::Config(format!(
            "backend `{}` cannot randomise its layers (it reports no parameterised layers): \
             the sanity check needs candle, ort or tch",
            first.backend
        )));
    };
    let steps = args.layers.clone().unwrap_or_else(|| default_steps(total));
    if let Some(&k) = steps.iter().find(|&&k| k == 0 || k > total) {
        return Err(Error::Config(format!(
            "{} {k}: choose numbers of layers from 1 to {total} (the network's \
             parameterised layers)",
            args.layers_key.as_deref().unwrap_or("--layers")
        )));
    }
    let mut rows: Vec<SanityRow> = Vec::new();
    let mut maps = Vec::new();
    for e in &trained.entries {
        maps.push(read_map(&trained_dir, e)?);
    }
    let row =
        |e: &MethodEntry, k: usize, a: &(Vec<usize>, Vec<f32>), b: &(Vec<usize>, Vec<f32>)| {
            let s = similarity::compare(&a.0, &a.1, &b.1);
            let dir = if k == 0 {
                trained_rel.clone()
            } else {
                format!("k{k}")
            };
            SanityRow {
                label: e.label.clone(),
                layers: k,
                spearman_abs: s.spearman_abs,
                spearman_signed: s.spearman_signed,
                ssim: s.ssim,
                saliency: format!("{dir}/{}", e.pictures.saliency),
            }
        };
    for (e, m) in trained.entries.iter().zip(&maps) {
        rows.push(row(e, 0, m, m));
    }
    for &k in &steps {
        let dir = run_k(k)?;
        let randomised = read_summary(&dir)?;
        for (e, m) in trained.entries.iter().zip(&maps) {
            let other = randomised
                .entries
                .iter()
                .find(|o| o.label == e.label)
                .ok_or_else(|| Error::Output {
                    path: dir.join("summary.json"),
                    message: format!("no map `{}`", e.label),
                })?;
            rows.push(row(e, k, m, &read_map(&dir, other)?));
        }
    }
    // By label, then layers.
    let labels: Vec<String> = trained.entries.iter().map(|e| e.label.clone()).collect();
    rows.sort_by_key(|r| (labels.iter().position(|l| *l == r.label), r.layers));
    let report = SanityReport {
        model: first.model.clone(),
        backend: first.backend.clone(),
        total_layers: total,
        steps: std::iter::once(0).chain(steps).collect(),
        seed: args.seed,
        rows,
    };
    let write = |name: &str, bytes: &[u8]| {
        let p = out.join(name);
        write_atomic(&p, bytes).map_err(|e| Error::Output {
            path: p.clone(),
            message: e.to_string(),
        })
    };
    write(
        "sanity.json",
        serde_json::to_string_pretty(&report)
            .expect("serialisable")
            .as_bytes(),
    )?;
    write("sanity.csv", report.csv().as_bytes())?;
    write("sanity.md", report.markdown().as_bytes())?;
    write("sanity.svg", report.plot().as_bytes())?;
    write("report.html", report.html(&out).as_bytes())?;
    Ok((out, report))
}
