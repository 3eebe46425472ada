//! `srlens`: explains image super-resolution networks with attribution maps.

mod gradient_graph_cmd;
mod import_cmd;
mod plugins_cmd;
mod progress;
mod study_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use srlens_host::{PluginDirs, PluginHost, RunArgs};

/// Explains super-resolution networks: which input pixels produced a window of the output.
#[derive(Parser, Debug)]
#[command(name = "srlens", version, about)]
struct Cli {
    /// A folder of plugin libraries (repeatable); SRLENS_PLUGIN_PATH adds more.
    #[arg(long = "plugin-dir", global = true, value_name = "DIR")]
    plugin_dirs: Vec<PathBuf>,
    /// Do not load the plugins next to the executable.
    #[arg(long, global = true)]
    no_default_plugins: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Computes the attribution maps a config asks for and writes a report.
    Run {
        /// The TOML config.
        config: PathBuf,
        /// Overrides a config key, e.g. `--set window.x=120` or `--set method.0.steps=20`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// The output folder (overrides the config's `out`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// No progress bars.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Sanity check of the config's maps (Adebayo et al. 2018): reruns it with the network's
    /// last k parameterised layers re-drawn at random, cascading from the output end, and
    /// compares each map with the trained network's (Spearman rank correlation, SSIM);
    /// writes `k<k>/` runs, `sanity.{json,csv,md,svg}` and `report.html`. Backends: candle,
    /// ort, tch.
    Sanity {
        /// The TOML config (as for `srlens run`).
        config: PathBuf,
        /// Overrides a config key, as for `srlens run`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// The output folder (overrides the config's `out`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The numbers of layers to randomise, e.g. `1,2,4` (default 1, 2, 4, ... and all).
        #[arg(long, value_name = "K,K,...", value_delimiter = ',')]
        layers: Option<Vec<usize>>,
        /// The seed of the random weights.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// No progress bars.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Writes the gradient graph of an ONNX model in standard ONNX operators, for any ONNX
    /// runtime: inputs the model's input and the cotangent `d objective / d output`, outputs
    /// the model's output and `d objective / d input`.
    GradientGraph {
        /// The `.onnx` model.
        model: PathBuf,
        /// The gradient graph to write (`.onnx`).
        out: PathBuf,
        /// Also writes the forward graph (which returns the activations the backward pass
        /// reads) and the backward graph, as `OUT`'s stem + `.forward.onnx` / `.backward.onnx`.
        #[arg(long)]
        split: bool,
    },
    /// Turns a PyTorch SR checkpoint into `DIR/<stem>.onnx` (opset 17, any height and width,
    /// batch 1, with the srlens metadata) and `DIR/<stem>.pt` (TorchScript), both checked
    /// against torch's own output before they are written. Uses spandrel 0.4.2, which
    /// recognises the architecture (SwinIR, HAT, DAT, ESRGAN, RCAN...) from the state dict, in
    /// the Python of SRLENS_PYTHON, else of VIRTUAL_ENV, else of a `.venv` above the current
    /// folder or the executable (`cargo xtask setup` makes one).
    Import {
        /// The checkpoint: a state dict as `.pth` or `.pt`, or `.safetensors`.
        checkpoint: PathBuf,
        /// The folder to write into (default: the checkpoint's); files of the same names are
        /// replaced.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Runs a study: every `[[model]]` x `[[method]]` x image x window of a study config,
    /// resumable (a rerun skips finished items), shardable over machines; writes
    /// `results.jsonl`, `summary.{json,csv,md}` and `report.html`. Exit code 2: some items
    /// failed (listed in the summary).
    Study {
        /// The study's TOML config.
        config: PathBuf,
        /// Overrides a key of the study config, e.g. `--set windows.auto=1` or
        /// `--set method.0.steps=10`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// The study folder (overrides the config's `out`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Runs shard I of N (from 1), a deterministic share of the runs balanced by cost.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Runs one of N shards, whose index (from 0) is in JOB_COMPLETION_INDEX (Kubernetes
        /// Indexed Jobs) or SLURM_ARRAY_TASK_ID (Slurm job arrays).
        #[arg(long, value_name = "N")]
        shards: Option<u32>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Combines the folders of a study's shards into one summary and report (refusing folders
    /// of different studies and overlapping shards).
    Merge {
        /// The shard folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The merged folder.
        #[arg(long, value_name = "DIR", default_value = "merged")]
        out: PathBuf,
    },
    /// Lists the plugin files found, what they provide, and why any were refused.
    Plugins {
        /// Also shows abi_stable's whole report for refused files.
        #[arg(long, short)]
        verbose: bool,
    },
}

/// Prints `error: <e>` (one line for the user, no backtrace) and gives the failure code.
fn failure(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    srlens_host::allocator::keep_freed_memory();
    srlens_host::openmp::short_spin_then_sleep();
    // Attribution maps are compared across backends to 1e-4: no TF32 in cuDNN and cuBLAS.
    // Without this, libtorch's LAM map of esrgan-slim on an H200 was 1.6e-3 (relative L2) from
    // the CPU's, whatever torch's own TF32 flags said; with it, 4.8e-7. Read at CUDA's start.
    if std::env::var_os("NVIDIA_TF32_OVERRIDE").is_none() {
        std::env::set_var("NVIDIA_TF32_OVERRIDE", "0");
    }
    let cli = Cli::parse();
    let dirs = PluginDirs::from_args(&cli.plugin_dirs, cli.no_default_plugins);
    match cli.command {
        Command::Plugins { verbose } => {
            print!("{}", plugins_cmd::render(&PluginHost::load(&dirs), verbose));
            ExitCode::SUCCESS
        }
        Command::Import { checkpoint, out } => {
            match import_cmd::import(&checkpoint, out.as_deref()) {
                Ok(summary) => {
                    print!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(e) => failure(e),
            }
        }
        Command::GradientGraph { model, out, split } => {
            match gradient_graph_cmd::write(&model, &out, split) {
                Ok(w) => {
                    println!("{}: {}", w.vjp.display(), w.signature);
                    if let Some((f, b)) = w.split {
                        println!("{}\n{}", f.display(), b.display());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => failure(e),
            }
        }
        Command::Study {
            config,
            overrides,
            out,
            shard,
            shards,
            quiet,
        } => {
            let shard = match srlens_study::Shard::from_args(shard.as_deref(), shards, |k| {
                std::env::var(k).ok()
            }) {
                Ok(s) => s,
                Err(e) => return failure(e),
            };
            let args = srlens_study::StudyArgs {
                config,
                overrides,
                out,
                shard,
                plugin_dirs: dirs,
            };
            study_cmd::study(&args, quiet)
        }
        Command::Merge { dirs: folders, out } => study_cmd::merge(&folders, &out),
        Command::Sanity {
            config,
            overrides,
            out,
            layers,
            seed,
            quiet,
        } => {
            let args = srlens_host::SanityArgs {
                run: RunArgs {
                    config,
                    overrides,
                    out,
                    plugin_dirs: dirs,
                },
                layers,
                seed,
                trained: None,
                layers_key: None,
            };
            match srlens_host::sanity(&args, &progress::Terminal { quiet }) {
                Ok((out, _)) => {
                    println!("{}", out.join("report.html").display());
                    ExitCode::SUCCESS
                }
                Err(e) => failure(e),
            }
        }
        Command::Run {
            config,
            overrides,
            out,
            quiet,
        } => {
            let args = RunArgs {
                config,
                overrides,
                out,
                plugin_dirs: dirs,
            };
            match srlens_host::run(&args, &progress::Terminal { quiet }) {
                Ok(out) => {
                    println!("{}", out.join("report.html").display());
                    ExitCode::SUCCESS
                }
                Err(e) => failure(e),
            }
        }
    }
}
