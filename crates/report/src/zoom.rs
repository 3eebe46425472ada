//! Zoomed crops around the window, as in the LAM paper's figures: the window's content (and
//! the attribution around it) at a readable size, with the window outlined.

use crate::error::{Error, Result};
use crate::figures::Window;
use crate::pictures::{upscale_nearest, WINDOW_COLOUR};
use image::{imageops, Rgb, RgbImage};

/// Side of the crop as a multiple of the window's side (before clamping to the image).
pub const ZOOM_CONTEXT: usize = 4;

/// Side (px) a zoom picture aims at: the crop is nearest-upscaled by the largest integer
/// factor that keeps its longer side at most this (and by 1 when the crop is already larger).
pub const ZOOM_TARGET: usize = 256;

/// Width (px of the zoomed picture) of the window outline in [`zoom`].
pub const ZOOM_LINE: usize = 2;

/// Colour of the window outline on zooms of attribution pictures ([`zoom_with`]): blue, the
/// half of `seismic` that a view in `[0, 1]` never uses, so it stands out from the saliency.
pub const MAP_WINDOW_COLOUR: Rgb<u8> = Rgb([0, 96, 255]);

/// A rectangle of an image, in pixels: top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crop {
    /// Left column.
    pub x: usize,
    /// Top row.
    pub y: usize,
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
}

/// The crop [`zoom`] takes of a `width x height` image: a square of side
/// [`ZOOM_CONTEXT`] `* window.size` centred on the window, shrunk to the image where the image
/// is smaller and shifted inside it where the window is near a border. A window larger than
/// the image gives the whole image; a zero-size window a crop of side 1.
pub fn zoom_crop(window: Window, width: usize, height: usize) -> Crop {
    let side = (ZOOM_CONTEXT * window.size).max(1);
    let place = |start: usize, extent: usize| {
        let len = side.min(extent);
        // Twice the window's centre, to stay in integers: 2 * start + size.
        let twice_centre = 2 * start as i128 + window.size as i128;
        let first = (twice_centre - len as i128).div_euclid(2);
        (first.clamp(0, (extent - len) as i128) as usize, len)
    };
    let (x, w) = place(window.x0, width);
    let (y, h) = place(window.y0, height);
    Crop {
        x,
        y,
        width: w,
        height: h,
    }
}

/// The integer nearest-neighbour factor [`zoom`] applies to a crop: the largest that keeps
/// its longer side at most [`ZOOM_TARGET`], at least 1.
pub fn zoom_factor(crop: Crop) -> usize {
    (ZOOM_TARGET / crop.width.max(crop.height).max(1)).max(1)
}

/// The [`zoom_crop`] of `img` around `window`, nearest-upscaled by [`zoom_factor`], with the
/// part of the window inside the image outlined ([`ZOOM_LINE`] px of [`WINDOW_COLOUR`] just
/// outside the window, clipped to the picture, so the window's own pixels stay visible).
pub fn zoom(img: &RgbImage, window: Window) -> Result<RgbImage> {
    zoom_with(img, window, WINDOW_COLOUR)
}

/// [`zoom`] with the outline in `colour` (e.g. [`MAP_WINDOW_COLOUR`] over a saliency).
pub fn zoom_with(img: &RgbImage, window: Window, colour: Rgb<u8>) -> Result<RgbImage> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return Err(Error::Invalid("cannot zoom into an empty image".into()));
    }
    let c = zoom_crop(window, w, h);
    let k = zoom_factor(c);
    let part =
        imageops::crop_imm(img, c.x as u32, c.y as u32, c.width as u32, c.height as u32).to_image();
    let mut out = upscale_nearest(&part, k)?;
    // The window clipped to the image, in the zoomed picture's pixels.
    let (wx0, wy0) = (window.x0.min(w), window.y0.min(h));
    let (wx1, wy1) = (
        (window.x0 + window.size).min(w),
        (window.y0 + window.size).min(h),
    );
    let to_zoom = |v: usize, origin: usize| (v as i64 - origin as i64) * k as i64;
    outline(
        &mut out,
        (to_zoom(wx0, c.x), to_zoom(wy0, c.y)),
        (to_zoom(wx1, c.x), to_zoom(wy1, c.y)),
        ZOOM_LINE,
        colour,
    );
    Ok(out)
}

