//! `cargo xtask zoo`: converts the zoo, checks it against `zoo.toml` (sha256 and provenance),
//! checks each model against its package's own sample output on every ONNX backend built, and
//! prints PSNR/SSIM on the test photos next to bicubic upscaling.

use std::path::{Path, PathBuf};
use std::time::Instant;

use srlens_core::ComponentKind;
use srlens_host::plugins::{load_file, LoadedPlugin};
use srlens_zoo::images::{center_crop, downscale, max_difference, read_rgb, upscale, upscale_with};
use srlens_zoo::metrics::sr_scores;
use srlens_zoo::{fixture, hash, Entry, Manifest};

use crate::{cargo, fetch, paths, run, zoo, Result};

/// The plugin libraries whose backends read ONNX, with the backend's name.
const ONNX_BACKENDS: [(&str, &str); 2] = [
    ("srlens_plugin_candle", "candle"),
    ("srlens_plugin_ort", "ort"),
];

/// The options of `cargo xtask zoo`.
struct Args {
    write: bool,
    fixtures: bool,
    metrics: bool,
    crop: u32,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut a = Args {
        write: false,
        fixtures: true,
        metrics: true,
        crop: 128,
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "--write" => a.write = true,
            "--no-fixtures" => a.fixtures = false,
            "--no-metrics" => a.metrics = false,
            "--crop" => {
                a.crop = it.next().and_then(|v| v.parse().ok()).ok_or("--crop takes a side in HR pixels, e.g. --crop 128")?
            }
            other => {
                return Err(format!(
                    "zoo: unknown argument `{other}` (expected --write, --no-fixtures, --no-metrics, --crop N)"
                ))
            }
        }
    }
    Ok(a)
}

/// Runs `cargo xtask zoo`.
pub fn main(args: &[String]) -> Result<()> {
    let args = parse(args)?;
    fetch::photos()?;
    let entries = convert_all()?;
    let manifest = Manifest { models: entries };
    let path = paths::root().join(srlens_zoo::manifest::FILE_NAME);
    if args.write {
        std::fs::write(&path, manifest.to_toml())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
    } else {
        verify(&manifest, &path)?;
        eprintln!(
            "xtask: all {} models match {}",
            manifest.models.len(),
            path.display()
        );
    }
    if !(args.fixtures || args.metrics) {
        return Ok(());
    }
    let packages: Vec<String> = ONNX_BACKENDS
        .iter()
        .map(|(lib, _)| lib.trim_start_matches("srlens_plugin_").to_string())
        .collect();
    let mut build = cargo();
    build.args([
        "build",
        "-p",
        "srlens-plugin-candle",
        "-p",
        "srlens-plugin-example-model",
    ]);
    run(&mut build)?;
    let mut backends = Vec::new();
    for (lib, backend) in ONNX_BACKENDS {
        let file = paths::root()
            .join("target/debug")
            .join(format!("lib{lib}.so"));
        if !file.exists() {
            eprintln!(
                "xtask: {} is not built: the `{backend}` backend is not checked",
                file.display()
            );
            continue;
        }
        match load_file(&file) {
            Ok(p) if p.provides(ComponentKind::Backend, backend) => backends.push((p, backend)),
            Ok(_) => eprintln!("xtask: {} has no backend `{backend}`", file.display()),
            Err(e) => eprintln!(
                "xtask: {} was refused: {}; the `{backend}` backend is not checked",
                file.display(),
                e.reason
            ),
        }
    }
    if backends.is_empty() {
        return Err(format!(
            "no ONNX backend plugin could be loaded (looked for {packages:?} in target/debug)"
        ));
    }
    if args.fixtures {
        fixtures(&manifest, &backends)?;
    }
    if args.metrics {
        metrics(&manifest, &backends[0], args.crop)?;
    }
    Ok(())
}

