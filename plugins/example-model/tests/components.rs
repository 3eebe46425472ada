//! The example plugin's own method (`occlusion`) and path (`fade`) against closed forms in
//! float64, run in process through `srlens_plugin_kit::testing` as the host would run them.

use srlens_core::{
    abi_stable::std_types::{RNone, RString, RVec},
    Attribution, PluginError, Tensor,
};
use srlens_plugin_example_model::{Fade, Occlusion};
use srlens_plugin_kit::{integrate::path_attribution, testing::*, AttributionMethod, Job};

const DIMS: Dims = [2, 5, 6];
const N_IN: usize = 60;

fn image() -> Tensor {
    let data = (0..N_IN)
        .map(|i| ((i * 7 + 3) % 13) as f32 / 13.0)
        .collect();
    Tensor::new(vec![1, 2, 5, 6], data).unwrap()
}

/// The weights of a linear x2 model `y = W x`.
fn weights() -> Vec<f64> {
    (0..N_IN * N_IN * 4)
        .map(|k| ((k * 31 % 23) as f64 - 11.0) / 40.0)
        .collect()
}

/// `d D / d x` of the intensity window for `y = W x`: `W^T m`, in f64.
fn window_gradient(w: &[f64], win: &Intensity) -> Vec<f64> {
    let (sh, sw) = (10, 12);
    let mut g = vec![0f64; N_IN];
    for c in 0..2 {
        for i in 0..sh {
            for j in 0..sw {
                if win.contains(i, j) {
                    let o = (c * sh + i) * sw + j;
                    for (k, gk) in g.iter_mut().enumerate() {
                        *gk += w[o * N_IN + k];
                    }
                }
            }
        }
    }
    g
}

#[test]
fn occlusion_of_a_linear_model_is_the_patch_sum_of_gradient_times_input_minus_value() {
    let w = weights();
    let windows = [Intensity::new(2, 3, 5), Intensity::new(6, 0, 4)];
    let host = TestRegistry::new(
        model_box(FnModel::linear(2, DIMS, w.clone())),
        objective_box(windows[0]),
    )
    .with_objective(objective_box(windows[1]))
    .with_method("occlusion", Occlusion)
    .with_batch_size(4);
    let x = image();
    let all = host
        .run_all("occlusion", r#"{"patch": 4, "value": 0.25}"#, &x)
        .unwrap();
    assert_eq!(all.len(), 2);
    for (a, win) in all.iter().zip(&windows) {
        let g = window_gradient(&w, win);
        // Patches of 4: rows 0..4 and 4..5, columns 0..4 and 4..6, both channels together.
        for top in [0, 4] {
            for left in [0, 4] {
                let (bh, bw) = ((5 - top).min(4), (6 - left).min(4));
                let mut drop = 0f64;
                for c in 0..2 {
                    for i in top..top + bh {
                        for j in left..left + bw {
                            let k = (c * 5 + i) * 6 + j;
                            drop += g[k] * (x.data[k] as f64 - 0.25);
                        }
                    }
                }
                for c in 0..2 {
                    for i in top..top + bh {
                        for j in left..left + bw {
                            let got = a.map.data[(c * 5 + i) * 6 + j] as f64;
                            assert!((got - drop).abs() < 1e-4, "({c},{i},{j}): {got} vs {drop}");
                        }
                    }
                }
            }
        }
    }
    assert_eq!(host.progress().done(), host.progress().total());
    let e = host.run("occlusion", r#"{"patch": 0}"#, &x).unwrap_err();
    assert_eq!(e.key.as_ref().map(|k| k.as_str()), Some("patch").into());
}

/// Integrated gradients along a path by name (a test method).
struct AlongPath;

impl AttributionMethod for AlongPath {
    type Options = serde_json::Map<String, serde_json::Value>;

    fn attribute(&self, o: &Self::Options, job: &Job<'_>) -> Result<Vec<Attribution>, PluginError> {
        let steps = o["steps"].as_u64().unwrap() as usize;
        Ok(path_attribution::<f32>(job, "fade", "{}", steps)?
            .into_iter()
            .map(|i| Attribution {
                map: i.map,
                objective_input: i.objective_input,
                objective_baseline: srlens_core::abi_stable::std_types::RSome(i.objective_baseline),
                parameters: RString::from("{}"),
                warnings: RVec::new(),
            })
            .collect())
    }
}

#[test]
fn integrating_along_fade_is_the_midpoint_rule_from_black() {
    // y = upsample_nearest(tanh(2 x), 2): dD/dx_k = 2 / cosh(2 a x_k)^2 * m_k along the path.
    let f = |v: f64| (2.0 * v).tanh();
    let df = |v: f64| 2.0 / (2.0 * v).cosh().powi(2);
    let win = Intensity::new(1, 2, 7);
    let host = TestRegistry::new(
        model_box(FnModel::pointwise(2, 2, f, df)),
        objective_box(win),
    )
    .with_path("fade", Fade)
    .with_method("along", AlongPath)
    .with_batch_size(3);
    let x = image();
    let steps = 9;
    let a = host
        .run("along", &format!(r#"{{"steps": {steps}}}"#), &x)
        .unwrap();
    for k in 0..N_IN {
        let (c, i, j) = (k / 30, (k / 6) % 5, k % 6);
        let m = (0..2)
            .flat_map(|u| (0..2).map(move |v| (2 * i + u, 2 * j + v)))
            .filter(|&(p, q)| win.contains(p, q))
            .count() as f64;
        let _ = c;
        let xk = x.data[k] as f64;
        let want: f64 = (0..steps)
            .map(|s| xk * df((s as f64 + 0.5) / steps as f64 * xk) * m / steps as f64)
            .sum();
        assert!(
            (a.map.data[k] as f64 - want).abs() < 1e-5,
            "{k}: {} vs {want}",
            a.map.data[k]
        );
    }
    assert_eq!(
        a.objective_baseline,
        srlens_core::abi_stable::std_types::RSome(0.0)
    );
    let _ = RNone::<f64>;
}
