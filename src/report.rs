//! The end of a run: read the history back, write its EDN copy, check it, write
//! `results.json`, and tell the person the verdict (and, if it is not valid, how to rerun).

use crate::config::TestConfig;
use crate::plan::Plan;
use crate::run::exit;
use crate::runner::RunStats;
use crate::store::RunDir;
use anyhow::{Context, Result};
use checkers::Validity;
use serde_json::json;

/// Prints a line of the summary; a closed stdout (after SIGHUP) is not a reason to stop
/// before the cluster is torn down.
fn say(line: &str) {
    crate::interrupt::print_line(line);
}

/// The `p`-th percentile (0–100) of `v` (sorted in place), or 0 for none.
pub fn percentile(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Checks the recorded history and reports; returns the exit code.
pub fn finish(
    cfg: &TestConfig,
    plan: &Plan,
    dir: &RunDir,
    stats: &RunStats,
    rerun: &str,
    post_mortem: &dyn Fn() -> Vec<String>,
) -> Result<i32> {
    let parsed = histories::jsonl::read_jsonl_file(dir.file("history.jsonl"))?;
    for w in &parsed.warnings {
        println!("warning: {w}");
    }
    let history = parsed.history;
    let edn = std::fs::File::create(dir.file("history.edn")).context("write history.edn")?;
    histories::edn::write_edn(&history, std::io::BufWriter::new(edn))
        .context("write history.edn")?;

    let opts = checkers::CheckOptions {
        model: checkers::ModelKind::CasRegister,
        initial: serde_json::Value::Null,
        independent: true,
        time_limit: Some(std::time::Duration::from_secs(300)),
        ..Default::default()
    };
    let report = checkers::check(&history, &opts);
    // A page a person can read: each process's ops on a time axis, the failing op, the
    // partial linearization. A history that cannot be paired still gets its verdict and cause.
    let ops = checkers::operations(&history).unwrap_or_default();
    let title = format!("{} seed {}", cfg.test_name(), plan.seed);
    std::fs::write(
        dir.file("report.html"),
        checkers::render_html(&title, &ops, &report),
    )
    .context("write report.html")?;
    let mut lags = stats.lags_ns.clone();
    let mut delays = stats.fault_delays_ns.clone();
    // The faults that ran (were put in force), which an interrupted run counts short.
    let ran = stats.fault_delays_ns.len();
    let results = json!({
        "test": cfg.test_name(),
        "seed": plan.seed,
        "valid": report.valid,
        "verdict": report.valid.as_str(),
        "interrupted": stats.interrupted,
        "linearizable": report,
        "run": {
            "ops": stats.ops,
            "info": stats.info,
            "events": history.len(),
            "test_phase_s": stats.test_phase.as_secs_f64(),
            "lag_p50_us": percentile(&mut lags, 50.0) as f64 / 1e3,
            "lag_p99_us": percentile(&mut lags, 99.0) as f64 / 1e3,
            "faults": ran,
            "faults_planned": plan.faults.len(),
            "fault_delay_max_us": delays.iter().max().copied().unwrap_or(0) as f64 / 1e3,
            "fault_delay_p50_us": percentile(&mut delays, 50.0) as f64 / 1e3,
            "fault_errors": stats.fault_errors,
            "node_exits": stats.node_exits,
        },
        "rerun": rerun,
    });
    std::fs::write(
        dir.file("results.json"),
        serde_json::to_string_pretty(&results)? + "\n",
    )
    .context("write results.json")?;

    let planned = plan.faults.len();
    let faults = if ran == planned {
        format!("{ran} faults")
    } else {
        format!("{ran} of {planned} planned faults")
    };
    say(&format!(
        "{} ops ({} indeterminate), {faults}; history {}",
        stats.ops,
        stats.info,
        dir.file("history.jsonl").display()
    ));
    say(&report.to_string());
    let verdict = report.valid;
    if verdict == Validity::Invalid || cfg.post_mortem {
        for line in post_mortem() {
            say(&line);
        }
    }
    if stats.interrupted {
        say(&format!(
            "verdict: {} (interrupted: only part of the test ran)",
            verdict.as_str()
        ));
    } else {
        say(&format!("verdict: {}", verdict.as_str()));
    }
    if verdict != Validity::Valid || stats.interrupted {
        say(&format!("report: {}", dir.file("report.html").display()));
        say(&format!("rerun with: {rerun}"));
    }
    Ok(match (verdict, stats.interrupted) {
        (Validity::Invalid, _) => exit::INVALID,
        (_, true) => exit::ERROR,
        (Validity::Valid, false) => exit::VALID,
        (Validity::Unknown, false) => exit::UNKNOWN,
    })
}

/// The end of a run stopped before its test started (`why`: `interrupted by SIGINT before
/// the cluster was ready`): `results.json` says so, with no verdict; returns the exit code.
pub fn interrupted(
    cfg: &TestConfig,
    plan: &Plan,
    dir: &RunDir,
    why: &str,
    rerun: &str,
) -> Result<i32> {
    let results = json!({
        "test": cfg.test_name(),
        "seed": plan.seed,
        "valid": null,
        "verdict": null,
        "interrupted": true,
        "stopped": why,
        "run": {
            "ops": 0,
            "faults": 0,
            "faults_planned": plan.faults.len(),
        },
        "rerun": rerun,
    });
    let path = dir.file("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("write {}", path.display()))?;
    say(&format!("{why}: no verdict (the test did not start)"));
    say(&format!("results: {}", path.display()));
    say(&format!("rerun with: {rerun}"));
    Ok(exit::ERROR)
}
