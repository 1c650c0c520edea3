//! The `ndgrad` command-line tool.
//!
//! Each subcommand lives in its own module with a clap `Args` struct and a
//! `run` function returning `Result<(), Failure>`; `main` only parses and
//! reports.
//!
//! Exit codes: 0 on success (and for `--help`/`--version`), 2 for invalid
//! arguments (as clap does), 1 for every other failure, and 128 + the
//! signal's number when SIGINT (130), SIGTERM (143) or SIGHUP (129) ends a
//! run, after its temporary files are removed (see `cleanup`). A failure
//! prints exactly one line on stderr, starting with `ndgrad: `.

mod array;
mod bench;
mod cleanup;
mod failure;
mod gradient;
mod info;
mod memory;
mod npy;
mod npz;
mod overwrite;
mod progress;
mod stream;
mod zarr;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};

/// numpy.gradient for N-dimensional arrays, on the GPU or the CPU.
#[derive(Debug, Parser)]
#[command(name = "ndgrad", version, subcommand_required = true)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Differentiate a .npy array (numpy.gradient) into a .npz file.
    Gradient(gradient::GradientArgs),
    /// Time every backend side by side (GPU, CPU, numpy) on the same arrays.
    Bench(bench::BenchArgs),
    /// List the GPU adapters, the one ndgrad would use, its limits and features.
    Info(info::InfoArgs),
}

/// The exit code for invalid arguments, as clap uses it.
const USAGE_EXIT_CODE: u8 = 2;

/// Parses the command line, runs the subcommand, reports a failure on one line.
fn main() -> ExitCode {
    quiet_headless_vulkan();
    if let Err(error) = cleanup::install() {
        eprintln!("ndgrad: cannot install the handlers of SIGINT, SIGTERM and SIGHUP: {error}");
        return ExitCode::FAILURE;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return report_clap_error(&error),
    };
    let result = match &cli.command {
        Command::Gradient(args) => gradient::run(args),
        Command::Bench(args) => bench::run(args).map_err(failure::Failure::new),
        Command::Info(args) => info::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("ndgrad: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// On a machine without a display, Mesa's Vulkan drivers (lavapipe among them)
/// have libwayland print "XDG_RUNTIME_DIR is invalid or not set" to stderr as
/// soon as wgpu enables the Wayland surface extension, even though no window
/// is ever made. The CLI promises one line on stderr, so when the variable is
/// unset it points it at the temporary directory, where no Wayland socket is
/// found and nothing is printed. This runs first in `main`, before any thread
/// exists, so changing the environment is sound.
fn quiet_headless_vulkan() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
}

/// Prints help and version as clap does; every real error as one line.
fn report_clap_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Help and version go to stdout with exit code 0; a failed print is not worth a message.
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let names: Vec<String> = Cli::command()
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .filter(|name| name != "help")
                .collect();
            eprintln!(
                "ndgrad: a subcommand is required: {} (see 'ndgrad --help')",
                names.join(", ")
            );
            ExitCode::from(USAGE_EXIT_CODE)
        }
        _ => {
            eprintln!(
                "ndgrad: {} (see '{} --help')",
                first_paragraph(&error.render().to_string()),
                failed_command()
            );
            ExitCode::from(USAGE_EXIT_CODE)
        }
    }
}

/// The first paragraph of clap's multi-line error (the error itself, possibly
/// with the missing arguments listed below it) on one line.
fn first_paragraph(rendered: &str) -> String {
    let text = rendered.trim_start();
    let text = text.strip_prefix("error:").unwrap_or(text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect();
    lines.join(" ")
}

/// The command whose help to point at: `ndgrad SUBCOMMAND` when the first
/// word of the command line names one, else `ndgrad`.
fn failed_command() -> String {
    let first_word = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    match first_word {
        Some(word) if Cli::command().find_subcommand(&word).is_some() && word != "help" => {
            format!("ndgrad {word}")
        }
        _ => "ndgrad".to_string(),
    }
}
