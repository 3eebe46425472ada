//! Deterministic test pictures.

use std::path::Path;

/// Writes a deterministic `w x h` RGB picture with edges (a stripe pattern over a checker of
/// 3 x 4 cells) as a PNG.
pub fn edges_png(path: &Path, w: u32, h: u32) {
    image::RgbImage::from_fn(w, h, |x, y| {
        let v = |c: u32| {
            (((x * 37 + y * 11 + c * 50) % 97) * 2 + if (x / 3 + y / 4) % 2 == 0 { 40 } else { 0 })
                as u8
        };
        image::Rgb([v(0), v(1), v(2)])
    })
    .save(path)
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
