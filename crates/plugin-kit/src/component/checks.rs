//! Checks of what crosses the boundary: shapes and finite values, with the culprit named.

use srlens_core::{Attribution, ErrorKind, InputGradient, PathSamples, PluginError, Tensor};

/// An error of kind `kind` about `what`.
fn error(kind: ErrorKind, what: &str, message: String) -> PluginError {
    PluginError::new(kind, format!("{what}: {message}"))
}

/// `values` are all finite, else a [`ErrorKind::NonFinite`] error naming `what` and `of`.
pub fn finite(what: &str, of: &str, values: &[f32]) -> Result<(), PluginError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(at) => {
            let bad = values.iter().filter(|v| !v.is_finite()).count();
            Err(error(
                ErrorKind::NonFinite,
                what,
                format!(
                    "{of} holds {bad} non-finite value(s) of {} (the first, at index {at}, is {})",
                    values.len(),
                    values[at]
                ),
            ))
        }
    }
}

/// `t` has exactly `shape`.
pub fn shape(what: &str, of: &str, t: &Tensor, shape: &[usize]) -> Result<(), PluginError> {
    if t.dims() == shape && t.len() == shape.iter().product::<usize>() {
        return Ok(());
    }
    Err(error(
        ErrorKind::Backend,
        what,
        format!(
            "{of} has shape {:?} ({} values), expected {shape:?}",
            t.dims(),
            t.len()
        ),
    ))
}

/// One finite input gradient of the batch's shape per objective.
pub fn gradients(
    what: &str,
    batch: &Tensor,
    objectives: usize,
    grads: &[InputGradient],
) -> Result<(), PluginError> {
    if grads.len() != objectives {
        return Err(error(
            ErrorKind::Backend,
            what,
            format!(
                "the model returned {} gradient(s) for {objectives} objective(s)",
                grads.len()
            ),
        ));
    }
    let n = batch.shape.first().copied().unwrap_or(0) as usize;
    for g in grads {
        shape(what, "the model's input gradient", &g.grad, &batch.dims())?;
        finite(what, "the model's input gradient", &g.grad.data)?;
        if g.values.len() != n {
            return Err(error(
                ErrorKind::Backend,
                what,
                format!("{} objective value(s) for a batch of {n}", g.values.len()),
            ));
        }
    }
    Ok(())
}

/// One finite `C x H x W` map per objective for `image` (`1 x C x H x W`).
pub fn attributions(
    what: &str,
    image: &Tensor,
    objectives: usize,
    out: &[Attribution],
) -> Result<(), PluginError> {
    if out.len() != objectives {
        return Err(error(
            ErrorKind::Backend,
            what,
            format!(
                "returned {} attribution(s) for {objectives} objective(s)",
                out.len()
            ),
        ));
    }
    let dims = image.dims();
    for a in out {
        shape(
            what,
            "the attribution map",
            &a.map,
            dims.get(1..).unwrap_or(&[]),
        )?;
        finite(what, "the attribution map", &a.map.data)?;
    }
    Ok(())
}

/// `n` points and derivatives of the image's shape and `n` weights.
pub fn samples(what: &str, image: &Tensor, n: usize, s: &PathSamples) -> Result<(), PluginError> {
    let mut dims = image.dims();
    shape(what, "the path's baseline", &s.baseline, &dims)?;
    if let Some(first) = dims.first_mut() {
        *first = n;
    }
    shape(what, "the path's points", &s.points, &dims)?;
    shape(what, "the path's derivatives", &s.derivatives, &dims)?;
    finite(what, "the path's points", &s.points.data)?;
    finite(what, "the path's derivatives", &s.derivatives.data)?;
    if s.weights.len() != n || s.weights.iter().any(|w| !w.is_finite()) {
        return Err(error(
            ErrorKind::Backend,
            what,
            format!(
                "{} weights for {n} points, or a weight that is not finite",
                s.weights.len()
            ),
        ));
    }
    Ok(())
}
