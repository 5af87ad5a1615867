//! `squall check`: checks recorded histories (squall's JSONL, Jepsen EDN or a Jepsen log).
//!
//! Every file is read first: a file that cannot be read is an input error, reported on one
//! line naming `file:line`, and nothing is checked (exit 3). Then each file is checked on its
//! own, and reported as text or, with `--json`, as one JSON object per line; `--report DIR`
//! also writes each file's HTML page. The exit code merges the verdicts by priority: 1 if any
//! is invalid, else 2 if any is unknown, else 0.

use crate::cli::CheckArgs;
use crate::run::exit;
use anyhow::{anyhow, bail, Context, Result};
use checkers::{CheckOptions, Report, Validity};
use histories::{Event, Format, HistoryError};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How long `squall check` searches per file unless told otherwise (memory alone does not
/// bound a search: its memo forgets what lies furthest behind rather than give up).
const DEFAULT_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Memory a history takes per byte of its file while it is checked, parsed and paired into
/// the checker's operations, beyond the search's own budget (measured: a 100k-op JSONL
/// history of 16 MiB peaks at 112 MiB with a small search). A file needing more than the
/// memory limit is not read, so that the whole check stays within twice the limit.
const HISTORY_BYTES_PER_FILE_BYTE: u64 = 8;

/// Runs `squall check`; returns the exit code.
pub fn check(args: &CheckArgs) -> Result<i32> {
    let model = args.model;
    let format = match args.format.as_str() {
        "auto" => Format::Auto,
        "jsonl" => Format::Jsonl,
        "edn" => Format::Edn,
        "jepsen-log" => Format::JepsenLog,
        f => bail!("unknown format {f:?} (known: auto, jsonl, edn, jepsen-log)"),
    };
    let initial = match &args.initial {
        Some(s) => parse_initial(s)?,
        None => model.default_initial(),
    };
    let independent = match args.independent.as_str() {
        "auto" => None,
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        v => bail!("--independent {v:?}: expected auto, yes or no"),
    };
    let memory_limit = args
        .memory_limit
        .unwrap_or(CheckOptions::default().memory_limit_bytes);
    // Read every file first: a malformed one is an input error (exit 3) naming file:line.
    // Each is read again when its turn comes, so that only one is held at a time; one too
    // large for the memory budget is not read at all (its verdict is unknown).
    let mut too_large = BTreeSet::new();
    for f in &args.files {
        let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        if size.saturating_mul(HISTORY_BYTES_PER_FILE_BYTE) > memory_limit {
            too_large.insert(f);
            continue;
        }
        let p = histories::read_file(f, format).map_err(input_error)?;
        for w in &p.warnings {
            eprintln!("warning: {w}");
        }
    }
    let mut pages = Pages::default();
    let mut verdict = Validity::Valid;
    for file in &args.files {
        if too_large.contains(file) {
            let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            let cause = format!(
                "the history file ({} MiB) may take up to {} MiB parsed, more than the memory \
                 budget of {} MiB (--memory-limit)",
                size >> 20,
                size.saturating_mul(HISTORY_BYTES_PER_FILE_BYTE) >> 20,
                memory_limit >> 20
            );
            verdict = verdict.merge(Validity::Unknown);
            if args.json {
                let v = json!({"file": file.display().to_string(), "valid": "unknown",
                    "model": model.name(), "ops": 0, "check_ms": 0, "cause": cause});
                println!("{v}");
            } else {
                println!("{}: unknown", file.display());
                println!("unknown: {cause}");
            }
            continue;
        }
        let history = histories::read_file(file, format)
            .map_err(input_error)?
            .history;
        let independent = independent.unwrap_or_else(|| looks_independent(&history));
        let opts = CheckOptions {
            model,
            initial: initial.clone(),
            independent,
            // 0 means no limit.
            time_limit: match args.time_limit {
                Some(d) if d.is_zero() => None,
                Some(d) => Some(d),
                None => Some(DEFAULT_TIME_LIMIT),
            },
            memory_limit_bytes: memory_limit,
        };
        let report = checkers::check(&history, &opts);
        verdict = verdict.merge(report.valid);
        let page = match &args.report {
            Some(dir) => Some(pages.write(dir, file, &history, &report)?),
            None => None,
        };
        if args.json {
            let mut v = serde_json::to_value(&report)?;
            v["file"] = json!(file.display().to_string());
            if let Some(page) = &page {
                v["report"] = json!(page.display().to_string());
            }
            println!("{v}");
        } else {
            println!("{}: {}", file.display(), report.valid.as_str());
            println!("{report}");
            if let Some(page) = &page {
                println!("  report: {}", page.display());
            }
        }
    }
    Ok(match verdict {
        Validity::Valid => exit::VALID,
        Validity::Invalid => exit::INVALID,
        Validity::Unknown => exit::UNKNOWN,
    })
}

/// A read error as one line: `file:line: message` where the error has a line.
fn input_error(e: HistoryError) -> anyhow::Error {
    match e {
        HistoryError::Parse {
            file,
            line,
            message,
        } => anyhow!("{file}:{line}: {message}"),
        HistoryError::UnknownType { file, line, found } => {
            anyhow!("{file}:{line}: unknown type {found}")
        }
        other => other.into(),
    }
}

/// `--initial`: JSON (`0`, `null`, `"x"`, `[1, 2]`) or EDN (`nil`, `:x`, `[1 nil]`), read the
/// way history values are (keywords become strings).
fn parse_initial(s: &str) -> Result<Value> {
    if let Ok(v) = serde_json::from_str(s) {
        return Ok(v);
    }
    // An op map around it lets the history reader do the EDN.
    let op = format!("{{:type :invoke, :process 0, :f :initial, :value {s}}}");
    match histories::parse_edn(&op, "--initial").as_deref() {
        Ok([event]) => Ok(event.value.clone()),
        _ => bail!("--initial {s:?} is neither JSON nor an EDN value"),
    }
}

/// The HTML pages written so far, so that two files with the same stem get distinct pages.
#[derive(Default)]
struct Pages {
    written: BTreeSet<PathBuf>,
}

impl Pages {
    /// Writes `DIR/<stem>.html` (`<stem>-2.html`, ... if taken by an earlier file).
    fn write(
        &mut self,
        dir: &Path,
        file: &Path,
        history: &[Event],
        report: &Report,
    ) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let stem = file
            .file_stem()
            .map_or_else(|| "history".into(), |s| s.to_string_lossy().to_string());
        let mut path = dir.join(format!("{stem}.html"));
        let mut n = 1;
        while self.written.contains(&path) {
            n += 1;
            path = dir.join(format!("{stem}-{n}.html"));
        }
        // A history that cannot be paired still gets a page: its verdict and cause.
        let ops = checkers::operations(history).unwrap_or_default();
        let title = file.display().to_string();
        let html = checkers::render_html(&title, &ops, report);
        std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
        self.written.insert(path.clone());
        Ok(path)
    }
}

/// A history is keyed (Jepsen's `independent`) when every client op's value is a
/// two-element array whose first element is a key (a number or a string).
fn looks_independent(history: &[Event]) -> bool {
    let mut client_ops = history
        .iter()
        .filter(|e| e.process.client().is_some())
        .peekable();
    client_ops.peek().is_some()
        && client_ops.all(|e| {
            e.value
                .as_array()
                .is_some_and(|a| a.len() == 2 && (a[0].is_number() || a[0].is_string()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_values() {
        let cases = [
            ("0", json!(0)),
            ("null", Value::Null),
            ("nil", Value::Null),
            (":x", json!("x")),
            ("\"x\"", json!("x")),
            ("[1 nil]", json!([1, null])),
            ("[1, 2]", json!([1, 2])),
        ];
        for (s, want) in cases {
            assert_eq!(parse_initial(s).unwrap(), want, "{s}");
        }
        for bad in ["[1", "{:a", "1 2", ""] {
            assert!(parse_initial(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn read_errors_name_file_and_line() {
        let e = input_error(HistoryError::Parse {
            file: "h.jsonl".into(),
            line: 3,
            message: "expected value".into(),
        });
        assert_eq!(e.to_string(), "h.jsonl:3: expected value");
    }
}
