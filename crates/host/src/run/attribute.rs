//! One method's maps for a run: on the part of the image the windows' receptive fields and
//! the method's own reach cover ([`SubImage`]) when the method says how far it reads the image
//! and the model is cropped, else on the whole image; the maps come back at the image's size.

use std::sync::Arc;

use srlens_core::{Attribution, ModelBox, Progress, Tensor, Tensor64};

use crate::crop::{CropBox, CropState, CroppedModel, SubImage};
use crate::error::Result;
use crate::plugins::PluginHost;
use crate::session::{BatchTuner, Session};

/// A method's maps, one per window, at the image's size.
pub struct MethodMaps {
    /// The maps and figures.
    pub attributions: Vec<Attribution>,
    /// The float64 maps, from a model loaded with `precision = "f64"`.
    pub maps64: Vec<Option<Tensor64>>,
    /// The LR region the method ran on, when it was not the whole image.
    pub region: Option<CropBox>,
    /// Its path's baseline pasted over the whole image, when it ran on a region.
    pub baseline: Option<(String, Tensor)>,
}

/// The image and the run's shared parts a method runs with.
pub struct Inputs<'a> {
    /// The plugins.
    pub host: &'a PluginHost,
    /// The run's session (on the whole image).
    pub session: &'a Session<'a>,
    /// The model, uncropped.
    pub model: &'a Arc<ModelBox>,
    /// The run's objectives and crop boxes.
    pub state: &'a Arc<CropState>,
    /// The LR image.
    pub x: &'a Tensor,
    /// The LR image in float64, for a float64 model.
    pub x64: Option<&'a Tensor64>,
    /// The size of each model call, shared by every session of the run.
    pub tuner: &'a Arc<BatchTuner>,
    /// The config's folder.
    pub config_dir: &'a str,
}

/// Runs the method `name` (`options` as JSON) for every window, reporting to `progress`.
pub fn attribute(
    i: &Inputs<'_>,
    name: &str,
    plugin: Option<&str>,
    options: &str,
    progress: Arc<dyn Progress>,
) -> Result<MethodMaps> {
    let reach = i.session.image_reach(name, plugin, options, i.x)?;
    let Some(sub) = reach.and_then(|r| SubImage::plan(i.state, r)) else {
        i.session.progress.set(Some(progress));
        let (attributions, maps64) = run(i.session, name, plugin, options, i.x, i.x64)?;
        i.session.progress.set(None);
        return Ok(MethodMaps {
            attributions,
            maps64,
            region: None,
            baseline: None,
        });
    };
    let state = Arc::new(sub.state(i.state));
    let model = CroppedModel::boxed(i.model.clone(), state.clone(), i.tuner.clone());
    let session = Session::new(
        i.host,
        &model,
        state,
        i.tuner.clone(),
        i.config_dir.to_string(),
    );
    session.progress.set(Some(progress));
    let x = sub.cut::<f32>(i.x);
    let x64 = i.x64.map(|x| sub.cut::<f64>(x));
    let (mut attributions, maps64) = run(&session, name, plugin, options, &x, x64.as_ref())?;
    for a in &mut attributions {
        a.map = sub.paste_map::<f32>(&a.map);
    }
    let maps64 = maps64
        .into_iter()
        .map(|m| m.map(|m| sub.paste_map::<f64>(&m)))
        .collect();
    let baseline = session
        .path_baseline()
        .map(|(what, b)| (what, sub.paste_over::<f32>(i.x, &b)));
    Ok(MethodMaps {
        attributions,
        maps64,
        region: Some(sub.region),
        baseline,
    })
}

/// The method's attributions on `x` in `session` (float64 ones from `x64` when given).
fn run(
    session: &Session<'_>,
    name: &str,
    plugin: Option<&str>,
    options: &str,
    x: &Tensor,
    x64: Option<&Tensor64>,
) -> Result<(Vec<Attribution>, Vec<Option<Tensor64>>)> {
    Ok(match x64 {
        Some(x64) => session
            .attribute_f64(name, plugin, options, x, x64)?
            .into_iter()
            .map(|a| (a.attribution, Some(a.map)))
            .unzip(),
        None => (session.attribute(name, plugin, options, x)?, Vec::new()),
    })
}
