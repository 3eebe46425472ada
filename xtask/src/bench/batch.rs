//! The batch size by time against fixed ones (`cargo xtask bench --batch-only`): LAM maps of
//! the small networks with `batch_size = "auto"` (the run times its own calls at 8, then at
//! halves while faster, and keeps the fastest per point), timing anew and finding an earlier
//! run's size, against `batch_size = 4` (the default before) and `batch_size = 1` (one point
//! per call, as the original algorithm), on every backend, in the same run.

use std::path::Path;

use serde_json::{json, Value};

use super::{input, median, srlens, Map};
use crate::Result;

/// The networks and LR sizes compared: those whose calls are short enough for the batch to
/// matter, and the one whose map is cropped the most.
const CASES: [(&str, usize); 3] = [("slim", 64), ("medium", 64), ("slim", 128)];

/// The settings compared: `(key, batch_size, forget)`: `"auto"` timing the sizes in every
/// run, `"auto"` finding the size an earlier run timed, and the fixed sizes 4 and 1.
const SETTINGS: [(&str, &str, bool); 4] = [
    ("auto", "\"auto\"", true),
    ("remembered", "\"auto\"", false),
    ("4", "4", false),
    ("1", "1", false),
];

/// Every case on every backend of `backends`, `runs` maps per setting.
pub fn batch(dir: &Path, backends: &[String], runs: usize) -> Result<Value> {
    let mut rows = Vec::new();
    for (net, n) in CASES {
        let (png, _, _) = input(dir, n)?;
        for b in backends {
            let mut row = json!({"net": format!("esrgan-{net}-x4"), "lr": n, "backend": b});
            for (key, setting, forget) in SETTINGS {
                eprintln!("xtask: bench batch esrgan-{net}-x4 {n} x {n} on {b}: {key}");
                let map = Map {
                    backend: b,
                    net,
                    n,
                    steps: 50,
                    png: &png,
                    batch: Some(setting),
                };
                let cell = srlens(dir, &map, runs, forget)?;
                row[key] = json!({
                    "median_s": median(&cell.seconds),
                    "seconds": cell.seconds,
                    "batch": cell.batch,
                    "tuning": cell.tuning,
                });
            }
            rows.push(row);
        }
    }
    Ok(json!({"steps": 50, "rows": rows}))
}

/// The Markdown section of [`batch`]'s result.
pub fn markdown(r: &Value) -> String {
    let mut s = format!(
        "\n## Batch size by time against fixed batch sizes\n\nMeasured {}. LAM, 50 steps, the \
         method's seconds (medians): `batch_size = \"auto\"` (the default: the run times its own \
         path calls at 8 points per call, then at halves while each is faster per point than \
         the one before, two calls each, each from its start to the next call's, and runs the \
         rest at the fastest per point; each run timing anew), the same when the run finds the \
         size an earlier run of the same calls timed (remembered in the user cache: every \
         later run of the same calls is one of these), and \
         the fixed sizes 4 and 1. Per point: the fastest milliseconds per point the timing run \
         measured at 8 / 4 / 2 / 1 (- : not timed, the halving had stopped).\n\n\
         | network | LR | backend | auto s | auto chose | per point ms (8 / 4 / 2 / 1) | remembered s | batch 4 s | batch 1 s | remembered / batch 4 |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        r["date"].as_str().unwrap_or("")
    );
    for row in r["rows"].as_array().into_iter().flatten() {
        let t = |k: &str| row[k]["median_s"].as_f64().unwrap_or(f64::NAN);
        let per = &row["auto"]["tuning"]["seconds_per_image"];
        let points: Vec<String> = ["8", "4", "2", "1"]
            .iter()
            .map(|b| {
                per[*b]
                    .as_f64()
                    .map_or("-".into(), |v| format!("{:.1}", v * 1e3))
            })
            .collect();
        s.push_str(&format!(
            "| {} | {} x {} | {} | {:.2} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2}x |\n",
            row["net"].as_str().unwrap_or(""),
            row["lr"],
            row["lr"],
            row["backend"].as_str().unwrap_or(""),
            t("auto"),
            row["auto"]["batch"],
            points.join(" / "),
            t("remembered"),
            t("4"),
            t("1"),
            t("remembered") / t("4"),
        ));
    }
    s
}
