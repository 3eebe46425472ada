//! A progress bar that plugins advance through the `Progress` trait.

use indicatif::{ProgressBar, ProgressStyle};
use srlens_core::Progress;

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
