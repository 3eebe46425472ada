//! Path integration shared by path methods (LAM, Integrated Gradients).

use srlens_core::{PluginError, Tensor};

use crate::component::Job;

/// The map of a path method for one objective and the objective at both ends of the path.
#[derive(Debug, Clone)]
pub struct PathIntegral {
    /// `sum_i w_i * grad(p_i) * d_i`, `C x H x W`.
    pub map: Tensor,
    /// The objective at the input.
    pub objective_input: f64,
    /// The objective at the path's baseline.
    pub objective_baseline: f64,
    /// The batch size used for the model calls.
    pub batch_size: usize,
}

/// Integrates the gradient of every objective of the job along the path `path` (resolved
/// through the job's registry, with `path_options` as a JSON object) of `steps` points, in
/// batches of at most `job.batch_size()` points. Each batch goes to the model once for all
/// objectives (one forward, one backward per objective). Returns one integral per objective.
/// Reports one progress unit per point, plus two for the ends.
pub fn path_attribution(
    job: &Job<'_>,
    path: &str,
    path_options: &str,
    steps: usize,
) -> Result<Vec<PathIntegral>, PluginError> {
    if steps == 0 {
        return Err(crate::invalid_config(format!(
            "{}: a path needs at least one step",
            job.what()
        )));
    }
    let image = job.image();
    let dims = image.dims();
    let per: usize = dims[1..].iter().product();
    let batch = job.batch_size();
    let k = job.objective_count();
    job.add_total(steps as u64 + 2);

    let mut maps = vec![vec![0f64; per]; k];
    let mut baseline = None;
    for (start, end) in crate::batch::chunks(steps, batch) {
        let samples = job.sample_path(path, path_options, image, steps, start, end)?;
        let grads = job.gradients(&samples.points)?;
        for (map, grad) in maps.iter_mut().zip(&grads) {
            for (i, &w) in samples.weights.iter().enumerate() {
                let g = &grad.grad.data[i * per..(i + 1) * per];
                let d = &samples.derivatives.data[i * per..(i + 1) * per];
                for ((m, &g), &d) in map.iter_mut().zip(g).zip(d) {
                    *m += w * g as f64 * d as f64;
                }
            }
        }
        baseline.get_or_insert(samples.baseline);
        job.advance((end - start) as u64);
    }
    let baseline = baseline.expect("at least one batch for steps >= 1");
    let at_input = job.objective_values(image)?;
    job.advance(1);
    let at_baseline = job.objective_values(&baseline)?;
    job.advance(1);
    Ok(maps
        .into_iter()
        .zip(at_input.into_iter().zip(at_baseline))
        .map(
            |(map, (objective_input, objective_baseline))| PathIntegral {
                map: Tensor::new(
                    dims[1..].to_vec(),
                    map.into_iter().map(|v| v as f32).collect(),
                )
                .expect("the map has the image's shape"),
                objective_input,
                objective_baseline,
                batch_size: batch,
            },
        )
        .collect())
}

/// The plain input gradient `dD/dx` of every objective at `image` (`1 x C x H x W`), as
/// `C x H x W` maps, with the objectives' values.
pub fn input_gradients(job: &Job<'_>, image: &Tensor) -> Result<Vec<(Tensor, f64)>, PluginError> {
    let dims = image.dims();
    Ok(job
        .gradients(image)?
        .into_iter()
        .map(|g| {
            let map = Tensor::new(dims[1..].to_vec(), g.grad.data.to_vec())
                .expect("checked: the gradient has the image's shape");
            (map, g.values.iter().sum())
        })
        .collect())
}
