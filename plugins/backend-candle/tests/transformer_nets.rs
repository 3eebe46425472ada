//! The transformer SR networks of issue 12 (small SwinIR, HAT and DAT from spandrel's own
//! architecture code, exported to ONNX by PyTorch) through the whole backend: SR output and
//! input gradient of `sum(w * SR)` against PyTorch's, within 1e-4 of the largest value.
//!
//! The graphs are `target/transformers/{swinir,hat,dat}.onnx` (or the folder
//! `SRLENS_TRANSFORMERS_DIR` names), which `cargo xtask test` (or only that step:
//! `cargo xtask transformers`) writes with `tests/fixtures/transformers/make_checkpoints.py`
//! and `srlens import`. The references are
//! computed here, at test time, by the project's Python (`.venv/bin/python`, or
//! `SRLENS_PYTHON`) with torch's autograd: from the checkpoint `<net>.pth` beside the graph
//! (spandrel's network in float64), else from the TorchScript file `<net>.pt` that
//! `srlens import` writes with the graph. With neither, ONNX Runtime on the `.onnx` gives the
//! output reference and the test fails for want of a gradient reference (ONNX Runtime has no
//! float64 convolution, and float32 differences are not precise to 1e-4).

use std::path::{Path, PathBuf};
use std::process::Command;

use srlens_core::abi_stable::std_types::{RSlice, RSome, RString};
use srlens_core::{BackendBox, LoadRequest, ModelBox, Tensor};
use srlens_plugin_candle::CandleBackend;
use srlens_plugin_kit::{component::backend_box, testing::objective_box};
use srlens_test_support::binaries::workspace_root;
use srlens_test_support::npy::read_npy;
use srlens_test_support::objective::Linear;
use srlens_test_support::rng::SplitMix64 as Rng;

/// The relative tolerance (of the largest reference value) on outputs and gradients.
const RTOL: f64 = 1e-4;
/// The LR input size (height, width): a multiple of neither the windows (8) nor the split
/// sizes (4 x 8), so that the networks' own padding and cropping run.
const SIZE: (usize, usize) = (29, 35);

/// The reference computation: `python -c REFERENCE_PY ONNX MODEL X_RAW R_RAW OUT_DIR H W`,
/// MODEL a `.pth` (spandrel, float64), a `.pt` (TorchScript: float64 where the trace allows,
/// else float32) or empty (ONNX Runtime: the output only). Writes `y.npy` and, from torch,
/// `g.npy`.
const REFERENCE_PY: &str = r#"
import os, sys
import numpy as np
onnx_path, model, x_path, r_path, out, h, w = sys.argv[1:8]
x = np.fromfile(x_path, dtype="<f4").reshape(1, 3, int(h), int(w))
def save(name, a):
    np.save(os.path.join(out, name), np.asarray(a, dtype=np.float32))
def torch_reference(net, dtype):
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    y = net(xt)
    r = np.fromfile(r_path, dtype="<f4").reshape(tuple(y.shape))
    (y * torch.tensor(r, dtype=dtype)).sum().backward()
    save("y.npy", y.detach().numpy())
    save("g.npy", xt.grad.numpy())
if model.endswith(".pth"):
    import torch, spandrel
    net = spandrel.ModelLoader().load_from_file(model).model.eval().double()
    torch_reference(net, torch.float64)
    print("spandrel's network in float64")
elif model.endswith(".pt"):
    import torch
    try:
        torch_reference(torch.jit.load(model).eval().double(), torch.float64)
        print("the TorchScript file in float64")
    except Exception:
        torch_reference(torch.jit.load(model).eval(), torch.float32)
        print("the TorchScript file in float32")
else:
    import onnxruntime as ort
    s = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    save("y.npy", s.run(None, {s.get_inputs()[0].name: x})[0])
    print("onnxruntime (output only)")
"#;

fn nets_dir() -> PathBuf {
    std::env::var_os("SRLENS_TRANSFORMERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/transformers"))
}

fn python() -> PathBuf {
    std::env::var_os("SRLENS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"))
}

fn graph_path(net: &str) -> PathBuf {
    let p = nets_dir().join(format!("{net}.onnx"));
    assert!(
        p.is_file(),
        "{} is missing: `cargo xtask transformers` (part of `cargo xtask test`) writes \
         target/transformers/ (checkpoints from tests/fixtures/transformers/make_checkpoints.py, \
         then `srlens import` of each); or set \
         SRLENS_TRANSFORMERS_DIR to a folder with swinir.onnx, hat.onnx and dat.onnx",
        p.display()
    );
    p
}

