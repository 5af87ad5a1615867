//! The soak's summary written out: `soak.json` and `index.html` in its folder, and the
//! JUnit XML where asked.

use super::layout::SoakDir;
use super::summary::Summary;
use anyhow::{Context, Result};
use std::path::Path;

/// Writes `summary`'s `soak.json` and `index.html` into `dir`, and its JUnit XML to `junit`
/// if given.
pub fn write(summary: &Summary, dir: &SoakDir, junit: Option<&Path>) -> Result<()> {
    let json = dir.file("soak.json");
    std::fs::write(&json, serde_json::to_string_pretty(summary)? + "\n")
        .with_context(|| format!("write {}", json.display()))?;
    let index = dir.file("index.html");
    std::fs::write(&index, super::html::render(summary, &dir.path))
        .with_context(|| format!("write {}", index.display()))?;
    if let Some(path) = junit {
        std::fs::write(path, super::junit::render(summary))
            .with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}
