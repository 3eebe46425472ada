//! Small deterministic generators with no dependency, the same on every platform.
//!
//! Two algorithms, because committed expectations depend on the exact streams of both:
//! [`Lcg`] (the CLI's networks and pictures, the example model's weights) and [`SplitMix64`]
//! (the backends' inputs and objective weights).

use srlens_core::Tensor;

const MUL: u64 = 6364136223846793005;
const INC: u64 = 1442695040888963407;

/// A 64-bit linear congruential generator (Knuth's MMIX constants) giving values in `[-1, 1)`.
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    /// Seeded: the state is one step past `seed`, so the first value is two steps past it.
    pub fn new(seed: u64) -> Self {
        Lcg(seed.wrapping_mul(MUL).wrapping_add(INC))
    }

    /// Started at `state` itself: the first value is one step past it.
    pub fn from_state(state: u64) -> Self {
        Lcg(state)
    }

    /// The next value in `[-1, 1)`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(MUL).wrapping_add(INC);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    /// `n` values scaled by `s` (in `[-s, s)`).
    pub fn vec(&mut self, n: usize, s: f64) -> Vec<f64> {
        (0..n).map(|_| self.next() * s).collect()
    }
}

/// SplitMix64 giving values in `[0, 1)`; the field is the state, so `SplitMix64(seed)` seeds it.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next value in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` values in `[lo, hi)`.
    pub fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| lo + (hi - lo) * self.uniform()).collect()
    }

    /// `n` values in `[lo, hi)` as `f32`.
    pub fn vec32(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f32> {
        self.vec(n, lo, hi).into_iter().map(|v| v as f32).collect()
    }

    /// `n` values with magnitude in `[0.05, 1)` and a random sign (away from kinks at 0).
    pub fn signed(&mut self, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let m = 0.05 + 0.95 * self.uniform();
                if self.uniform() < 0.5 {
                    -m
                } else {
                    m
                }
            })
            .collect()
    }

    /// A tensor of `shape` with values in `[lo, hi)` (the values of [`SplitMix64::vec32`]).
    pub fn tensor(&mut self, shape: &[usize], lo: f64, hi: f64) -> Tensor {
        let n = shape.iter().product();
        Tensor::new(shape.to_vec(), self.vec32(n, lo, hi)).expect("as many values as the shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_is_one_step_past_from_state() {
        let mut a = Lcg::new(7);
        let mut b = Lcg::from_state(7);
        b.next();
        assert_eq!(a.vec(5, 1.0), b.vec(5, 1.0));
    }

    #[test]
    fn streams_stay_in_range_and_are_reproducible() {
        let v = SplitMix64(3).vec(1000, -2.0, 5.0);
        assert!(v.iter().all(|x| (-2.0..5.0).contains(x)));
        assert_eq!(v, SplitMix64(3).vec(1000, -2.0, 5.0));
        let l = Lcg::new(3).vec(1000, 0.5);
        assert!(l.iter().all(|x| (-0.5..0.5).contains(x)));
        let s = SplitMix64(4).signed(100);
        assert!(s.iter().all(|x| (0.05..1.0).contains(&x.abs())));
    }
}
