//! Images for evaluations: reading, cropping, bicubic resizing (Catmull-Rom, as PIL's BICUBIC
//! and `srlens` for `image.mode = "hr"`), and conversions to and from ABI tensors.

use std::path::Path;

use image::{imageops::FilterType, RgbImage};
use srlens_core::Tensor;

use crate::error::{Error, Result};

/// Reads a PNG or JPEG as 8-bit RGB (an alpha channel is dropped).
pub fn read_rgb(path: &Path) -> Result<RgbImage> {
    image::open(path)
        .map(|i| i.to_rgb8())
        .map_err(|e| Error::Image(format!("{}: {e}", path.display())))
}

/// The central square crop of side `side` rounded down to a multiple of `multiple`.
pub fn center_crop(img: &RgbImage, side: u32, multiple: u32) -> Result<RgbImage> {
    let side = side / multiple * multiple;
    let (w, h) = img.dimensions();
    if side == 0 || side > w || side > h {
        return Err(Error::Image(format!(
            "cannot crop {side} x {side} from a {w} x {h} image"
        )));
    }
    Ok(image::imageops::crop_imm(img, (w - side) / 2, (h - side) / 2, side, side).to_image())
}

/// `img` shrunk by `scale` (its sides must be multiples of `scale`), bicubic with antialiasing.
pub fn downscale(img: &RgbImage, scale: u32) -> Result<RgbImage> {
    let (w, h) = img.dimensions();
    if scale == 0 || w % scale != 0 || h % scale != 0 {
        return Err(Error::Image(format!(
            "a {w} x {h} image cannot be shrunk by {scale} exactly"
        )));
    }
    Ok(resize_bicubic_pil(img, w / scale, h / scale))
}

/// Pillow's `Image.resize(size, Image.BICUBIC)` on 8-bit RGB, step for step (`Resample.c`):
/// the cubic kernel with `a = -0.5`, its support widened by the scale when shrinking, weights
/// normalised and rounded to 22-bit fixed point, a horizontal pass rounded to 8 bits, then a
/// vertical one. `image`'s Catmull-Rom filter differs from it by up to 3 grey levels.
pub fn resize_bicubic_pil(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let mut cur = img.clone();
    if width != w {
        let coeffs = pil_coefficients(w as usize, width as usize);
        cur = RgbImage::from_fn(width, h, |x, y| {
            let (start, k) = &coeffs[x as usize];
            pil_sum(k, |i| cur.get_pixel(*start as u32 + i as u32, y))
        });
    }
    if height != h {
        let coeffs = pil_coefficients(h as usize, height as usize);
        let src = cur;
        cur = RgbImage::from_fn(width, height, |x, y| {
            let (start, k) = &coeffs[y as usize];
            pil_sum(k, |i| src.get_pixel(x, *start as u32 + i as u32))
        });
    }
    cur
}

const PIL_PRECISION_BITS: u32 = 22;

/// PIL's bicubic filter (`a = -0.5`).
fn pil_bicubic(x: f64) -> f64 {
    let a = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * a
    } else {
        0.0
    }
}

/// For each output index: the first input index and the fixed-point weights
/// (`precompute_coeffs` and `normalize_coeffs_8bpc`).
fn pil_coefficients(in_size: usize, out_size: usize) -> Vec<(usize, Vec<i64>)> {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 2.0 * filterscale;
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let k: Vec<f64> = (xmin..xmax)
                .map(|x| pil_bicubic((x as f64 - center + 0.5) / filterscale))
                .collect();
            let total: f64 = k.iter().sum();
            let one = (1i64 << PIL_PRECISION_BITS) as f64;
            let fixed = k
                .iter()
                .map(|&v| {
                    let v = if total != 0.0 { v / total } else { v };
                    if v < 0.0 {
                        (-0.5 + v * one) as i64
                    } else {
                        (0.5 + v * one) as i64
                    }
                })
                .collect();
            (xmin, fixed)
        })
        .collect()
}

