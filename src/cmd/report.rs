//! `squall report RUN_DIR`: writes a stored run's `report.html` again, from its folder
//! (after an upgrade of squall, or for a run whose page was lost).

use crate::exit;
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

/// Options of `squall report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run's store folder (holding its history.jsonl).
    pub run: PathBuf,
}

/// Writes `RUN_DIR/report.html`; returns the exit code.
pub fn report(args: &ReportArgs) -> Result<i32> {
    if !args.run.join("history.jsonl").is_file() {
        bail!(
            "{}: no history.jsonl (not a run's folder?)",
            args.run.display()
        );
    }
    let t = std::time::Instant::now();
    let bytes = crate::report::page::write(&args.run)?;
    println!(
        "report: {} ({:.1} MB, {:.1} s)",
        args.run.join("report.html").display(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    Ok(exit::VALID)
}
