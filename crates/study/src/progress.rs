//! What a front end sees of a study while it goes ([`StudyObserver`]: the `srlens` binary
//! draws one bar from it), and `study.log`, one line per finished item.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::results::{ResultLine, Status};

/// The log's name inside a study folder.
pub const LOG_FILE: &str = "study.log";

/// Follows a study.
pub trait StudyObserver {
    /// The study starts: `total` items in this shard, `done` of them finished before.
    fn begin(&self, total: usize, done: usize);
    /// A run starts: `what` names it (`model / method / image`, and its windows).
    fn running(&self, what: &str);
    /// An item finished (ok or failed).
    fn finished(&self, line: &ResultLine);
    /// A note for the user (a torn line redone, the shard's share).
    fn note(&self, text: &str);
    /// The study ended.
    fn end(&self);
}

/// An observer that shows nothing.
pub struct Quiet;

impl StudyObserver for Quiet {
    fn begin(&self, _: usize, _: usize) {}
    fn running(&self, _: &str) {}
    fn finished(&self, _: &ResultLine) {}
    fn note(&self, _: &str) {}
    fn end(&self) {}
}

/// `study.log` in a study folder: appended, one line per finished item.
pub struct StudyLog(PathBuf);

impl StudyLog {
    /// The log of the study in `out`.
    pub fn new(out: &Path) -> Self {
        StudyLog(out.join(LOG_FILE))
    }

    /// Appends `text` as a line (best effort: the log never stops a study).
    pub fn line(&self, text: &str) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.0)
        {
            let _ = writeln!(f, "{text}");
        }
    }

    /// The line of a finished item.
    pub fn item(&self, l: &ResultLine) {
        let window = l
            .window
            .as_ref()
            .map_or("-".to_string(), |w| w.label.clone());
        let what = format!("{} {} {} {}", l.model, l.method, l.image, window);
        let text = match l.status {
            Status::Ok => {
                let di = if l.degenerate() {
                    "undefined".to_string()
                } else {
                    l.figure("figures.di")
                        .map_or("-".into(), |d| format!("{d:.2}"))
                };
                format!(
                    "{} ok     {what}: DI {di}, r95 {} ({:.1} s)",
                    l.finished,
                    l.figure("figures.radius_95")
                        .map_or("-".into(), |r| format!("{r:.1}")),
                    l.seconds
                )
            }
            Status::Failed => format!(
                "{} failed {what}: {}",
                l.finished,
                l.reason.as_deref().unwrap_or("").replace('\n', " ")
            ),
        };
        self.line(&text);
    }
}
