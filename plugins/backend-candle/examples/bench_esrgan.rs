//! Times forward and forward + gradient of a converted UpscalerJS ESRGAN model.
//!
//! `cargo run --release -p srlens-plugin-candle --example bench_esrgan -- slim 4 64 [batch]`
//! (variant, scale, LR side, batch size; the packages come from `cargo xtask setup`).

use std::time::Instant;

use srlens_core::abi_stable::std_types::RVec;
use srlens_core::{Objective, ObjectiveValue, PluginResult, Tensor};
use srlens_plugin_candle::CandleModel;
use srlens_plugin_kit::{testing::objective_box, SrModelExt};

/// `sum(sr)`, per item.
struct Sum;

impl Objective for Sum {
    fn value_and_grad(&self, sr: &Tensor) -> PluginResult<ObjectiveValue> {
        let n = sr.dims()[0];
        let per = sr.data.len() / n;
        let values: RVec<f64> = (0..n)
            .map(|b| {
                sr.data[b * per..(b + 1) * per]
                    .iter()
                    .map(|&v| v as f64)
                    .sum()
            })
            .collect();
        let grad = Tensor::new(sr.dims(), vec![1.0; sr.data.len()]).unwrap();
        PluginResult::ROk(ObjectiveValue { values, grad })
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let variant = args.get(1).map_or("slim", |s| s.as_str());
    let scale: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);
    let side: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(64);
    let batch: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    let path = format!(
        "{}/../../.cache/npm/esrgan-{variant}/package/models/x{scale}/model.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let graph = srlens_onnx::tfjs::convert(std::path::Path::new(&path)).expect("convert");
    let model = CandleModel::from_graph(graph, variant, None, 0).expect("load");
    let n = batch * 3 * side * side;
    let x = Tensor::new(
        vec![batch, 3, side, side],
        (0..n).map(|i| (i % 251) as f32 / 251.0).collect(),
    )
    .unwrap();
    let objs = [objective_box(Sum)];
    let _ = model.forward_abi(&x).unwrap();
    let reps = 3;
    let t = Instant::now();
    for _ in 0..reps {
        let _ = model.forward_abi(&x).unwrap();
    }
    let fwd = t.elapsed().as_secs_f64() / reps as f64;
    let t = Instant::now();
    for _ in 0..reps {
        let _ = model.gradients(&x, &objs).unwrap();
    }
    let grad = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "esrgan-{variant} x{scale}, {batch}x3x{side}x{side}: forward {:.3} s, forward+gradient {:.3} s ({:.2}x)",
        fwd,
        grad,
        grad / fwd
    );
}
