//! A sum over any set of axes of an untracked CPU float tensor in one pass over its values:
//! the gradient graphs' `ReduceSum`s (a nearest upsampling's cotangent summed over its
//! interleaved block axes `[N, C, H, sh, W, sw]`) took candle's generic reduction, which
//! divides every index by the reduced strides, about 15 % of a LAM run of esrgan-slim.

use std::ops::AddAssign;

use candle_core::{DType, Device, Tensor, WithDType};

use crate::error::Result;

/// `x` summed over `axes` (sorted, distinct, in range) with the reduced axes kept as size 1,
/// where `x` is an f32 or f64 tensor on the CPU outside candle's autograd; `None` otherwise
/// (the caller takes candle's reduction).
pub fn sum_keepdim(x: &Tensor, axes: &[usize]) -> Result<Option<Tensor>> {
    if x.track_op() || !matches!(x.device(), Device::Cpu) {
        return Ok(None);
    }
    match x.dtype() {
        DType::F32 => summed::<f32>(x, axes).map(Some),
        DType::F64 => summed::<f64>(x, axes).map(Some),
        _ => Ok(None),
    }
}

fn summed<T: WithDType + AddAssign>(x: &Tensor, axes: &[usize]) -> Result<Tensor> {
    let dims = x.dims();
    let values: Vec<T> = x.flatten_all()?.to_vec1()?;
    let mut out_dims = dims.to_vec();
    for &a in axes {
        out_dims[a] = 1;
    }
    let mut out = vec![T::zero(); out_dims.iter().product()];
    if !values.is_empty() {
        add_groups(&values, &groups(dims, axes), &mut out);
    }
    Ok(Tensor::from_vec(out, out_dims, x.device())?)
}

/// The dimensions as runs of neighbouring axes that are all reduced or all kept: `(length,
/// reduced)`, outermost first.
fn groups(dims: &[usize], axes: &[usize]) -> Vec<(usize, bool)> {
    let mut g: Vec<(usize, bool)> = Vec::new();
    for (i, &d) in dims.iter().enumerate() {
        let reduced = axes.contains(&i);
        match g.last_mut() {
            Some((len, r)) if *r == reduced => *len *= d,
            _ => g.push((d, reduced)),
        }
    }
    g
}

/// `out += x` summed over the reduced groups (`x` holds the groups' product of values, `out`
/// the kept groups' product).
fn add_groups<T: Copy + AddAssign>(x: &[T], groups: &[(usize, bool)], out: &mut [T]) {
    let add_run = |acc: &mut T, run: &[T]| run.iter().for_each(|&v| *acc += v);
    match groups {
        [] => out[0] += x[0],
        [(n, true)] => add_run(&mut out[0], &x[..*n]),
        [(n, false)] => out[..*n].iter_mut().zip(x).for_each(|(o, &v)| *o += v),
        [(n, false), (m, true)] => {
            for (o, run) in out[..*n].iter_mut().zip(x.chunks_exact(*m)) {
                add_run(o, run);
            }
        }
        [(n, reduced), rest @ ..] => {
            let inner_x: usize = rest.iter().map(|g| g.0).product();
            let inner_out: usize = rest.iter().filter(|g| !g.1).map(|g| g.0).product();
            for i in 0..*n {
                let o = if *reduced { 0 } else { i * inner_out };
                add_groups(
                    &x[i * inner_x..][..inner_x],
                    rest,
                    &mut out[o..][..inner_out],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_candles_sum_over_every_set_of_axes() {
        let dims = [2usize, 3, 1, 4, 5, 2];
        let n: usize = dims.iter().product();
        let values: Vec<f64> = (0..n)
            .map(|i| ((i * 37) % 101) as f64 / 7.0 - 3.0)
            .collect();
        let x = Tensor::from_vec(values, &dims[..], &Device::Cpu).unwrap();
        for mask in 0u32..(1 << dims.len()) {
            let axes: Vec<usize> = (0..dims.len()).filter(|i| mask >> i & 1 == 1).collect();
            let got = sum_keepdim(&x, &axes).unwrap().unwrap();
            let want = x.sum_keepdim(axes.clone()).unwrap();
            assert_eq!(got.dims(), want.dims(), "{axes:?}");
            let (g, w): (Vec<f64>, Vec<f64>) = (
                got.flatten_all().unwrap().to_vec1().unwrap(),
                want.flatten_all().unwrap().to_vec1().unwrap(),
            );
            for (a, b) in g.iter().zip(&w) {
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                    "{axes:?}: {a} vs {b}"
                );
            }
        }
        // An f32 tensor too, and a tracked one is left to candle.
        let x32 = x.to_dtype(DType::F32).unwrap();
        assert!(sum_keepdim(&x32, &[3, 5]).unwrap().is_some());
        let var = candle_core::Var::from_tensor(&x).unwrap();
        assert!(sum_keepdim(var.as_tensor(), &[3, 5]).unwrap().is_none());
        assert!(sum_keepdim(&x.to_dtype(DType::I64).unwrap(), &[1])
            .unwrap()
            .is_none());
    }
}
