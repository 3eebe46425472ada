//! Attribution maps to numbers and pictures: DI, Gini, colormaps, KDE, HTML.
//!
//! Implements "What is reported for every map" and "Pictures" of
//! `docs/attribution-spec.md`: [`figures`] (view, Gini, DI, mass figures),
//! [`colormap`] (matplotlib's `seismic`), [`kde`] (scipy's weighted `gaussian_kde`),
//! [`pictures`] (saliency, KDE, blend, SR with window; atomic PNG writes), [`zoom`] (crops
//! around the window, as in the LAM paper's figures),
//! [`faithfulness`] (deletion and insertion curves), [`plot`] (SVG line plots),
//! [`npy`] (float32 and float64 `.npy` files) and [`html`] (the self-contained report and CSV).

mod atomic;
pub mod colormap;
pub mod conditioning;
pub mod error;
pub mod faithfulness;
pub mod figures;
pub mod html;
pub mod kde;
pub mod npy;
pub mod pictures;
pub mod plot;
pub mod sanity;
pub mod zoom;

pub use atomic::write_atomic;
pub use conditioning::Conditioning;
pub use error::{Error, Result};
pub use faithfulness::Faithfulness;
pub use figures::{map_figures, view, window_centre, MapFigures, Window};
pub use html::{
    completeness_gap, render_report, render_report_with, summary_csv, BatchTuning, CropGroupRecord,
    MethodEntry, Pictures, Provenance, ReceptiveCrop, ReportSummary,
};
pub use npy::write_npy_atomic;
pub use pictures::{write_png_atomic, MapPictures};
pub use sanity::{SanityReport, SanityRow};
