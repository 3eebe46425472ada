//! The study's images: each file decoded once (hash, crop, the HR reference the windows are
//! chosen on and PSNR/SSIM is measured against), or the reason it cannot be used.

use std::path::{Path, PathBuf};

use image::RgbImage;
use srlens_host::config::ImageMode;

/// One image of the study, as every model sees it.
#[derive(Debug, Clone)]
pub struct StudyImage {
    /// The file (absolute).
    pub path: PathBuf,
    /// A short unique name for folders and tables (the file stem, with `-2`, `-3`... for
    /// files of the same stem).
    pub id: String,
    /// The file name, for tables.
    pub name: String,
    /// The sha256 of the file's bytes (none when it cannot be read).
    pub sha256: Option<String>,
    /// The decoded image, or why it cannot be used.
    pub decoded: std::result::Result<Decoded, String>,
}

/// A usable image.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// What windows are chosen on and measured against, in SR pixels: the HR image (cropped,
    /// cut to a multiple of the scale) in `hr` mode; in `lr` mode, the LR image bicubically
    /// upscaled by the scale (no ground truth: PSNR/SSIM are not measured).
    pub reference: RgbImage,
    /// Whether `reference` is a real HR image (`hr` mode).
    pub is_hr: bool,
    /// The LR input's width x height.
    pub lr_size: (u32, u32),
}

impl StudyImage {
    /// Reads `path` for a study of `scale` (what `srlens run` does with `[image]`).
    pub fn load(path: &Path, mode: ImageMode, crop: Option<[u32; 4]>, scale: u32) -> StudyImage {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(path);
        let sha256 = bytes.as_ref().ok().map(|b| srlens_zoo::hash::sha256(b));
        let decoded = bytes
            .map_err(|e| format!("cannot read the image {}: {e}", path.display()))
            .and_then(|b| decode(path, &b, mode, crop, scale));
        StudyImage {
            path: path.to_path_buf(),
            id: String::new(),
            name,
            sha256,
            decoded,
        }
    }
}

/// Gives each image a unique [`StudyImage::id`] (the stem, then `-2`, `-3`...).
pub fn assign_ids(images: &mut [StudyImage]) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for img in images.iter_mut() {
        let stem: String = img
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let n = seen.entry(stem.clone()).or_insert(0);
        *n += 1;
        img.id = if *n == 1 { stem } else { format!("{stem}-{n}") };
    }
}

fn decode(
    path: &Path,
    bytes: &[u8],
    mode: ImageMode,
    crop: Option<[u32; 4]>,
    scale: u32,
) -> std::result::Result<Decoded, String> {
    let img = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(image::ImageError::IoError)
        .and_then(|r| r.decode())
        .map_err(|e| {
            format!(
                "{} is not an image this build can read ({e}); use a PNG or JPEG file",
                path.display()
            )
        })?;
    let mut img = img.to_rgb8();
    if let Some([x, y, w, h]) = crop {
        let (iw, ih) = img.dimensions();
        if x.saturating_add(w) > iw || y.saturating_add(h) > ih {
            return Err(format!(
                "crop = [{x}, {y}, {w}, {h}] does not fit inside {} ({iw} x {ih} pixels)",
                path.display()
            ));
        }
        img = image::imageops::crop_imm(&img, x, y, w, h).to_image();
    }
    let (w, h) = img.dimensions();
    match mode {
        ImageMode::Hr => {
            let (lw, lh) = (w / scale, h / scale);
            if lw == 0 || lh == 0 {
                return Err(format!(
                    "{} is {w} x {h} pixels: too small to downscale by {scale}",
                    path.display()
                ));
            }
            let reference =
                image::imageops::crop_imm(&img, 0, 0, lw * scale, lh * scale).to_image();
            Ok(Decoded {
                reference,
                is_hr: true,
                lr_size: (lw, lh),
            })
        }
        ImageMode::Lr => Ok(Decoded {
            reference: srlens_zoo::images::upscale(&img, scale),
            is_hr: false,
            lr_size: (w, h),
        }),
    }
}
