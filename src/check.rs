//! `squall check`: checks recorded histories (squall's JSONL or Jepsen EDN).

use crate::cli::CheckArgs;
use crate::run::exit;
use anyhow::{bail, Context, Result};
use checkers::{CheckOptions, ModelKind, Validity};
use histories::Format;
use serde_json::json;

/// Runs `squall check`; returns the exit code.
pub fn check(args: &CheckArgs) -> Result<i32> {
    let model = match args.model.as_str() {
        "cas-register" => ModelKind::CasRegister,
        "register" => ModelKind::Register,
        m => bail!("unknown model {m:?} (known: cas-register, register)"),
    };
    let format = match args.format.as_str() {
        "auto" => Format::Auto,
        "jsonl" => Format::Jsonl,
        "edn" => Format::Edn,
        f => bail!("unknown format {f:?} (known: auto, jsonl, edn)"),
    };
    let initial = match &args.initial {
        Some(s) => {
            serde_json::from_str(s).with_context(|| format!("--initial {s:?} is not JSON"))?
        }
        None => serde_json::Value::Null,
    };
    let independent = match args.independent.as_str() {
        "auto" => None,
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        v => bail!("--independent {v:?}: expected auto, yes or no"),
    };
    // Parse every file first: a malformed one is an input error (exit 3) naming file:line.
    let mut parsed = Vec::new();
    for f in &args.files {
        let p = histories::read_file(f, format)?;
        for w in &p.warnings {
            eprintln!("warning: {w}");
        }
        parsed.push((f, p.history));
    }
    let mut verdict = Validity::Valid;
    for (file, history) in parsed {
        let independent = independent.unwrap_or_else(|| looks_independent(&history));
        let opts = CheckOptions {
            model,
            initial: initial.clone(),
            independent,
            time_limit: args.time_limit,
            ..CheckOptions::default()
        };
        let report = checkers::check(&history, &opts);
        verdict = verdict.merge(report.valid);
        if args.json {
            let mut v = serde_json::to_value(&report)?;
            v["file"] = json!(file.display().to_string());
            println!("{v}");
        } else {
            println!("{}: {}", file.display(), report.valid.as_str());
            println!("{report}");
        }
    }
    Ok(match verdict {
        Validity::Valid => exit::VALID,
        Validity::Invalid => exit::INVALID,
        Validity::Unknown => exit::UNKNOWN,
    })
}

/// A history is keyed (Jepsen's `independent`) when every client op's value is a
/// two-element array whose first element is a key (a number or a string).
fn looks_independent(history: &[histories::Event]) -> bool {
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
