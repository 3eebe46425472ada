//! The windows of an image: listed, on a grid, or the K hardest (`auto`).
//!
//! "Interpret hard, not simple" (the LAM paper): `auto = K` takes the K windows with the
//! highest gradient energy of the HR image, i.e. LAM's own objective (the sum over the
//! window and the channels of `sqrt(dv^2 + dh^2)`, forward differences, values in `[0, 1]`)
//! evaluated on the HR image instead of an SR output. It depends on the image alone, so every
//! model is explained on the same windows. Candidates lie on a stride of a quarter window;
//! they are taken greedily, best first, skipping any that overlaps one already taken.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::config::{WindowRule, WindowsConfig};

/// How `auto` windows are chosen, as the outputs state it.
pub const AUTO_RULE: &str = "auto: the K windows of highest HR gradient energy (LAM's \
     objective, sum of sqrt(dv^2 + dh^2) over the window, on the HR image), non-overlapping, \
     the same for every model (\"interpret hard, not simple\")";

/// One window of one image, in SR pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyWindow {
    /// Its name in folders and tables (`a0` by rank for auto, `g<col>-<row>` for a grid,
    /// `w<i>` or the given label for a list).
    pub label: String,
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Side.
    pub size: u32,
}

/// What the outputs say about how the windows were chosen.
pub fn rule_text(cfg: &WindowsConfig) -> String {
    match cfg.rule() {
        WindowRule::Auto(k) => AUTO_RULE.replace("the K", &format!("the {k}")),
        WindowRule::Grid(c, r) => format!("grid: a window centred in each cell of {c} x {r} cells"),
        WindowRule::List => "list: the windows the config lists".into(),
    }
}

/// The windows of `cfg` on an image whose SR output (and `reference`) is `w x h`: each a
/// window, or a window that does not fit with the reason. Auto windows on an image smaller
/// than a window give one unfitting window.
pub fn windows_for(
    cfg: &WindowsConfig,
    reference: &RgbImage,
) -> Vec<std::result::Result<StudyWindow, (StudyWindow, String)>> {
    let (w, h) = reference.dimensions();
    let size = cfg.size;
    let fits = |win: StudyWindow| {
        if win.x + win.size <= w && win.y + win.size <= h {
            Ok(win)
        } else {
            let why = format!(
                "the window {} (x = {}, y = {}, size = {}) does not fit inside the SR output, \
                 which is {w} x {h} pixels",
                win.label, win.x, win.y, win.size
            );
            Err((win, why))
        }
    };
    match cfg.rule() {
        WindowRule::List => cfg
            .list
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, l)| {
                fits(StudyWindow {
                    label: l.label.clone().unwrap_or_else(|| format!("w{i}")),
                    x: l.x,
                    y: l.y,
                    size: l.size.unwrap_or(size),
                })
            })
            .collect(),
        WindowRule::Grid(cols, rows) => {
            let mut v = Vec::new();
            for r in 0..rows {
                for c in 0..cols {
                    let cx = ((2 * c + 1) as u64 * w as u64 / (2 * cols) as u64) as u32;
                    let cy = ((2 * r + 1) as u64 * h as u64 / (2 * rows) as u64) as u32;
                    v.push(fits(StudyWindow {
                        label: format!("g{c}-{r}"),
                        x: cx.saturating_sub(size / 2).min(w.saturating_sub(size)),
                        y: cy.saturating_sub(size / 2).min(h.saturating_sub(size)),
                        size,
                    }));
                }
            }
            v
        }
        WindowRule::Auto(k) => {
            if size > w || size > h {
                return vec![fits(StudyWindow {
                    label: "a0".into(),
                    x: 0,
                    y: 0,
                    size,
                })];
            }
            hardest(reference, size, k as usize)
                .into_iter()
                .enumerate()
                .map(|(i, (x, y))| {
                    Ok(StudyWindow {
                        label: format!("a{i}"),
                        x,
                        y,
                        size,
                    })
                })
                .collect()
        }
    }
}

/// LAM's gradient energy of `img` (values in `[0, 1]`) in the window at `(x, y)`.
pub fn gradient_energy(img: &RgbImage, x: u32, y: u32, size: u32) -> f64 {
    let e = energy_map(img);
    let w = img.width() as usize;
    let mut s = 0.0;
    for r in y as usize..(y + size) as usize {
        for c in x as usize..(x + size) as usize {
            s += e[r * w + c];
        }
    }
    s
}

