//! Exact receptive-field cropping: when the backend bounds how far an output pixel sees
//! ([`ModelInfo::receptive_field`], from the graph), the model's gradient calls for the run's
//! windows run on the part of the LR image that can reach them, and the gradient is pasted
//! back into zeros. Path points, baselines and blurs are still made on the whole image (the
//! path functions never see the crop), so every number is the one the whole image gives, to
//! float32 rounding.

use std::sync::Arc;

use abi_stable::std_types::{RSlice, RVec};
use srlens_core::{InputGradient, Model, ModelBox, ModelInfo, ObjectiveBox, PluginResult, Tensor};

use crate::objective::{Window, WindowObjective};

/// The LR box the windows' outputs depend on, when it is smaller than the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    /// Left column, in LR pixels.
    pub x: usize,
    /// Top row, in LR pixels.
    pub y: usize,
    /// Width, in LR pixels.
    pub width: usize,
    /// Height, in LR pixels.
    pub height: usize,
}

impl CropBox {
    /// The union of the LR boxes within `radius` of each window (SR pixels, scale `scale`)
    /// in an `lw x lh` image; `None` when it is the whole image.
    pub fn for_windows(
        windows: &[Window],
        scale: usize,
        radius: usize,
        lw: usize,
        lh: usize,
    ) -> Option<CropBox> {
        let span = |start: usize, size: usize, len: usize| {
            // SR pixel i sits at LR position i / scale; it sees LR pixels within `radius`.
            let lo = (start / scale).saturating_sub(radius);
            let hi = ((start + size - 1) / scale + radius).min(len - 1);
            (lo, hi)
        };
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for w in windows {
            let (a, b) = span(w.x0, w.size, lw);
            let (c, d) = span(w.y0, w.size, lh);
            (x0, x1, y0, y1) = (x0.min(a), x1.max(b), y0.min(c), y1.max(d));
        }
        let b = CropBox {
            x: x0,
            y: y0,
            width: x1 + 1 - x0,
            height: y1 + 1 - y0,
        };
        (!windows.is_empty() && b.width * b.height < lw * lh).then_some(b)
    }

    /// The box as report.json writes it: `[x, y, width, height]`.
    pub fn as_array(&self) -> [usize; 4] {
        [self.x, self.y, self.width, self.height]
    }

    /// `t` (`N x C x H x W`) restricted to the box.
    fn cut(&self, t: &Tensor) -> Tensor {
        let d = t.dims();
        let (n, c, h, w) = (d[0], d[1], d[2], d[3]);
        let mut out = Vec::with_capacity(n * c * self.width * self.height);
        for plane in 0..n * c {
            for i in self.y..self.y + self.height {
                let row = (plane * h + i) * w + self.x;
                out.extend_from_slice(&t.data[row..row + self.width]);
            }
        }
        Tensor::new(vec![n, c, self.height, self.width], out).expect("the box's shape")
    }

    /// `g` (`N x C x height x width`) pasted into zeros of `N x C x h x w`.
    fn paste(&self, g: &Tensor, h: usize, w: usize) -> Tensor {
        let d = g.dims();
        let (n, c) = (d[0], d[1]);
        let mut out = vec![0f32; n * c * h * w];
        for plane in 0..n * c {
            for i in 0..self.height {
                let src = (plane * self.height + i) * self.width;
                let dst = (plane * h + self.y + i) * w + self.x;
                out[dst..dst + self.width].copy_from_slice(&g.data[src..src + self.width]);
            }
        }
        Tensor::new(vec![n, c, h, w], out).expect("the image's shape")
    }
}

/// The objectives of a run and their copies for the crop.
pub struct CropState {
    /// The run's objectives, one per window (what jobs carry).
    pub objectives: Vec<ObjectiveBox>,
    /// The same objectives with the windows moved into the crop.
    cropped: Vec<ObjectiveBox>,
    /// The crop, with the full LR size.
    crop: Option<(CropBox, usize, usize)>,
}

