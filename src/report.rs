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

/// Memory a history takes per byte of its file while it is checked (as `squall check`
/// measures it): a history needing more than the checker's budget is not read back.
const HISTORY_BYTES_PER_FILE_BYTE: u64 = 8;

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
            println!("warning: {w}");
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
            "faults": stats.faults,
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

    println!(
        "{} ops ({} indeterminate), {} faults; history {}",
        stats.ops,
        stats.info,
        stats.faults,
        dir.file("history.jsonl").display()
    );
    println!("{report}");
    let verdict = report.valid;
    if verdict == Validity::Invalid || cfg.post_mortem {
        for line in post_mortem() {
            println!("{line}");
        }
    }
    if stats.interrupted {
        println!(
            "verdict: {} (interrupted: only part of the test ran)",
            verdict.as_str()
        );
    } else {
        println!("verdict: {}", verdict.as_str());
    }
    if verdict != Validity::Valid || stats.interrupted {
        if dir.file("report.html").exists() {
            println!("report: {}", dir.file("report.html").display());
        }
        println!("rerun with: {rerun}");
    }
    Ok(match (verdict, stats.interrupted) {
        (Validity::Invalid, _) => exit::INVALID,
        (_, true) => exit::ERROR,
        (Validity::Valid, false) => exit::VALID,
        (Validity::Unknown, false) => exit::UNKNOWN,
    })
}
