//! Splitting work into batches and stacking tensors.

use srlens_core::Tensor;

/// The ranges `start..end` that cover `0..total` in chunks of at most `batch` (at least 1).
pub fn chunks(total: usize, batch: usize) -> impl Iterator<Item = (usize, usize)> {
    let batch = batch.max(1);
    (0..total)
        .step_by(batch)
        .map(move |s| (s, (s + batch).min(total)))
}

/// Item `i` of a batch tensor (`N x ...`), as a slice.
pub fn item(batch: &Tensor, i: usize) -> &[f32] {
    let n = batch.shape[0] as usize;
    let per = batch.data.len() / n.max(1);
    &batch.data[i * per..(i + 1) * per]
}

/// Stacks items of equal shape `shape` into one batch `N x shape`.
pub fn stack(shape: &[usize], items: &[&[f32]]) -> Tensor {
    let mut dims = vec![items.len()];
    dims.extend_from_slice(shape);
    let data: Vec<f32> = items.iter().flat_map(|x| x.iter().copied()).collect();
    Tensor::new(dims, data).expect("every item has the given shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_once() {
        let v: Vec<_> = chunks(10, 4).collect();
        assert_eq!(v, vec![(0, 4), (4, 8), (8, 10)]);
        assert_eq!(chunks(3, 0).count(), 3);
    }
}
