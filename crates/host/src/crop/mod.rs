//! Exact receptive-field cropping: when the backend bounds how far an output pixel sees
//! ([`ModelInfo::receptive_field`], from the graph), the model's gradient calls for the run's
//! windows run on the part of the LR image that can reach them, and the gradient is pasted
//! back into zeros. A method whose map at a pixel reads the image only nearby
//! ([`srlens_core::Method::image_reach`]) runs on the part of the image those boxes and that
//! reach cover ([`SubImage`]); any other method's path points, baselines and blurs are made on
//! the whole image. Either way every number is the one the whole image gives, to float32
//! rounding.

mod sub_image;

pub use sub_image::SubImage;

use std::sync::Arc;

use abi_stable::std_types::{RSlice, RVec};
use srlens_core::{
    ErrorKind, InputGradient, InputGradient64, Model, ModelBox, ModelInfo, ObjectiveBox,
    PluginError, PluginResult, Tensor, Tensor64,
};
use srlens_plugin_kit::Real;

use crate::objective::{Window, WindowObjective};
use crate::session::BatchTuner;

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
    /// The LR box within `radius` of `window` (SR pixels, scale `scale`) in an `lw x lh`
    /// image, clamped to the image.
    pub fn for_window(window: &Window, scale: usize, radius: usize, lw: usize, lh: usize) -> Self {
        let span = |start: usize, size: usize, len: usize| {
            // SR pixel i sits at LR position i / scale; it sees LR pixels within `radius`.
            let lo = (start / scale).saturating_sub(radius);
            let hi = ((start + size - 1) / scale + radius).min(len - 1);
            (lo, hi + 1 - lo)
        };
        let (x, width) = span(window.x0, window.size, lw);
        let (y, height) = span(window.y0, window.size, lh);
        CropBox {
            x,
            y,
            width,
            height,
        }
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &CropBox) -> CropBox {
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        let right = (self.x + self.width).max(other.x + other.width);
        let bottom = (self.y + self.height).max(other.y + other.height);
        CropBox {
            x,
            y,
            width: right - x,
            height: bottom - y,
        }
    }

    /// Its pixel count.
    pub fn area(&self) -> usize {
        self.width * self.height
    }

    /// The box as report.json writes it: `[x, y, width, height]`.
    pub fn as_array(&self) -> [usize; 4] {
        [self.x, self.y, self.width, self.height]
    }

    /// `t` (`N x C x H x W`) restricted to the box.
    pub(crate) fn cut<R: Real>(&self, t: &R::Tensor) -> R::Tensor {
        let (d, data) = (R::dims(t), R::data(t));
        let (n, c, h, w) = (d[0], d[1], d[2], d[3]);
        let mut out = Vec::with_capacity(n * c * self.width * self.height);
        for plane in 0..n * c {
            for i in self.y..self.y + self.height {
                let row = (plane * h + i) * w + self.x;
                out.extend_from_slice(&data[row..row + self.width]);
            }
        }
        R::tensor(vec![n, c, self.height, self.width], out).expect("the box's shape")
    }

    /// `g` (`N x C x height x width`) pasted into zeros of `N x C x h x w`.
    pub(crate) fn paste<R: Real>(&self, g: &R::Tensor, h: usize, w: usize) -> R::Tensor {
        let d = R::dims(g);
        let zeros = vec![R::from_f64(0.0); d[0] * d[1] * h * w];
        self.paste_into::<R>(g, zeros, h, w)
    }

    /// `g` (`N x C x height x width`) written over the box of `onto` (`N x C x h x w`, as
    /// row-major values).
    pub(crate) fn paste_into<R: Real>(
        &self,
        g: &R::Tensor,
        mut out: Vec<R>,
        h: usize,
        w: usize,
    ) -> R::Tensor {
        let (d, data) = (R::dims(g), R::data(g));
        let (n, c) = (d[0], d[1]);
        for plane in 0..n * c {
            for i in 0..self.height {
                let src = (plane * self.height + i) * self.width;
                let dst = (plane * h + self.y + i) * w + self.x;
                out[dst..dst + self.width].copy_from_slice(&data[src..src + self.width]);
            }
        }
        R::tensor(vec![n, c, h, w], out).expect("the image's shape")
    }
}

/// Windows whose gradients come from one model call, on one LR box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CropGroup {
    /// The windows' indices, in the run's order.
    pub windows: Vec<usize>,
    /// The box the call runs on; `None`: the whole image.
    pub crop: Option<CropBox>,
}

