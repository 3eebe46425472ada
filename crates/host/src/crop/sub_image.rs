//! The part of the LR image a method with a local path runs on: the windows' receptive-field
//! boxes widened by the method's [`image_reach`](srlens_core::Method::image_reach) (clamped
//! to the image). Inside the boxes its path points, derivatives and baselines are those of the
//! whole image (their values read the image within the reach only, and the region keeps the
//! image's own borders where it meets them); outside the boxes the model's gradient is zero,
//! so the map pasted back into zeros is the whole image's map.

use srlens_plugin_kit::Real;

use super::{CropBox, CropGroup, CropState};
use crate::objective::Window;

/// A region of the LR image and the image's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubImage {
    /// The region, in LR pixels of the whole image.
    pub region: CropBox,
    /// The whole image, `(width, height)`.
    size: (usize, usize),
}

impl SubImage {
    /// The region for a method of reach `reach`: the union of `state`'s group boxes widened
    /// by `reach` and clamped, when every group has a box and the region is smaller than the
    /// image with sides longer than `2 reach` (a blur's borders need that much); `None`: the
    /// whole image.
    pub fn plan(state: &CropState, reach: u32) -> Option<SubImage> {
        let r = reach as usize;
        let (lw, lh) = state.size;
        let mut union: Option<CropBox> = None;
        for b in state.boxes() {
            let b = b?;
            union = Some(union.map_or(b, |u| u.union(&b)));
        }
        let u = union?;
        let (x, y) = (u.x.saturating_sub(r), u.y.saturating_sub(r));
        let right = (u.x + u.width).saturating_add(r).min(lw);
        let bottom = (u.y + u.height).saturating_add(r).min(lh);
        let region = CropBox {
            x,
            y,
            width: right - x,
            height: bottom - y,
        };
        let fits = region.width > 2 * r && region.height > 2 * r;
        (fits && region.area() < lw * lh).then_some(SubImage {
            region,
            size: (lw, lh),
        })
    }

    /// `x` (`1 x C x H x W`, the whole image) cut to the region.
    pub fn cut<R: Real>(&self, x: &R::Tensor) -> R::Tensor {
        self.region.cut::<R>(x)
    }

    /// `state`'s windows and boxes moved into the region, for a model on the region.
    pub fn state(&self, state: &CropState) -> CropState {
        let (rx, ry) = (self.region.x, self.region.y);
        let (dx, dy) = (rx * state.scale, ry * state.scale);
        let windows: Vec<Window> = state
            .windows
            .iter()
            .map(|w| Window {
                x0: w.x0 - dx,
                y0: w.y0 - dy,
                size: w.size,
            })
            .collect();
        let groups = state
            .groups
            .iter()
            .map(|(g, _)| CropGroup {
                windows: g.windows.clone(),
                crop: g.crop.map(|b| CropBox {
                    x: b.x - rx,
                    y: b.y - ry,
                    ..b
                }),
            })
            .collect();
        CropState::new(
            state.kind,
            &windows,
            state.scale,
            groups,
            self.region.width,
            self.region.height,
        )
    }

    /// A map of the region (`C x h x w`) pasted into the whole image's zeros.
    pub fn paste_map<R: Real>(&self, map: &R::Tensor) -> R::Tensor {
        let d = R::dims(map);
        let (lw, lh) = self.size;
        let batch =
            R::tensor(vec![1, d[0], d[1], d[2]], R::data(map).to_vec()).expect("a map's shape");
        let pasted = self.region.paste::<R>(&batch, lh, lw);
        R::tensor(vec![d[0], lh, lw], R::data(&pasted).to_vec()).expect("the image's shape")
    }

    /// `part` (`1 x C x h x w`, the region) written over a copy of `x` (the whole image).
    pub fn paste_over<R: Real>(&self, x: &R::Tensor, part: &R::Tensor) -> R::Tensor {
        let (lw, lh) = self.size;
        self.region
            .paste_into::<R>(part, R::data(x).to_vec(), lh, lw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ObjectiveKind;
    use srlens_core::Tensor;

    fn state(windows: &[Window], radius: usize) -> CropState {
        let groups = CropGroup::plan(windows, 4, Some(radius), 64, 48);
        CropState::new(ObjectiveKind::GradientEnergy, windows, 4, groups, 64, 48)
    }

    #[test]
    fn the_region_is_the_boxes_widened_by_the_reach_and_clamped() {
        let w = |x0, y0| Window { x0, y0, size: 16 };
        // x4, radius 10: the box of LR 30..34 x 20..24 is 20..44 x 10..34; reach 4 widens it.
        let s = state(&[w(120, 80)], 10);
        let sub = SubImage::plan(&s, 4).unwrap();
        assert_eq!(sub.region.as_array(), [16, 6, 32, 32]);
        // Clamped at the image's left and top borders.
        let s = state(&[w(0, 0)], 10);
        assert_eq!(
            SubImage::plan(&s, 4).unwrap().region.as_array(),
            [0, 0, 18, 18]
        );
        // Two far windows: the union of their boxes; a reach that covers the image: none.
        let s = state(&[w(0, 0), w(240, 0)], 10);
        assert_eq!(
            SubImage::plan(&s, 0).unwrap().region.as_array(),
            [0, 0, 64, 14]
        );
        assert_eq!(SubImage::plan(&s, 40), None);
        // No box at all: none.
        let whole = CropState::new(
            ObjectiveKind::GradientEnergy,
            &[w(120, 80)],
            4,
            CropGroup::plan(&[w(120, 80)], 4, None, 64, 48),
            64,
            48,
        );
        assert_eq!(SubImage::plan(&whole, 0), None);
    }

    #[test]
    fn cut_paste_and_the_moved_windows_agree() {
        let s = state(
            &[Window {
                x0: 120,
                y0: 80,
                size: 16,
            }],
            10,
        );
        let sub = SubImage::plan(&s, 4).unwrap();
        let x = Tensor::new(vec![1, 2, 48, 64], (0..6144).map(|v| v as f32).collect()).unwrap();
        let part = sub.cut::<f32>(&x);
        assert_eq!(part.dims(), [1, 2, 32, 32]);
        // Pasting the region over the image gives the image back; a map lands in zeros.
        assert_eq!(sub.paste_over::<f32>(&x, &part), x);
        let map = Tensor::new(vec![2, 32, 32], part.data.to_vec()).unwrap();
        let pasted = sub.paste_map::<f32>(&map);
        assert_eq!(pasted.dims(), [2, 48, 64]);
        assert_eq!(pasted.data[6 * 64 + 16], x.data[6 * 64 + 16]);
        assert_eq!(pasted.data[0], 0.0);
        // The moved state's window sits at the same image pixels.
        let moved = sub.state(&s);
        assert_eq!(moved.windows[0].x0, 120 - 16 * 4);
        assert_eq!(moved.size, (32, 32));
        assert_eq!(moved.reach(0).len(), 24 * 24);
    }
}
