//! `squall bench`: figures for the runner itself, not for a system under test.
//!
//! 1. Throughput and scheduling lag: the real runner and recorder (every event written to a
//!    history file as it happens) drive an in-process no-op system — first at a fixed rate
//!    (50,000 ops/s planned: how late does each op start?), then unthrottled (every op due
//!    at once: how many ops/s can the runner record?).
//! 2. Fault delay: a plan of partitions only, applied to a real local environment (network
//!    namespaces, FIB rules; root needed): from each partition's planned time to its rules
//!    being in force.
//!
//! `--soak D` instead runs one long test for `D` at `--rate` (2,000 ops/s unless told)
//! against the no-op system, with the default nemeses on a target that does nothing and the
//! plan file and history written as in a run, and prints the process's resident memory as it
//! goes: a run's memory must stay flat however long it lasts.

use crate::config::parse_duration;
use crate::config::TestConfig;
use crate::exit;
use crate::noop::{NoTarget, Noop};
use crate::plan::{self, OpTiming, Plan};
use crate::plan_file::PlanFile;
use crate::recorder::Recorder;
use crate::runner::{self, RunOptions, RunStats, Say};
use anyhow::{Context, Result};
use clap::Args;
use nemeses::FaultTarget;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use workloads::Client;

fn quiet_say() -> Say {
    Arc::new(|_msg: String| {})
}

/// Runs `plan` with the real runner and recorder, the plan file written beside the history
/// as in a run. `cut` as in [`RunOptions::cut_after`].
fn execute(
    rt: &tokio::runtime::Runtime,
    plan: &Plan,
    cfg: &TestConfig,
    clients: Vec<(Arc<dyn Client>, String)>,
    target: Arc<dyn FaultTarget>,
    history: &std::path::Path,
    cut: Option<Duration>,
) -> Result<(RunStats, u64)> {
    let recorder = Arc::new(Recorder::create(history, Instant::now())?);
    let plan_file = PlanFile::start(plan, cfg, &history.with_extension("plan.jsonl"))?;
    let (_tx, stop) = watch::channel(false);
    let opts = RunOptions {
        quiet: Duration::ZERO,
        op_timeout: Duration::from_secs(5),
        cut_after: cut,
        progress: plan_file.progress(),
    };
    let mut stats = rt.block_on(runner::execute(
        plan,
        clients,
        target,
        recorder.clone(),
        &opts,
        stop,
        quiet_say(),
    ));
    stats.plan_complete = plan_file.finish()?.complete;
    Ok((stats, recorder.events()))
}

fn noop_clients(n: usize) -> Vec<(Arc<dyn Client>, String)> {
    (0..n)
        .map(|w| (Arc::new(Noop) as Arc<dyn Client>, format!("n{}", w % 3 + 1)))
        .collect()
}

