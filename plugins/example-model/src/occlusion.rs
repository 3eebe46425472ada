//! The `occlusion` method, the example plugin's own attribution method: each square patch of
//! the LR input is replaced by a constant, and every pixel of the patch gets the objective's
//! drop `D(x) - D(x with the patch occluded)` (Zeiler & Fergus 2014; Captum's `Occlusion`
//! with equal window and stride, all channels together). One forward pass per patch, in
//! batches, shared by every window.

use serde::{Deserialize, Serialize};
use srlens_core::{
    abi_stable::std_types::{RNone, RString, RVec},
    Attribution, PluginError, Tensor,
};
use srlens_plugin_kit::{batch, invalid_config, AttributionMethod, Job};

/// Options of `occlusion`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcclusionOptions {
    /// The patch side in LR pixels (default 4).
    #[serde(default = "default_patch")]
    pub patch: usize,
    /// The value an occluded pixel takes, in `[0, 1]` (default 0: black).
    #[serde(default)]
    pub value: f32,
}

fn default_patch() -> usize {
    4
}

/// The `occlusion` method.
#[derive(Debug, Clone, Copy, Default)]
pub struct Occlusion;

/// The patches `(top, left, height, width)` tiling an `h x w` image.
fn patches(h: usize, w: usize, side: usize) -> Vec<(usize, usize, usize, usize)> {
    let mut v = Vec::new();
    for top in (0..h).step_by(side) {
        for left in (0..w).step_by(side) {
            v.push((top, left, side.min(h - top), side.min(w - left)));
        }
    }
    v
}

impl AttributionMethod for Occlusion {
    type Options = OcclusionOptions;

    fn check(&self, o: &OcclusionOptions, job: &Job<'_>) -> Result<(), PluginError> {
        let d = job.image().dims();
        if o.patch == 0 || o.patch > d[2].max(d[3]) {
            return Err(invalid_config(format!(
                "{}: `patch` must be between 1 and the input's longer side ({}), got {}",
                job.what(),
                d[2].max(d[3]),
                o.patch
            ))
            .with_key("patch"));
        }
        if !(0.0..=1.0).contains(&o.value) {
            return Err(invalid_config(format!(
                "{}: `value` must be in [0, 1], got {}",
                job.what(),
                o.value
            ))
            .with_key("value"));
        }
        Ok(())
    }

    fn attribute(
        &self,
        o: &OcclusionOptions,
        job: &Job<'_>,
    ) -> Result<Vec<Attribution>, PluginError> {
        let image = job.image();
        let d = image.dims();
        let (c, h, w) = (d[1], d[2], d[3]);
        let tiles = patches(h, w, o.patch);
        job.add_total(tiles.len() as u64 + 1);
        let at_input = job.objective_values(image)?;
        job.advance(1);
        let mut maps = vec![vec![0f32; c * h * w]; job.objective_count()];
        for (start, end) in batch::chunks(tiles.len(), job.batch_size()) {
            let occluded: Vec<Vec<f32>> = tiles[start..end]
                .iter()
                .map(|&(top, left, ph, pw)| {
                    let mut x = image.data.to_vec();
                    for ch in 0..c {
                        for i in top..top + ph {
                            for j in left..left + pw {
                                x[(ch * h + i) * w + j] = o.value;
                            }
                        }
                    }
                    x
                })
                .collect();
            let items: Vec<&[f32]> = occluded.iter().map(Vec::as_slice).collect();
            let values = job.batch_objective_values(&batch::stack(&[c, h, w], &items))?;
            for ((map, values), input) in maps.iter_mut().zip(&values).zip(&at_input) {
                for (&(top, left, ph, pw), v) in tiles[start..end].iter().zip(values) {
                    let drop = (input - v) as f32;
                    for ch in 0..c {
                        for i in top..top + ph {
                            for j in left..left + pw {
                                map[(ch * h + i) * w + j] = drop;
                            }
                        }
                    }
                }
            }
            job.advance((end - start) as u64);
        }
        let parameters = serde_json::to_string(o).unwrap_or_else(|_| "{}".into());
        Ok(maps
            .into_iter()
            .zip(at_input)
            .map(|(map, objective_input)| Attribution {
                map: Tensor::new(vec![c, h, w], map).expect("the image's shape"),
                objective_input,
                objective_baseline: RNone,
                parameters: RString::from(parameters.as_str()),
                warnings: RVec::new(),
            })
            .collect())
    }
}