impl CropGroup {
    /// The windows grouped so that the model runs on as few LR pixels as it can: each window
    /// starts with its own box (within `radius` of it), and two groups merge while the union
    /// of their boxes is no larger than the two boxes apart, so that windows near each other
    /// share the path's passes and windows far apart do not pay for the pixels between them.
    /// `radius` unknown: one group on the whole image.
    pub fn plan(
        windows: &[Window],
        scale: usize,
        radius: Option<usize>,
        lw: usize,
        lh: usize,
    ) -> Vec<CropGroup> {
        let Some(radius) = radius else {
            return vec![CropGroup {
                windows: (0..windows.len()).collect(),
                crop: None,
            }];
        };
        let mut groups: Vec<(Vec<usize>, CropBox)> = windows
            .iter()
            .enumerate()
            .map(|(i, w)| (vec![i], CropBox::for_window(w, scale, radius, lw, lh)))
            .collect();
        // Merge the pair whose union adds the fewest pixels, while one adds none.
        loop {
            let mut best: Option<(usize, usize, isize)> = None;
            for i in 0..groups.len() {
                for j in i + 1..groups.len() {
                    let (a, b) = (&groups[i].1, &groups[j].1);
                    let extra = a.union(b).area() as isize - (a.area() + b.area()) as isize;
                    if extra <= 0 && best.is_none_or(|(_, _, e)| extra < e) {
                        best = Some((i, j, extra));
                    }
                }
            }
            let Some((i, j, _)) = best else { break };
            let (windows, b) = groups.remove(j);
            groups[i].0.extend(windows);
            groups[i].0.sort_unstable();
            groups[i].1 = groups[i].1.union(&b);
        }
        groups.sort_by_key(|g| g.0[0]);
        groups
            .into_iter()
            .map(|(windows, b)| CropGroup {
                windows,
                crop: (b.area() < lw * lh).then_some(b),
            })
            .collect()
    }
}

/// The objectives of a run, and their copies for each group's crop.
pub struct CropState {
    /// The run's objectives, one per window (what jobs carry).
    pub objectives: Vec<ObjectiveBox>,
    /// The groups, each with its windows' objectives moved into its box.
    groups: Vec<(CropGroup, Vec<ObjectiveBox>)>,
    /// The full LR size, `(width, height)`.
    size: (usize, usize),
    /// What [`CropState::new`] was given, for [`SubImage::state`].
    kind: crate::config::ObjectiveKind,
    windows: Vec<Window>,
    scale: usize,
}

impl CropState {
    /// The objectives of `kind` on `windows` of an `lw x lh` image, grouped as `groups`.
    pub fn new(
        kind: crate::config::ObjectiveKind,
        windows: &[Window],
        scale: usize,
        groups: Vec<CropGroup>,
        lw: usize,
        lh: usize,
    ) -> Self {
        let boxed = |window| WindowObjective { kind, window }.boxed();
        let objectives = windows.iter().map(|&w| boxed(w)).collect();
        let groups = groups
            .into_iter()
            .map(|g| {
                let (dx, dy) = g.crop.map_or((0, 0), |b| (b.x * scale, b.y * scale));
                let objectives = g
                    .windows
                    .iter()
                    .map(|&i| {
                        let w = windows[i];
                        boxed(Window {
                            x0: w.x0 - dx,
                            y0: w.y0 - dy,
                            size: w.size,
                        })
                    })
                    .collect();
                (g, objectives)
            })
            .collect();
        CropState {
            objectives,
            groups,
            size: (lw, lh),
            kind,
            windows: windows.to_vec(),
            scale,
        }
    }

