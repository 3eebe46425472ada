//! A battery of hostile inputs through `srlens run` (issue 9). For each: a non-zero exit that
//! names the culprit, or exit 0 with the warning in the terminal and in report.json; never a
//! panic, an abort or a hang (each run is bounded in time); and the previous complete run in
//! `out` byte for byte as it was.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use srlens_onnx::builder::GraphBuilder;
use srlens_onnx::{Attribute, TensorData};

/// What a hostile input must produce.
enum Expect {
    /// Exit 1, and stderr holds every one of these.
    Error(&'static [&'static str]),
    /// Exit 0, the warning in stderr and in the first method's report.json, and (when true)
    /// the map marked degenerate (DI undefined).
    Warning(&'static str, bool),
    /// Exit 0, and stderr holds this (a warning about the run, not about a map).
    Note(&'static str),
}

struct Case {
    name: &'static str,
    /// The config's `[[method]]` tables.
    methods: &'static str,
    /// Extra command-line arguments (`--set ...`).
    args: &'static [&'static str],
    expect: Expect,
}

const LAM: &str = "[[method]]\nname = \"lam\"\nsteps = 8\n";
const IG: &str = "[[method]]\nname = \"ig\"\nsteps = 8\n";

fn cases() -> Vec<Case> {
    use Expect::*;
    let case = |name, methods, args, expect| Case {
        name,
        methods,
        args,
        expect,
    };
    vec![
        case(
            "threads beyond the machine",
            LAM,
            &["--set", "model.threads=100000"],
            Error(&["--set `model.threads=100000`", "logical CPU"]),
        ),
        case(
            "a zero window",
            LAM,
            &["--set", "window.size=0"],
            Error(&["--set `window.size=0`", "`size` must be at least 1"]),
        ),
        case(
            "a window outside the output",
            LAM,
            &["--set", "window.x=12"],
            Error(&["--set `window.x=12`", "choose x <= 10 and y <= 10"]),
        ),
        case(
            "a window larger than the output",
            LAM,
            &["--set", "window.size=40"],
            Error(&["choose size <= 16"]),
        ),
        case(
            "a misspelt key",
            LAM,
            &["--set", "windw.x=3"],
            Error(&["--set `windw.x=3`", "unknown field `windw`"]),
        ),
        case(
            "steps beyond the limit",
            LAM,
            &["--set", "method.0.steps=1000000"],
            Error(&["--set `method.0.steps=1000000`", "choose 1 to 100000"]),
        ),
        case(
            "zero steps",
            IG,
            &["--set", "method.0.steps=0"],
            Error(&["`steps` must be at least 1"]),
        ),
        case(
            "a huge blur kernel",
            LAM,
            &["--set", "method.0.kernel=100001"],
            Error(&["`kernel` must be an odd size of at most 33"]),
        ),
        case(
            "a NaN noise level",
            "[[method]]\nname = \"smoothgrad\"\nsamples = 2\n",
            &["--set", "method.0.noise=nan"],
            Error(&[
                "--set `method.0.noise=nan`",
                "`noise` = NaN: options must be finite",
            ]),
        ),
        case(
            "samples beyond the limit",
            "[[method]]\nname = \"smoothgrad\"\n",
            &["--set", "method.0.samples=100001"],
            Error(&["`samples` = 100001", "choose 1 to 100000"]),
        ),
        case(
            "an infinite gap threshold",
            LAM,
            &["--set", "gap_warning=-inf"],
            Error(&[
                "--set `gap_warning=-inf`",
                "`gap_warning` = -inf must be a finite number",
            ]),
        ),
        case(
            "a zero batch",
            LAM,
            &["--set", "batch_size=0"],
            Error(&["`batch_size` must be at least 1"]),
        ),
        case(
            "an unknown method",
            "[[method]]\nname = \"nosuch\"\n",
            &[],
            Error(&["unknown method `nosuch`"]),
        ),
        case(
            "an unknown method with a missing plugin folder",
            "[[method]]\nname = \"nosuch\"\n",
            &["--plugin-dir", "nowhere"],
            Error(&[
                "unknown method `nosuch`",
                "The plugin folder nowhere does not exist",
            ]),
        ),
        case(
            "a crop outside the image",
            LAM,
            &["--set", "image.crop=[0, 0, 100, 100]"],
            Error(&["image.crop = [0, 0, 100, 100] does not fit inside"]),
        ),
        case(
            "a folder as the image",
            LAM,
            &["--set", "image.path=sub"],
            Error(&["does not exist or is not a file (image.path"]),
        ),
        case(
            "a file that is not an image",
            LAM,
            &["--set", "image.path=notes.png"],
            Error(&["notes.png is not an image this build can read"]),
        ),
        case(
            "a PNG too large to decode",
            LAM,
            &["--set", "image.path=huge.png"],
            Error(&["huge.png (200000 x 200000 pixels) is too large to decode"]),
        ),
        case(
            "a model of scale 0",
            LAM,
            &["--set", "model.path=scale0.onnx"],
            Error(&["scale0.onnx", "srlens.scale"]),
        ),
        case(
            "a model whose output is NaN",
            LAM,
            &["--set", "model.path=nan.onnx"],
            Error(&["the SR output holds 768 non-finite value(s)"]),
        ),
        case(
            "a folder as the model",
            LAM,
            &["--set", "model.path=sub"],
            Error(&["sub", "folder"]),
        ),
        case(
            "the config's own folder as out",
            LAM,
            &["--set", "out=."],
            Error(&["holds files that are not an srlens run's"]),
        ),
        case(
            "a blur of kernel 1: the baseline is the input",
            LAM,
            &["--set", "method.0.kernel=1", "--out", "w1"],
            Warning("the path has no length", true),
        ),
        case(
            "a blur of sigma 0: the baseline is the input",
            LAM,
            &["--set", "method.0.sigma=0", "--out", "w2"],
            Warning("the path has no length", true),
        ),
        case(
            "integrated gradients of a black image from a black baseline",
            IG,
            &["--set", "image.path=black.png", "--out", "w3"],
            Warning("the path has no length", true),
        ),
        case(
            "a flat window",
            LAM,
            &[
                "--set",
                "image.path=grey.png",
                "--set",
                "model.path=nearest.onnx",
                "--out",
                "w4",
            ],
            Warning("The objective is 0 on this window", true),
        ),
        case(
            "vargrad of one sample",
            "[[method]]\nname = \"vargrad\"\nsamples = 1\n",
            &["--out", "w5"],
            Warning("samples = 1", true),
        ),
        case(
            "a plugin folder that does not exist",
            LAM,
            &["--plugin-dir", "nowhere", "--out", "w6"],
            Note("the plugin folder nowhere does not exist"),
        ),
        case(
            "a memory budget that would overflow",
            LAM,
            &["--set", "memory_budget_mb=17592186044416", "--out", "w7"],
            Note(""),
        ),
    ]
}

