//! The end of a run: read the history back, write its EDN copy, check it, write
//! `results.json` and `report.html`, and tell the person the verdict (and, if it is not
//! valid, how to rerun).
//!
//! Map of this module:
//! - this file: [`finish`] and [`interrupted`], the end of a run;
//! - [`page`]: `report.html`, the run's page, written from its folder alone;
//! - [`scan`]: a streaming pass over `history.jsonl` (ops paired, nemesis events);
//! - [`faults`]: the faults' intervals, from the nemesis events;
//! - [`availability`]: whether the cluster served (ok ops, the longest stretch without one);
//! - [`packet_latency`]: client latency on nodes a packet fault shaped;
//! - [`grid`]: what the plots keep of any number of ops, in bounded memory;
//! - [`plots`]: the latency and rate plots, as SVG; [`svg`]: their scales, ticks and frame;
//! - [`timeline`]: every op on a canvas, drawn by an inline script from data in the page.

pub mod availability;
pub mod faults;
pub mod grid;
pub mod packet_latency;
pub mod page;
pub mod plots;
pub mod scan;
pub mod svg;
pub mod timeline;

use crate::config::TestConfig;
use crate::exit;
use crate::plan::Plan;
use crate::runner::RunStats;
use crate::store::RunDir;
use anyhow::{Context, Result};
use checkers::Validity;
use serde_json::json;

/// Memory a history takes per byte of its file while it is checked, parsed and paired into
/// the checker's operations, beyond the search's own budget (measured: a 100k-op JSONL
/// history of 16 MiB peaks at 112 MiB with a small search). No more than the memory limit
/// over this is read from an input, so that the whole check stays within twice the limit.
pub const HISTORY_BYTES_PER_FILE_BYTE: u64 = 8;

/// Prints a line of the summary; a closed stdout (after SIGHUP) is not a reason to stop
/// before the cluster is torn down.
fn say(line: &str) {
    crate::interrupt::print_line(line);
}

/// The linearizability report among a verdict's parts, if that checker ran.
fn linearizability(verdict: &checkers::Verdict) -> Option<checkers::Report> {
    checkers::Linearizable::report_of(verdict)
        .or_else(|| verdict.results.iter().find_map(linearizability))
}

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
    let workload = crate::registry::get().test_workload(cfg)?;
    let memory_limit = checkers::CheckOptions::default().memory_limit_bytes;
    let path = dir.file("history.jsonl");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut packet = None;
    let mut served = None;
    let (verdict, events) = if size.saturating_mul(HISTORY_BYTES_PER_FILE_BYTE) > memory_limit {
        // Holding a history this long to check it would take more memory than the checker's
        // budget: the verdict is unknown, and the history stays for `squall check`.
        let cause = format!(
            "the history ({} MiB) is too long to check within the memory budget of {} MiB; \
             check it with `squall check --memory-limit SIZE {}`",
            size >> 20,
            memory_limit >> 20,
            path.display()
        );
        (checkers::Verdict::unknown("history", cause), None)
    } else {
        let parsed = histories::jsonl::read_jsonl_file(&path)?;
        for w in &parsed.warnings {
            say(&format!("warning: {w}"));
        }
        let history = parsed.history;
        packet = packet_latency::summarise(&history, &plan.names);
        served = availability::summarise(&history);
        let edn = std::fs::File::create(dir.file("history.edn")).context("write history.edn")?;
        histories::edn::write_edn(&history, std::io::BufWriter::new(edn))
            .context("write history.edn")?;
        // The workload's checkers, composed; one that panics is unknown, not a crash.
        let verdict = checkers::check_safe(workload.checker().as_ref(), &history);
        // The linearizability checker's own page, linked from the run's: the failing op,
        // the partial linearization. A history that cannot be paired still gets its
        // verdict and cause.
        if let Some(report) = linearizability(&verdict) {
            let ops = checkers::operations(&history).unwrap_or_default();
            let title = format!("{} seed {}", cfg.test_name(), plan.seed);
            std::fs::write(
                dir.file("linearizability.html"),
                checkers::render_html(&title, &ops, &report),
            )
            .context("write linearizability.html")?;
        }
        (verdict, Some(history.len()))
    };
    let (lags, delays) = (&stats.lags_ns, &stats.fault_delays_ns);
    // The faults that ran (were put in force), which an interrupted run counts short.
    let ran = stats.faults;
    let (planned, planned_words) = planned_faults(plan);
    let results = json!({
        "test": cfg.test_name(),
        "seed": plan.seed,
        "valid": verdict.valid,
        "verdict": verdict.valid.as_str(),
        "interrupted": stats.interrupted,
        "checks": verdict,
        "linearizable": linearizability(&verdict),
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
    let mut results = results;
    if let Some(p) = &packet {
        results["packet_latency"] = p.clone();
    }
    if let Some(a) = &served {
        results["availability"] = a.clone();
    }
    std::fs::write(
        dir.file("results.json"),
        serde_json::to_string_pretty(&results)? + "\n",
    )
    .context("write results.json")?;
    // What a post-mortem keeps (VM snapshots, node data) goes first, so the page links it.
    let kept = if verdict.valid == Validity::Invalid || cfg.post_mortem {
        post_mortem()
    } else {
        Vec::new()
    };
    // The history is read again as a stream: the page costs bounded memory however long
    // the run. A page that cannot be written is a warning, not a lost verdict.
    if let Err(e) = page::write(&dir.path) {
        say(&format!("warning: report.html not written: {e:#}"));
    }

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
    if let Some(a) = &served {
        say(&availability::line(a));
    }
    if let Some(p) = &packet {
        say(&packet_latency::line(p));
    }
    // Each checker's own line (a composed verdict's parts), then the merged verdict.
    if verdict.results.is_empty() {
        say(&verdict.to_string());
    }
    for part in &verdict.results {
        say(&part.to_string());
    }
    let verdict = verdict.valid;
    // One line: where each node's post-mortem went.
    if !kept.is_empty() {
        say(&format!("post-mortem: {}", kept.join("; ")));
    }
    if stats.interrupted {
        say(&format!(
            "verdict: {} (interrupted: only part of the test ran)",
            verdict.as_str()
        ));
    } else {
        say(&format!("verdict: {}", verdict.as_str()));
    }
    if dir.file("report.html").exists() {
        say(&format!("report: {}", dir.file("report.html").display()));
    }
    if verdict != Validity::Valid || stats.interrupted {
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