fn load(path: &Path) -> ModelBox {
    let request = LoadRequest {
        path: RSome(RString::from(path.to_string_lossy().as_ref())),
        options: RString::new(),
        threads: 0,
        device: RString::from("cpu"),
        config_dir: RString::new(),
    };
    let backend: BackendBox = backend_box("candle", CandleBackend);
    backend
        .load(&request)
        .into_result()
        .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message))
}

fn write_f32(path: &Path, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

/// `max |a - b| / max |b|`.
fn max_rel(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "sizes differ");
    let scale = b.iter().fold(0f64, |m, &v| m.max((v as f64).abs()));
    assert!(scale > 0.0, "the reference is all zeros");
    let worst = a
        .iter()
        .zip(b)
        .fold(0f64, |m, (&x, &y)| m.max((x as f64 - y as f64).abs()));
    worst / scale
}

/// Candle's output and input gradient of `net` against the Python reference.
fn check(net: &str) {
    let path = graph_path(net);
    let model = load(&path);
    let scale = model.info().scale as usize;
    let (h, w) = SIZE;
    let x = Rng(1200).vec32(3 * h * w, 0.0, 1.0);
    let xt = Tensor::new(vec![1, 3, h, w], x.clone()).unwrap();
    let y = model.forward(&xt).into_result().expect("forward");
    assert_eq!(
        y.dims(),
        vec![1, 3, scale * h, scale * w],
        "{net}: output shape"
    );
    let r = Rng(1201).vec32(y.len(), -1.0, 1.0);
    let obj = [objective_box(Linear(
        Tensor::new(y.dims(), r.clone()).unwrap(),
    ))];
    let g = model
        .gradient(&xt, RSlice::from_slice(&obj))
        .into_result()
        .expect("gradient")
        .remove(0)
        .grad;

    // The reference model: the checkpoint, else the TorchScript file, else none.
    let reference = ["pth", "pt"]
        .iter()
        .map(|ext| path.with_extension(ext))
        .find(|p| p.is_file());
    let dir =
        std::env::temp_dir().join(format!("srlens-transformers-{}-{net}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_f32(&dir.join("x.raw"), &x);
    write_f32(&dir.join("r.raw"), &r);
    let py = python();
    let run = Command::new(&py)
        .arg("-c")
        .arg(REFERENCE_PY)
        .arg(&path)
        .arg(reference.as_deref().unwrap_or(Path::new("")))
        .arg(dir.join("x.raw"))
        .arg(dir.join("r.raw"))
        .arg(&dir)
        .args([h.to_string(), w.to_string()])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the references need the project's venv: `cargo xtask setup`, or \
                 SRLENS_PYTHON)",
                py.display()
            )
        });
    assert!(
        run.status.success(),
        "{net}: the Python reference failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let what = String::from_utf8_lossy(&run.stdout).trim().to_string();
    let (ys, want_y) = read_npy(&dir.join("y.npy"));
    assert_eq!(ys, y.dims(), "{net}: reference output shape");
    let ey = max_rel(&y.data, &want_y);
    println!("{net}: output max relative error {ey:.2e} against {what}");
    assert!(
        ey <= RTOL,
        "{net}: output max relative error {ey:e} against {what}"
    );
    assert!(
        reference.is_some(),
        "{net}: no gradient reference: neither {net}.pth nor {net}.pt is in {} (`cargo xtask \
         transformers` writes both: tests/fixtures/transformers/make_checkpoints.py, then \
         `srlens import`)",
        nets_dir().display()
    );
    let (gs, want_g) = read_npy(&dir.join("g.npy"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(gs, g.dims(), "{net}: reference gradient shape");
    let eg = max_rel(&g.data, &want_g);
    println!("{net}: gradient max relative error {eg:.2e} against {what}");
    assert!(
        eg <= RTOL,
        "{net}: gradient max relative error {eg:e} against {what}"
    );
}

#[test]
fn swinir_output_and_gradient_match_torch() {
    check("swinir");
}

#[test]
fn hat_output_and_gradient_match_torch() {
    check("hat");
}

#[test]
fn dat_output_and_gradient_match_torch() {
    check("dat");
}
