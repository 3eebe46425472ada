//! Receptive-field cropping changes no number (issue 10): on every zoo network, LAM (and IG
//! on one) through `srlens run` with the crop and with `crop_to_receptive_field = false` give
//! the same maps and objective values; report.json says what was cropped. With the crop, the
//! methods themselves (LAM's blur path, IG's black baseline) run on the box widened by their
//! reach (reflect-101 blur borders where the region meets the image's own), not the image.

mod common;

use std::path::Path;

/// An `n x n` LR crop of the photo, a 16-pixel window near the middle of the SR output.
fn config(model: &str, scale: usize, n: usize, methods: &str) -> String {
    let x = n / 2 * scale - 8;
    format!(
        "out = \"out\"\nbatch_size = 4\n\n[model]\nbackend = \"candle\"\npath = \"{model}\"\n\n\
         [image]\npath = \"data/images/chelsea.png\"\nmode = \"lr\"\ncrop = [150, 100, {n}, {n}]\n\n\
         [window]\nx = {x}\ny = {}\nsize = 16\n\n{methods}",
        x + 6
    )
}

fn run(root: &Path, config: &str, out: &Path, crop: bool) {
    let file = out.with_extension("toml");
    std::fs::write(&file, config).unwrap();
    let set = format!("crop_to_receptive_field={crop}");
    let o = common::srlens(
        root,
        &[
            "run",
            file.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
            "--set",
            &set,
        ],
    );
    assert!(o.status.success(), "{}", common::stderr_of(&o, root));
}

/// The crop and the whole image give the same maps on `esrgan-{variant}-x{scale}`.
fn check(variant: &str, scale: usize) {
    let root = common::repo_root();
    assert!(
        root.join("zoo/esrgan-slim-x4.onnx").is_file()
            && root.join("data/images/chelsea.png").is_file(),
        "the zoo is missing: run `cargo xtask setup` first"
    );
    let tmp = tempfile::tempdir().unwrap();
    // The configs are written outside the tree: their paths are absolute.
    let abs = |p: &str| root.join(p).display().to_string();
    let name = format!("esrgan-{variant}-x{scale}");
    // LAM of few steps (each step is a gradient through the crop), IG on one network.
    let methods = if variant == "slim" && scale == 4 {
        "[[method]]\nname = \"lam\"\nsteps = 3\n\n[[method]]\nname = \"ig\"\nsteps = 2\n"
    } else {
        "[[method]]\nname = \"lam\"\nsteps = 1\n"
    };
    // Large enough for the windows' reach (slim: radius 11, medium: 19) and LAM's blur
    // (half its 9-pixel kernel) to leave a margin; thick (155) is only checked not to be
    // cropped.
    let n = match variant {
        "slim" => 48,
        "medium" => 64,
        _ => 24,
    };
    let cfg = config(&abs(&format!("zoo/{name}.onnx")), scale, n, methods)
        .replace("data/images/chelsea.png", &abs("data/images/chelsea.png"));
    let cropped = tmp.path().join(format!("{name}-crop"));
    run(&root, &cfg, &cropped, true);
    let report = common::read_json(&cropped.join("lam/report.json"));
    let rf = &report["provenance"]["receptive_field"];
    let radius = rf["radius"]
        .as_u64()
        .expect("the Candle backend bounds the zoo's receptive fields");
    if variant == "thick" {
        // The RRDB trunk sees farther than a 40 x 40 image: nothing to crop.
        assert!(rf["crop"].is_null(), "{name}: {rf}");
        assert!(
            rf["note"]
                .as_str()
                .unwrap()
                .contains("covers the whole image"),
            "{rf}"
        );
        return;
    }
    let b = rf["crop"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} was not cropped: {rf}"));
    let (bw, bh) = (b[2].as_u64().unwrap(), b[3].as_u64().unwrap());
    assert!(
        bw < n as u64 && bh < n as u64 && bw >= 2 * radius,
        "{name}: {rf}"
    );

    let whole = tmp.path().join(format!("{name}-whole"));
    run(&root, &cfg, &whole, false);
    let labels: &[&str] = if methods.contains("ig") {
        &["lam", "ig"]
    } else {
        &["lam"]
    };
    for label in labels {
        let (shape, a) = common::read_npy(&cropped.join(label).join("attribution.npy"));
        let (shape_b, w) = common::read_npy(&whole.join(label).join("attribution.npy"));
        assert_eq!(shape, shape_b);
        let rel = srlens_test_support::compare::rel_l2(&a, &w);
        assert!(rel <= 1e-6, "{name} {label}: relative L2 {rel:e}");
        assert!(w.iter().any(|&v| v != 0.0), "{name} {label}: a zero map");
        let rc = common::read_json(&cropped.join(label).join("report.json"));
        let rw = common::read_json(&whole.join(label).join("report.json"));
        // The method ran on the box widened by its reach (LAM: 4, IG's black baseline: 0).
        let reach = if *label == "lam" { 4 } else { 0 };
        let region = &rc["provenance"]["receptive_field"]["method_region"];
        let r: Vec<u64> = region
            .as_array()
            .unwrap_or_else(|| panic!("{name} {label}: no method region: {rc}"))
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let side = |i: usize| (b[i].as_u64().unwrap() + 2 * reach).min(n as u64);
        assert!(
            r[2] <= side(2) && r[3] <= side(3) && r[2] < n as u64,
            "{name} {label}: {r:?}"
        );
        assert!(rw["provenance"]["receptive_field"]["method_region"].is_null());
        for key in ["objective_input", "objective_baseline"] {
            let (x, y) = (rc[key].as_f64().unwrap(), rw[key].as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-6 * y.abs().max(1.0),
                "{name} {label} {key}: {x} vs {y}"
            );
        }
    }
}

