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

/// Memory a history takes per byte of its file while it is checked (as `squall check`
/// measures it): a history needing more than the checker's budget is not read back.
const HISTORY_BYTES_PER_FILE_BYTE: u64 = 8;

/// Faults drawn at most to count a plan's faults (a plan of months has millions).
const FAULTS_COUNTED: usize = 100_000;

/// How many faults the plan has, as words: `12`, or `over 100000`.
fn planned_faults(plan: &Plan) -> (usize, String) {
    let n = plan.faults().take(FAULTS_COUNTED + 1).count();
    if n > FAULTS_COUNTED {
        (n, format!("over {FAULTS_COUNTED}"))
    } else {
        (n, n.to_string())
    }
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
    let opts = checkers::CheckOptions {
        model: checkers::ModelKind::CasRegister,
        initial: serde_json::Value::Null,
        independent: true,
        time_limit: Some(std::time::Duration::from_secs(300)),
        ..Default::default()
    };
    let path = dir.file("history.jsonl");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let (report, events) = if size.saturating_mul(HISTORY_BYTES_PER_FILE_BYTE)
        > opts.memory_limit_bytes
    {
        // Holding a history this long to check it would take more memory than the checker's
        // budget: the verdict is unknown, and the history stays for `squall check`.
        let cause = format!(
            "the history ({} MiB) is too long to check within the memory budget of {} MiB; \
             check it with `squall check --memory-limit SIZE {}`",
            size >> 20,
            opts.memory_limit_bytes >> 20,
            path.display()
        );
        let report = checkers::Report {
            valid: Validity::Unknown,
            model: opts.model.name().to_string(),
            ops: 0,
            keys: 0,
            check_ms: 0,
            cause: Some(cause),
            counterexample: None,
        };
        (report, None)
    } else {
        let parsed = histories::jsonl::read_jsonl_file(&path)?;
        for w in &parsed.warnings {
            say(&format!("warning: {w}"));
        }
        let history = parsed.history;
        let edn = std::fs::File::create(dir.file("history.edn")).context("write history.edn")?;
        histories::edn::write_edn(&history, std::io::BufWriter::new(edn))
            .context("write history.edn")?;
        let report = checkers::check(&history, &opts);
        // A page a person can read: each process's ops on a time axis, the failing op, the
        // partial linearization. A history that cannot be paired still gets its verdict and
        // cause.
        let ops = checkers::operations(&history).unwrap_or_default();
        let title = format!("{} seed {}", cfg.test_name(), plan.seed);
        std::fs::write(
            dir.file("report.html"),
            checkers::render_html(&title, &ops, &report),
        )
        .context("write report.html")?;
        (report, Some(history.len()))
    };
    let (lags, delays) = (&stats.lags_ns, &stats.fault_delays_ns);
    // The faults that ran (were put in force), which an interrupted run counts short.
    let ran = stats.faults;
    let (planned, planned_words) = planned_faults(plan);
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
            "events": events,
            "test_phase_s": stats.test_phase.as_secs_f64(),
            "lag_p50_us": lags.percentile(50.0) as f64 / 1e3,
            "lag_p99_us": lags.percentile(99.0) as f64 / 1e3,
            "faults": ran,
            "faults_planned": planned,
            "fault_delay_max_us": delays.max() as f64 / 1e3,
            "fault_delay_p50_us": delays.percentile(50.0) as f64 / 1e3,
            "fault_errors": stats.fault_errors,
            "fault_error_count": stats.fault_error_count,
            "cut_workers": stats.cut_workers,
            "plan_complete": stats.plan_complete,
            "node_exits": stats.node_exits,
        },
        "rerun": rerun,
    });
    std::fs::write(
        dir.file("results.json"),
        serde_json::to_string_pretty(&results)? + "\n",
    )
    .context("write results.json")?;

    let faults = if ran as usize == planned {
        format!("{ran} faults")
    } else {
        format!("{ran} of {planned_words} planned faults")
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
        if dir.file("report.html").exists() {
            say(&format!("report: {}", dir.file("report.html").display()));
        }
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
            "faults_planned": planned_faults(plan).0,
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
