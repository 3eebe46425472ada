//! Checks of what crosses the boundary: shapes and finite values, with the culprit named.

use srlens_core::{ErrorKind, PluginError, Tensor};

use crate::precision::Real;

/// An error of kind `kind` about `what`.
fn error(kind: ErrorKind, what: &str, message: String) -> PluginError {
    PluginError::new(kind, format!("{what}: {message}"))
}

/// `values` are all finite, else a [`ErrorKind::NonFinite`] error naming `what` and `of`.
pub fn finite<T: Real>(what: &str, of: &str, values: &[T]) -> Result<(), PluginError> {
    let bad_value = |v: &T| !(*v).into().is_finite();
    match values.iter().position(bad_value) {
        None => Ok(()),
        Some(at) => {
            let bad = values.iter().filter(|v| bad_value(v)).count();
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
pub fn shape<R: Real>(
    what: &str,
    of: &str,
    t: &R::Tensor,
    shape: &[usize],
) -> Result<(), PluginError> {
    let (dims, len) = (R::dims(t), R::data(t).len());
    if dims == shape && len == shape.iter().product::<usize>() {
        return Ok(());
    }
    Err(error(
        ErrorKind::Backend,
        what,
        format!("{of} has shape {dims:?} ({len} values), expected {shape:?}"),
    ))
}

/// One finite input gradient of the batch's shape per objective.
pub fn gradients<R: Real>(
    what: &str,
    batch: &R::Tensor,
    objectives: usize,
    grads: &[R::Gradient],
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
    let dims = R::dims(batch);
    let n = dims.first().copied().unwrap_or(0);
    for g in grads {
        let (values, grad) = R::gradient_parts(g);
        shape::<R>(what, "the model's input gradient", grad, &dims)?;
        finite(what, "the model's input gradient", R::data(grad))?;
        if values.len() != n {
            return Err(error(
                ErrorKind::Backend,
                what,
                format!("{} objective value(s) for a batch of {n}", values.len()),
            ));
        }
    }
    Ok(())
}

/// One finite `C x H x W` map per objective for `image` (`1 x C x H x W`).
pub fn attributions<R: Real>(
    what: &str,
    image: &Tensor,
    objectives: usize,
    out: &[R::Attribution],
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
        let (map, figures) = R::attribution_parts(a);
        let want = dims.get(1..).unwrap_or(&[]);
        shape::<R>(what, "the attribution map", map, want)?;
        finite(what, "the attribution map", R::data(map))?;
        shape::<f32>(what, "the attribution map", &figures.map, want)?;
    }
    Ok(())
}

/// `n` points and derivatives of the image's shape and `n` weights.
pub fn samples<R: Real>(
    what: &str,
    image: &R::Tensor,
    n: usize,
    s: &R::Samples,
) -> Result<(), PluginError> {
    let [points, derivatives, baseline] = R::sample_parts(s);
    let weights = R::sample_weights(s);
    let mut dims = R::dims(image);
    shape::<R>(what, "the path's baseline", baseline, &dims)?;
    if let Some(first) = dims.first_mut() {
        *first = n;
    }
    shape::<R>(what, "the path's points", points, &dims)?;
    shape::<R>(what, "the path's derivatives", derivatives, &dims)?;
    finite(what, "the path's points", R::data(points))?;
    finite(what, "the path's derivatives", R::data(derivatives))?;
    if weights.len() != n || weights.iter().any(|w| !w.is_finite()) {
        return Err(error(
            ErrorKind::Backend,
            what,
            format!(
                "{} weights for {n} points, or a weight that is not finite",
                weights.len()
            ),
        ));
    }
    Ok(())
}
