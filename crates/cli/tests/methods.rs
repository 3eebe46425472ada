//! The attribution methods through the whole tool: several methods in one run, bad options,
//! reproducible SmoothGrad, and the compare-methods config on a real pretrained network.

mod common;

use std::path::{Path, PathBuf};

fn run_ok(dir: &Path, args: &[&str]) {
    let out = common::srlens(dir, args);
    assert!(
        out.status.success(),
        "srlens failed:\n{}",
        common::stderr_of(&out, dir)
    );
}

fn run_err(dir: &Path, methods: &str) -> String {
    std::fs::write(dir.join("run.toml"), common::config("tiny.onnx", methods)).unwrap();
    let out = common::srlens(dir, &["run", "run.toml", "--quiet"]);
    let err = common::stderr_of(&out, dir);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
    err
}

#[test]
fn bad_method_options_name_the_method_the_key_and_the_accepted_values() {
    let dir = common::workspace();
    common::write_png(&dir.path().join("small.png"), 4, 4, 1);
    let cases = [
        (
            "unknown_baseline",
            "[[method]]\nname = \"ig\"\nbaseline = \"blak\"\n",
        ),
        ("zero_steps", "[[method]]\nname = \"ig\"\nsteps = 0\n"),
        (
            "unknown_quadrature",
            "[[method]]\nname = \"ig\"\nquadrature = \"simpson\"\n",
        ),
        (
            "negative_noise",
            "[[method]]\nname = \"smoothgrad\"\nnoise = -0.1\n",
        ),
        (
            "missing_inner",
            "[[method]]\nname = \"smoothgrad\"\ninner = \"nope\"\n",
        ),
        (
            "baseline_image_size",
            "[[method]]\nname = \"ig\"\nbaseline = \"small.png\"\n",
        ),
        ("lam_zero_steps", "[[method]]\nname = \"lam\"\nsteps = 0\n"),
        (
            "lam_even_kernel",
            "[[method]]\nname = \"lam\"\nkernel = 4\n",
        ),
    ];
    let mut all = String::new();
    for (name, methods) in cases {
        all.push_str(&format!("--- {name}\n{}", run_err(dir.path(), methods)));
    }
    insta::assert_snapshot!(all);
}

#[test]
fn smoothgrad_is_reproducible_across_runs_and_seeds_differ() {
    let dir = common::workspace();
    let methods = "[[method]]\nname = \"smoothgrad\"\nsamples = 4\nseed = 5\n\n\
                   [[method]]\nname = \"smoothgrad\"\nlabel = \"again\"\nsamples = 4\nseed = 5\n\n\
                   [[method]]\nname = \"smoothgrad\"\nlabel = \"other\"\nsamples = 4\nseed = 6\n";
    std::fs::write(
        dir.path().join("run.toml"),
        common::config("tiny.onnx", methods),
    )
    .unwrap();
    run_ok(dir.path(), &["run", "run.toml", "--quiet"]);
    let map = |l: &str| common::read_npy(&dir.path().join(format!("out/{l}/attribution.npy"))).1;
    assert_eq!(map("smoothgrad"), map("again"));
    assert_ne!(map("smoothgrad"), map("other"));
}

/// SmoothGrad with one sample and no noise is its inner method, through the host's registry.
#[test]
fn smoothgrad_with_one_noiseless_sample_is_the_inner_method() {
    let dir = common::workspace();
    let methods = "[[method]]\nname = \"lam\"\nsteps = 3\n\n\
                   [[method]]\nname = \"smoothgrad\"\nsamples = 1\nnoise = 0.0\ninner = \"lam\"\ninner_options = { steps = 3 }\n";
    std::fs::write(
        dir.path().join("run.toml"),
        common::config("tiny.onnx", methods),
    )
    .unwrap();
    run_ok(dir.path(), &["run", "run.toml", "--quiet"]);
    let map = |l: &str| common::read_npy(&dir.path().join(format!("out/{l}/attribution.npy"))).1;
    assert_eq!(map("lam"), map("smoothgrad"));
}