/// Converts every model in memory, writes `zoo/<name>.onnx` when the file differs, and
/// returns the manifest entries.
fn convert_all() -> Result<Vec<Entry>> {
    let dir = paths::root().join("zoo");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut entries = Vec::new();
    for short in zoo::PACKAGES {
        let package = fetch::npm_package(&format!("@upscalerjs/{short}"), zoo::VERSION, short)?;
        for s in zoo::SCALES {
            let name = format!("{short}-x{s}");
            let json = package.join(format!("models/x{s}/model.json"));
            let graph = srlens_onnx::tfjs::convert(&json).map_err(|e| e.to_string())?;
            let bytes = srlens_onnx::to_bytes(&graph).map_err(|e| e.to_string())?;
            let sha = hash::sha256(&bytes);
            let out = dir.join(format!("{name}.onnx"));
            let same = out.is_file() && hash::sha256_file(&out).map_err(|e| e.to_string())? == sha;
            if !same {
                eprintln!("xtask: writing {}", out.display());
                srlens_onnx::write_file(&graph, &out).map_err(|e| e.to_string())?;
            }
            let md = |k: &str| {
                graph
                    .metadata
                    .get(k)
                    .cloned()
                    .ok_or(format!("{name}: the converter wrote no `{k}`"))
            };
            let range = md("srlens.input_range")?;
            let (lo, hi) = range
                .split_once(',')
                .ok_or(format!("{name}: input range `{range}`"))?;
            let source = md("srlens.source")?;
            let (pkg, version) = source
                .rsplit_once('@')
                .ok_or(format!("{name}: source `{source}`"))?;
            entries.push(Entry {
                name: name.clone(),
                architecture: md("srlens.architecture")?,
                scale: md("srlens.scale")?
                    .parse()
                    .map_err(|_| format!("{name}: scale"))?,
                parameters: graph.parameter_count(),
                input_range: [
                    lo.trim().parse().unwrap_or(f32::NAN),
                    hi.trim().parse().unwrap_or(f32::NAN),
                ],
                license: md("srlens.license")?,
                package: pkg.to_string(),
                version: version.to_string(),
                source_file: md("srlens.source_file")?,
                file: format!("zoo/{name}.onnx"),
                sha256: sha,
            });
        }
    }
    Ok(entries)
}

