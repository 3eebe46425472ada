//! `results.jsonl`: one JSON line per finished item (model x method x image x window),
//! appended and synced to disk as the items finish, so that a killed study loses at most the
//! items in flight. A torn last line (a write cut short) is detected, cut off and redone.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{io, Error, Result};
use crate::windows::StudyWindow;

/// The file's name inside a study folder.
pub const RESULTS_FILE: &str = "results.jsonl";

/// Whether an item produced its map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The map, its pictures and report.json were written.
    Ok,
    /// It did not; `reason` says why.
    Failed,
}

/// One finished item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultLine {
    /// The item's identity (see [`crate::grid::item_key`]); a rerun skips keys already `ok`.
    pub key: String,
    /// `[model, method, image, window]` indices in the study's order, for sorted tables.
    pub order: [usize; 4],
    /// Ok or failed.
    pub status: Status,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The model's label.
    pub model: String,
    /// The model file.
    #[serde(default)]
    pub model_path: Option<String>,
    /// The sha256 of the model file.
    #[serde(default)]
    pub model_sha256: Option<String>,
    /// The backend.
    pub backend: String,
    /// The backend's options (the config's `options`).
    #[serde(default)]
    pub model_options: serde_json::Value,
    /// The method's label.
    pub method: String,
    /// The method's name.
    pub method_name: String,
    /// The method's options as the config gave them.
    #[serde(default)]
    pub method_options: serde_json::Value,
    /// The image's file name.
    pub image: String,
    /// The image file.
    pub image_path: String,
    /// The sha256 of the image file.
    #[serde(default)]
    pub image_sha256: Option<String>,
    /// The window (none when the image could not be read, so none could be chosen).
    #[serde(default)]
    pub window: Option<StudyWindow>,
    /// The HR patch's gradient energy (what `auto` ranks windows by).
    #[serde(default)]
    pub hr_energy: Option<f64>,
    /// The HR patch's dominant-frequency energy share ([`crate::texture`]).
    #[serde(default)]
    pub texture: Option<f64>,
    /// The model's PSNR (dB) on this image: Y channel, a border of `scale` pixels cut.
    #[serde(default)]
    pub psnr: Option<f64>,
    /// The model's SSIM on this image, likewise.
    #[serde(default)]
    pub ssim: Option<f64>,
    /// The fraction of the map's mass (`view`) within distance `r` (LR pixels) of the
    /// window's centre, for `r = 0, 1, 2, ...` until it reaches 1.
    #[serde(default)]
    pub mass_curve: Vec<f64>,
    /// The item's folder (its map, pictures and report.json), relative to the study folder.
    #[serde(default)]
    pub dir: Option<String>,
    /// The folder of the `srlens run` it was part of, relative to the study folder.
    #[serde(default)]
    pub run_dir: Option<String>,
    /// The whole report.json of the item.
    #[serde(default)]
    pub report: Option<serde_json::Value>,
    /// The sanity check of the item's map (with `[sanity]`): its similarity to the maps of
    /// the network with its last k layers randomised, for each k.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sanity: Vec<SanityPoint>,
    /// Seconds of the run divided among its windows.
    pub seconds: f64,
    /// Seconds of the whole run (all the image's windows).
    pub run_seconds: f64,
    /// When it finished (RFC 3339).
    pub finished: String,
}

/// The item's map against the map of the network with `layers` layers randomised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SanityPoint {
    /// Layers randomised (from the output end).
    pub layers: usize,
    /// Of the network's parameterised layers.
    pub total_layers: usize,
    /// Spearman's rank correlation of the absolute maps.
    pub spearman_abs: f64,
    /// Spearman's rank correlation of the signed maps.
    pub spearman_signed: f64,
    /// SSIM of the absolute maps.
    pub ssim: f64,
}

impl ResultLine {
    /// A figure of report.json by its path (`figures.di`, `completeness_gap_rel`,
    /// `provenance.receptive_field.radius`).
    pub fn figure(&self, path: &str) -> Option<f64> {
        let mut v = self.report.as_ref()?;
        for part in path.split('.') {
            v = v.get(part)?;
        }
        v.as_f64()
    }

    /// Whether the map is degenerate (DI undefined).
    pub fn degenerate(&self) -> bool {
        self.report
            .as_ref()
            .and_then(|r| r["figures"]["degenerate"].as_bool())
            .unwrap_or(false)
    }
}

