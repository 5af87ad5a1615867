//! `squall.log`: the run's structured log (tracing, to a file in the run's store).
//! The console gets short progress lines instead (printed by the runner's `say`).

use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Mutex;

/// Sends `tracing` events (squall's at debug, others' at info) to `path`.
pub fn init(path: &Path) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SQUALL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,squall=debug"));
    // A second init (tests, bench) keeps the first subscriber: not an error.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(())
}