// One test per network, so that the test harness runs them on every core.
macro_rules! zoo_tests {
    ($($test:ident: $variant:literal x $scale:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($variant, $scale);
            }
        )*
    };
}

zoo_tests! {
    slim_x2_cropped_equals_whole: "slim" x 2,
    slim_x3_cropped_equals_whole: "slim" x 3,
    slim_x4_cropped_equals_whole: "slim" x 4,
    slim_x8_cropped_equals_whole: "slim" x 8,
    medium_x2_cropped_equals_whole: "medium" x 2,
    medium_x3_cropped_equals_whole: "medium" x 3,
    medium_x4_cropped_equals_whole: "medium" x 4,
    medium_x8_cropped_equals_whole: "medium" x 8,
    thick_x2_is_not_cropped: "thick" x 2,
    thick_x3_is_not_cropped: "thick" x 3,
    thick_x4_is_not_cropped: "thick" x 4,
    thick_x8_is_not_cropped: "thick" x 8,
}

/// In float64 too (`precision = "f64"`): LAM on its region of esrgan-slim x4 gives the whole
/// image's float64 map to float64 rounding.
#[test]
fn slim_x4_float64_on_the_region_equals_whole() {
    let root = common::repo_root();
    let tmp = tempfile::tempdir().unwrap();
    let abs = |p: &str| root.join(p).display().to_string();
    let cfg = config(
        &abs("zoo/esrgan-slim-x4.onnx"),
        4,
        48,
        "[[method]]\nname = \"lam\"\nsteps = 2\n",
    )
    .replace("data/images/chelsea.png", &abs("data/images/chelsea.png"))
    .replace(
        "\n\n[image]",
        "\noptions = { precision = \"f64\" }\n\n[image]",
    );
    let (cropped, whole) = (tmp.path().join("crop"), tmp.path().join("whole"));
    run(&root, &cfg, &cropped, true);
    run(&root, &cfg, &whole, false);
    let report = common::read_json(&cropped.join("lam/report.json"));
    assert_eq!(report["provenance"]["precision"], "float64", "{report}");
    assert!(
        report["provenance"]["receptive_field"]["method_region"].is_array(),
        "{report}"
    );
    let read = |d: &Path| srlens_test_support::npy::read_npy64(&d.join("lam/attribution64.npy"));
    let ((sa, a), (sb, b)) = (read(&cropped), read(&whole));
    assert_eq!(sa, sb);
    let num: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    assert!(
        den > 0.0 && (num / den).sqrt() <= 1e-12,
        "relative L2 {:e}",
        (num / den).sqrt()
    );
}
