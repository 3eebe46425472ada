//! Trains the example network on the scikit-image photos in `data/images/` (run by
//! `cargo xtask train-example`; `cargo xtask setup` fetches the photos).
//!
//! ```text
//! cargo run -p srlens-plugin-example-model --example train -- [--steps N] [--out FILE]
//! ```
//!
//! Pairs: each photo (RGB, `[0, 1]`) is bicubically downscaled by 4 (Catmull-Rom, as
//! `srlens` does for `image.mode = "hr"`); random 24 x 24 LR patches and their 96 x 96 HR
//! patches, 16 per batch, mean squared error, Adam (lr 1e-3, halved for the last quarter),
//! a fixed seed. Prints the PSNR (RGB) of the network and of bicubic upscaling on each
//! photo's central 128 x 128 crop (training data: a sanity check, not an evaluation).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use image::{imageops::FilterType, RgbImage};
use srlens_plugin_example_model::net::{Fsrcnn, Layer};

const SCALE: usize = 4;
const PATCH: usize = 24;
const BATCH: usize = 16;
/// `(in, out, k)` per layer: FSRCNN's feature extraction, shrinking, mapping, expanding, and
/// a sub-pixel output layer.
const LAYERS: [(usize, usize, usize); 7] = [
    (3, 32, 5),
    (32, 12, 1),
    (12, 12, 3),
    (12, 12, 3),
    (12, 12, 3),
    (12, 32, 1),
    (32, 48, 3),
];

/// splitmix64: a small seeded generator.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n
    }
    fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.uniform()).cos()
    }
}

/// An image as planar `3 x H x W` floats in `[0, 1]`.
struct Planes {
    w: usize,
    h: usize,
    data: Vec<f32>,
}

impl Planes {
    fn from(img: &RgbImage) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut data = vec![0f32; 3 * w * h];
        for (x, y, p) in img.enumerate_pixels() {
            for c in 0..3 {
                data[(c * h + y as usize) * w + x as usize] = p[c] as f32 / 255.0;
            }
        }
        Planes { w, h, data }
    }
    /// The `size x size` patch at `(x, y)`, appended to `out` (planar).
    fn patch(&self, x: usize, y: usize, size: usize, out: &mut Vec<f32>) {
        for c in 0..3 {
            for r in y..y + size {
                let row = (c * self.h + r) * self.w;
                out.extend_from_slice(&self.data[row + x..row + x + size]);
            }
        }
    }
}

fn init(rng: &mut Rng) -> candle_core::Result<(Vec<Var>, Fsrcnn)> {
    let normal = |rng: &mut Rng, n: usize, std: f64| -> Vec<f32> {
        (0..n).map(|_| (rng.normal() * std) as f32).collect()
    };
    let mut vars = Vec::new();
    let mut layers = Vec::new();
    for (i, &(cin, cout, k)) in LAYERS.iter().enumerate() {
        let last = i + 1 == LAYERS.len();
        // He initialisation; the last layer starts near zero, so that the network starts as
        // nearest-neighbour upscaling (the skip connection).
        let std = if last {
            1e-3
        } else {
            (2.0 / (cin * k * k) as f64).sqrt()
        };
        let w = Var::from_vec(
            normal(rng, cout * cin * k * k, std),
            (cout, cin, k, k),
            &Device::Cpu,
        )?;
        let b = Var::zeros(cout, DType::F32, &Device::Cpu)?;
        let p = if last {
            None
        } else {
            Some(Var::from_vec(vec![0.25f32; cout], cout, &Device::Cpu)?)
        };
        layers.push(Layer {
            weight: w.as_tensor().clone(),
            bias: b.as_tensor().clone(),
            prelu: p.as_ref().map(|p| p.as_tensor().clone()),
        });
        vars.push(w);
        vars.push(b);
        vars.extend(p);
    }
    let net = Fsrcnn::new(layers).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    Ok((vars, net))
}

/// Adam's state for one parameter.
struct Moments {
    m: Tensor,
    v: Tensor,
}

