//! `squall export`: a history in another format, on stdout.

use clap::Args;
use std::path::PathBuf;

/// Options of `squall export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format: csv, edn, jsonl.
    #[arg(long, default_value = "csv")]
    pub to: String,
    /// The history file.
    pub file: PathBuf,
}

/// Runs `squall export`; returns the exit code.
pub fn export(args: &ExportArgs) -> anyhow::Result<i32> {
    let parsed = histories::read_file(&args.file, histories::Format::Auto)?;
    for w in &parsed.warnings {
        eprintln!("warning: {w}");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.to.as_str() {
        "csv" => histories::write_csv(&parsed.history, &mut out)?,
        "edn" => histories::write_edn(&parsed.history, &mut out)?,
        "jsonl" => {
            for e in &parsed.history {
                histories::write_jsonl_line(&mut out, e)?;
            }
        }
        other => anyhow::bail!("unknown export format {other:?} (known: csv, edn, jsonl)"),
    }
    std::io::Write::flush(&mut out)?;
    Ok(crate::exit::VALID)
}
