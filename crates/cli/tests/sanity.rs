//! `srlens sanity` (issue 14, part 2): cascading randomisation of esrgan-medium's layers from
//! the output end, each LAM map against the trained network's.

mod common;

fn require_setup(root: &std::path::Path) {
    for f in ["zoo/esrgan-medium-x4.onnx", "data/images/chelsea.png"] {
        assert!(
            root.join(f).is_file(),
            "{f} is missing: run `cargo xtask setup` (the models and photos the tests use)"
        );
    }
}

fn sanity(out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let root = common::repo_root();
    require_setup(&root);
    let mut args = vec![
        "sanity",
        "configs/compare-methods.toml",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "model.path=esrgan-medium-x4",
        "--set",
        "image.crop=[180, 60, 80, 80]",
        "--set",
        "window.x=32",
        "--set",
        "window.y=32",
        "--set",
        "method=[{name = \"lam\", steps = 6}]",
    ];
    args.extend_from_slice(extra);
    common::srlens(&root, &args)
}

#[test]
fn the_maps_similarity_falls_as_more_layers_are_randomised() {
    let out = tempfile::tempdir().unwrap();
    let o = sanity(out.path(), &[]);
    assert!(o.status.success(), "{}", common::stderr_of(&o, out.path()));
    let report = common::read_json(&out.path().join("sanity.json"));
    let total = report["total_layers"].as_u64().unwrap() as usize;
    assert!(
        total >= 4,
        "esrgan-medium has more than 4 parameterised layers: {total}"
    );
    let rows = report["rows"].as_array().unwrap();
    let col = |k: &str| -> Vec<f64> { rows.iter().map(|r| r[k].as_f64().unwrap()).collect() };
    let layers: Vec<u64> = rows.iter().map(|r| r["layers"].as_u64().unwrap()).collect();
    assert_eq!(layers.first(), Some(&0));
    assert_eq!(layers.last(), Some(&(total as u64)));
    let (rho, signed, ssim) = (col("spearman_abs"), col("spearman_signed"), col("ssim"));
    // The trained map against itself, then falling. With every layer randomised, the signed
    // map is uncorrelated with the trained one and SSIM is low; the absolute map keeps some
    // rank correlation (LAM's maps fade with the distance from the window whatever the
    // weights), but less than after the first layer. The cascade is not monotone on a random
    // network, so only its ends are asserted.
    assert_eq!((rho[0], signed[0], ssim[0]), (1.0, 1.0, 1.0));
    let last = rho.len() - 1;
    assert!(
        signed[last].abs() < 0.2 && ssim[last] < 0.5,
        "{signed:?} {ssim:?}"
    );
    for v in [&rho, &signed, &ssim] {
        assert!(v[last] < v[1] && v[1] < 1.0, "{v:?}");
    }
    // Each randomised run's report says its map is not the trained network's.
    let k1 = common::read_json(&out.path().join("k1/lam/report.json"));
    assert_eq!(k1["provenance"]["randomized_layers"], 1);
    assert!(k1["warnings"].to_string().contains("randomised network"));
    // The figure and the table are in the report, with one picture per map.
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.contains("data:image/svg+xml;base64,"));
    assert_eq!(html.matches("data:image/png;base64,").count(), rows.len());
    let md = std::fs::read_to_string(out.path().join("sanity.md")).unwrap();
    assert_eq!(md.matches("| lam |").count(), rows.len());
}