/// A x2 model (nearest upscaling of the input) whose metadata says `srlens.scale = "0"`.
fn write_scale0_model(path: &Path) {
    let mut b = GraphBuilder::new("scale0");
    b.input("input", &[1, 3, 8, 8]);
    let scales = b.constant(TensorData::f32(vec![4], vec![1.0, 1.0, 2.0, 2.0]));
    let y = b.op(
        "Resize",
        &["input", "", &scales],
        &[("mode", Attribute::String("nearest".into()))],
    );
    b.output(&y, &[1, 3, 16, 16]);
    b.metadata("srlens.scale", "0");
    srlens_onnx::write_file(&b.build().unwrap(), path).unwrap();
}

/// A PNG whose header says 200000 x 200000 RGB pixels (120 GB decoded), with no pixel data.
fn write_huge_png(path: &Path) {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend(kind);
        out.extend(data);
        let crc = crc32(&out[start..]);
        out.extend(crc.to_be_bytes());
    }
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(200_000u32.to_be_bytes());
    ihdr.extend(200_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    // An empty zlib stream: the decoder reads the header up to the first IDAT.
    chunk(&mut png, b"IDAT", b"\x78\x9c\x03\x00\x00\x00\x00\x01");
    chunk(&mut png, b"IEND", &[]);
    std::fs::write(path, png).unwrap();
}

