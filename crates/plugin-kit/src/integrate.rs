//! Path integration shared by path methods (LAM, Integrated Gradients).

use srlens_core::{
    abi_stable::std_types::{RSlice, RStr},
    MethodJob, ObjectiveRef, PluginError, Tensor,
};

/// The map of a path method and the objective at both ends of the path.
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

/// Integrates the gradient of the job's objective along the path `path` (resolved through the
/// job's registry, with `path_options` as a JSON object) of `steps` points, in batches of at
/// most `job.batch_size` points. Reports one progress unit per point, plus two for the ends.
pub fn path_attribution(
    job: &MethodJob<'_>,
    path: &str,
    path_options: &str,
    steps: usize,
) -> Result<PathIntegral, PluginError> {
    let image = job.image;
    let dims = image.dims();
    let per: usize = dims[1..].iter().product();
    let batch = (job.batch_size as usize).max(1);
    job.progress.add_total(steps as u64 + 2);

    let mut map = vec![0f64; per];
    let mut baseline = None;
    for (start, end) in crate::batch::chunks(steps, batch) {
        let samples = job
            .registry
            .sample_path(
                RStr::from_str(path),
                RStr::from_str(path_options),
                image,
                steps as u32,
                start as u32,
                end as u32,
            )
            .into_result()?;
        let grads = job
            .model
            .gradient(
                &samples.points,
                RSlice::from_slice(&[job.objective.sabi_reborrow()]),
            )
            .into_result()?;
        let grad = &grads[0].grad;
        for k in 0..(end - start) {
            let w = samples.weights[k];
            let g = &grad.data[k * per..(k + 1) * per];
            let d = &samples.derivatives.data[k * per..(k + 1) * per];
            for ((m, &g), &d) in map.iter_mut().zip(g).zip(d) {
                *m += w * g as f64 * d as f64;
            }
        }
        baseline.get_or_insert(samples.baseline);
        job.progress.advance((end - start) as u64);
    }
    let baseline = match baseline {
        Some(b) => b,
        None => return Err(crate::invalid_config("a path needs at least one step")),
    };
    let objective_input = objective_at(job, image)?;
    job.progress.advance(1);
    let objective_baseline = objective_at(job, &baseline)?;
    job.progress.advance(1);
    let map = Tensor::new(
        dims[1..].to_vec(),
        map.into_iter().map(|v| v as f32).collect(),
    )
    .expect("the map has the image's shape");
    Ok(PathIntegral {
        map,
        objective_input,
        objective_baseline,
        batch_size: batch,
    })
}

/// The job's objective at `image` (`1 x C x H x W`): one forward pass.
pub fn objective_at(job: &MethodJob<'_>, image: &Tensor) -> Result<f64, PluginError> {
    objective_of(job, &job.objective, image)
}

fn objective_of(
    job: &MethodJob<'_>,
    objective: &ObjectiveRef<'_>,
    image: &Tensor,
) -> Result<f64, PluginError> {
    let sr = job.model.forward(image).into_result()?;
    let value = objective.value_and_grad(&sr).into_result()?;
    Ok(value.values.iter().sum())
}

/// The plain input gradient `dD/dx` of the job's objective at `image` (`1 x C x H x W`),
/// with the objective's value.
pub fn input_gradient(job: &MethodJob<'_>, image: &Tensor) -> Result<(Tensor, f64), PluginError> {
    let grads = job
        .model
        .gradient(image, RSlice::from_slice(&[job.objective.sabi_reborrow()]))
        .into_result()?;
    let g = grads.into_iter().next().ok_or_else(|| {
        PluginError::new(
            srlens_core::ErrorKind::Backend,
            "the backend returned no gradient",
        )
    })?;
    let dims = image.dims();
    let map = Tensor::new(dims[1..].to_vec(), g.grad.data.to_vec()).ok_or_else(|| {
        PluginError::new(
            srlens_core::ErrorKind::Backend,
            "the backend returned a gradient of the wrong size",
        )
    })?;
    Ok((map, g.values.iter().sum()))
}
