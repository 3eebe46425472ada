//! Whether a model may be given several images at once: some exported networks mix the images
//! of a batch (a tracer baked the batch size of 1 it was traced with into a reshape, as the
//! window attention of SwinIR, HAT and DAT does with `int(windows.shape[0] / ...)`), or refuse
//! a batch the file declares as 1. Such a model is run one image per call.

use srlens_core::{ModelBox, Tensor};

/// The side of the probe: small, so that the three forward passes cost little.
const PROBE_SIDE: usize = 24;

/// Outputs of a batch of two that differ from the single passes by more than this (relative
/// to the outputs' largest magnitude) mix the images: float32 rounding is far below it.
const MIXED: f64 = 1e-4;

/// Why `model` cannot be given a batch of more than one image, or `None` when a batch of two
/// gives the two single outputs: a `PROBE_SIDE` corner of `x` and its mirror image, once
/// together and once each alone.
pub fn batch_problem(model: &ModelBox, x: &Tensor) -> Option<String> {
    let first = corner(x, PROBE_SIDE);
    let second = mirrored(&first);
    let alone = |t: &Tensor| model.forward(t).into_result().ok();
    let (Some(a), Some(b)) = (alone(&first), alone(&second)) else {
        // The model refuses an image this small: the probe tells nothing.
        return None;
    };
    let together = match model.forward(&stacked(&first, &second)).into_result() {
        Ok(t) => t,
        Err(e) => {
            return Some(format!(
                "the model refuses a batch of 2 images ({})",
                e.message.lines().next().unwrap_or_default()
            ))
        }
    };
    let expected: Vec<f32> = a.data.iter().chain(b.data.iter()).copied().collect();
    if together.data.len() != expected.len() {
        return Some(format!(
            "a batch of 2 images gives {} values, not the {} of two single passes",
            together.data.len(),
            expected.len()
        ));
    }
    let scale = expected
        .iter()
        .fold(0.0f64, |m, &v| m.max((v as f64).abs()))
        .max(f64::MIN_POSITIVE);
    let off = together
        .data
        .iter()
        .zip(&expected)
        .fold(0.0f64, |m, (&p, &q)| m.max((p as f64 - q as f64).abs()));
    (off > MIXED * scale).then(|| {
        format!(
            "the model mixes the images of a batch (a batch of 2 differs from two single passes \
             by {:.1e} of the output's scale; an exporter probably fixed the batch size it was \
             traced with)",
            off / scale
        )
    })
}

/// The top-left `side x side` corner of a `1 x C x H x W` image (all of it where smaller).
fn corner(x: &Tensor, side: usize) -> Tensor {
    let d = x.dims();
    let (c, h, w) = (d[1], d[2], d[3]);
    let (ch, cw) = (h.min(side), w.min(side));
    let mut data = Vec::with_capacity(c * ch * cw);
    for k in 0..c {
        for i in 0..ch {
            let row = (k * h + i) * w;
            data.extend_from_slice(&x.data[row..row + cw]);
        }
    }
    Tensor::new(vec![1, c, ch, cw], data).expect("sizes agree by construction")
}

/// `x` mirrored left to right.
fn mirrored(x: &Tensor) -> Tensor {
    let w = x.dims()[3];
    let data = x
        .data
        .chunks(w)
        .flat_map(|row| row.iter().rev().copied())
        .collect();
    Tensor::new(x.dims(), data).expect("sizes agree by construction")
}

/// Two `1 x C x H x W` images as a batch of 2.
fn stacked(a: &Tensor, b: &Tensor) -> Tensor {
    let mut dims = a.dims();
    dims[0] = 2;
    let data = a.data.iter().chain(b.data.iter()).copied().collect();
    Tensor::new(dims, data).expect("sizes agree by construction")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_mirrors_and_stacks_keep_the_layout() {
        let x = Tensor::new(vec![1, 2, 3, 4], (0..24).map(|v| v as f32).collect()).unwrap();
        let c = corner(&x, 2);
        assert_eq!(c.dims(), vec![1, 2, 2, 2]);
        assert_eq!(
            c.data.to_vec(),
            vec![0.0, 1.0, 4.0, 5.0, 12.0, 13.0, 16.0, 17.0]
        );
        let m = mirrored(&c);
        assert_eq!(
            m.data.to_vec(),
            vec![1.0, 0.0, 5.0, 4.0, 13.0, 12.0, 17.0, 16.0]
        );
        let s = stacked(&c, &m);
        assert_eq!(s.dims(), vec![2, 2, 2, 2]);
        assert_eq!(&s.data[8..], &m.data[..]);
    }
}