/// The intensity objective on a network that is linear in its input: IG with a black
/// baseline is exactly (x - 0) * gradient, and complete.
#[test]
fn ig_on_a_linear_network_with_the_intensity_objective_is_exact() {
    let dir = common::workspace();
    let mut b = srlens_onnx::builder::GraphBuilder::new("linear");
    b.input("input", &[1, 3, 8, 8]);
    let w: Vec<f32> = common::Lcg::new(3)
        .vec(12 * 3 * 9, 0.5)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    b.initializer("w", srlens_onnx::TensorData::f32(vec![12, 3, 3, 3], w));
    let y = b.op(
        "Conv",
        &["input", "w"],
        &[("pads", srlens_onnx::Attribute::Ints(vec![1, 1, 1, 1]))],
    );
    let y = b.op(
        "DepthToSpace",
        &[&y],
        &[("blocksize", srlens_onnx::Attribute::Int(2))],
    );
    b.output(&y, &[1, 3, 16, 16]);
    srlens_onnx::write_file(&b.build().unwrap(), &dir.path().join("linear.onnx")).unwrap();
    let methods = "[[method]]\nname = \"ig\"\nsteps = 7\nquadrature = \"riemann_left\"\n\n\
                   [[method]]\nname = \"input_x_gradient\"\n";
    let text = format!(
        "objective = \"intensity\"\n{}",
        common::config("linear.onnx", methods)
    );
    std::fs::write(dir.path().join("run.toml"), text).unwrap();
    run_ok(dir.path(), &["run", "run.toml", "--quiet"]);
    let map = |l: &str| common::read_npy(&dir.path().join(format!("out/{l}/attribution.npy"))).1;
    let (ig, ixg) = (map("ig"), map("input_x_gradient"));
    for (a, b) in ig.iter().zip(&ixg) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
    }
    let report = common::read_json(&dir.path().join("out/ig/report.json"));
    let gap = report["completeness_gap_rel"].as_f64().unwrap();
    assert!(gap < 1e-5, "relative gap {gap}");
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn require_setup(root: &Path) {
    for f in ["zoo/esrgan-slim-x4.onnx", "data/images/chelsea.png"] {
        assert!(
            root.join(f).is_file(),
            "{f} is missing: run `cargo xtask setup` first"
        );
    }
}

/// The shipped compare-methods config on the real network and photo (fewer steps and a
/// smaller crop, to keep the test quick): every method's map is there, finite and not blank,
/// and the report shows them side by side.
#[test]
fn compare_methods_config_runs_every_method_on_a_real_network() {
    let root = repo_root();
    require_setup(&root);
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    run_ok(
        &root,
        &[
            "run",
            "configs/compare-methods.toml",
            "--quiet",
            "--out",
            o,
            "--set",
            "image.crop=[180, 60, 96, 96]",
            "--set",
            "window.x=40",
            "--set",
            "window.y=40",
            "--set",
            "method.0.steps=6",
            "--set",
            "method.1.steps=6",
            "--set",
            "method.2.steps=6",
            "--set",
            "method.3.steps=6",
            "--set",
            "method.4.samples=3",
        ],
    );
    let summary = common::read_json(&out.path().join("summary.json"));
    let entries = summary["entries"].as_array().unwrap();
    let labels: Vec<&str> = entries
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "lam",
            "lam-blur-line",
            "ig-black",
            "ig-blur",
            "smoothgrad",
            "gradient",
            "input_x_gradient"
        ]
    );
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    for l in &labels {
        let (shape, map) = common::read_npy(&out.path().join(l).join("attribution.npy"));
        assert_eq!(shape, vec![3, 24, 24]);
        assert!(
            map.iter().all(|v| v.is_finite()) && map.iter().any(|v| *v != 0.0),
            "{l}"
        );
        assert!(html.contains(&format!(">{l}<")), "report.html lacks {l}");
        common::check_figures(&out.path().join(l));
    }
    assert!(html.matches("data:image/png;base64,").count() >= 4 * labels.len());
}

/// A baseline image named in a method's options is found next to the config, like the model
/// and the image, whatever the working directory: a black image file gives exactly the map of
/// `baseline = "black"`.
#[test]
fn baseline_image_paths_are_relative_to_the_config() {
    let dir = common::workspace();
    let sub = dir.path().join("configs");
    std::fs::create_dir(&sub).unwrap();
    image::RgbImage::new(8, 8)
        .save(sub.join("black.png"))
        .unwrap();
    let methods = "[[method]]\nname = \"ig\"\nbaseline = \"black.png\"\nsteps = 4\n\n\
                   [[method]]\nname = \"ig\"\nlabel = \"black\"\nbaseline = \"black\"\nsteps = 4\n";
    let config = common::config("../tiny.onnx", methods)
        .replace("\"lr.png\"", "\"../lr.png\"")
        .replace("out = \"out\"", "out = \"../out\"");
    std::fs::write(sub.join("run.toml"), config).unwrap();
    run_ok(dir.path(), &["run", "configs/run.toml", "--quiet"]);
    let map = |l: &str| common::read_npy(&dir.path().join(format!("out/{l}/attribution.npy"))).1;
    let (from_file, black) = (map("ig"), map("black"));
    assert!(black.iter().any(|v| *v != 0.0), "a blank map");
    assert_eq!(from_file, black);
}