/// Runs srlens, killing it (and failing) after two minutes.
fn bounded(dir: &Path, args: &[&str]) -> Output {
    let mut child = common::srlens_command(dir, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("srlens starts");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("srlens {args:?} did not finish in two minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn every_hostile_input_is_an_error_naming_the_culprit_or_a_warning() {
    let dir = common::workspace();
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(d.join("notes.png"), "these are not pixels").unwrap();
    write_huge_png(&d.join("huge.png"));
    write_scale0_model(&d.join("scale0.onnx"));
    common::write_nan_model(&d.join("nan.onnx"));
    image::RgbImage::new(8, 8)
        .save(d.join("black.png"))
        .unwrap();
    image::RgbImage::from_pixel(8, 8, image::Rgb([120, 120, 120]))
        .save(d.join("grey.png"))
        .unwrap();

    let mut failures = Vec::new();
    for case in cases() {
        // A complete earlier run, which nothing below may touch.
        std::fs::write(d.join("good.toml"), common::config("tiny.onnx", LAM)).unwrap();
        let good = bounded(d, &["run", "good.toml", "--quiet"]);
        assert!(
            good.status.success(),
            "{}: {}",
            case.name,
            common::stderr_of(&good, d)
        );
        let before = common::files_under(&d.join("out"));
        std::fs::write(
            d.join("run.toml"),
            common::config("tiny.onnx", case.methods),
        )
        .unwrap();

        let mut args = vec!["run", "run.toml", "--quiet"];
        args.extend(case.args);
        let o = bounded(d, &args);
        let err = common::stderr_of(&o, d);
        let mut fail = |why: String| failures.push(format!("{}: {why}\n{err}", case.name));
        if err.contains("panicked") || err.contains("backtrace") {
            fail("a panic".into());
        }
        match case.expect {
            Expect::Error(culprits) => {
                if o.status.code() != Some(1) {
                    fail(format!("exit {:?}, expected 1", o.status.code()));
                }
                for c in culprits {
                    if !err.contains(c) {
                        fail(format!("the message does not say `{c}`"));
                    }
                }
            }
            Expect::Note(note) => {
                if o.status.code() != Some(0) || !err.contains(note) {
                    fail(format!(
                        "exit {:?}, expected 0 and `{note}`",
                        o.status.code()
                    ));
                }
            }
            Expect::Warning(warning, degenerate) => {
                if o.status.code() != Some(0) {
                    fail(format!("exit {:?}, expected 0", o.status.code()));
                } else {
                    let out = args[args.iter().position(|a| *a == "--out").unwrap() + 1];
                    let summary = common::read_json(&d.join(out).join("summary.json"));
                    let entry = &summary["entries"][0];
                    let label = entry["label"].as_str().unwrap();
                    let report = common::read_json(&d.join(out).join(label).join("report.json"));
                    let warnings = report["warnings"].to_string();
                    if !warnings.contains(warning) || !err.contains(warning) {
                        fail(format!("no warning `{warning}` in {warnings} and stderr"));
                    }
                    if report["figures"]["degenerate"] != degenerate {
                        fail(format!("degenerate is {}", report["figures"]["degenerate"]));
                    }
                    let html = std::fs::read_to_string(d.join(out).join("report.html")).unwrap();
                    if degenerate && !html.contains("DI undefined") {
                        fail("report.html shows a DI".into());
                    }
                }
            }
        }
        if common::files_under(&d.join("out")) != before {
            fail("the previous run in out/ changed".into());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
