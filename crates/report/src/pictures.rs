//! The pictures of a map: saliency, KDE, blend over the input, SR output with the window.

use crate::atomic::write_atomic;
use crate::colormap::seismic_rgb8;
use crate::error::{check_finite, check_len, Error, Result};
use crate::figures::Window;
use crate::kde::kde;
use crate::zoom::{outline, zoom, zoom_with, MAP_WINDOW_COLOUR};
use image::{imageops, ImageFormat, Rgb, RgbImage};
use std::path::Path;

/// Default opacity of the saliency in [`blend`].
pub const DEFAULT_ALPHA: f32 = 0.5;

/// Colour of the window rectangle in [`sr_window`].
pub const WINDOW_COLOUR: Rgb<u8> = Rgb([255, 0, 0]);

/// Width (px) of the window rectangle in [`sr_window`].
pub const WINDOW_LINE: usize = 2;

/// An image tensor (`c x h x w`, `c` = 1 grey or 3 RGB, values in `[0, 1]`, clamped) as 8-bit
/// RGB (`round(255 v)`).
pub fn tensor_to_rgb(data: &[f32], c: usize, h: usize, w: usize) -> Result<RgbImage> {
    check_len("image tensor", data, &[c, h, w])?;
    if c != 1 && c != 3 {
        return Err(Error::Invalid(format!(
            "image tensor has {c} channels, expected 1 or 3"
        )));
    }
    let (wu, hu) = dims_u32(w, h)?;
    let plane = h * w;
    let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    Ok(RgbImage::from_fn(wu, hu, |x, y| {
        let p = y as usize * w + x as usize;
        if c == 1 {
            let g = q(data[p]);
            Rgb([g, g, g])
        } else {
            Rgb([q(data[p]), q(data[plane + p]), q(data[2 * plane + p])])
        }
    }))
}

/// `h x w` values in `[0, 1]` through `seismic` at `v * 0.5 + 0.5` (matplotlib's bytes).
pub fn colourise(values: &[f32], h: usize, w: usize) -> Result<RgbImage> {
    check_len("map", values, &[h, w])?;
    let (wu, hu) = dims_u32(w, h)?;
    Ok(RgbImage::from_fn(wu, hu, |x, y| {
        Rgb(seismic_rgb8(
            values[y as usize * w + x as usize] * 0.5 + 0.5,
        ))
    }))
}

/// Nearest-neighbour upscaling by an integer factor.
pub fn upscale_nearest(img: &RgbImage, scale: usize) -> Result<RgbImage> {
    let (w, h) = scaled_dims(img, scale)?;
    Ok(imageops::resize(img, w, h, imageops::FilterType::Nearest))
}

/// Bicubic upscaling by an integer factor (Catmull-Rom, `a = -0.5`, as PIL's `BICUBIC`).
pub fn upscale_bicubic(img: &RgbImage, scale: usize) -> Result<RgbImage> {
    let (w, h) = scaled_dims(img, scale)?;
    Ok(imageops::resize(
        img,
        w,
        h,
        imageops::FilterType::CatmullRom,
    ))
}

/// Saliency picture: `view` (`h x w`, in `[0, 1]`) through `seismic` at `view * 0.5 + 0.5`,
/// upscaled by `scale` with nearest neighbour so it lines up with the SR image.
pub fn saliency(view: &[f32], h: usize, w: usize, scale: usize) -> Result<RgbImage> {
    check_finite("view", view)?;
    upscale_nearest(&colourise(view, h, w)?, scale)
}

/// KDE picture: [`crate::kde::kde`] of `view` through `seismic` at `kde * 0.5 + 0.5` (as the
/// LAM code does), upscaled by `scale` bicubically.
pub fn kde_picture(view: &[f32], h: usize, w: usize, scale: usize) -> Result<RgbImage> {
    let z = kde(view, h, w)?;
    upscale_bicubic(&colourise(&z, h, w)?, scale)
}

