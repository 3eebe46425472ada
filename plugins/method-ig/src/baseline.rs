//! Baselines of the straight-line path: black, blur, noise, constant, or an image file.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use srlens_core::{PluginError, Tensor};
use srlens_plugin_kit::{
    blur::{check_kernel, gaussian_blur64, gaussian_kernel_1d},
    invalid_config, invalid_input,
    random::SeededRng,
    Real,
};

/// The accepted baselines, for messages.
pub const ACCEPTED: &str = "black, blur, noise, constant, or an image path \
(a .png/.jpg/.jpeg file name, or { image = \"path\" })";

/// Default blur of the `blur` baseline (LAM's).
pub const DEFAULT_SIGMA: f64 = 1.2;
/// Default kernel side of the `blur` baseline.
pub const DEFAULT_KERNEL: usize = 9;

/// A resolved baseline.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// All zeros.
    Black,
    /// `blur(x, k_sigma)` with a `kernel x kernel` Gaussian, reflect-101 borders.
    Blur {
        /// The blur.
        sigma: f64,
        /// The kernel's odd side.
        kernel: usize,
    },
    /// Uniform noise in `[0, 1)` from `seed` (one value per element, CHW order).
    Noise {
        /// The seed.
        seed: u64,
    },
    /// Every element `value`.
    Constant {
        /// The value.
        value: f64,
    },
    /// An image file of the input's size (PNG or JPEG), read as `[0, 1]` (8-bit / 255).
    Image {
        /// The file, as written in the options (relative to the config's folder).
        path: String,
    },
}

impl Baseline {
    /// How far from a pixel the baseline's value there reads the image: 0 for the
    /// constant ones, half the kernel for the blur (reflect-101 borders); `None` for noise
    /// (drawn in the image's element order) and files (of the whole image's size).
    pub fn reach(&self) -> Option<u32> {
        match self {
            Baseline::Black | Baseline::Constant { .. } => Some(0),
            Baseline::Blur { kernel, .. } => Some((kernel / 2) as u32),
            Baseline::Noise { .. } | Baseline::Image { .. } => None,
        }
    }
}

/// The raw baseline keys of an options object, before checking.
#[derive(Debug, Clone, Default)]
pub struct BaselineKeys {
    /// `baseline`: a name, an image file name, or `{ image = "path" }`.
    pub baseline: Option<Value>,
    /// `sigma` (blur only).
    pub sigma: Option<f64>,
    /// `kernel` (blur only).
    pub kernel: Option<usize>,
    /// `seed` (noise only).
    pub seed: Option<u64>,
    /// `value` (constant only, required there).
    pub value: Option<f64>,
}

fn is_image_name(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg"].iter().any(|e| lower.ends_with(e))
}

impl BaselineKeys {
    /// Checks the keys and resolves the baseline; `what` names the caller in errors.
    pub fn resolve(&self, what: &str) -> Result<Baseline, PluginError> {
        let baseline = match &self.baseline {
            None => Baseline::Black,
            Some(Value::String(s)) => match s.as_str() {
                "black" => Baseline::Black,
                "blur" => Baseline::Blur {
                    sigma: self.sigma.unwrap_or(DEFAULT_SIGMA),
                    kernel: self.kernel.unwrap_or(DEFAULT_KERNEL),
                },
                "noise" => Baseline::Noise {
                    seed: self.seed.unwrap_or(0),
                },
                "constant" => match self.value {
                    Some(value) => Baseline::Constant { value },
                    None => {
                        return Err(invalid_config(format!(
                            "{what}: baseline `constant` needs `value` (a number, e.g. 0.5)"
                        ))
                        .with_key("value"))
                    }
                },
                s if is_image_name(s) => Baseline::Image {
                    path: s.to_string(),
                },
                s => {
                    return Err(invalid_config(format!(
                        "{what}: unknown baseline `{s}`; accepted: {ACCEPTED}"
                    ))
                    .with_key("baseline"))
                }
            },
            Some(Value::Object(m)) => match (m.get("image"), m.len()) {
                (Some(Value::String(p)), 1) => Baseline::Image { path: p.clone() },
                _ => {
                    return Err(invalid_config(format!(
                        "{what}: a table `baseline` must be {{ image = \"path\" }}, got {}",
                        Value::Object(m.clone())
                    ))
                    .with_key("baseline"))
                }
            },
            Some(other) => {
                return Err(invalid_config(format!(
                    "{what}: `baseline` must be a string or {{ image = \"path\" }}, got {other}; \
                     accepted: {ACCEPTED}"
                ))
                .with_key("baseline"))
            }
        };
        self.check_unused(what, &baseline)?;
        baseline.check(what)?;
        Ok(baseline)
    }

