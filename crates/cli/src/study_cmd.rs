//! `srlens study` and `srlens merge` in the terminal: one bar for the whole study (items
//! done, failed, ETA, the current run), hidden when stderr is not a terminal or with
//! `--quiet`, and the exit code (2 when some items failed).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use srlens_study::results::{ResultLine, Status};
use srlens_study::StudyObserver;

/// The study's bar.
pub struct StudyBar {
    bar: ProgressBar,
    failed: AtomicUsize,
    quiet: bool,
}

impl StudyBar {
    /// A bar on stderr; hidden when `quiet` or stderr is not a terminal.
    pub fn new(quiet: bool) -> Self {
        let quiet = quiet || !std::io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if quiet {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12.bold} [{bar:30}] {pos}/{len} items, {msg} ({elapsed}, eta {eta})",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix("study");
        StudyBar {
            bar,
            failed: AtomicUsize::new(0),
            quiet,
        }
    }

    fn message(&self, current: &str) {
        let failed = self.failed.load(Ordering::Relaxed);
        self.bar.set_message(format!("{failed} failed; {current}"));
    }
}

impl StudyObserver for StudyBar {
    fn begin(&self, total: usize, done: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        // The ETA counts the items of this run only.
        self.bar.reset_eta();
        self.message(if done > 0 { "resuming" } else { "starting" });
    }

    fn running(&self, what: &str) {
        self.message(what);
    }

    fn finished(&self, line: &ResultLine) {
        if line.status == Status::Failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.bar.inc(1);
    }

    fn note(&self, text: &str) {
        if !self.quiet {
            self.bar.suspend(|| eprintln!("{:>12} {text}", "note"));
        }
    }

    fn end(&self) {
        self.bar.finish_and_clear();
    }
}

/// Runs `srlens study` and prints where the report is; exit 2 when some items failed.
pub fn study(args: &srlens_study::StudyArgs, quiet: bool) -> ExitCode {
    let bar = StudyBar::new(quiet);
    match srlens_study::run_study(args, &bar) {
        Ok(o) => {
            eprintln!(
                "{} items: {} ok, {} failed ({} computed now, {} finished before)",
                o.total, o.ok, o.failed, o.computed, o.skipped
            );
            println!("{}", o.out.join("report.html").display());
            if o.failed > 0 {
                eprintln!(
                    "some items failed: see {} (failures) and {}",
                    o.out.join("summary.md").display(),
                    o.out.join("study.log").display()
                );
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => crate::failure(e),
    }
}

/// Runs `srlens merge`.
pub fn merge(dirs: &[std::path::PathBuf], out: &std::path::Path) -> ExitCode {
    match srlens_study::merge(dirs, out) {
        Ok(o) => {
            for w in &o.warnings {
                eprintln!("     warning {w}");
            }
            println!("{}", o.out.join("report.html").display());
            if o.failed > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => crate::failure(e),
    }
}
