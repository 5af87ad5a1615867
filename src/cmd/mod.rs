//! The command line: [`main_with`] parses the arguments ([`crate::cli`]) and hands each
//! subcommand to its file here, which owns its arguments: [`run`] (and the test options
//! `plan` and `soak` share), [`plan`], [`replay`], [`soak`], [`check`], [`clean`], [`bench`],
//! [`doctor`], [`export`], [`report`], [`image`].

pub mod bench;
pub mod check;
pub mod clean;
pub mod doctor;
pub mod export;
pub mod image;
pub mod plan;
pub mod replay;
pub mod report;
pub mod run;
pub mod soak;

use crate::registry::Registry;
use crate::{cli, exit};
use clap::Parser;

/// The whole `squall` command line over `registry`'s plug-ins: parses the arguments, runs
/// the subcommand, prints an error's whole chain on one line, and exits with its code.
pub fn main_with(registry: Registry) -> ! {
    crate::registry::install(registry);
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                std::process::exit(if e.kind() == DisplayHelpOnMissingArgumentOrSubcommand {
                    exit::ERROR
                } else {
                    0
                });
            }
            // One line: clap's first line, without its "error: " prefix.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            eprintln!(
                "squall: {} (see squall --help)",
                first.trim_start_matches("error: ")
            );
            std::process::exit(exit::ERROR);
        }
    };
    let result = match &cli.cmd {
        cli::Command::Run(args) => run::run(args),
        cli::Command::Plan(args) => plan::plan(args),
        cli::Command::Replay(args) => replay::replay(args),
        cli::Command::Soak(args) => soak::soak(args),
        cli::Command::Check(args) => check::check(args),
        cli::Command::Clean => clean::clean(),
        cli::Command::Bench(args) => bench::bench(args),
        cli::Command::Doctor(args) => doctor::doctor(args),
        cli::Command::Export(args) => export::export(args),
        cli::Command::Report(args) => report::report(args),
        cli::Command::Image(image::ImageCommand::Build(args)) => crate::image::build_cmd(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // The whole chain on one line: "setup: start n2: No such file or directory".
            eprintln!("squall: {e:#}");
            std::process::exit(exit::ERROR);
        }
    }
}
