//! The acceptance check of issue 14's `precision = "f64"` through the real `srlens run`: on a
//! nearly flat window of the pretrained esrgan-slim x4, where LAM's objective is badly
//! conditioned and the float32 maps of Candle and tch differ by more than 1e-4, both
//! backends' float64 maps (`attribution64.npy`) equal torch's own float64 LAM of the same
//! TorchScript network (`tests/fixtures/transformers/lam64.py`) to 1e-9 relative.
//!
//! `cargo xtask test` builds the workspace and converts the zoo before running this.

mod common;

use std::path::Path;

use srlens_test_support::compare::rel_l2;
use srlens_test_support::npy::read_npy64;

/// LAM steps (the reference uses the same).
const STEPS: u32 = 10;
/// The window (x, y, size) in SR pixels: 5 LR pixels from the only feature of a flat image,
/// where the SR output varies by about 1e-5.
const WINDOW: (u32, u32, u32) = (36, 36, 8);

/// A zoo file, as a string for a config.
fn zoo(file: &str) -> String {
    common::zoo_file(file).to_string_lossy().into_owned()
}

/// A 24 x 24 grey image (128) with one pixel one level brighter at (4, 4).
fn nearly_flat_png(path: &Path) {
    let mut img = image::RgbImage::from_pixel(24, 24, image::Rgb([128, 128, 128]));
    img.put_pixel(4, 4, image::Rgb([129, 129, 129]));
    img.save(path).unwrap();
}

/// The model file and options of `backend` in `precision`.
fn network(backend: &str, precision: &str) -> (String, String) {
    match backend {
        "tch" => (
            zoo("esrgan-slim-x4.pt"),
            format!("{{ input_range = [0, 255], precision = \"{precision}\" }}"),
        ),
        _ => (
            zoo("esrgan-slim-x4.onnx"),
            format!("{{ precision = \"{precision}\" }}"),
        ),
    }
}

/// torch's float64 LAM of the TorchScript network, in float64.
fn reference(dir: &Path) -> Vec<f64> {
    let model = zoo("esrgan-slim-x4.pt");
    let extra = ["--input-range", "0", "255", "--float64"];
    common::torch_lam64(dir, &model, WINDOW, STEPS, &extra);
    read_npy64(&dir.join("ref.npy")).1
}

#[test]
fn float64_lam_on_candle_and_tch_equals_torchs_float64_lam_where_float32_maps_disagree() {
    let dir = tempfile::tempdir().unwrap();
    nearly_flat_png(&dir.path().join("lr.png"));
    let want = reference(dir.path());
    assert!(want.iter().any(|v| *v != 0.0), "torch's map is blank");

    // float32: the two backends' maps differ by more than 1e-4 here.
    let float32: Vec<Vec<f32>> = ["candle", "tch"]
        .iter()
        .map(|&backend| {
            let (model, options) = network(backend, "f32");
            let (map, report) =
                common::run_lam(dir.path(), backend, &model, &options, WINDOW, STEPS, "");
            assert_eq!(report["provenance"]["precision"], "float32", "{backend}");
            assert!(report.get("map64_file").is_none(), "{backend}: {report}");
            map
        })
        .collect();
    let spread = rel_l2(&float32[0], &float32[1]);
    assert!(
        spread > 1e-4,
        "the float32 maps agree to {spread:.2e}: the window does not test rounding"
    );

    for backend in ["candle", "tch"] {
        let (model, options) = network(backend, "f64");
        let (map32, report) =
            common::run_lam(dir.path(), backend, &model, &options, WINDOW, STEPS, "");
        assert_eq!(report["provenance"]["precision"], "float64", "{backend}");
        assert_eq!(report["map64_file"], "lam/attribution64.npy", "{backend}");
        let run = dir.path().join(format!("out-{backend}/lam"));
        let (shape, map) = read_npy64(&run.join("attribution64.npy"));
        assert_eq!(shape, vec![3, 24, 24], "{backend}");
        let err = rel_l2(&map, &want);
        assert!(
            err < 1e-9,
            "{backend}: the float64 LAM map is {err:.2e} (relative L2) from torch's float64 one \
             (the float32 maps differ by {spread:.2e})"
        );
        // attribution.npy is the float64 map rounded to float32.
        let rounded: Vec<f32> = map.iter().map(|&v| v as f32).collect();
        assert_eq!(map32, rounded, "{backend}");
        let warning = report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| w.as_str())
            .find(|w| w.contains("badly conditioned"))
            .unwrap_or_else(|| panic!("{backend}: no conditioning warning: {report}"));
        assert!(warning.contains("computed in float64"), "{warning}");
        // The run's summary.csv and report.html say so too.
        let out = dir.path().join(format!("out-{backend}"));
        let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        assert_eq!(header.last(), Some(&"precision"), "{csv}");
        assert!(csv.lines().nth(1).unwrap().ends_with(",float64"), "{csv}");
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(
            html.contains("Precision") && html.contains("float64"),
            "{backend}"
        );
    }
}

#[test]
fn precision_f64_is_refused_clearly_where_it_is_not_computed() {
    let dir = tempfile::tempdir().unwrap();
    nearly_flat_png(&dir.path().join("lr.png"));
    // ort runs float32 graphs only.
    let config = format!(
        "[model]\nbackend = \"ort\"\npath = \"{}\"\noptions = {{ precision = \"f64\" }}\n\n\
         [image]\npath = \"lr.png\"\nmode = \"lr\"\n\n[window]\nx = 36\ny = 36\nsize = 8\n\n\
         [[method]]\nname = \"lam\"\nsteps = 4\n",
        zoo("esrgan-slim-x4.onnx")
    );
    let err = common::srlens_fails(dir.path(), &["lam", "ort"], &config);
    assert!(
        err.contains("precision = \"f64\" is not available") && err.contains("candle and tch"),
        "{err}"
    );
    // The built-in methods all compute in float64 on candle and tch (crates/cli's
    // lam_reference.rs runs ig and smoothgrad there): the backend's refusal is what remains.
}
