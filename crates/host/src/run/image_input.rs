//! Reading the image: an LR input as is, or an HR image bicubically downscaled by the scale.

use std::path::Path;

use image::{DynamicImage, RgbImage};
use srlens_core::{Tensor, Tensor64};

use crate::config::{ImageConfig, ImageMode};
use crate::error::{Error, Result};

/// The LR input the model sees.
pub struct InputImage {
    /// The LR input, RGB.
    pub lr: RgbImage,
}

impl InputImage {
    /// The LR input as a `1 x 3 x H x W` tensor in `[0, 1]`.
    pub fn tensor(&self) -> Tensor {
        self.tensor64().to_f32()
    }

    /// The LR input in float64 (`value / 255` in float64; [`tensor`](Self::tensor) is its
    /// rounding, which equals `value as f32 / 255.0`, both being correctly rounded).
    pub fn tensor64(&self) -> Tensor64 {
        let (w, h) = self.lr.dimensions();
        let (w, h) = (w as usize, h as usize);
        let mut data = vec![0f64; 3 * h * w];
        for (x, y, p) in self.lr.enumerate_pixels() {
            for c in 0..3 {
                data[c * h * w + y as usize * w + x as usize] = p[c] as f64 / 255.0;
            }
        }
        Tensor64::new(vec![1, 3, h, w], data).expect("3 planes")
    }
}

/// Reads the image of `cfg` at `path` for a model of `scale`.
pub fn load(path: &Path, cfg: &ImageConfig, scale: u32) -> Result<InputImage> {
    let img = read(path)?;
    let mut img = img.to_rgb8();
    if let Some([x, y, w, h]) = cfg.crop {
        let (iw, ih) = img.dimensions();
        if w == 0 || h == 0 || x.saturating_add(w) > iw || y.saturating_add(h) > ih {
            return Err(Error::Input(format!(
                "image.crop = [{x}, {y}, {w}, {h}] does not fit inside {} ({iw} x {ih} pixels)",
                path.display()
            )));
        }
        img = image::imageops::crop_imm(&img, x, y, w, h).to_image();
    }
    match cfg.mode {
        ImageMode::Lr => Ok(InputImage { lr: img }),
        ImageMode::Hr => {
            let (w, h) = img.dimensions();
            let (lw, lh) = (w / scale, h / scale);
            if lw == 0 || lh == 0 {
                return Err(Error::Input(format!(
                    "{} is {w} x {h} pixels: too small to downscale by {scale}; use a larger \
                     image or `image.mode = \"lr\"`",
                    path.display()
                )));
            }
            let hr = image::imageops::crop_imm(&img, 0, 0, lw * scale, lh * scale).to_image();
            // Bicubic exactly as PIL's BICUBIC (the LAM demo's downscale); the image crate's
            // Catmull-Rom differs from it by up to 3 grey levels.
            let lr = srlens_zoo::images::resize_bicubic_pil(&hr, lw, lh);
            Ok(InputImage { lr })
        }
    }
}

fn read(path: &Path) -> Result<DynamicImage> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Input(format!("cannot read the image {}: {e}", path.display())))?;
    let reader = || image::ImageReader::new(std::io::Cursor::new(&bytes)).with_guessed_format();
    let decoded = reader()
        .map_err(image::ImageError::IoError)
        .and_then(|r| r.decode());
    decoded.map_err(|e| match e {
        image::ImageError::Limits(limit) => {
            let size = reader()
                .ok()
                .and_then(|r| r.into_dimensions().ok())
                .map_or(String::new(), |(w, h)| format!(" ({w} x {h} pixels)"));
            Error::Input(format!(
                "{}{size} is too large to decode ({limit}); crop or downscale it with an \
                 image tool first",
                path.display()
            ))
        }
        e => Error::Input(format!(
            "{} is not an image this build can read ({e}); use a PNG or JPEG file",
            path.display()
        )),
    })
}