/// Appends `lines` to `path` in one write and syncs the file to disk.
pub fn append(path: &Path, lines: &[ResultLine]) -> Result<()> {
    let mut text = String::new();
    for l in lines {
        text.push_str(&serde_json::to_string(l).expect("a result serialises"));
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    f.write_all(text.as_bytes()).map_err(io(path))?;
    f.sync_data().map_err(io(path))
}

/// What [`read`] found.
#[derive(Debug, Default)]
pub struct Read {
    /// Every whole line, in file order.
    pub lines: Vec<ResultLine>,
    /// The torn last line's bytes that were cut off (none when the file ended cleanly).
    pub torn: Option<usize>,
}

/// Reads `path` (missing: no lines). A last line without its newline, or one that is not a
/// result, was torn by a kill or a crash: it is cut off the file (when `repair`) and its
/// item is redone. A bad line before the last is an error naming it.
pub fn read(path: &Path, repair: bool) -> Result<Read> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::default()),
        Err(e) => return Err(io(path)(e)),
    };
    let mut out = Read::default();
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| start + i);
        let line = &bytes[start..end.unwrap_or(bytes.len())];
        let parsed = serde_json::from_slice::<ResultLine>(line);
        match (parsed, end) {
            (Ok(l), Some(_)) => out.lines.push(l),
            (_, None) => {
                out.torn = Some(bytes.len() - start);
                break;
            }
            (Err(e), Some(e_end)) if e_end + 1 == bytes.len() => {
                let _ = e;
                out.torn = Some(bytes.len() - start);
                break;
            }
            (Err(e), Some(_)) => {
                let n = bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1;
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    message: format!(
                        "line {n} is not a result ({e}) and is not the last line; remove or \
                         fix it (a torn last line is cut off and redone automatically)"
                    ),
                });
            }
        }
        start = end.map_or(bytes.len(), |e| e + 1);
    }
    if let (Some(n), true) = (out.torn, repair) {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io(path))?;
        f.set_len((bytes.len() - n) as u64).map_err(io(path))?;
        f.sync_data().map_err(io(path))?;
    }
    Ok(out)
}

/// The last line of each key (a failed item that was redone is superseded by its new line).
pub fn latest(lines: &[ResultLine]) -> std::collections::BTreeMap<&str, &ResultLine> {
    let mut m = std::collections::BTreeMap::new();
    for l in lines {
        m.insert(l.key.as_str(), l);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn line(key: &str, status: Status) -> ResultLine {
        ResultLine {
            key: key.into(),
            order: [0; 4],
            status,
            reason: None,
            model: "m".into(),
            model_path: None,
            model_sha256: None,
            backend: "candle".into(),
            model_options: serde_json::json!({}),
            method: "lam".into(),
            method_name: "lam".into(),
            method_options: serde_json::json!({}),
            image: "i.png".into(),
            image_path: "/i.png".into(),
            image_sha256: None,
            window: None,
            hr_energy: None,
            texture: None,
            psnr: None,
            ssim: None,
            mass_curve: vec![],
            dir: None,
            run_dir: None,
            report: None,
            sanity: vec![],
            seconds: 0.0,
            run_seconds: 0.0,
            finished: String::new(),
        }
    }

    #[test]
    fn a_torn_last_line_is_cut_off_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(RESULTS_FILE);
        append(&p, &[line("a", Status::Ok), line("b", Status::Failed)]).unwrap();
        let whole = std::fs::read(&p).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(b"{\"key\":\"c\",\"ord");
        std::fs::write(&p, &torn).unwrap();
        let r = read(&p, true).unwrap();
        assert_eq!(r.lines.len(), 2);
        assert_eq!(r.torn, Some(15));
        assert_eq!(std::fs::read(&p).unwrap(), whole);
        // A whole but unreadable last line is torn too; one in the middle is an error.
        std::fs::write(&p, [whole.clone(), b"garbage\n".to_vec()].concat()).unwrap();
        assert_eq!(read(&p, true).unwrap().torn, Some(8));
        std::fs::write(&p, [b"garbage\n".to_vec(), whole].concat()).unwrap();
        let e = read(&p, true).unwrap_err().to_string();
        assert!(e.contains("line 1 is not a result"), "{e}");
    }
}
