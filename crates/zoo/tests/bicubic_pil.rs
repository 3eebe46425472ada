//! `images::downscale` (bicubic, the resize `srlens` uses for `image.mode = "hr"`) against
//! Pillow's `Image.resize(..., Image.BICUBIC)` on a committed fixture, written by
//! `tests/fixtures/bicubic/make_fixture.py`: within 1 grey level everywhere.

use std::path::{Path, PathBuf};

use srlens_zoo::images::{downscale, max_difference, read_rgb};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bicubic")
        .join(name)
}

#[test]
fn downscale_matches_pil_bicubic_within_one_grey_level() {
    let input = read_rgb(&fixture("input.png")).unwrap();
    assert_eq!(input.dimensions(), (36, 24));
    for scale in [2u32, 3, 4] {
        let expected = read_rgb(&fixture(&format!("expected_x{scale}.png"))).unwrap();
        let got = downscale(&input, scale).unwrap();
        assert_eq!(got.dimensions(), (36 / scale, 24 / scale), "x{scale}");
        let diff = max_difference(&got, &expected).unwrap();
        assert!(
            diff <= 1,
            "x{scale}: differs from PIL by up to {diff} grey levels"
        );
    }
}