impl CropState {
    /// The objectives of `kind` on `windows`, cropped to `crop` of an `lw x lh` image.
    pub fn new(
        kind: crate::config::ObjectiveKind,
        windows: &[Window],
        scale: usize,
        crop: Option<CropBox>,
        lw: usize,
        lh: usize,
    ) -> Self {
        let boxed = |window| WindowObjective { kind, window }.boxed();
        let objectives = windows.iter().map(|&w| boxed(w)).collect();
        let cropped = match crop {
            Some(b) => windows
                .iter()
                .map(|w| {
                    boxed(Window {
                        x0: w.x0 - b.x * scale,
                        y0: w.y0 - b.y * scale,
                        size: w.size,
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        CropState {
            objectives,
            cropped,
            crop: crop.map(|b| (b, lw, lh)),
        }
    }
}

/// A model whose gradient calls for the run's objectives run on the crop.
pub struct CroppedModel {
    inner: Arc<ModelBox>,
    state: Arc<CropState>,
}

impl CroppedModel {
    /// `inner` cropped as `state` says, as the ABI object jobs carry.
    pub fn boxed(inner: Arc<ModelBox>, state: Arc<CropState>) -> ModelBox {
        srlens_core::Model_TO::from_value(
            CroppedModel { inner, state },
            abi_stable::sabi_trait::TD_Opaque,
        )
    }
}

impl Model for CroppedModel {
    fn info(&self) -> ModelInfo {
        self.inner.info()
    }

    fn forward(&self, lr: &Tensor) -> PluginResult<Tensor> {
        self.inner.forward(lr)
    }

    fn gradient(
        &self,
        lr: &Tensor,
        objectives: RSlice<'_, ObjectiveBox>,
    ) -> PluginResult<RVec<InputGradient>> {
        let ours = objectives.as_ptr() == self.state.objectives.as_ptr()
            && objectives.len() == self.state.objectives.len();
        let d = lr.dims();
        match self.state.crop {
            Some((b, lw, lh)) if ours && d.len() == 4 && d[2] == lh && d[3] == lw => {
                let cut = b.cut(lr);
                let grads = self
                    .inner
                    .gradient(&cut, RSlice::from_slice(&self.state.cropped))
                    .into_result();
                match grads {
                    Ok(grads) => PluginResult::ROk(
                        grads
                            .into_iter()
                            .map(|g| InputGradient {
                                values: g.values,
                                grad: if g.grad.dims() == cut.dims() {
                                    b.paste(&g.grad, lh, lw)
                                } else {
                                    // A wrong shape is the plugin's: the kit's checks name it.
                                    g.grad
                                },
                            })
                            .collect(),
                    ),
                    Err(e) => PluginResult::RErr(e),
                }
            }
            _ => self.inner.gradient(lr, objectives),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_holds_every_windows_reach_and_no_more() {
        let w = |x0, y0, size| Window { x0, y0, size };
        // x4, radius 10: the LR footprint 27..=31 x 37..=41 widened by 10 on each side.
        let b = CropBox::for_windows(&[w(110, 150, 16)], 4, 10, 64, 64).unwrap();
        assert_eq!((b.x, b.width, b.y, b.height), (17, 25, 27, 25));
        // Clamped at the borders; two windows give the union.
        let b = CropBox::for_windows(&[w(0, 0, 8), w(120, 4, 8)], 4, 3, 64, 64).unwrap();
        assert_eq!((b.x, b.width, b.y, b.height), (0, 35, 0, 6));
        // A reach over the whole image: no crop.
        assert_eq!(
            CropBox::for_windows(&[w(110, 150, 16)], 4, 64, 64, 64),
            None
        );
    }

    #[test]
    fn cut_and_paste_are_inverse_on_the_box() {
        let t = Tensor::new(vec![2, 3, 5, 7], (0..210).map(|v| v as f32).collect()).unwrap();
        let b = CropBox {
            x: 2,
            y: 1,
            width: 4,
            height: 3,
        };
        let cut = b.cut(&t);
        assert_eq!(cut.dims(), [2, 3, 3, 4]);
        assert_eq!(cut.data[0], t.data[7 + 2]);
        let back = b.paste(&cut, 5, 7);
        for (i, (&a, &p)) in t.data.iter().zip(&back.data).enumerate() {
            let (r, c) = ((i / 7) % 5, i % 7);
            let inside = (1..4).contains(&r) && (2..6).contains(&c);
            assert_eq!(p, if inside { a } else { 0.0 }, "{i}");
        }
    }
}
