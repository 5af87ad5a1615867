//! The command line's shape: [`Cli`] and its [`Command`]s. Each subcommand's arguments
//! belong to its own file under [`crate::cmd`]; the test's options ([`TestArgs`]: `run`,
//! `plan`, `soak`) to [`crate::cmd::run`].

use crate::cmd;
use clap::{Parser, Subcommand};

pub use crate::cmd::run::{Origins, TestArgs};
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
    /// Guest images for the cloud-hypervisor environment.
    #[command(subcommand)]
    Image(cmd::image::ImageCommand),
}