    /// The groups' boxes, `None` for a group on the whole image.
    fn boxes(&self) -> impl Iterator<Item = Option<CropBox>> + '_ {
        self.groups.iter().map(|(g, _)| g.crop)
    }

    /// The objective of window `window` at each image of `lr` (`N x C x H x W`, the whole
    /// image), from `model`'s forward pass on the window's group box alone (the pixels
    /// outside it cannot reach the window).
    pub fn values(&self, model: &ModelBox, window: usize, lr: &Tensor) -> PluginResult<Vec<f64>> {
        let Some((group, objective)) = self.groups.iter().find_map(|(g, objectives)| {
            let k = g.windows.iter().position(|&i| i == window)?;
            Some((g, &objectives[k]))
        }) else {
            return PluginResult::RErr(PluginError::new(
                ErrorKind::InvalidInput,
                format!("no window {window} in this run"),
            ));
        };
        let cut = group.crop.map(|b| b.cut::<f32>(lr));
        model
            .forward(cut.as_ref().unwrap_or(lr))
            .into_result()
            .and_then(|sr| objective.value_and_grad(&sr).into_result())
            .map(|v| v.values.into_vec())
            .into()
    }

    /// The LR positions (`row * W + col`) that can reach window `window`'s outputs: its
    /// group's box, or the whole image.
    pub fn reach(&self, window: usize) -> Vec<usize> {
        let (lw, lh) = self.size;
        let b = self
            .groups
            .iter()
            .find(|(g, _)| g.windows.contains(&window))
            .and_then(|(g, _)| g.crop)
            .unwrap_or(CropBox {
                x: 0,
                y: 0,
                width: lw,
                height: lh,
            });
        (b.y..b.y + b.height)
            .flat_map(|i| (b.x..b.x + b.width).map(move |j| i * lw + j))
            .collect()
    }

    /// Whether the model's calls go through unchanged: one group, on the whole image.
    fn is_plain(&self) -> bool {
        matches!(self.groups.as_slice(), [(g, _)] if g.crop.is_none())
    }
}

/// The model jobs call: gradient calls for the run's objectives run group by group on their
/// crops, and every call is told to the run's [`BatchTuner`] (which times the path's points).
pub struct CroppedModel {
    inner: Arc<ModelBox>,
    state: Arc<CropState>,
    tuner: Arc<BatchTuner>,
}

impl CroppedModel {
    /// `inner` cropped as `state` says, its calls timed by `tuner`, as the ABI object jobs
    /// carry.
    pub fn boxed(inner: Arc<ModelBox>, state: Arc<CropState>, tuner: Arc<BatchTuner>) -> ModelBox {
        srlens_core::Model_TO::from_value(
            CroppedModel {
                inner,
                state,
                tuner,
            },
            abi_stable::sabi_trait::TD_Opaque,
        )
    }

    /// The gradients of the run's objectives at `lr` (the whole image), group by group, in
    /// the precision `R`, through `gradient` (the inner model's call in `R`).
    fn grouped<R: Real>(
        &self,
        lr: &R::Tensor,
        gradient: impl Fn(&R::Tensor, RSlice<'_, ObjectiveBox>) -> PluginResult<RVec<R::Gradient>>,
    ) -> PluginResult<RVec<R::Gradient>> {
        let (lw, lh) = self.state.size;
        let mut out: Vec<Option<R::Gradient>> =
            self.state.objectives.iter().map(|_| None).collect();
        for (group, objectives) in &self.state.groups {
            let cut = group.crop.map(|b| b.cut::<R>(lr));
            let grads = match gradient(cut.as_ref().unwrap_or(lr), RSlice::from_slice(objectives))
                .into_result()
            {
                Ok(grads) => grads,
                Err(e) => return PluginResult::RErr(e),
            };
            if grads.len() != objectives.len() {
                return PluginResult::RErr(PluginError::new(
                    ErrorKind::Backend,
                    format!(
                        "the model returned {} gradients for {} objectives",
                        grads.len(),
                        objectives.len()
                    ),
                ));
            }
            for (&i, g) in group.windows.iter().zip(grads) {
                let (values, grad) = R::gradient_parts(&g);
                out[i] = Some(match (group.crop, &cut) {
                    // A wrong shape is the plugin's: the kit's checks name it.
                    (Some(b), Some(cut)) if R::dims(grad) == R::dims(cut) => {
                        R::gradient(RVec::from(values.to_vec()), b.paste::<R>(grad, lh, lw))
                    }
                    _ => g,
                });
            }
        }
        PluginResult::ROk(out.into_iter().flatten().collect())
    }

    /// Whether a gradient call of `objectives` at an LR batch of `dims` goes group by group.
    fn crops(&self, objectives: &RSlice<'_, ObjectiveBox>, d: &[usize]) -> bool {
        let ours = objectives.as_ptr() == self.state.objectives.as_ptr()
            && objectives.len() == self.state.objectives.len();
        let (lw, lh) = self.state.size;
        let whole = d.len() == 4 && d[2] == lh && d[3] == lw;
        ours && whole && !self.state.is_plain()
    }
}

impl Model for CroppedModel {
    fn info(&self) -> ModelInfo {
        self.inner.info()
    }

