//! What `srlens run` shows in the terminal: a progress bar per method that plugins advance
//! through the `Progress` trait, and notes such as the batch size and the files written.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use srlens_core::Progress;
use srlens_host::{Observer, ProgressSink};

/// The terminal observer of a run: bars and notes on stderr, none when `quiet`; warnings
/// always.
pub struct Terminal {
    /// No progress bars and no notes (warnings are still shown).
    pub quiet: bool,
}

impl Observer for Terminal {
    fn progress(&self, label: &str) -> Arc<dyn ProgressSink> {
        Arc::new(Bar::new(label, self.quiet))
    }

    fn note(&self, what: &str, text: &str) {
        if !self.quiet {
            eprintln!("{what:>12} {text}");
        }
    }

    fn warning(&self, text: &str) {
        eprintln!("     warning {text}");
    }
}

/// An indicatif bar counting model evaluations; hidden when stderr is not a terminal.
pub struct Bar(pub ProgressBar);

impl Bar {
    /// A new bar titled `label`.
    pub fn new(label: &str, quiet: bool) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12.bold} [{bar:30}] {pos}/{len} model evaluations ({elapsed}, eta {eta})",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        Bar(bar)
    }
}

impl Progress for Bar {
    fn add_total(&self, n: u64) {
        self.0.inc_length(n);
    }

    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

impl ProgressSink for Bar {
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