/// Runs the benchmark; prints its figures.
pub fn bench(args: &BenchArgs) -> Result<i32> {
    let dir = std::env::temp_dir().join(format!("sqbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("create the bench folder")?;
    let result = bench_in(args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench_in(args: &BenchArgs, dir: &std::path::Path) -> Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "squall bench — {cores} cores, {} workers, in-process no-op system, full recording",
        args.concurrency
    );
    if let Some(length) = args.soak {
        return soak(args, length, &rt, dir);
    }
    for (label, timing) in [
        ("paced at 50000 ops/s", OpTiming::Planned),
        ("unthrottled", OpTiming::AllAtStart),
    ] {
        let cfg = TestConfig {
            concurrency: args.concurrency,
            time_limit: args.duration,
            rate: 50_000.0,
            nemesis: vec![],
            keys: 10,
            ..TestConfig::default()
        };
        let mut plan = plan::build(1, &cfg)?;
        // Unthrottled: every op due at once, so the runner's own speed is the only limit.
        plan.timing = timing;
        let history = dir.join("history.jsonl");
        let (stats, events) = execute(
            &rt,
            &plan,
            &cfg,
            noop_clients(args.concurrency),
            Arc::new(NoTarget(3)),
            &history,
            None,
        )?;
        let size = std::fs::metadata(&history).map(|m| m.len()).unwrap_or(0);
        let secs = stats.test_phase.as_secs_f64();
        let test_ops = stats.lags_ns.count();
        println!("\n{label}: {test_ops} ops planned (drawn as they run)");
        println!(
            "  throughput   {:>9.0} ops/s  ({} ops in {secs:.2} s, {events} events, {:.1} MB history)",
            test_ops as f64 / secs,
            test_ops,
            size as f64 / 1e6
        );
        if timing == OpTiming::Planned {
            let lags = &stats.lags_ns;
            println!(
                "  start lag    p50 {:.3} ms   p99 {:.3} ms   p99.9 {:.3} ms   max {:.3} ms",
                lags.percentile(50.0) as f64 / 1e6,
                lags.percentile(99.0) as f64 / 1e6,
                lags.percentile(99.9) as f64 / 1e6,
                lags.percentile(100.0) as f64 / 1e6,
            );
        }
    }

    if args.partitions > 0 {
        fault_delay(dir, args.partitions)?;
    }
    Ok(exit::VALID)
}

/// This process's resident and peak resident memory, bytes (Linux `/proc/self/status`).
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `--soak`: one long run against the no-op system, its memory sampled as it goes.
fn soak(
    args: &BenchArgs,
    length: Duration,
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
) -> Result<i32> {
    let rate = args.rate.unwrap_or(2_000.0);
    let cfg = TestConfig {
        concurrency: args.concurrency,
        time_limit: length,
        rate,
        keys: 10,
        ..TestConfig::default()
    };
    cfg.validate()?;
    let plan = plan::build(1, &cfg)?;
    println!(
        "\nsoak: {} at {rate} ops/s (about {} ops), nemeses {} on a target that does nothing",
        crate::config::format_duration(length),
        plan.expected_test_ops(),
        cfg.nemesis.join(",")
    );
    let history = dir.join("history.jsonl");
    let every = (length / 20).clamp(Duration::from_secs(1), Duration::from_secs(300));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (done, history) = (done.clone(), history.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut samples = Vec::new();
            let mut next = start + every;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if Instant::now() < next {
                    continue;
                }
                next += every;
                let (now, _) = rss();
                let size = std::fs::metadata(&history).map(|m| m.len()).unwrap_or(0);
                println!(
                    "  {:>7.0} s   rss {:>7.1} MB   history {:>9.1} MB",
                    start.elapsed().as_secs_f64(),
                    now as f64 / 1e6,
                    size as f64 / 1e6
                );
                samples.push(now);
            }
            samples
        })
    };
    let (stats, events) = execute(
        rt,
        &plan,
        &cfg,
        noop_clients(args.concurrency),
        Arc::new(NoTarget(3)),
        &history,
        Some(crate::runner::cut_after(length)),
    )?;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let samples = sampler.join().unwrap_or_default();
    let (end, peak) = rss();
    let first = samples.first().copied().unwrap_or(end);
    let size = std::fs::metadata(&history).map(|m| m.len()).unwrap_or(0);
    println!(
        "  {} ops ({events} events, {:.0} MB history), {} faults, lag p50 {:.3} ms p99 {:.3} ms{}",
        stats.ops,
        size as f64 / 1e6,
        stats.faults,
        stats.lags_ns.percentile(50.0) as f64 / 1e6,
        stats.lags_ns.percentile(99.0) as f64 / 1e6,
        if stats.plan_complete {
            ""
        } else {
            ", plan cut"
        }
    );
    println!(
        "  rss: first sample {:.1} MB, last {:.1} MB, peak {:.1} MB (growth after the first sample {:+.1} MB)",
        first as f64 / 1e6,
        end as f64 / 1e6,
        peak as f64 / 1e6,
        (samples.iter().copied().max().unwrap_or(end).max(end) as f64 - first as f64) / 1e6
    );
    Ok(exit::VALID)
}

/// Partition delay against a real local environment (root only).
fn fault_delay(dir: &std::path::Path, partitions: usize) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("\npartition delay: skipped (needs root for network namespaces)");
        return Ok(());
    }
    let cfg = TestConfig {
        nemesis: vec!["partition".into()],
        time_limit: Duration::from_millis(100 * partitions as u64 + 100),
        fault_duration: (Duration::from_millis(50), Duration::from_millis(50)),
        healthy_duration: (Duration::from_millis(50), Duration::from_millis(50)),
        rate: 1.0,
        concurrency: 1,
        ..TestConfig::default()
    };
    let mut plan = plan::build(2, &cfg)?;
    plan.timing = OpTiming::NoOps;
    let run_id = format!("b{:05x}", std::process::id() & 0xfffff);
    let logs = (0..3).map(|i| dir.join(format!("n{i}.log"))).collect();
    let env = Arc::new(crate::env::local::LocalEnv::create(
        &run_id,
        plan.names.clone(),
        logs,
    )?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let target: Arc<dyn FaultTarget> = env.clone();
    let result = execute(
        &rt,
        &plan,
        &cfg,
        vec![(Arc::new(Noop), "n1".into())],
        target,
        &dir.join("faults.jsonl"),
        None,
    );
    drop(rt);
    if let Err(e) = env.teardown() {
        eprintln!("squall: teardown: {e} (run `squall clean`)");
    }
    let (stats, _) = result?;
    let d = &stats.fault_delays_ns;
    println!(
        "\npartition delay (planned → FIB rules in force, real namespaces): {} partitions",
        d.count()
    );
    println!(
        "  p50 {:.3} ms   p99 {:.3} ms   max {:.3} ms",
        d.percentile(50.0) as f64 / 1e6,
        d.percentile(99.0) as f64 / 1e6,
        d.percentile(100.0) as f64 / 1e6,
    );
    if !stats.fault_errors.is_empty() {
        println!("  errors: {}", stats.fault_errors.join("; "));
    }
    Ok(())
}

/// Options of `squall bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// How long to drive the no-op system.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Workers.
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
    /// Partitions to apply for the fault-delay measurement (needs root; 0 skips it).
    #[arg(long, default_value_t = 20)]
    pub partitions: usize,
    /// Instead: one run of this length (e.g. 1h) against the no-op system, printing the
    /// process's memory as it goes.
    #[arg(long, value_parser = parse_duration)]
    pub soak: Option<Duration>,
    /// Ops per second for --soak [default: 2000].
    #[arg(long)]
    pub rate: Option<f64>,
}
