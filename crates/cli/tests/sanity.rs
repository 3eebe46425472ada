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
