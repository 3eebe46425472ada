//! `docs/benchmarks.md` from the bench's JSON.

use serde_json::Value;

/// The Markdown page of the bench's results `r` for `backends`.
pub fn markdown(r: &Value, backends: &[String]) -> String {
    let mut s = String::new();
    s.push_str("# Benchmarks\n\nWritten by `cargo xtask bench` (do not edit by hand).\n\n");
    s.push_str(&format!(
        "Machine: {}. Date: {}. Build: {}.\n\n",
        r["machine"].as_str().unwrap_or(""),
        r["date"].as_str().unwrap_or(""),
        r["profile"].as_str().unwrap_or("")
    ));
    s.push_str(
        "LAM, 50 steps, one 16-pixel window at the middle of the x4 output, on a crop of the \
         `chelsea` photo. Seconds per map are medians (the method's own time in report.json); \
         **original** is the LAM demo's algorithm in the same run (`xtask/bench/original_lam.py`: \
         one path step at a time, parameters requiring grad, `backward()`), and each backend's \
         ratio is to it. GFLOP/s counts the convolutions of the forward pass and the input \
         gradient on the pixels actually run (the receptive-field crop). Peak memory is the \
         process's maximum resident set. Batch: the size the run chose (`batch_size = \"auto\"`, \
         the default: timed in the run, see the batch section below; the first map of a cell \
         times the sizes anew, the next ones start at its choice). Overhead is the map's \
         median time over `ceil(50 / batch)` model calls (forward and input gradient at that \
         batch size on the crop, timed alone through the plugin after each map, median of all \
         those calls): what the method adds to the model's own work, including the first \
         map's calls at the other sizes.\n\n",
    );
    let mut head = "| network | LR | original s |".to_string();
    let mut rule = "|---|---|---|".to_string();
    for b in backends {
        head.push_str(&format!(
            " {b} s (ratio) | {b} GFLOP/s | {b} peak MiB | {b} crop | {b} overhead |"
        ));
        rule.push_str("---|---|---|---|---|");
    }
    head.push_str(" measured |");
    rule.push_str("---|");
    s.push_str(&format!("{head}\n{rule}\n"));
    for row in r["rows"].as_array().into_iter().flatten() {
        let o = &row["original"];
        let mut line = format!(
            "| {} | {} x {} | {:.2} |",
            row["net"].as_str().unwrap_or(""),
            row["lr"],
            row["lr"],
            o["median_s"].as_f64().unwrap_or(f64::NAN)
        );
        for b in backends {
            let c = &row[b.as_str()];
            line.push_str(&format!(
                " {:.2} ({:.2}x) | {} | {:.0} | {} | {:.2}x (batch {}) |",
                c["median_s"].as_f64().unwrap_or(f64::NAN),
                c["ratio"].as_f64().unwrap_or(f64::NAN),
                c["gflop_per_s"]
                    .as_f64()
                    .map_or("-".into(), |g| format!("{g:.1}")),
                c["peak_mib"].as_f64().unwrap_or(f64::NAN),
                c["crop"]
                    .as_array()
                    .map_or("none".into(), |b| format!("{} x {}", b[2], b[3])),
                c["overhead"].as_f64().unwrap_or(f64::NAN),
                c["batch"],
            ));
        }
        let date = row["date"].as_str().unwrap_or("");
        line.push_str(&format!(" {} |", date.get(..16).unwrap_or(date)));
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str(
        "\n## One gradient call as a multiple of one forward pass\n\nA gradient call is a \
         forward pass and the input gradient of the window's objective, at the map's batch \
         size and crop, timed alone through the plugin after each map (medians, each \
         session after a warm-up call).\n\n",
    );
    let mut head = "| network | LR |".to_string();
    let mut rule = "|---|---|".to_string();
    for b in backends {
        head.push_str(&format!(" {b} forward s | {b} gradient / forward |"));
        rule.push_str("---|---|");
    }
    s.push_str(&format!("{head}\n{rule}\n"));
    for row in r["rows"].as_array().into_iter().flatten() {
        let mut line = format!(
            "| {} | {} x {} |",
            row["net"].as_str().unwrap_or(""),
            row["lr"],
            row["lr"]
        );
        for b in backends {
            let c = &row[b.as_str()];
            let cell = |k: &str, f: &dyn Fn(f64) -> String| c[k].as_f64().map_or("-".into(), f);
            line.push_str(&format!(
                " {} | {} |",
                cell("forward_s", &|v| format!("{v:.3}")),
                cell("gradient_over_forward", &|v| format!("{v:.2}x")),
            ));
        }
        s.push_str(&line);
        s.push('\n');
    }
    let sw = &r["sweeps"];
    if sw.get("by_lr_size").is_some() {
        s.push_str(&format!(
            "\n## {} on {}: time against LR size (50 steps) and against steps (64 x 64)\n\n\
             Measured {}.\n\n| LR | s | crop |\n|---|---|---|\n",
            sw["net"].as_str().unwrap_or(""),
            sw["backend"].as_str().unwrap_or(""),
            sw["date"].as_str().or(r["date"].as_str()).unwrap_or("")
        ));
        for e in sw["by_lr_size"].as_array().into_iter().flatten() {
            s.push_str(&format!(
                "| {0} x {0} | {1:.2} | {2} |\n",
                e["lr"],
                e["cell"]["median_s"].as_f64().unwrap_or(f64::NAN),
                e["cell"]["crop"]
                    .as_array()
                    .map_or("none".into(), |b| format!("{} x {}", b[2], b[3]))
            ));
        }
        s.push_str("\n| steps | s |\n|---|---|\n");
        for e in sw["by_steps"].as_array().into_iter().flatten() {
            s.push_str(&format!(
                "| {} | {:.2} |\n",
                e["steps"],
                e["cell"]["median_s"].as_f64().unwrap_or(f64::NAN)
            ));
        }
    }
    s
}
