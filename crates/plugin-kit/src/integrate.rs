//! Path integration shared by path methods (LAM, Integrated Gradients).

use srlens_core::PluginError;

use crate::{component::Job, precision::Real};

/// The map of a path method for one objective and the objective at both ends of the path,
/// in the precision `R` (`f32`, or `f64` for a model loaded with `precision = "f64"`).
#[derive(Debug, Clone)]
pub struct PathIntegral<R: Real = f32> {
    /// `sum_i w_i * grad(p_i) * d_i`, `C x H x W`.
    pub map: R::Tensor,
    /// The objective at the input.
    pub objective_input: f64,
    /// The objective at the path's baseline.
    pub objective_baseline: f64,
    /// The batch size of the last model call's request (the host's choice when it tunes it).
    pub batch_size: usize,
}

/// Integrates the gradient of every objective of the job along the path `path` (resolved
/// through the job's registry, with `path_options` as a JSON object) of `steps` points, in
/// batches of at most `job.batch_size()` points, asked before each batch (a host may tune
/// it while the path runs; the sums do not depend on it). Each batch goes to the model once for all
/// objectives (one forward, one backward per objective). Returns one integral per objective.
/// The objective at an end of the path comes from the gradient call of a point that equals
/// that end bit for bit (LAM's last point is the input), else from one forward pass.
/// Reports one progress unit per point, plus two for the ends. Every sum is in float64; the
/// samples, gradients and map are in `R`.
pub fn path_attribution<R: Real>(
    job: &Job<'_>,
    path: &str,
    path_options: &str,
    steps: usize,
) -> Result<Vec<PathIntegral<R>>, PluginError> {
    if steps == 0 {
        return Err(crate::invalid_config(format!(
            "{}: a path needs at least one step",
            job.what()
        )));
    }
    let image = R::image(job);
    let image = &image;
    let dims = R::dims(image);
    let per: usize = dims[1..].iter().product();
    let k = job.objective_count();
    job.add_total(steps as u64 + 2);

    let mut maps = vec![vec![0f64; per]; k];
    let mut baseline = None;
    // The objectives at the ends, where a path point is an end.
    let (mut on_path_input, mut on_path_baseline) = (None, None);
    let (mut start, mut batch) = (0, 1);
    while start < steps {
        batch = job.batch_size();
        let end = (start + batch).min(steps);
        let samples = R::sample_path(job, path, path_options, image, steps, start, end)?;
        let [points, derivatives, sampled_baseline] = R::sample_parts(&samples);
        let grads = R::gradients(job, points)?;
        for (i, point) in R::data(points).chunks_exact(per).enumerate() {
            let values = || grads.iter().map(|g| R::gradient_parts(g).0[i]).collect();
            if on_path_input.is_none() && same_bits(point, R::data(image)) {
                on_path_input = Some(values());
            }
            if on_path_baseline.is_none() && same_bits(point, R::data(sampled_baseline)) {
                on_path_baseline = Some(values());
            }
        }
        for (map, grad) in maps.iter_mut().zip(&grads) {
            let grad = R::data(R::gradient_parts(grad).1);
            for (i, &w) in R::sample_weights(&samples).iter().enumerate() {
                let g = &grad[i * per..(i + 1) * per];
                let d = &R::data(derivatives)[i * per..(i + 1) * per];
                for ((m, &g), &d) in map.iter_mut().zip(g).zip(d) {
                    *m += w * g.into() * d.into();
                }
            }
        }
        baseline.get_or_insert_with(|| sampled_baseline.clone());
        job.advance((end - start) as u64);
        start = end;
    }
    let baseline = baseline.expect("at least one batch for steps >= 1");
    let at_input = match on_path_input {
        Some(values) => values,
        None => R::objective_values(job, image)?,
    };
    job.advance(1);
    let at_baseline = match on_path_baseline {
        Some(values) => values,
        None => R::objective_values(job, &baseline)?,
    };
    job.advance(1);
    Ok(maps
        .into_iter()
        .zip(at_input.into_iter().zip(at_baseline))
        .map(
            |(map, (objective_input, objective_baseline))| PathIntegral {
                map: R::tensor(
                    dims[1..].to_vec(),
                    map.into_iter().map(R::from_f64).collect(),
                )
                .expect("the map has the image's shape"),
                objective_input,
                objective_baseline,
                batch_size: batch,
            },
        )
        .collect())
}

/// Whether `a` and `b` hold the same values bit for bit (`0.0` and `-0.0` differ).
fn same_bits<R: Real>(a: &[R], b: &[R]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(&x, &y)| x.into().to_bits() == y.into().to_bits())
}

/// The plain input gradient `dD/dx` of every objective at `image` (`1 x C x H x W`), as
/// `C x H x W` maps, with the objectives' values.
pub fn input_gradients<R: Real>(
    job: &Job<'_>,
    image: &R::Tensor,
) -> Result<Vec<(R::Tensor, f64)>, PluginError> {
    let dims = R::dims(image);
    Ok(R::gradients(job, image)?
        .iter()
        .map(|g| {
            let (values, grad) = R::gradient_parts(g);
            let map = R::tensor(dims[1..].to_vec(), R::data(grad).to_vec())
                .expect("checked: the gradient has the image's shape");
            (map, values.iter().sum())
        })
        .collect())
}
