//! Nearest-neighbour upsampling by integer factors (`Resize`/`Upsample` whose indices repeat
//! each row `fh` and each column `fw` times), as one pass over the output, and its input
//! gradient as one pass of block sums. Candle's own route (unsqueeze, broadcast, reshape per
//! axis, and the reductions of that in the backward pass) walks strided indices element by
//! element: a tenth of esrgan-slim's forward and gradient time on small crops.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result as CResult, Shape, Tensor};

/// `x` (`N x C x H x W`) with every row repeated `fh` and every column `fw` times.
pub fn nearest(x: &Tensor, fh: usize, fw: usize) -> CResult<Tensor> {
    x.contiguous()?.apply_op1(NearestUpsample { fh, fw })
}

/// The custom op: f32 and f64.
struct NearestUpsample {
    fh: usize,
    fw: usize,
}

/// `v` (`planes x h x w`) with rows repeated `fh` and columns `fw` times.
fn repeat<T: Copy>(v: &[T], planes: usize, h: usize, w: usize, fh: usize, fw: usize) -> Vec<T> {
    let ow = w * fw;
    let mut out = Vec::with_capacity(v.len() * fh * fw);
    for p in 0..planes {
        for y in 0..h {
            let row = &v[(p * h + y) * w..(p * h + y + 1) * w];
            let start = out.len();
            for &a in row {
                out.extend(std::iter::repeat_n(a, fw));
            }
            for _ in 1..fh {
                out.extend_from_within(start..start + ow);
            }
        }
    }
    out
}

/// The gradient of [`repeat`]: each `fh x fw` block of `g` (`planes x h fh x w fw`) summed.
fn block_sums<T>(g: &[T], planes: usize, h: usize, w: usize, fh: usize, fw: usize) -> Vec<T>
where
    T: Copy + Default + std::ops::AddAssign + for<'a> std::iter::Sum<&'a T>,
{
    let ow = w * fw;
    let mut out = vec![T::default(); planes * h * w];
    for p in 0..planes {
        for y in 0..h {
            let dst = &mut out[(p * h + y) * w..(p * h + y + 1) * w];
            for dy in 0..fh {
                let src = &g[((p * h + y) * fh + dy) * ow..((p * h + y) * fh + dy + 1) * ow];
                for (d, block) in dst.iter_mut().zip(src.chunks_exact(fw)) {
                    *d += block.iter().sum::<T>();
                }
            }
        }
    }
    out
}

impl NearestUpsample {
    /// The gradient `grad` (`n x c x h fh x w fw`) summed over each block, computed in `T`.
    fn block_sums_as<T>(&self, grad: &Tensor, dims: (usize, usize, usize, usize)) -> CResult<Tensor>
    where
        T: candle_core::WithDType + Default + std::ops::AddAssign + for<'a> std::iter::Sum<&'a T>,
    {
        let (n, c, h, w) = dims;
        let g = grad.to_dtype(T::DTYPE)?.flatten_all()?.to_vec1::<T>()?;
        let sums = block_sums(&g, n * c, h, w, self.fh, self.fw);
        Tensor::from_vec(sums, dims, grad.device())
    }
}

impl CustomOp1 for NearestUpsample {
    fn name(&self) -> &'static str {
        "srlens-nearest-upsample"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> CResult<(CpuStorage, Shape)> {
        let (start, end) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("upsample input is not contiguous".into()))?;
        let (n, c, h, w) = layout.shape().dims4()?;
        let shape = Shape::from((n, c, h * self.fh, w * self.fw));
        let (fh, fw) = (self.fh, self.fw);
        Ok(match storage {
            CpuStorage::F32(v) => (
                CpuStorage::F32(repeat(&v[start..end], n * c, h, w, fh, fw)),
                shape,
            ),
            CpuStorage::F64(v) => (
                CpuStorage::F64(repeat(&v[start..end], n * c, h, w, fh, fw)),
                shape,
            ),
            _ => candle_core::bail!("nearest upsampling supports f32 and f64 tensors only"),
        })
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        let (n, c, h, w) = arg.dims4()?;
        // The block sums in the argument's own precision (f64 stays f64).
        let sums = if arg.dtype() == DType::F64 {
            self.block_sums_as::<f64>(grad, (n, c, h, w))?
        } else {
            self.block_sums_as::<f32>(grad, (n, c, h, w))?
        };
        Ok(Some(sums.to_dtype(arg.dtype())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn forward_and_gradient_match_index_select_through_candle() {
        let (n, c, h, w, fh, fw) = (2, 3, 4, 5, 3, 2);
        let data: Vec<f32> = (0..n * c * h * w)
            .map(|i| (i * 7 % 11) as f32 - 5.0)
            .collect();
        let x = Var::from_vec(data, (n, c, h, w), &Device::Cpu).unwrap();
        let rows: Vec<u32> = (0..h * fh).map(|i| (i / fh) as u32).collect();
        let cols: Vec<u32> = (0..w * fw).map(|i| (i / fw) as u32).collect();
        let by_index = x
            .index_select(&Tensor::new(rows.as_slice(), &Device::Cpu).unwrap(), 2)
            .unwrap()
            .index_select(&Tensor::new(cols.as_slice(), &Device::Cpu).unwrap(), 3)
            .unwrap();
        let ours = nearest(x.as_tensor(), fh, fw).unwrap();
        assert_eq!(ours.dims(), by_index.dims());
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(flat(&ours), flat(&by_index));
        // The same cotangent through both: the gradients are equal.
        let cot_data: Vec<f32> = (0..ours.elem_count())
            .map(|i| (i % 13) as f32 * 0.25)
            .collect();
        let cot = Tensor::from_vec(cot_data, ours.dims(), &Device::Cpu).unwrap();
        let grad = |y: &Tensor| {
            let g = y.mul(&cot).unwrap().sum_all().unwrap().backward().unwrap();
            flat(g.get(x.as_tensor()).unwrap())
        };
        assert_eq!(grad(&ours), grad(&by_index));
    }
}
