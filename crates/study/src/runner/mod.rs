//! `srlens study`: lay out the grid, skip what is finished, run each model x method x image
//! as one `srlens run` (through the host library) with all its pending windows, append each
//! item's result as it finishes, then write the summary and the report.

mod line;
mod readback;
mod run_config;

use std::path::{Path, PathBuf};
use std::time::Instant;

use srlens_host::{PluginDirs, RunArgs, SanityArgs, Silent};
use srlens_report::SanityReport;

use crate::config::{self, LoadedStudy, SanitySettings};
use crate::error::{io, Error, Result};
use crate::grid::{Item, Plan, RunUnit};
use crate::manifest::StudyManifest;
use crate::progress::{StudyLog, StudyObserver};
use crate::results::{self, ResultLine, SanityPoint, Status, RESULTS_FILE};
use crate::shard::{self, Shard};
use crate::windows::rule_text;

/// What `srlens study` is given besides the config.
#[derive(Debug, Clone, Default)]
pub struct StudyArgs {
    /// The study config.
    pub config: PathBuf,
    /// `--set key=value` overrides of the study config.
    pub overrides: Vec<String>,
    /// `--out DIR`, overriding the config's `out`.
    pub out: Option<PathBuf>,
    /// The shard to run (none: all of it).
    pub shard: Option<Shard>,
    /// Where plugins are.
    pub plugin_dirs: PluginDirs,
}

/// How a study went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The study folder.
    pub out: PathBuf,
    /// Items of this shard.
    pub total: usize,
    /// Of them, ok now.
    pub ok: usize,
    /// Of them, failed now.
    pub failed: usize,
    /// Of them, finished before this run and skipped.
    pub skipped: usize,
    /// Items computed by this run (ok or failed).
    pub computed: usize,
}

