//! The attribution methods through the whole tool: several methods in one run, bad options,
//! reproducible SmoothGrad, and the compare-methods config on a real pretrained network.

mod common;

use std::path::Path;

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
    b.initializer(
        "w",
        srlens_onnx::TensorData::f32(vec![12, 3, 3, 3], w.clone()),
    );
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
    // The closed form from the test's own weights: y[c, 2i+a, 2j+b] = conv[(2a+b)3+c, i, j]
    // (DepthToSpace, DCR), conv[o, i, j] = sum w[o, ci, u, v] x[ci, i+u-1, j+v-1]; for the
    // window (x 4..10, y 4..10) A = x * dD/dx exactly.
    let x = lr_pixels(dir.path());
    let mut grad = [0f64; 3 * 64];
    for yy in 4..10 {
        for xx in 4..10 {
            let (i, a, j, bb) = (yy / 2, yy % 2, xx / 2, xx % 2);
            for c in 0..3 {
                let o = (2 * a + bb) * 3 + c;
                for ci in 0..3 {
                    for u in 0..3 {
                        for v in 0..3 {
                            let (p, q) = (i + u, j + v);
                            if (1..9).contains(&p) && (1..9).contains(&q) {
                                grad[ci * 64 + (p - 1) * 8 + (q - 1)] +=
                                    w[((o * 3 + ci) * 3 + u) * 3 + v] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    for (name, got) in [
        ("ig", map("ig")),
        ("input_x_gradient", map("input_x_gradient")),
    ] {
        for k in 0..3 * 64 {
            let want = x[k] * grad[k];
            let g = got[k] as f64;
            assert!(
                (g - want).abs() <= 1e-5 * (1.0 + want.abs()),
                "{name} at {k}: {g} vs {want}"
            );
        }
    }
    let report = common::read_json(&dir.path().join("out/ig/report.json"));
    let gap = report["completeness_gap_rel"].as_f64().unwrap();
    assert!(gap < 1e-5, "relative gap {gap}");
}

/// `lr.png` of the workspace as `3 x 8 x 8` values in `[0, 1]`, in f64.
fn lr_pixels(dir: &Path) -> Vec<f64> {
    let img = image::open(dir.join("lr.png")).unwrap().to_rgb8();
    let mut x = vec![0f64; 3 * 64];
    for (q, p, px) in img.enumerate_pixels() {
        for c in 0..3 {
            x[c * 64 + p as usize * 8 + q as usize] = px[c] as f64 / 255.0;
        }
    }
    x
}

fn require_setup(root: &Path) {
    for f in ["zoo/esrgan-slim-x4.onnx", "data/images/chelsea.png"] {
        assert!(
            root.join(f).is_file(),
            "{f} is missing: run `cargo xtask setup` first"
        );
    }
}

/// The shipped compare-methods config on `net` of the zoo and a 96 x 96 crop of its photo,
/// the window at (40, 40), with `sets` (`KEY=VALUE`) on top, into `out`.
fn run_real(root: &Path, out: &Path, net: &str, sets: &[&str]) {
    let net = format!("model.path={net}");
    let mut args = vec![
        "run",
        "configs/compare-methods.toml",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    for s in [
        net.as_str(),
        "image.crop=[180, 60, 96, 96]",
        "window.x=40",
        "window.y=40",
    ]
    .into_iter()
    .chain(sets.iter().copied())
    {
        args.extend(["--set", s]);
    }
    run_ok(root, &args);
}

/// The shipped compare-methods config on the real network and photo (fewer steps and a
/// smaller crop, to keep the test quick): every method's map is there, finite and not blank,
/// and the report shows them side by side.
#[test]
fn compare_methods_config_runs_every_method_on_a_real_network() {
    let root = common::repo_root();
    require_setup(&root);
    let out = tempfile::tempdir().unwrap();
    run_real(
        &root,
        out.path(),
        "esrgan-slim-x4",
        &[
            "method.0.steps=6",
            "method.1.steps=6",
            "method.2.steps=6",
            "method.3.steps=6",
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
        // A zoo name in `model.path` is recorded as the file it names.
        let report = common::read_json(&out.path().join(l).join("report.json"));
        let model = report["provenance"]["model_path"].as_str().unwrap();
        assert!(model.ends_with("zoo/esrgan-slim-x4.onnx"), "{model}");
        if l.starts_with("lam") {
            assert_beats_random(&report, l);
        }
        assert!(out.path().join(l).join("faithfulness.svg").is_file());
    }
    assert!(html.matches("data:image/png;base64,").count() >= 4 * labels.len());
    assert_eq!(
        html.matches("data:image/svg+xml;base64,").count(),
        labels.len(),
        "one deletion/insertion plot per card"
    );
    let csv = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains("deletion_area,insertion_area"));
}

/// Deletion and insertion (issue 14): the map finds the pixels the window depends on faster
/// than a random order does: a deletion area under 0.8 of the random one, an insertion area
/// above it.
fn assert_beats_random(report: &serde_json::Value, what: &str) {
    let fa = &report["faithfulness"];
    let area = |k: &str| fa[k].as_f64().unwrap();
    assert!(
        area("deletion_area") < 0.8 * area("random_deletion_area")
            && area("insertion_area") > area("random_insertion_area"),
        "{what}: {fa}"
    );
}

/// The same on the zoo's two larger networks (LAM only, few steps).
#[test]
fn lam_deletes_faster_than_a_random_order_on_the_larger_zoo_networks() {
    let root = common::repo_root();
    require_setup(&root);
    for net in ["esrgan-medium-x4", "esrgan-thick-x4"] {
        let out = tempfile::tempdir().unwrap();
        run_real(
            &root,
            out.path(),
            net,
            &["method=[{name = \"lam\", steps = 6}]"],
        );
        assert_beats_random(&common::read_json(&out.path().join("lam/report.json")), net);
    }
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
