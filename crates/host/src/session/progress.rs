//! The progress sink jobs report to: forwards to whatever the caller installed (a terminal
//! bar, a log, nothing).

use std::sync::{Arc, Mutex};

use srlens_core::Progress;

/// A [`Progress`] that forwards to the sink installed with [`SharedProgress::set`].
#[derive(Default)]
pub struct SharedProgress(Mutex<Option<Arc<dyn Progress>>>);

impl SharedProgress {
    /// Sends progress to `sink` from now on (`None`: nowhere).
    pub fn set(&self, sink: Option<Arc<dyn Progress>>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = sink;
    }

    fn sink(&self) -> Option<Arc<dyn Progress>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Progress for SharedProgress {
    fn add_total(&self, n: u64) {
        if let Some(s) = self.sink() {
            s.add_total(n);
        }
    }

    fn advance(&self, n: u64) {
        if let Some(s) = self.sink() {
            s.advance(n);
        }
    }
}
