//! Helpers shared by the tch backend's tests: fixtures, a linear objective, comparisons.
#![allow(dead_code)]

use std::path::PathBuf;

use srlens_core::abi_stable::std_types::RVec;
use srlens_core::{Objective, ObjectiveBox, ObjectiveValue, PluginResult, Tensor};

/// A file next to `gen_models.py`.
pub fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A file of the model zoo (`cargo xtask setup` writes it); a clear failure when missing.
pub fn zoo(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../zoo")
        .join(name);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo xtask setup`",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

/// A float32 `.npy` fixture (C order, little-endian, as numpy writes it) as a tensor.
pub fn npy(name: &str) -> Tensor {
    let bytes = std::fs::read(fixture(name)).expect("read npy");
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name}: not an npy file");
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[start..start + len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{name}: {header}");
    assert!(
        header.contains("'fortran_order': False"),
        "{name}: {header}"
    );
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = shape_text
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let data: Vec<f32> = bytes[start + len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    Tensor::new(shape, data).expect("npy size matches its shape")
}

/// A small deterministic generator (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    /// The next value in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A tensor of `shape` with values in `[lo, hi)`.
    pub fn tensor(&mut self, shape: &[usize], lo: f64, hi: f64) -> Tensor {
        let n = shape.iter().product();
        let data = (0..n)
            .map(|_| (lo + (hi - lo) * self.uniform()) as f32)
            .collect();
        Tensor::new(shape.to_vec(), data).unwrap()
    }
}

/// `sum(w * sr)` per batch item: its gradient is `w`.
#[derive(Clone)]
pub struct Linear(pub Tensor);

impl Linear {
    /// The objective's value for each item of `sr`, in `f64`.
    pub fn values(&self, sr: &Tensor) -> Vec<f64> {
        let n = sr.dims()[0];
        let per = sr.len() / n;
        (0..n)
            .map(|b| {
                (b * per..(b + 1) * per)
                    .map(|i| sr.data[i] as f64 * self.0.data[i] as f64)
                    .sum()
            })
            .collect()
    }
}

impl Objective for Linear {
    fn value_and_grad(&self, sr: &Tensor) -> PluginResult<ObjectiveValue> {
        assert_eq!(sr.dims(), self.0.dims(), "objective weights and SR shapes");
        PluginResult::ROk(ObjectiveValue {
            values: RVec::from(self.values(sr)),
            grad: self.0.clone(),
        })
    }
}

/// The objective as a gradient call takes it.
pub fn obj(o: &Linear) -> ObjectiveBox {
    srlens_plugin_kit::testing::objective_box(o.clone())
}

/// `||a - b|| / ||b||`, after checking the shapes.
pub fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.dims(), b.dims(), "shapes");
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (x, y) in a.data.iter().zip(b.data.iter()) {
        num += (*x as f64 - *y as f64).powi(2);
        den += (*y as f64).powi(2);
    }
    assert!(den > 0.0, "reference is all zeros");
    (num / den).sqrt()
}
