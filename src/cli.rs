//! The command line: [`Cli`] and its [`Command`]s, and [`main_with`], which parses it and
//! hands each subcommand to its file under [`crate::cmd`] (each owns its arguments; the
//! test's options, [`TestArgs`] — `run`, `plan`, `soak` — belong to [`crate::cmd::run`]).

use crate::cmd::{
    self, bench, check, clean, doctor, export, image, plan, replay, report, run, soak,
};
use crate::exit;
use crate::registry::Registry;
use clap::{Parser, Subcommand};

pub use crate::cmd::test_args::TestArgs;
pub use crate::origins::Origins;
pub use crate::rerun::{rerun_command, rerun_with};

/// Jepsen-style chaos testing of distributed systems, reproducible from a seed.
#[derive(Debug, Parser)]
#[command(name = "squall", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub cmd: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a seeded test against a real cluster and check its history.
    Run(TestArgs),
    /// Print the plan (client ops and faults) a seed gives, as JSONL, without running it.
    Plan(TestArgs),
    /// Run a stored plan again (a run's folder or its plan.jsonl), checked against the seed
    /// and config in its header; --times K runs it K times.
    Replay(cmd::replay::ReplayArgs),
    /// Run many seeds of a test (--seeds 1..200, --count N, --for 8h), N at once, with a
    /// summary (soak.json, index.html, --junit); `soak merge DIR...` joins soak folders.
    Soak(Box<cmd::soak::SoakArgs>),
    /// Check recorded histories (JSONL, Jepsen EDN or a Jepsen log) for linearizability.
    Check(cmd::check::CheckArgs),
    /// Remove everything killed runs left behind: namespaces, links, rules, processes, files.
    Clean,
    /// Measure the runner: throughput and scheduling lag against an in-process no-op system,
    /// and the delay from a planned partition to it being in force.
    Bench(cmd::bench::BenchArgs),
    /// Check what this host supports: KVM, cloud-hypervisor, TAP devices, qdiscs, etcd;
    /// `--env cloud-hypervisor` also takes a throwaway VM through its lifecycle.
    Doctor(cmd::doctor::DoctorArgs),
    /// Convert a history (JSONL, Jepsen EDN or a Jepsen log) to CSV, EDN or JSONL, on stdout.
    Export(cmd::export::ExportArgs),
    /// Write a stored run's report.html again, from its folder.
    Report(cmd::report::ReportArgs),
    /// Make a failing run's plan smaller while it still fails (RUN_DIR/shrink/plan.jsonl).
    Shrink(cmd::shrink::ShrinkArgs),
    /// Guest images for the cloud-hypervisor environment.
    #[command(subcommand)]
    Image(cmd::image::ImageCommand),
}

/// The whole `squall` command line over `registry`'s plug-ins: parses the arguments, runs
/// the subcommand, prints an error's whole chain on one line, and exits with its code.
pub fn main_with(registry: Registry) -> ! {
    crate::registry::install(registry);
    let cli = match Cli::try_parse() {
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
        Command::Run(args) => run::run(args),
        Command::Plan(args) => plan::plan(args),
        Command::Replay(args) => replay::replay(args),
        Command::Soak(args) => soak::soak(args),
        Command::Check(args) => check::check(args),
        Command::Clean => clean::clean(),
        Command::Bench(args) => bench::bench(args),
        Command::Doctor(args) => doctor::doctor(args),
        Command::Export(args) => export::export(args),
        Command::Report(args) => report::report(args),
        Command::Shrink(args) => cmd::shrink::shrink(args),
        Command::Image(image::ImageCommand::Build(args)) => crate::image::build_cmd(args),
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