/// Runs the study (or its shard) into its folder; see the module's notes.
pub fn run_study(args: &StudyArgs, observer: &dyn StudyObserver) -> Result<Outcome> {
    let study = config::load(&args.config, &args.overrides)?;
    let out = match &args.out {
        Some(o) => config::tidy(&std::path::absolute(o).map_err(io(o))?),
        None => study.resolve(&study.config.out),
    };
    std::fs::create_dir_all(&out).map_err(io(&out))?;
    let hash = study.study_hash();
    if let Some(old) = StudyManifest::read_if_any(&out)? {
        if old.study_hash != hash || old.shard != args.shard {
            let what =
                |s: Option<Shard>| s.map_or("the whole study".into(), |s| format!("shard {s}"));
            return Err(Error::Config(format!(
                "{} holds {} of another study or shard (study hash {}, this one {}; {} there, {} \
                 here): choose another output folder (`out` or --out), or remove it",
                out.display(),
                what(old.shard),
                &old.study_hash[..12],
                &hash[..12],
                what(old.shard),
                what(args.shard)
            )));
        }
    }
    let plan = Plan::new(&study)?;
    let mine: Vec<&RunUnit> = match args.shard {
        Some(s) => {
            let of = shard::assign(&plan.units, s.count);
            plan.units
                .iter()
                .zip(of)
                .filter(|(_, i)| *i == s.index)
                .map(|(u, _)| u)
                .collect()
        }
        None => plan.units.iter().collect(),
    };
    let manifest = StudyManifest {
        study_hash: hash,
        srlens_version: env!("CARGO_PKG_VERSION").to_string(),
        config_file: study.path.display().to_string(),
        config: study.normalised(),
        windows_rule: rule_text(&study.config.windows),
        shard: args.shard,
        merged: Vec::new(),
        items: mine
            .iter()
            .flat_map(|u| u.items.iter().map(|i| i.key.clone()))
            .collect(),
    };
    manifest.write(&out)?;

    let results_path = out.join(RESULTS_FILE);
    let read = results::read(&results_path, true)?;
    let log = StudyLog::new(&out);
    if let Some(n) = read.torn {
        let text = format!(
            "the last line of {} was torn ({n} bytes, a write cut short): cut off, its item is redone",
            results_path.display()
        );
        observer.note(&text);
        log.line(&format!("{} note {text}", now()));
    }
    let finished: std::collections::HashMap<String, ResultLine> = read
        .lines
        .into_iter()
        .filter(|l| l.status == Status::Ok)
        .map(|l| (l.key.clone(), l))
        .collect();
    let total: usize = mine.iter().map(|u| u.items.len()).sum();
    let skipped = mine
        .iter()
        .flat_map(|u| &u.items)
        .filter(|i| finished.contains_key(&i.key))
        .count();
    if let Some(s) = args.shard {
        observer.note(&format!(
            "shard {s}: {} of the study's {} runs",
            mine.len(),
            plan.units.len()
        ));
    }
    observer.begin(total, skipped);
    let runner = Runner {
        study: &study,
        plan: &plan,
        out: &out,
        plugin_dirs: &args.plugin_dirs,
    };
    let mut computed = 0;
    for unit in &mine {
        let pending: Vec<&Item> = unit
            .items
            .iter()
            .filter(|i| !finished.contains_key(&i.key))
            .collect();
        if pending.is_empty() {
            continue;
        }
        let used: Vec<&str> = unit
            .items
            .iter()
            .filter_map(|i| finished.get(&i.key))
            .filter_map(|l| l.run_dir.as_deref())
            .collect();
        let lines = runner.run_unit(unit, &pending, &used, observer);
        results::append(&results_path, &lines)?;
        for l in &lines {
            log.item(l);
            observer.finished(l);
        }
        computed += lines.len();
    }
    observer.end();
    let read = results::read(&results_path, false)?;
    let latest = results::latest(&read.lines);
    let keys: std::collections::HashSet<&str> = manifest.items.iter().map(String::as_str).collect();
    let mut lines: Vec<ResultLine> = latest
        .into_values()
        .filter(|l| keys.contains(l.key.as_str()))
        .cloned()
        .collect();
    lines.sort_by_key(|l| l.order);
    let ok = lines.iter().filter(|l| l.status == Status::Ok).count();
    let failed = lines.len() - ok;
    crate::summary::write_all(&out, &manifest, &lines)?;
    crate::report::write(&out, &manifest, &lines)?;
    Ok(Outcome {
        out,
        total,
        ok,
        failed,
        skipped,
        computed,
    })
}

/// RFC 3339 now, to the second.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// What every run of a study shares.
pub(crate) struct Runner<'a> {
    pub(crate) study: &'a LoadedStudy,
    pub(crate) plan: &'a Plan,
    pub(crate) out: &'a Path,
    pub(crate) plugin_dirs: &'a PluginDirs,
}

