//! The deletion and insertion curves of a method's maps (see [`crate::faithfulness`]), one
//! per window, through the run's model on each window's crop.

use srlens_core::{Attribution, ModelBox, PluginError, Progress, Tensor};
use srlens_report::Faithfulness;

use crate::config::FaithfulnessConfig;
use crate::crop::CropState;
use crate::faithfulness::{curves, fractions, CurveInputs};
use crate::session::Session;

/// What deleted pixels become: the baseline of the path the method sampled on the image,
/// else the default `blur` path's (LAM's), else zeros.
fn baseline(session: &Session<'_>, x: &Tensor) -> (String, Tensor) {
    if let Some(found) = session.path_baseline() {
        return found;
    }
    match session.sample_path("blur", "{}", x, 1, 0, 1) {
        Ok(s) => (
            "path `blur` (the method sampled no path on the image)".into(),
            s.baseline,
        ),
        Err(_) => (
            "zeros (the method sampled no path on the image, and no `blur` path is loaded)".into(),
            Tensor::zeros(x.dims()),
        ),
    }
}

/// The curves of each of `attributions` (one per window, in order) of the method that ran
/// last in `session`; `found`: the baseline its path sampled, when it ran in another session
/// (on a part of the image) and was pasted over the whole image.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    session: &Session<'_>,
    model: &ModelBox,
    state: &CropState,
    x: &Tensor,
    attributions: &[Attribution],
    cfg: &FaithfulnessConfig,
    batch: u32,
    progress: &dyn Progress,
    found: Option<(String, Tensor)>,
) -> Result<Vec<Faithfulness>, PluginError> {
    let (what, base) = found.unwrap_or_else(|| baseline(session, x));
    attributions
        .iter()
        .enumerate()
        .map(|(w, a)| {
            let pixels = state.reach(w);
            let inputs = CurveInputs {
                image: x,
                baseline: &base,
                steps: cfg.steps as usize,
                seed: cfg.seed,
                batch: batch as usize,
                pixels: &pixels,
            };
            let mut objective = |lr: &Tensor| state.values(model, w, lr);
            let c = curves(&a.map, &inputs, &mut objective, progress).into_result()?;
            let n = pixels.len();
            Ok(Faithfulness::new(
                what.clone(),
                n,
                fractions(inputs.steps),
                c,
                cfg.seed,
            ))
        })
        .collect()
}
