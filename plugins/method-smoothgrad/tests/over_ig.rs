//! SmoothGrad over Integrated Gradients: the inner method and its path resolved by name.

use serde_json::json;
use srlens_core::Tensor;
use srlens_plugin_ig::{Ig, LinePath};
use srlens_plugin_kit::{random::SeededRng, testing::*};
use srlens_plugin_smoothgrad::{SmoothGrad, Variant};

#[test]
fn smoothgrad_over_ig_on_a_linear_model_is_the_mean_of_x_plus_noise_times_the_gradient() {
    // y = W x with a fixed W: IG with a black baseline is (x + e) * W^T m for each sample,
    // so SmoothGrad over IG is (x + mean(e)) * W^T m.
    let dims: Dims = [1, 3, 3];
    let (n_in, n_out) = (9usize, 36usize);
    let w: Vec<f64> = (0..n_in * n_out)
        .map(|k| ((k * 11 % 19) as f64 - 9.0) / 10.0)
        .collect();
    let window = Intensity::new(1, 1, 4);
    let h = TestRegistry::new(
        model_box(FnModel::linear(2, dims, w.clone())),
        objective_box(window),
    )
    .with_path("line", LinePath)
    .with_method("ig", Ig)
    .with_method("smoothgrad", SmoothGrad(Variant::Mean));
    let x = Tensor::new(vec![1, 1, 3, 3], (0..9).map(|i| i as f32 / 8.0).collect()).unwrap();
    let opts = json!({"samples": 6, "seed": 11, "inner": "ig", "inner_options": {"steps": 4, "quadrature": "riemann_middle"}});
    let a = h.run("smoothgrad", &opts.to_string(), &x).unwrap();
    let g: Vec<f64> = (0..n_in)
        .map(|k| {
            (0..n_out)
                .filter(|o| window.contains(o / 6, o % 6))
                .map(|o| w[o * n_in + k])
                .sum()
        })
        .collect();
    let mut rng = SeededRng::new(11);
    let mut want = vec![0f64; n_in];
    for _ in 0..6 {
        let e = rng.normal_vec(n_in, 0.15); // range of x is 1
        for k in 0..n_in {
            want[k] += (x.data[k] + e[k]) as f64 * g[k] / 6.0;
        }
    }
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (k, (got, want)) in a.map.data.iter().zip(&want).enumerate() {
        assert!((*got as f64 - want).abs() < 1e-5 * scale, "{k}");
    }
    let calls = h.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.kind == "method" && c.name == "ig")
            .count(),
        6
    );
    assert!(calls
        .iter()
        .filter(|c| c.kind == "method")
        .all(|c| c.options == r#"{"quadrature":"riemann_middle","steps":4}"#));
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.kind == "path" && c.name == "line")
            .count(),
        6
    );
}
