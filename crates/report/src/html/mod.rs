//! The self-contained HTML report, the `summary.json` types and `summary.csv`.
//!
//! [`record`] holds the serde records (one [`MethodEntry`] per map, the run's
//! [`ReportSummary`]), [`page`] the `maud` template of `report.html`, and [`mod@summary_csv`]
//! the CSV.

pub(crate) mod format;
pub mod page;
pub mod record;
pub mod summary_csv;
#[cfg(test)]
mod tests;

pub use page::{render_report, render_report_with};
pub use record::{
    completeness_gap, BatchTuning, CropGroupRecord, MethodEntry, Pictures, Provenance,
    ReceptiveCrop, ReportSummary, DEFAULT_GAP_WARNING, DEGENERATE_WARNING,
};
pub use summary_csv::{summary_csv, CSV_COLUMNS};
