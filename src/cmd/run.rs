//! `squall run`: a seeded test against a real cluster (or, with `--plan FILE`, a plan file
//! as written: [`crate::cmd::run_plan`]).

use crate::interrupt::{self, Stop};
use crate::runner::Say;
use anyhow::{Context, Result};
use std::sync::Arc;

pub use crate::cmd::test_args::{apply_opts, parse_nemeses, TestArgs};
pub use crate::origins::Origins;

/// Runs a test; returns the exit code.
///
/// From its first line INT, TERM and HUP stop the run instead of ending the process (see
/// [`crate::interrupt`]): whatever was made by then is healed and torn down, and an
/// interrupted run returns [`exit::ERROR`]. Once the store's run folder exists, an
/// interrupted run still writes `results.json` (interrupted, with or without a verdict).
pub fn run(args: &TestArgs) -> Result<i32> {
    let stop = Stop::new();
    let say: Say = Arc::new(|msg: String| {
        tracing::info!("{msg}");
        interrupt::print_line(&msg);
    });
    let _signals = interrupt::install(stop.clone(), say.clone()).context("handle signals")?;
    if let Some(file) = &args.plan {
        return crate::cmd::run_plan::run_plan(args, file, &stop, &say);
    }
    let (cfg, origins) = args.config_with_origins()?;
    let seed = args.seed.unwrap_or_else(crate::run::random_seed);
    crate::run::run_test(&cfg, &origins, seed, args.test.as_deref(), &stop, &say)
}