/// Blend: `alpha * saliency + (1 - alpha) * input`, the LR input upscaled bicubically to the
/// saliency's size (which must be an integer multiple of the input's, the same in x and y).
pub fn blend(saliency: &RgbImage, lr_input: &RgbImage, alpha: f32) -> Result<RgbImage> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(Error::Invalid(format!(
            "blend alpha {alpha} is not in [0, 1]"
        )));
    }
    let (sw, sh) = saliency.dimensions();
    let (lw, lh) = lr_input.dimensions();
    if lw == 0 || lh == 0 || sw % lw != 0 || sh % lh != 0 || sw / lw != sh / lh {
        return Err(Error::Invalid(format!(
            "saliency is {sw}x{sh}, not an integer multiple of the {lw}x{lh} input"
        )));
    }
    let up = upscale_bicubic(lr_input, (sw / lw) as usize)?;
    let mut out = RgbImage::new(sw, sh);
    for (o, (s, i)) in out.pixels_mut().zip(saliency.pixels().zip(up.pixels())) {
        for ch in 0..3 {
            let v = alpha * s[ch] as f32 + (1.0 - alpha) * i[ch] as f32;
            o[ch] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    Ok(out)
}

/// The SR output with the window drawn as a [`WINDOW_LINE`]-px [`WINDOW_COLOUR`] rectangle
/// just outside it (clipped to the image), so the window's own pixels stay visible.
/// A window that does not fit in the image is an error.
pub fn sr_window(sr: &RgbImage, window: Window) -> Result<RgbImage> {
    let (w, h) = (sr.width() as usize, sr.height() as usize);
    let Window { x0, y0, size } = window;
    if size == 0 || x0 + size > w || y0 + size > h {
        return Err(Error::Invalid(format!(
            "window x0={x0}, y0={y0}, size={size} does not fit in the {w}x{h} SR image"
        )));
    }
    let mut out = sr.clone();
    let (a, b) = (x0 as i64, y0 as i64);
    let s = size as i64;
    outline(&mut out, (a, b), (a + s, b + s), WINDOW_LINE, WINDOW_COLOUR);
    Ok(out)
}

/// The file names [`MapPictures::write_all`] writes, in its order: saliency, KDE, blend, SR
/// with window, SR zoom, blend zoom.
pub const PICTURE_FILES: [&str; 6] = [
    "saliency.png",
    "kde.png",
    "blend.png",
    "sr_window.png",
    "sr_zoom.png",
    "blend_zoom.png",
];

/// The pictures of one map.
#[derive(Debug, Clone)]
pub struct MapPictures {
    /// [`saliency`].
    pub saliency: RgbImage,
    /// [`kde_picture`].
    pub kde: RgbImage,
    /// [`blend`] of the saliency over the LR input.
    pub blend: RgbImage,
    /// [`sr_window`].
    pub sr_window: RgbImage,
    /// [`zoom`] of the SR output around the window (its content, at a readable size).
    pub sr_zoom: RgbImage,
    /// [`zoom_with`] of the blend around the window (where the attribution lies near it),
    /// outlined in [`MAP_WINDOW_COLOUR`].
    pub blend_zoom: RgbImage,
}

impl MapPictures {
    /// Renders all pictures from `view` (`h x w`), the LR input (`w x h`) and the SR
    /// output (already 8-bit, see [`tensor_to_rgb`]; its size gives the scale), the window and
    /// the blend's alpha.
    pub fn render(
        view: &[f32],
        h: usize,
        w: usize,
        lr_input: &RgbImage,
        sr_output: &RgbImage,
        window: Window,
        alpha: f32,
    ) -> Result<Self> {
        if lr_input.dimensions() != (w as u32, h as u32) {
            return Err(Error::Invalid(format!(
                "LR input is {}x{}, the map {w}x{h}",
                lr_input.width(),
                lr_input.height()
            )));
        }
        let (sw, sh) = (sr_output.width() as usize, sr_output.height() as usize);
        let scale = sw / w;
        if scale == 0 || sw != w * scale || sh != h * scale {
            return Err(Error::Invalid(format!(
                "SR output is {sw}x{sh}, not an integer multiple of the {w}x{h} map"
            )));
        }
        let sal = saliency(view, h, w, scale)?;
        let blended = blend(&sal, lr_input, alpha)?;
        Ok(Self {
            kde: kde_picture(view, h, w, scale)?,
            sr_window: sr_window(sr_output, window)?,
            sr_zoom: zoom(sr_output, window)?,
            blend_zoom: zoom_with(&blended, window, MAP_WINDOW_COLOUR)?,
            blend: blended,
            saliency: sal,
        })
    }

    /// Writes the [`PICTURE_FILES`] (`saliency.png`, `kde.png`, `blend.png`,
    /// `sr_window.png`, `sr_zoom.png`, `blend_zoom.png`) into `dir`, each atomically.
    pub fn write_all(&self, dir: &Path) -> Result<()> {
        let images = [
            &self.saliency,
            &self.kde,
            &self.blend,
            &self.sr_window,
            &self.sr_zoom,
            &self.blend_zoom,
        ];
        for (name, img) in PICTURE_FILES.iter().zip(images) {
            write_png_atomic(&dir.join(name), img)?;
        }
        Ok(())
    }
}

/// Encodes an image as PNG bytes.
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>> {
    let mut buf = std::io::Cursor::new(Vec::new());
    img.write_to(&mut buf, ImageFormat::Png)?;
    Ok(buf.into_inner())
}

/// Writes an image as PNG atomically (temporary file in the same directory, then rename).
pub fn write_png_atomic(path: &Path, img: &RgbImage) -> Result<()> {
    write_atomic(path, &encode_png(img)?)
}

fn dims_u32(w: usize, h: usize) -> Result<(u32, u32)> {
    match (u32::try_from(w), u32::try_from(h)) {
        (Ok(a), Ok(b)) if a > 0 && b > 0 => Ok((a, b)),
        _ => Err(Error::Invalid(format!("image size {w}x{h} is not usable"))),
    }
}

fn scaled_dims(img: &RgbImage, scale: usize) -> Result<(u32, u32)> {
    let (w, h) = img.dimensions();
    if scale == 0 {
        return Err(Error::Invalid("scale must be at least 1".into()));
    }
    dims_u32(w as usize * scale, h as usize * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saliency_is_colour_mapped_and_nearest_upscaled() {
        let view = [0.0f32, 1.0, 0.5, 0.25];
        let img = saliency(&view, 2, 2, 3).unwrap();
        assert_eq!(img.dimensions(), (6, 6));
        for (x, y, p) in img.enumerate_pixels() {
            let v = view[(y / 3 * 2 + x / 3) as usize];
            assert_eq!(p.0, seismic_rgb8(v * 0.5 + 0.5));
        }
        // A zero view is (almost) white, the maximum dark red: matplotlib bytes.
        assert_eq!(img.get_pixel(0, 0).0, [255, 253, 253]);
        assert_eq!(img.get_pixel(5, 0).0, [127, 0, 0]);
    }

    #[test]
    fn tensor_to_rgb_grey_and_colour() {
        let g = tensor_to_rgb(&[0.0, 1.0, 0.5, 2.0], 1, 2, 2).unwrap();
        assert_eq!(g.get_pixel(1, 0).0, [255; 3]);
        assert_eq!(g.get_pixel(0, 1).0, [128; 3]);
        assert_eq!(g.get_pixel(1, 1).0, [255; 3]);
        let c = tensor_to_rgb(&[0.2, 0.4, 0.6], 3, 1, 1).unwrap();
        assert_eq!(c.get_pixel(0, 0).0, [51, 102, 153]);
        assert!(tensor_to_rgb(&[0.0; 8], 2, 2, 2).is_err());
    }

    #[test]
    fn blend_of_constant_images_is_the_weighted_mean() {
        let sal = RgbImage::from_pixel(8, 8, Rgb([200, 0, 100]));
        let lr = RgbImage::from_pixel(2, 2, Rgb([100, 50, 0]));
        let b = blend(&sal, &lr, 0.5).unwrap();
        assert!(b.pixels().all(|p| p.0 == [150, 25, 50]));
        let b = blend(&sal, &lr, 0.25).unwrap();
        assert!(b.pixels().all(|p| p.0 == [125, 38, 25])); // 37.5 rounds to 38
        assert!(blend(&sal, &RgbImage::new(3, 3), 0.5).is_err());
        assert!(blend(&sal, &lr, 1.5).is_err());
    }

    #[test]
    fn bicubic_upscale_interpolates_between_pixels() {
        // Catmull-Rom reproduces linear ramps away from the borders.
        let img = RgbImage::from_fn(8, 1, |x, _| Rgb([(x * 20) as u8, 0, 0]));
        let up = upscale_bicubic(&img, 2).unwrap();
        // Output pixel 2k+1 samples input position k + 0.25: 20 * (k + 0.25).
        for k in 2..5u32 {
            let want = 20.0 * (k as f32 + 0.25);
            assert!((up.get_pixel(2 * k + 1, 0)[0] as f32 - want).abs() <= 1.0);
        }
    }

    #[test]
    fn window_rectangle_surrounds_the_window() {
        let sr = RgbImage::from_pixel(20, 20, Rgb([10, 20, 30]));
        let out = sr_window(
            &sr,
            Window {
                x0: 5,
                y0: 6,
                size: 4,
            },
        )
        .unwrap();
        for (x, y, p) in out.enumerate_pixels() {
            let (x, y) = (x as i64, y as i64);
            let in_outer = (3..11).contains(&x) && (4..12).contains(&y);
            let in_window = (5..9).contains(&x) && (6..10).contains(&y);
            let want = if in_outer && !in_window {
                WINDOW_COLOUR.0
            } else {
                [10, 20, 30]
            };
            assert_eq!(p.0, want, "at {x},{y}");
        }
        // Touching the border is fine (clipped), leaving it is not.
        assert!(sr_window(
            &sr,
            Window {
                x0: 0,
                y0: 0,
                size: 20
            }
        )
        .is_ok());
        assert!(sr_window(
            &sr,
            Window {
                x0: 10,
                y0: 0,
                size: 11
            }
        )
        .is_err());
    }

    #[test]
    fn render_all_and_write_them() {
        let view: Vec<f32> = (0..12).map(|i| i as f32 / 11.0).collect();
        let lr = RgbImage::from_pixel(4, 3, Rgb([90, 90, 90]));
        let sr = RgbImage::from_pixel(8, 6, Rgb([90, 90, 90]));
        let win = Window {
            x0: 2,
            y0: 2,
            size: 2,
        };
        let p = MapPictures::render(&view, 3, 4, &lr, &sr, win, DEFAULT_ALPHA).unwrap();
        for img in [&p.saliency, &p.kde, &p.blend, &p.sr_window] {
            assert_eq!(img.dimensions(), (8, 6));
        }
        assert_eq!(p.saliency, saliency(&view, 3, 4, 2).unwrap());
        assert_eq!(p.blend, blend(&p.saliency, &lr, 0.5).unwrap());
        // 8 x 6 SR, window 2: crop 8 x 6 (the whole image), factor 256 / 8 = 32.
        assert_eq!(p.sr_zoom, zoom(&sr, win).unwrap());
        assert_eq!(
            p.blend_zoom,
            zoom_with(&p.blend, win, MAP_WINDOW_COLOUR).unwrap()
        );
        assert_eq!(p.blend_zoom.dimensions(), (256, 192));
        let dir = tempfile::tempdir().unwrap();
        p.write_all(dir.path()).unwrap();
        for name in PICTURE_FILES {
            assert!(dir.path().join(name).is_file(), "{name}");
        }
        let back = image::open(dir.path().join("kde.png")).unwrap().to_rgb8();
        assert_eq!(back, p.kde);
        let bad_sr = RgbImage::new(9, 6);
        assert!(MapPictures::render(&view, 3, 4, &lr, &bad_sr, win, 0.5).is_err());
    }

    #[test]
    fn png_written_atomically_decodes_back() {
        let dir = tempfile::tempdir().unwrap();
        let img = RgbImage::from_fn(5, 3, |x, y| Rgb([x as u8 * 40, y as u8 * 80, 7]));
        let p = dir.path().join("x.png");
        write_png_atomic(&p, &img).unwrap();
        let back = image::open(&p).unwrap().to_rgb8();
        assert_eq!(back, img);
    }
}