    /// Options that the chosen baseline does not use are errors, not silently ignored.
    fn check_unused(&self, what: &str, baseline: &Baseline) -> Result<(), PluginError> {
        let (blur, noise, constant) = (
            matches!(baseline, Baseline::Blur { .. }),
            matches!(baseline, Baseline::Noise { .. }),
            matches!(baseline, Baseline::Constant { .. }),
        );
        let unused = [
            ("sigma", self.sigma.is_some() && !blur, "blur"),
            ("kernel", self.kernel.is_some() && !blur, "blur"),
            ("seed", self.seed.is_some() && !noise, "noise"),
            ("value", self.value.is_some() && !constant, "constant"),
        ];
        for (key, bad, owner) in unused {
            if bad {
                return Err(invalid_config(format!(
                    "{what}: `{key}` applies only to baseline `{owner}`, the baseline is `{}`",
                    baseline.name()
                ))
                .with_key(key));
            }
        }
        Ok(())
    }
}

impl Baseline {
    /// The baseline's name (`image` for a file).
    pub fn name(&self) -> &'static str {
        match self {
            Baseline::Black => "black",
            Baseline::Blur { .. } => "blur",
            Baseline::Noise { .. } => "noise",
            Baseline::Constant { .. } => "constant",
            Baseline::Image { .. } => "image",
        }
    }

    /// Checks the values.
    pub fn check(&self, what: &str) -> Result<(), PluginError> {
        match *self {
            Baseline::Blur { sigma, kernel } => {
                if !(sigma.is_finite() && sigma >= 0.0) {
                    return Err(invalid_config(format!(
                        "{what}: `sigma` must be a finite number >= 0 (default 1.2), got {sigma}"
                    ))
                    .with_key("sigma"));
                }
                if kernel % 2 == 0 {
                    return Err(invalid_config(format!(
                        "{what}: `kernel` must be an odd positive size (default 9), got {kernel}"
                    ))
                    .with_key("kernel"));
                }
            }
            Baseline::Constant { value } if !value.is_finite() => {
                return Err(
                    invalid_config(format!("{what}: `value` must be finite, got {value}"))
                        .with_key("value"),
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// The baseline's keys as a JSON object (what a path needs to rebuild it).
    pub fn to_json(&self) -> Map<String, Value> {
        let v = match self {
            Baseline::Black => json!({"baseline": "black"}),
            Baseline::Blur { sigma, kernel } => {
                json!({"baseline": "blur", "sigma": sigma, "kernel": kernel})
            }
            Baseline::Noise { seed } => json!({"baseline": "noise", "seed": seed}),
            Baseline::Constant { value } => json!({"baseline": "constant", "value": value}),
            Baseline::Image { path } => json!({"baseline": {"image": path}}),
        };
        match v {
            Value::Object(m) => m,
            _ => unreachable!("json! of an object"),
        }
    }

    /// The baseline for `image` (`1 x C x H x W`) in the precision `R`, as `C x H x W`
    /// values: computed in float64 (the blur of `image`'s own values, an image file's
    /// samples divided in float64) and rounded once to `R`, so the `f32` baseline is the
    /// `f64` one rounded. `resolve` turns an image file name into a path (relative names
    /// are relative to the config's folder).
    pub fn compute<R: Real>(
        &self,
        what: &str,
        image: &R::Tensor,
        resolve: impl Fn(&str) -> PathBuf,
    ) -> Result<Vec<R>, PluginError> {
        let d = checked_dims(what, R::dims(image))?;
        let x = R::data(image);
        let n = x.len();
        let values: Vec<f64> = match self {
            Baseline::Black => vec![0.0; n],
            Baseline::Constant { value } => vec![*value; n],
            // float32 uniforms (multiples of 2^-24): the same numbers in both precisions.
            Baseline::Noise { seed } => {
                let mut rng = SeededRng::new(*seed);
                (0..n).map(|_| rng.uniform_f32() as f64).collect()
            }
            Baseline::Blur { sigma, kernel } => {
                check_kernel(what, "kernel", *kernel, d[2], d[3])?;
                gaussian_blur64(x, d[2], d[3], &gaussian_kernel_1d(*sigma, *kernel))
            }
            Baseline::Image { path } => read_image(what, &resolve(path), d[1], d[2], d[3])
                .map_err(|e| e.with_key("baseline"))?,
        };
        Ok(values.into_iter().map(R::from_f64).collect())
    }
}

/// Checks that `image` is `1 x C x H x W` and returns its dims.
pub fn image_dims(what: &str, image: &Tensor) -> Result<Vec<usize>, PluginError> {
    checked_dims(what, image.dims())
}

/// Checks that the dims `d` are those of one non-empty image `1 x C x H x W`.
pub fn checked_dims(what: &str, d: Vec<usize>) -> Result<Vec<usize>, PluginError> {
    if d.len() != 4 || d[0] != 1 || d.contains(&0) {
        return Err(invalid_input(format!(
            "{what}: expected one image 1 x C x H x W, got shape {d:?}"
        )));
    }
    Ok(d)
}

/// Reads an image file as `C x H x W` in `[0, 1]` (1 channel: luma, 3 channels: RGB), in
/// float64: 8- and 16-bit samples (the luma of an RGB file as the `image` crate rounds it)
/// divided by their maximum in float64, float samples widened. Rounded to float32 these are
/// the `image` crate's own float32 values.
fn read_image(
    what: &str,
    path: &Path,
    c: usize,
    h: usize,
    w: usize,
) -> Result<Vec<f64>, PluginError> {
    let shown = path.display();
    let img = image::open(path).map_err(|e| {
        invalid_config(format!("{what}: cannot read baseline image `{shown}`: {e}"))
    })?;
    let (iw, ih) = (img.width() as usize, img.height() as usize);
    if (iw, ih) != (w, h) {
        return Err(invalid_config(format!(
            "{what}: baseline image `{shown}` is {iw}x{ih} (width x height), the input is \
             {w}x{h}; they must be the same size"
        )));
    }
    // 32-bit samples are floats, widened; 8-bit samples become v * 257 in 16 bits, and
    // v * 257 / 65535 = v / 255 exactly.
    let color = img.color();
    let float = color.bytes_per_pixel() > 2 * color.channel_count();
    let widen = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
    let divide = |v: Vec<u16>| {
        v.into_iter()
            .map(|s| s as f64 / u16::MAX as f64)
            .collect::<Vec<f64>>()
    };
    let hwc: Vec<f64> = match (c, float) {
        (1, true) => widen(img.to_luma32f().into_raw()),
        (1, false) => divide(img.to_luma16().into_raw()),
        (3, true) => widen(img.to_rgb32f().into_raw()),
        (3, false) => divide(img.to_rgb16().into_raw()),
        _ => {
            return Err(invalid_config(format!(
                "{what}: baseline image `{shown}`: images can be baselines only for 1- or \
                 3-channel inputs, the input has {c} channels"
            )))
        }
    };
    let mut chw = vec![0f64; c * h * w];
    for (k, v) in hwc.into_iter().enumerate() {
        let (pix, ch) = (k / c, k % c);
        chw[ch * h * w + pix] = v;
    }
    Ok(chw)
}