/// One output pixel: the rounded, clipped fixed-point sum of `pixel(i)` weighted by `k`.
fn pil_sum<'a>(k: &[i64], pixel: impl Fn(usize) -> &'a image::Rgb<u8>) -> image::Rgb<u8> {
    let mut acc = [1i64 << (PIL_PRECISION_BITS - 1); 3];
    for (i, &kv) in k.iter().enumerate() {
        let p = pixel(i);
        for c in 0..3 {
            acc[c] += p[c] as i64 * kv;
        }
    }
    image::Rgb(acc.map(|v| (v >> PIL_PRECISION_BITS).clamp(0, 255) as u8))
}

/// `img` enlarged by `scale`, bicubic: the baseline every SR network must beat.
pub fn upscale(img: &RgbImage, scale: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    image::imageops::resize(img, w * scale, h * scale, FilterType::CatmullRom)
}

/// An image as a `1 x 3 x H x W` tensor in `[0, 1]`.
pub fn to_tensor(img: &RgbImage) -> Tensor {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut data = vec![0f32; 3 * h * w];
    for (x, y, p) in img.enumerate_pixels() {
        for c in 0..3 {
            data[(c * h + y as usize) * w + x as usize] = p[c] as f32 / 255.0;
        }
    }
    Tensor::new(vec![1, 3, h, w], data).expect("3 planes")
}

/// A `1 x 3 x H x W` tensor in `[0, 1]` as an image: `round(255 v)` clipped to `0..=255`.
pub fn from_tensor(t: &Tensor) -> Result<RgbImage> {
    let d = t.dims();
    if d.len() != 4 || d[0] != 1 || d[1] != 3 {
        return Err(Error::Image(format!(
            "expected a 1 x 3 x H x W tensor; got shape {d:?}"
        )));
    }
    let (h, w) = (d[2], d[3]);
    Ok(RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let v = |c: usize| {
            (t.data[(c * h + y as usize) * w + x as usize] * 255.0)
                .round()
                .clamp(0.0, 255.0) as u8
        };
        image::Rgb([v(0), v(1), v(2)])
    }))
}

/// The largest per-channel difference between two images of one size, in grey levels.
pub fn max_difference(a: &RgbImage, b: &RgbImage) -> Result<u8> {
    if a.dimensions() != b.dimensions() {
        return Err(Error::Image(format!(
            "images of different sizes: {:?} and {:?}",
            a.dimensions(),
            b.dimensions()
        )));
    }
    Ok(a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0))
}

/// Super-resolves `img` with `model` (one forward pass on the whole image), rounded to 8 bits.
pub fn upscale_with(model: &srlens_core::ModelBox, img: &RgbImage) -> Result<RgbImage> {
    let sr = model.forward(&to_tensor(img)).into_result().map_err(|e| {
        crate::Error::Plugin(format!(
            "{}: forward failed: {}",
            model.info().name,
            e.message
        ))
    })?;
    from_tensor(&sr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_round_trip_and_differences() {
        let img = RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8 * 40, y as u8 * 90, 255]));
        let t = to_tensor(&img);
        assert_eq!(t.dims(), vec![1, 3, 3, 5]);
        assert_eq!(t.data[2 * 15 + 7], 1.0);
        assert_eq!(from_tensor(&t).unwrap(), img);
        let mut other = img.clone();
        other.put_pixel(4, 2, image::Rgb([0, 0, 250]));
        assert_eq!(max_difference(&img, &other).unwrap(), 180);
    }

    #[test]
    fn crops_and_resizes_keep_multiples() {
        let img = RgbImage::from_pixel(300, 200, image::Rgb([7, 8, 9]));
        let c = center_crop(&img, 128, 3).unwrap();
        assert_eq!(c.dimensions(), (126, 126));
        let lr = downscale(&c, 3).unwrap();
        assert_eq!(lr.dimensions(), (42, 42));
        assert_eq!(*lr.get_pixel(20, 20), image::Rgb([7, 8, 9]));
        assert_eq!(upscale(&lr, 3).dimensions(), (126, 126));
        assert!(downscale(&img, 7).is_err());
    }
}
