//! The command line: [`main_with`] parses the arguments and hands each subcommand to its
//! file (`run`, `check`, `clean`, `bench`, `doctor`, `image` live in their own modules of the
//! library; the small ones are here: [`plan`], [`replay`], [`run_plan`], [`shrink`], [`soak`], [`export`],
//! [`report`]).

pub mod export;
pub mod plan;
pub mod replay;
pub mod report;
pub mod run_plan;
pub mod shrink;
pub mod soak;

use crate::registry::Registry;
use crate::{cli, exit, run};
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
        cli::Command::Check(args) => crate::check::check(args),
        cli::Command::Clean => crate::clean::clean(),
        cli::Command::Bench(args) => crate::bench::bench(args),
        cli::Command::Doctor(args) => crate::doctor::doctor(args),
        cli::Command::Export(args) => export::export(args),
        cli::Command::Report(args) => report::report(args),
        cli::Command::Shrink(args) => shrink::shrink(args),
        cli::Command::Image(cli::ImageCommand::Build(args)) => crate::image::build_cmd(args),
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
