//! `squall shrink RUN_DIR [--runs-per-candidate K] [--max-runs N] [--for DURATION]`: the
//! failing run's plan made smaller while it still fails ([`crate::shrink`]). Prints a line
//! per candidate; the result is `RUN_DIR/shrink/plan.jsonl`, which `squall run --plan`
//! (or `squall replay`) runs, with its account (`RUN_DIR/shrink/account.json`) and the best
//! candidate's runs (`RUN_DIR/shrink/best/`).
//!
//! Exit code: 0 when a result is written (the best found within the budget), 3 for bad
//! input, an interrupted shrink, or candidates whose runs give no verdict.

use crate::interrupt::{self, Stop};
use crate::shrink::search::{paths, Search};
use crate::shrink::{Budget, Parts, Runner};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `squall shrink`.
#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// The failing run's store folder (its plan.jsonl and results.json).
    pub run_dir: PathBuf,
    /// Run each candidate up to this many times; it fails if any run is invalid.
    #[arg(long, default_value_t = 3, value_name = "K")]
    pub runs_per_candidate: u32,
    /// Start at most this many runs in all.
    #[arg(long, default_value_t = 150, value_name = "N")]
    pub max_runs: u64,
    /// Start no run after this long, e.g. 30m; the best plan found by then is the result.
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::config::parse_duration)]
    pub for_: Option<Duration>,
    /// A candidate's runs at once [default: --runs-per-candidate].
    #[arg(long, value_name = "N")]
    pub parallel: Option<u32>,
    /// Where the nodes run [default: local].
    #[arg(long, value_enum)]
    pub env: Option<crate::config::EnvKind>,
    /// A plug-in's option for every run (e.g. `-o etcd.binary=PATH`).
    #[arg(short = 'o', long = "opt", value_name = "PLUG-IN.KEY=VALUE")]
    pub opt: Vec<String>,
}

/// Runs `squall shrink`; returns the exit code.
pub fn shrink(args: &ShrinkArgs) -> Result<i32> {
    // From the first instant, as `squall run`: INT, TERM and HUP stop the shrink (passed on
    // to the candidate's runs, which heal and tear down first).
    let stop = Stop::new();
    let notify: interrupt::Notify =
        Arc::new(|msg: String| interrupt::print_line(&format!("shrink: {msg}")));
    let _signals = interrupt::install(stop.clone(), notify).context("handle signals")?;
    if args.runs_per_candidate == 0 {
        bail!("--runs-per-candidate 0: want at least 1");
    }
    if args.parallel == Some(0) {
        bail!("--parallel 0: want at least 1");
    }
    let (from, dir) = paths(&args.run_dir);
    let results = args.run_dir.join("results.json");
    let verdict: serde_json::Value = std::fs::read_to_string(&results)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no results.json: not a run's folder, or its run gave no verdict",
                args.run_dir.display()
            )
        })?;
    if verdict["verdict"] != "invalid" {
        bail!(
            "{}: its verdict is {}, not invalid: nothing to shrink",
            results.display(),
            verdict["verdict"]
        );
    }
    if dir.exists() {
        bail!(
            "{} exists (an earlier shrink): remove it to shrink again",
            dir.display()
        );
    }
    let header = crate::plan::read::read_header(&from)?;
    // The whole file is checked as `run --plan` would, before any run starts.
    crate::plan::from_file(&from, &header, &header.cfg)?;
    let parts = Parts::of(&from, &header)?;
    let mut extra: Vec<std::ffi::OsString> = Vec::new();
    if let Some(e) = args.env {
        extra.push("--env".into());
        extra.push(
            clap::ValueEnum::to_possible_value(&e)
                .map(|v| v.get_name().to_string())
                .unwrap_or_default()
                .into(),
        );
    }
    for o in &args.opt {
        extra.push("-o".into());
        extra.push(o.into());
    }
    let runner = Runner {
        exe: crate::soak::pool::current_exe()?,
        extra,
        runs: args.runs_per_candidate,
        parallel: args.parallel.unwrap_or(args.runs_per_candidate),
    };
    let budget = Budget {
        used: 0,
        max_runs: args.max_runs,
        deadline: args.for_.map(|d| Instant::now() + d),
    };
    let say = |line: &str| interrupt::print_line(line);
    let search = Search::new(
        from.clone(),
        header,
        parts,
        dir.clone(),
        runner,
        budget,
        &stop,
        &say,
    )?;
    let o = search.original();
    say(&format!(
        "shrinking {} ({} faults, {} test ops, test phase {}): each candidate up to {} runs, \
         {} at once; at most {} runs{}",
        from.display(),
        o.faults,
        o.test_ops,
        crate::shrink::account::human(o.test_phase),
        args.runs_per_candidate,
        args.parallel.unwrap_or(args.runs_per_candidate),
        args.max_runs,
        args.for_
            .map(|d| format!(", none started after {}", crate::config::format_duration(d)))
            .unwrap_or_default()
    ));
    let account = search.run()?;
    let result = dir.join("plan.jsonl");
    say(&format!("shrunk: {}", account.line()));
    say(&format!("result: {}", result.display()));
    say(&format!(
        "rerun with: squall run --plan {}",
        crate::rerun::shell_word(&result.display().to_string())
    ));
    if let Some(why) = stop.reason() {
        say(&format!(
            "shrink: {why}: the best plan found so far is the result"
        ));
        return Ok(crate::exit::ERROR);
    }
    Ok(crate::exit::VALID)
}