/// Paints a `line`-px `colour` frame just outside the rectangle `[x0, x1) x [y0, y1)`
/// (coordinates may lie outside the image; the frame is clipped to it).
pub(crate) fn outline(
    img: &mut RgbImage,
    (x0, y0): (i64, i64),
    (x1, y1): (i64, i64),
    line: usize,
    colour: Rgb<u8>,
) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let l = line as i64;
    for y in (y0 - l).max(0)..(y1 + l).min(h) {
        for x in (x0 - l).max(0)..(x1 + l).min(w) {
            let inside = x >= x0 && x < x1 && y >= y0 && y < y1;
            if !inside {
                img.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(x0: usize, y0: usize, size: usize) -> Window {
        Window { x0, y0, size }
    }

    fn crop(x: usize, y: usize, width: usize, height: usize) -> Crop {
        Crop {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn crop_is_centred_on_the_window() {
        // The paper's window on a 256 x 256 SR image: side 64, 24 px either side of the window.
        let c = zoom_crop(win(110, 150, 16), 256, 256);
        assert_eq!(c, crop(86, 126, 64, 64));
        assert_eq!(zoom_factor(c), 4);
        // An odd window side: the extra pixel of context goes to the top-left.
        assert_eq!(zoom_crop(win(10, 10, 3), 100, 100), crop(5, 5, 12, 12));
    }

    #[test]
    fn crop_near_the_border_is_shifted_inside() {
        assert_eq!(zoom_crop(win(0, 0, 16), 256, 256), crop(0, 0, 64, 64));
        assert_eq!(zoom_crop(win(2, 250, 6), 256, 256), crop(0, 232, 24, 24));
        assert_eq!(zoom_crop(win(240, 3, 16), 256, 100), crop(192, 0, 64, 64));
        // A non-square image narrower than the crop: the crop takes the whole width.
        assert_eq!(zoom_crop(win(10, 40, 10), 30, 200), crop(0, 25, 30, 40));
    }

    #[test]
    fn window_larger_than_the_image_gives_the_whole_image() {
        assert_eq!(zoom_crop(win(0, 0, 40), 32, 24), crop(0, 0, 32, 24));
        assert_eq!(zoom_crop(win(5, 5, 100), 32, 24), crop(0, 0, 32, 24));
        assert_eq!(zoom_crop(win(0, 0, 0), 8, 8), crop(0, 0, 1, 1));
    }

    #[test]
    fn zoom_factor_keeps_the_picture_at_most_the_target() {
        assert_eq!(zoom_factor(crop(0, 0, 64, 64)), 4);
        assert_eq!(zoom_factor(crop(0, 0, 48, 20)), 5); // 240 px
        assert_eq!(zoom_factor(crop(0, 0, 1, 1)), 256);
        assert_eq!(zoom_factor(crop(0, 0, 300, 300)), 1);
    }

    #[test]
    fn zoom_is_a_nearest_upscaled_crop_with_the_window_outlined() {
        // Every pixel has its own colour, so each zoomed pixel names its source.
        let img = RgbImage::from_fn(40, 30, |x, y| Rgb([x as u8, y as u8, 7]));
        let window = win(16, 12, 4); // crop 16 x 16 at (10, 6), factor 16
        let z = zoom(&img, window).unwrap();
        assert_eq!(z.dimensions(), (256, 256));
        let k = 16i64;
        // The window occupies zoomed [6k, 10k) x [6k, 10k); the frame is ZOOM_LINE px outside.
        let l = ZOOM_LINE as i64;
        for (x, y, p) in z.enumerate_pixels() {
            let (x, y) = (x as i64, y as i64);
            let in_window = (6 * k..10 * k).contains(&x) && (6 * k..10 * k).contains(&y);
            let in_frame =
                (6 * k - l..10 * k + l).contains(&x) && (6 * k - l..10 * k + l).contains(&y);
            let want = if in_frame && !in_window {
                WINDOW_COLOUR.0
            } else {
                [(10 + x / k) as u8, (6 + y / k) as u8, 7]
            };
            assert_eq!(p.0, want, "at {x},{y}");
        }
    }

    #[test]
    fn zoom_at_scale_one_and_at_the_border() {
        // Scale 1: the SR image is as small as the LR input; an 8 x 8 image, window 2 at the
        // corner: crop 8 x 8 at (0, 0), factor 32; the frame is clipped on the image's sides.
        let img = RgbImage::from_pixel(8, 8, Rgb([50, 60, 70]));
        let z = zoom(&img, win(0, 0, 2)).unwrap();
        assert_eq!(z.dimensions(), (256, 256));
        assert_eq!(z.get_pixel(0, 0).0, [50, 60, 70]);
        assert_eq!(z.get_pixel(63, 63).0, [50, 60, 70]);
        assert_eq!(z.get_pixel(64, 10).0, WINDOW_COLOUR.0);
        assert_eq!(z.get_pixel(10, 65).0, WINDOW_COLOUR.0);
        assert_eq!(z.get_pixel(66, 66).0, [50, 60, 70]);
        // A window larger than the image: the whole image, nothing outlined inside it.
        let z = zoom(&img, win(0, 0, 50)).unwrap();
        assert!(z.pixels().all(|p| p.0 == [50, 60, 70]));
        assert!(zoom(&RgbImage::new(0, 0), win(0, 0, 1)).is_err());
        let blue = zoom_with(&img, win(0, 0, 2), MAP_WINDOW_COLOUR).unwrap();
        assert_eq!(blue.get_pixel(64, 10).0, MAP_WINDOW_COLOUR.0);
    }
}