impl Runner<'_> {
    /// Runs `pending` items of `unit` (those that fail before any run at once, the rest in one
    /// `srlens run`) into a run folder that no finished item of `used` lies in.
    fn run_unit(
        &self,
        unit: &RunUnit,
        pending: &[&Item],
        used: &[&str],
        observer: &dyn StudyObserver,
    ) -> Vec<ResultLine> {
        let mut lines: Vec<ResultLine> = pending
            .iter()
            .filter_map(|i| {
                i.fails_before
                    .as_ref()
                    .map(|why| self.line(unit, i, Err(why.clone()), 0.0, 0.0))
            })
            .collect();
        let runnable: Vec<&Item> = pending
            .iter()
            .copied()
            .filter(|i| i.fails_before.is_none())
            .collect();
        if runnable.is_empty() {
            return lines;
        }
        let run_rel = (1..)
            .map(|n| {
                if n == 1 {
                    format!("runs/{}", unit.id)
                } else {
                    format!("runs/{}-{n}", unit.id)
                }
            })
            .find(|d| !used.contains(&d.as_str()))
            .expect("a free folder");
        let run_dir = self.out.join(&run_rel);
        let labels: Vec<&str> = runnable
            .iter()
            .filter_map(|i| i.window.as_ref())
            .map(|w| w.label.as_str())
            .collect();
        observer.running(&format!("{} ({})", unit.id, labels.join(", ")));
        let started = Instant::now();
        let result = self.run_host(unit, &runnable, &run_dir, &run_rel);
        let run_seconds = started.elapsed().as_secs_f64();
        let each = run_seconds / runnable.len() as f64;
        let result = result.and_then(|config| {
            let sanity = match &self.study.config.sanity {
                Some(settings) => {
                    observer.running(&format!("{} (sanity check)", unit.id));
                    Some(self.sanity(settings, &config, &run_dir)?)
                }
                None => None,
            };
            Ok(sanity)
        });
        match result {
            Ok(sanity) => {
                let method = self.study.config.methods[unit.method].label();
                for item in runnable {
                    let w = item.window.as_ref().expect("runnable items have windows");
                    let dir = format!("{run_rel}/{method}/{}", w.label);
                    let mut line =
                        self.line(unit, item, Ok((dir, run_rel.clone())), each, run_seconds);
                    if let Some(report) = &sanity {
                        line.sanity = sanity_points(report, &format!("{method}/{}", w.label));
                    }
                    lines.push(line);
                }
            }
            Err(why) => {
                for item in runnable {
                    lines.push(self.line(unit, item, Err(why.clone()), each, run_seconds));
                }
            }
        }
        lines
    }

    /// Writes the run's config and runs it through the host library; returns the config.
    fn run_host(
        &self,
        unit: &RunUnit,
        items: &[&Item],
        run_dir: &Path,
        run_rel: &str,
    ) -> std::result::Result<PathBuf, String> {
        let model_file = self.plan.models[unit.model].file.clone()?;
        let windows: Vec<_> = items.iter().filter_map(|i| i.window.as_ref()).collect();
        let text = run_config::run_config(
            self.study,
            unit.model,
            model_file.as_deref(),
            unit.method,
            &self.plan.images[unit.image].path,
            &windows,
            run_dir,
        );
        let config = self
            .out
            .join("configs")
            .join(format!("{}.toml", run_rel.trim_start_matches("runs/")));
        if let Some(parent) = config.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        srlens_report::write_atomic(&config, text.as_bytes()).map_err(|e| e.to_string())?;
        let args = RunArgs {
            config: config.clone(),
            overrides: Vec::new(),
            out: Some(run_dir.to_path_buf()),
            plugin_dirs: self.plugin_dirs.clone(),
        };
        srlens_host::run(&args, &Silent)
            .map(|_| config)
            .map_err(|e| e.to_string())
    }

    /// The sanity check of a finished run (its `config`, its folder `run_dir`): the
    /// randomised runs and the report go into `run_dir/sanity`.
    fn sanity(
        &self,
        settings: &SanitySettings,
        config: &Path,
        run_dir: &Path,
    ) -> std::result::Result<SanityReport, String> {
        let args = SanityArgs {
            run: RunArgs {
                config: config.to_path_buf(),
                overrides: Vec::new(),
                out: Some(run_dir.join("sanity")),
                plugin_dirs: self.plugin_dirs.clone(),
            },
            layers: settings.layers.clone(),
            seed: settings.seed,
            trained: Some(run_dir.to_path_buf()),
            layers_key: Some("`[sanity]` layers:".into()),
        };
        srlens_host::sanity(&args, &Silent)
            .map(|(_, report)| report)
            .map_err(|e| format!("sanity check: {e}"))
    }
}

/// The randomised rows of `label` in `report` (the trained map against itself left out).
fn sanity_points(report: &SanityReport, label: &str) -> Vec<SanityPoint> {
    report
        .rows
        .iter()
        .filter(|r| r.label == label && r.layers > 0)
        .map(|r| SanityPoint {
            layers: r.layers,
            total_layers: report.total_layers,
            spearman_abs: r.spearman_abs,
            spearman_signed: r.spearman_signed,
            ssim: r.ssim,
        })
        .collect()
}