    fn forward(&self, lr: &Tensor) -> PluginResult<Tensor> {
        self.tuner.interrupt();
        self.inner.forward(lr)
    }

    fn gradient(
        &self,
        lr: &Tensor,
        objectives: RSlice<'_, ObjectiveBox>,
    ) -> PluginResult<RVec<InputGradient>> {
        self.tuner.gradient_call(batch_of(&lr.dims()));
        if self.crops(&objectives, &lr.dims()) {
            self.grouped::<f32>(lr, |lr, o| self.inner.gradient(lr, o))
        } else {
            self.inner.gradient(lr, objectives)
        }
    }

    fn gradient_f64(
        &self,
        lr: &Tensor64,
        objectives: RSlice<'_, ObjectiveBox>,
    ) -> PluginResult<RVec<InputGradient64>> {
        self.tuner.gradient_call(batch_of(&lr.dims()));
        if self.crops(&objectives, &lr.dims()) {
            self.grouped::<f64>(lr, |lr, o| self.inner.gradient_f64(lr, o))
        } else {
            self.inner.gradient_f64(lr, objectives)
        }
    }
}

/// The images in a batch of `dims` (`N x C x H x W`).
fn batch_of(dims: &[usize]) -> u32 {
    dims.first().map_or(1, |&n| n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_holds_every_windows_reach_and_no_more() {
        let w = |x0, y0, size| Window { x0, y0, size };
        let whole = |b: CropBox| (b.x, b.width, b.y, b.height);
        // x4, radius 10: the LR footprint 27..=31 x 37..=41 widened by 10 on each side.
        let b = CropBox::for_window(&w(110, 150, 16), 4, 10, 64, 64);
        assert_eq!(whole(b), (17, 25, 27, 25));
        // Clamped at the borders; two windows give the union.
        let b = CropBox::for_window(&w(0, 0, 8), 4, 3, 64, 64).union(&CropBox::for_window(
            &w(120, 4, 8),
            4,
            3,
            64,
            64,
        ));
        assert_eq!(whole(b), (0, 35, 0, 6));
        // A reach over the whole image: no crop.
        let plan = CropGroup::plan(&[w(110, 150, 16)], 4, Some(64), 64, 64);
        assert_eq!(plan[0].crop, None);
    }

    #[test]
    fn windows_share_a_box_only_when_the_union_costs_no_more() {
        let w = |x0, y0| Window { x0, y0, size: 16 };
        // x4, radius 10 in 64 x 64: boxes of 24 x 24 (clamped at the borders).
        let far = [w(8, 8), w(232, 232), w(8, 232)];
        let groups = CropGroup::plan(&far, 4, Some(10), 64, 64);
        assert_eq!(groups.len(), 3, "{groups:?}");
        assert!(groups.iter().all(|g| g.crop.is_some()));
        // Overlapping windows share one box; the far one keeps its own; order is the run's.
        let near = [w(120, 120), w(232, 232), w(124, 128)];
        let groups = CropGroup::plan(&near, 4, Some(10), 64, 64);
        assert_eq!(
            groups.iter().map(|g| g.windows.clone()).collect::<Vec<_>>(),
            [vec![0, 2], vec![1]]
        );
        let union = CropBox::for_window(&near[0], 4, 10, 64, 64)
            .union(&CropBox::for_window(&near[2], 4, 10, 64, 64));
        assert_eq!(groups[0].crop, Some(union));
        // No radius: one group on the whole image.
        let one = CropGroup::plan(&near, 4, None, 64, 64);
        assert_eq!(
            one,
            [CropGroup {
                windows: vec![0, 1, 2],
                crop: None
            }]
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
        let cut = b.cut::<f32>(&t);
        assert_eq!(cut.dims(), [2, 3, 3, 4]);
        assert_eq!(cut.data[0], t.data[7 + 2]);
        let back = b.paste::<f32>(&cut, 5, 7);
        for (i, (&a, &p)) in t.data.iter().zip(&back.data).enumerate() {
            let (r, c) = ((i / 7) % 5, i % 7);
            let inside = (1..4).contains(&r) && (2..6).contains(&c);
            assert_eq!(p, if inside { a } else { 0.0 }, "{i}");
        }
    }
}