#[test]
fn more_layers_than_the_network_has_is_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let o = sanity(out.path(), &["--layers", "1,999"]);
    assert!(!o.status.success());
    let err = common::stderr_of(&o, out.path());
    assert!(
        err.contains("--layers 999") && err.contains("from 1 to"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// A study with `[sanity]`: each item's result line carries its map's similarity to the
/// randomised networks' maps, the same numbers as `srlens sanity` on the study's own run
/// config; the summary averages them over the windows and the report plots them.
#[test]
fn a_study_with_a_sanity_table_records_each_maps_check() {
    let root = common::repo_root();
    require_setup(&root);
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "out = \"out\"\nimages = [\"{}\"]\ncrop = [180, 60, 64, 64]\n\n\
         [windows]\nlist = [{{ x = 16, y = 16 }}, {{ x = 40, y = 32 }}]\n\n\
         [[model]]\npath = \"{}\"\nlabel = \"medium\"\n\n\
         [[method]]\nname = \"lam\"\nsteps = 4\n\n\
         [sanity]\nlayers = [1, 3]\nseed = 7\n",
        root.join("data/images/chelsea.png").display(),
        root.join("zoo/esrgan-medium-x4.onnx").display(),
    );
    std::fs::write(dir.path().join("study.toml"), text).unwrap();
    let o = common::srlens(dir.path(), &["study", "study.toml", "--quiet"]);
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir.path()));
    let out = dir.path().join("out");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);

    // The same check by `srlens sanity`, on the run config the study wrote.
    let run_dir = lines[0]["run_dir"].as_str().unwrap();
    let config = out
        .join("configs")
        .join(format!("{}.toml", run_dir.trim_start_matches("runs/")));
    let alone = dir.path().join("alone");
    let o = common::srlens(
        dir.path(),
        &[
            "sanity",
            config.to_str().unwrap(),
            "--quiet",
            "--layers",
            "1,3",
            "--seed",
            "7",
            "--out",
            alone.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", common::stderr_of(&o, dir.path()));
    let report = common::read_json(&alone.join("sanity.json"));
    let total = report["total_layers"].as_u64().unwrap();
    for l in &lines {
        let label = format!("lam/{}", l["window"]["label"].as_str().unwrap());
        let points = l["sanity"].as_array().unwrap();
        assert_eq!(points.len(), 2, "{l}");
        for p in points {
            let k = p["layers"].as_u64().unwrap();
            let row = report["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["label"] == label.as_str() && r["layers"] == k)
                .unwrap_or_else(|| panic!("no row {label} k {k} in {report}"));
            for f in ["spearman_abs", "spearman_signed", "ssim"] {
                assert_eq!(p[f], row[f], "{label} k {k} {f}");
            }
            assert_eq!(p["total_layers"], total);
            assert!(p["ssim"].as_f64().unwrap() < 1.0, "{p}");
        }
    }

    // The summary: the mean over the two windows at each k; the CSV's columns at k = 3.
    let summary = common::read_json(&out.join("summary.json"));
    let levels = summary["rows"][0]["sanity"].as_array().unwrap();
    assert_eq!(levels.len(), 2);
    for (i, level) in levels.iter().enumerate() {
        let mean = lines
            .iter()
            .map(|l| l["sanity"][i]["spearman_abs"].as_f64().unwrap())
            .sum::<f64>()
            / 2.0;
        assert!(
            (level["spearman_abs"]["mean"].as_f64().unwrap() - mean).abs() < 1e-12,
            "{level}"
        );
        assert_eq!(level["spearman_abs"]["n"], 2);
    }
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut csv_lines = csv.lines();
    let header: Vec<&str> = csv_lines.next().unwrap().split(',').collect();
    let values: Vec<&str> = csv_lines.next().unwrap().split(',').collect();
    let at = |name: &str| values[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(at("sanity_layers"), "3");
    let ssim: f64 = at("sanity_ssim_mean").parse().unwrap();
    assert!((ssim - levels[1]["ssim"]["mean"].as_f64().unwrap()).abs() < 1e-12);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains(&format!("(k 3 of {total})")), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("sanity check: similarity against layers randomised"));
    // The randomised runs and their own page lie in the run's folder.
    assert!(out.join(run_dir).join("sanity/report.html").is_file());
    assert!(out.join(run_dir).join("sanity/k3").is_dir());
}

#[test]
fn a_study_asking_for_more_layers_than_the_network_has_fails_its_items_clearly() {
    let root = common::repo_root();
    require_setup(&root);
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "out = \"out\"\nimages = [\"{}\"]\ncrop = [180, 60, 32, 32]\n\n\
         [windows]\nlist = [{{ x = 8, y = 8 }}]\n\n\
         [[model]]\npath = \"{}\"\n\n\
         [[method]]\nname = \"lam\"\nsteps = 2\n\n\
         [sanity]\nlayers = [999]\n",
        root.join("data/images/chelsea.png").display(),
        root.join("zoo/esrgan-slim-x4.onnx").display(),
    );
    std::fs::write(dir.path().join("study.toml"), text).unwrap();
    let o = common::srlens(dir.path(), &["study", "study.toml", "--quiet"]);
    let summary = common::read_json(&dir.path().join("out/summary.json"));
    let reason = summary["failures"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("`[sanity]` layers: 999") && reason.contains("from 1 to"),
        "{summary} {}",
        common::stderr_of(&o, dir.path())
    );
}
