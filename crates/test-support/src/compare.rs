//! Relative errors between a result and its reference.

use srlens_core::Tensor;

/// `||a - b|| / ||b||` (L2 norms, accumulated in `f64`), for `f32` or `f64` values. Panics
/// when the lengths differ or `b` is all zeros (no relative error exists).
pub fn rel_l2<A: Copy + Into<f64>, B: Copy + Into<f64>>(a: &[A], b: &[B]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths of the result and the reference");
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y): (f64, f64) = (x.into(), y.into());
        num += (x - y).powi(2);
        den += y * y;
    }
    assert!(den > 0.0, "reference is all zeros");
    (num / den).sqrt()
}

/// [`rel_l2`] of two tensors, after checking that their shapes agree.
pub fn rel_l2_tensor(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.dims(), b.dims(), "shapes");
    rel_l2(a.data.as_slice(), b.data.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_error_of_a_scaled_copy() {
        let b = [3.0f64, 4.0];
        let a = [3.3f32, 4.4];
        assert!((rel_l2(&a, &b) - 0.1).abs() < 1e-6);
        assert_eq!(rel_l2(&b, &b), 0.0);
    }

    #[test]
    #[should_panic(expected = "all zeros")]
    fn a_zero_reference_is_refused() {
        rel_l2(&[1.0f64], &[0.0f64]);
    }
}