fn psnr(a: &[f32], b: &[f32]) -> f64 {
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| ((*x as f64 - *y as f64) * 255.0).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

fn quantise(v: &[f32]) -> Vec<f32> {
    v.iter()
        .map(|x| (x * 255.0).round().clamp(0.0, 255.0) / 255.0)
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut steps = 1200usize;
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights/fsrcnn-x4.safetensors");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--steps" => steps = args.next().ok_or("--steps N")?.parse()?,
            "--out" => out = PathBuf::from(args.next().ok_or("--out FILE")?),
            other => {
                return Err(
                    format!("unknown argument `{other}` (expected --steps N, --out FILE)").into(),
                )
            }
        }
    }
    let photos = [
        "astronaut.png",
        "brick.png",
        "chelsea.png",
        "coffee.png",
        "grass.png",
    ];
    let mut pairs = Vec::new();
    for p in photos {
        let path = root.join("data/images").join(p);
        let img = image::open(&path)
            .map_err(|e| {
                format!(
                    "{}: {e} (run `cargo xtask setup` to fetch the photos)",
                    path.display()
                )
            })?
            .to_rgb8();
        let (w, h) = (
            img.width() / SCALE as u32 * SCALE as u32,
            img.height() / SCALE as u32 * SCALE as u32,
        );
        let hr = image::imageops::crop_imm(&img, 0, 0, w, h).to_image();
        let lr = image::imageops::resize(
            &hr,
            w / SCALE as u32,
            h / SCALE as u32,
            FilterType::CatmullRom,
        );
        pairs.push((Planes::from(&lr), Planes::from(&hr), hr, lr));
    }

    let mut rng = Rng(20240601);
    let (vars, net) = init(&mut rng)?;
    let mut moments: Vec<Moments> = vars
        .iter()
        .map(|v| {
            Ok(Moments {
                m: v.zeros_like()?,
                v: v.zeros_like()?,
            })
        })
        .collect::<candle_core::Result<_>>()?;
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
    let started = Instant::now();
    let mut running = 0.0;
    for step in 1..=steps {
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..BATCH {
            let (lr, hr, _, _) = &pairs[rng.below(pairs.len())];
            let x = rng.below(lr.w - PATCH + 1);
            let y = rng.below(lr.h - PATCH + 1);
            lr.patch(x, y, PATCH, &mut xs);
            hr.patch(x * SCALE, y * SCALE, PATCH * SCALE, &mut ys);
        }
        let x = Tensor::from_vec(xs, (BATCH, 3, PATCH, PATCH), &Device::Cpu)?;
        let y = Tensor::from_vec(ys, (BATCH, 3, PATCH * SCALE, PATCH * SCALE), &Device::Cpu)?;
        let pred = net.forward(&x)?;
        let loss = (pred - y)?.sqr()?.mean_all()?;
        let grads = loss.backward()?;
        let lr_rate = if step * 4 > steps * 3 { 5e-4 } else { 1e-3 };
        let t = step as i32;
        for (var, mo) in vars.iter().zip(moments.iter_mut()) {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            mo.m = ((&mo.m * b1)? + (g * (1.0 - b1))?)?;
            mo.v = ((&mo.v * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let mhat = (&mo.m / (1.0 - b1.powi(t)))?;
            let vhat = (&mo.v / (1.0 - b2.powi(t)))?;
            let update = (mhat / (vhat.sqrt()? + eps)?)?;
            var.set(&(var.as_tensor() - (update * lr_rate)?)?)?;
        }
        running += loss.to_scalar::<f32>()? as f64;
        if step % 100 == 0 {
            let mse = running / 100.0;
            running = 0.0;
            eprintln!(
                "step {step:>5}: mse {mse:.6} (PSNR {:.2} dB) at {:.0} s",
                10.0 * (1.0 / mse).log10(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();

    // A sanity check on each photo's central 128 x 128 crop (training data).
    println!("{:<14} {:>10} {:>10}", "photo", "bicubic", "network");
    for (p, (_, _, hr, _)) in photos.iter().zip(&pairs) {
        let (cx, cy) = (
            (hr.width() - 128) / 2 / 4 * 4,
            (hr.height() - 128) / 2 / 4 * 4,
        );
        let crop = image::imageops::crop_imm(hr, cx, cy, 128, 128).to_image();
        let lr = image::imageops::resize(&crop, 32, 32, FilterType::CatmullRom);
        let bic = image::imageops::resize(&lr, 128, 128, FilterType::CatmullRom);
        let want = Planes::from(&crop).data;
        let x = Tensor::from_vec(Planes::from(&lr).data, (1, 3, 32, 32), &Device::Cpu)?;
        let sr = quantise(&net.forward(&x)?.flatten_all()?.to_vec1::<f32>()?);
        println!(
            "{p:<14} {:>10.2} {:>10.2}",
            psnr(&Planes::from(&bic).data, &want),
            psnr(&sr, &want)
        );
    }
    let tensors: HashMap<String, Tensor> = net.tensors();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    candle_core::safetensors::save(&tensors, &out)?;
    println!(
        "trained {steps} steps in {seconds:.0} s; {} parameters; wrote {}",
        net.parameter_count(),
        out.display()
    );
    Ok(())
}