/// Per pixel: `sum over channels of sqrt(dv^2 + dh^2)`, 0 on the last row and column (as the
/// objective, which differences within the image only).
fn energy_map(img: &RgbImage) -> Vec<f64> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let px = |x: usize, y: usize, c: usize| img.get_pixel(x as u32, y as u32)[c] as f64 / 255.0;
    let mut e = vec![0.0; w * h];
    for y in 0..h.saturating_sub(1) {
        for x in 0..w.saturating_sub(1) {
            e[y * w + x] = (0..3)
                .map(|c| {
                    let v = px(x, y, c);
                    let (dv, dh) = (v - px(x, y + 1, c), v - px(x + 1, y, c));
                    (dv * dv + dh * dh).sqrt()
                })
                .sum();
        }
    }
    e
}

/// The top-left corners of the `k` best non-overlapping windows (see the module's notes).
fn hardest(img: &RgbImage, size: u32, k: usize) -> Vec<(u32, u32)> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let e = energy_map(img);
    // Summed-area table, (w + 1) x (h + 1).
    let mut sat = vec![0.0; (w + 1) * (h + 1)];
    for y in 0..h {
        for x in 0..w {
            sat[(y + 1) * (w + 1) + x + 1] =
                e[y * w + x] + sat[y * (w + 1) + x + 1] + sat[(y + 1) * (w + 1) + x]
                    - sat[y * (w + 1) + x];
        }
    }
    let s = size as usize;
    let sum = |x: usize, y: usize| {
        sat[(y + s) * (w + 1) + x + s] - sat[y * (w + 1) + x + s] - sat[(y + s) * (w + 1) + x]
            + sat[y * (w + 1) + x]
    };
    let stride = (s / 4).max(1);
    let mut candidates = Vec::new();
    let positions = |n: usize| {
        let mut v: Vec<usize> = (0..=n - s).step_by(stride).collect();
        if *v.last().unwrap_or(&0) != n - s {
            v.push(n - s);
        }
        v
    };
    for y in positions(h) {
        for x in positions(w) {
            candidates.push((sum(x, y), x as u32, y as u32));
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)).then(a.1.cmp(&b.1)));
    let mut taken: Vec<(u32, u32)> = Vec::new();
    for (_, x, y) in candidates {
        if taken.len() == k {
            break;
        }
        let overlaps = taken
            .iter()
            .any(|&(tx, ty)| x < tx + size && tx < x + size && y < ty + size && ty < y + size);
        if !overlaps {
            taken.push((x, y));
        }
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_finds_the_textured_corner_first_and_never_overlaps() {
        // Flat except a checkerboard in the lower right.
        let img = RgbImage::from_fn(64, 48, |x, y| {
            let v = if x >= 40 && y >= 28 && (x + y) % 2 == 0 {
                255
            } else {
                0
            };
            image::Rgb([v, v, v])
        });
        let cfg = WindowsConfig {
            size: 16,
            auto: Some(3),
            grid: None,
            list: None,
        };
        let w: Vec<StudyWindow> = windows_for(&cfg, &img)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(w.len(), 3);
        assert!(w[0].x >= 36 && w[0].y >= 24, "{:?}", w[0]);
        let e: Vec<f64> = w
            .iter()
            .map(|w| gradient_energy(&img, w.x, w.y, w.size))
            .collect();
        assert!(e[0] >= e[1] && e[1] >= e[2], "{e:?}");
        for (i, a) in w.iter().enumerate() {
            for b in &w[i + 1..] {
                assert!(a.x + 16 <= b.x || b.x + 16 <= a.x || a.y + 16 <= b.y || b.y + 16 <= a.y);
            }
        }
    }

    #[test]
    fn grids_and_lists_say_what_does_not_fit() {
        let img = RgbImage::new(40, 40);
        let grid = WindowsConfig {
            size: 16,
            auto: None,
            grid: Some([2, 2]),
            list: None,
        };
        let g = windows_for(&grid, &img);
        assert_eq!(g.len(), 4);
        assert_eq!(g[3].as_ref().unwrap().x, 22);
        let list = WindowsConfig {
            size: 16,
            auto: None,
            grid: None,
            list: Some(vec![crate::config::ListedWindow {
                x: 30,
                y: 0,
                size: None,
                label: None,
            }]),
        };
        let e = windows_for(&list, &img).remove(0).unwrap_err();
        assert!(e.1.contains("does not fit"), "{}", e.1);
    }
}