/// Compares the converted zoo with the committed manifest.
fn verify(converted: &Manifest, path: &Path) -> Result<()> {
    let committed = Manifest::read(path)
        .map_err(|e| format!("{e}; run `cargo xtask zoo --write` to create it"))?;
    let mut problems = Vec::new();
    for e in &converted.models {
        match committed.get(&e.name) {
            None => problems.push(format!("{} is not in zoo.toml", e.name)),
            Some(c) if c.sha256 != e.sha256 => problems.push(format!(
                "{}: the converted file has sha256 {}, zoo.toml says {} (the converter's output or the npm package changed)",
                e.file, e.sha256, c.sha256
            )),
            Some(c) if c != e => problems.push(format!("{}: zoo.toml says {c:?}, the conversion gives {e:?}", e.name)),
            Some(_) => {}
        }
    }
    for c in &committed.models {
        if converted.get(&c.name).is_none() {
            problems.push(format!(
                "zoo.toml lists {}, which the conversion does not produce",
                c.name
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the zoo does not match {}:\n  {}\nIf the change is intended, run `cargo xtask zoo --write` and commit zoo.toml.",
        path.display(),
        problems.join("\n  ")
    ))
}

fn package_dir(entry: &Entry) -> PathBuf {
    paths::project_cache()
        .join("npm")
        .join(entry.package.trim_start_matches("@upscalerjs/"))
        .join("package")
}

/// Each model on its package's `assets/fixture.png` must reproduce
/// `assets/samples/{s}x/result.png` within 1 grey level, on every backend; where the package
/// ships no sample, the TensorFlow.js reference made by `cargo xtask setup` (on the fixture's
/// crop) stands in.
fn fixtures(manifest: &Manifest, backends: &[(LoadedPlugin, &str)]) -> Result<()> {
    crate::tfjs_reference::prepare()?;
    println!("\nFixture check: the package's assets/fixture.png (alpha dropped) vs assets/samples/{{s}}x/result.png");
    println!(
        "{:<20} {:<8} {:>14} {:>9} {:<8}",
        "model", "backend", "max |diff|", "seconds", "expected"
    );
    let mut failures = Vec::new();
    for e in &manifest.models {
        let dir = package_dir(e);
        let (input, want, source) = fixture::expected(&dir, e.scale);
        for (p, backend) in backends {
            let started = Instant::now();
            let model = p
                .load_model(backend, Some(&paths::root().join(&e.file)), "")
                .map_err(|e| e.to_string())?;
            let fixture = read_rgb(&input).map_err(|e| e.to_string())?;
            let sr = upscale_with(&model, &fixture).map_err(|e| e.to_string())?;
            let d = max_difference(&sr, &read_rgb(&want).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            println!(
                "{:<20} {:<8} {:>14} {:>9.1} {:<8}",
                e.name,
                backend,
                d,
                started.elapsed().as_secs_f64(),
                source.label()
            );
            if d > 1 {
                failures.push(format!("{} on {backend}: {d} grey levels", e.name));
            }
        }
    }
    println!(
        "(expected: sample = the package's own result.png; tfjs = the package's network run by \
         TensorFlow.js 4.11 on the fixture, where the package ships no sample for that scale)"
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fixture check failed (more than 1 grey level): {}",
            failures.join(", ")
        ))
    }
}

/// A model run on one LR image.
type Upscaler = Box<dyn Fn(&image::RgbImage) -> Result<image::RgbImage>>;

/// PSNR/SSIM (Y, border = scale) of every model and of bicubic on the central crops.
fn metrics(manifest: &Manifest, backend: &(LoadedPlugin, &str), crop: u32) -> Result<()> {
    let photos: Vec<(String, image::RgbImage)> = fetch::PHOTOS
        .iter()
        .map(|p| {
            Ok((
                p.to_string(),
                read_rgb(&paths::root().join("data/images").join(p)).map_err(|e| e.to_string())?,
            ))
        })
        .collect::<Result<_>>()?;
    let (plugin, name) = backend;
    println!(
        "\nPSNR (dB) / SSIM on Y (BT.601), border = scale cropped; central {crop} x {crop} HR crops of {} photos \
         (bicubic-downscaled), mean over photos; backend `{name}`",
        photos.len()
    );
    println!(
        "{:<22} {:>8} {:>8} {:>12} {:>12} {:>9}",
        "model", "PSNR", "SSIM", "bicubic PSNR", "bicubic SSIM", "seconds"
    );
    let mut rows: Vec<(String, u32, Upscaler)> = Vec::new();
    for e in &manifest.models {
        let model = plugin
            .load_model(name, Some(&paths::root().join(&e.file)), "")
            .map_err(|e| e.to_string())?;
        rows.push((
            e.name.clone(),
            e.scale,
            Box::new(move |lr| upscale_with(&model, lr).map_err(|e| e.to_string())),
        ));
    }
    let example = paths::root().join("plugins/example-model/weights/fsrcnn-x4.safetensors");
    let example_lib = paths::root().join("target/debug/libsrlens_plugin_example_model.so");
    if example.exists() && example_lib.exists() {
        let p = load_file(&example_lib).map_err(|e| e.reason)?;
        let model = p
            .load_model("example-fsrcnn", Some(&example), "")
            .map_err(|e| e.to_string())?;
        rows.push((
            "example-fsrcnn-x4 (*)".into(),
            4,
            Box::new(move |lr| upscale_with(&model, lr).map_err(|e| e.to_string())),
        ));
    }
    for (label, s, run) in &rows {
        let (mut acc, mut bic) = ([0.0; 2], [0.0; 2]);
        let started = Instant::now();
        for (_, img) in &photos {
            let hr = center_crop(img, crop, *s).map_err(|e| e.to_string())?;
            let lr = downscale(&hr, *s).map_err(|e| e.to_string())?;
            let sr = run(&lr)?;
            let (p, q) = sr_scores(&hr, &sr, *s as usize).map_err(|e| e.to_string())?;
            let (bp, bq) =
                sr_scores(&hr, &upscale(&lr, *s), *s as usize).map_err(|e| e.to_string())?;
            acc = [acc[0] + p, acc[1] + q];
            bic = [bic[0] + bp, bic[1] + bq];
        }
        let n = photos.len() as f64;
        println!(
            "{label:<22} {:>8.2} {:>8.4} {:>12.2} {:>12.4} {:>9.1}",
            acc[0] / n,
            acc[1] / n,
            bic[0] / n,
            bic[1] / n,
            started.elapsed().as_secs_f64()
        );
    }
    println!("(*) trained on these photos by `cargo xtask train-example`: not a fair comparison");
    Ok(())
}
