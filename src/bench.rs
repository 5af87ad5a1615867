//! `squall bench`: figures for the runner itself, not for a system under test.
//!
//! 1. Throughput and scheduling lag: the real runner and recorder (every event written to a
//!    history file as it happens) drive an in-process no-op system — first at a fixed rate
//!    (50,000 ops/s planned: how late does each op start?), then unthrottled (every op due
//!    at once: how many ops/s can the runner record?).
//! 2. Fault delay: a plan of partitions only, applied to a real local environment (network
//!    namespaces, FIB rules; root needed): from each partition's planned time to its rules
//!    being in force.

use crate::cli::BenchArgs;
use crate::config::TestConfig;
use crate::plan::{self, Plan};
use crate::recorder::Recorder;
use crate::report::percentile;
use crate::run::exit;
use crate::runner::{self, RunOptions, RunStats, Say};
use anyhow::{Context, Result};
use nemeses::{FaultTarget, NemesisError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use workloads::{BoxFuture, Client, ClientOp, OpFn, Outcome};

/// A system that does nothing, at once.
struct Noop;

impl Client for Noop {
    fn invoke<'a>(&'a self, op: &'a ClientOp) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match op.f {
                OpFn::Read => Outcome::Ok(Some(0)),
                _ => Outcome::Ok(None),
            }
        })
    }
}

/// A fault target with nothing to fault.
struct NoTarget(usize);

impl FaultTarget for NoTarget {
    fn node_count(&self) -> usize {
        self.0
    }
    fn node_name(&self, node: usize) -> String {
        format!("n{}", node + 1)
    }
    fn block(&self, _: usize, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn unblock(&self, _: usize, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn pause(&self, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn resume(&self, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn kill(&self, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn restart(&self, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn heal_all(&self) -> Result<(), NemesisError> {
        Ok(())
    }
}

fn quiet_say() -> Say {
    Arc::new(|_msg: String| {})
}

fn execute(
    rt: &tokio::runtime::Runtime,
    plan: &Plan,
    clients: Vec<(Arc<dyn Client>, String)>,
    target: Arc<dyn FaultTarget>,
    history: &std::path::Path,
) -> Result<(RunStats, u64)> {
    let recorder = Arc::new(Recorder::create(history, Instant::now())?);
    let (_tx, stop) = watch::channel(false);
    let opts = RunOptions {
        quiet: Duration::ZERO,
        op_timeout: Duration::from_secs(5),
    };
    let stats = rt.block_on(runner::execute(
        plan,
        clients,
        target,
        recorder.clone(),
        &opts,
        stop,
        quiet_say(),
    ));
    Ok((stats, recorder.events()))
}

/// Runs the benchmark; prints its figures.
pub fn bench(args: &BenchArgs) -> Result<i32> {
    let dir = std::env::temp_dir().join(format!("sqbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("create the bench folder")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "squall bench — {cores} cores, {} workers, in-process no-op system, full recording",
        args.concurrency
    );

    let clients = || -> Vec<(Arc<dyn Client>, String)> {
        (0..args.concurrency)
            .map(|w| (Arc::new(Noop) as Arc<dyn Client>, format!("n{}", w % 3 + 1)))
            .collect()
    };
    for (label, rate) in [("paced at 50000 ops/s", 50_000.0), ("unthrottled", 1e12)] {
        let cfg = TestConfig {
            concurrency: args.concurrency,
            time_limit: args.duration,
            rate,
            nemesis: vec![],
            keys: 10,
            ..TestConfig::default()
        };
        let planned = Instant::now();
        let plan = if rate > 1e9 {
            // Every op due at once: the runner's own speed is the only limit.
            let mut p = plan::build(
                1,
                &TestConfig {
                    rate: 50_000.0,
                    ..cfg.clone()
                },
            )?;
            for op in &mut p.ops {
                op.time = 0;
            }
            p
        } else {
            plan::build(1, &cfg)?
        };
        let plan_ms = planned.elapsed().as_secs_f64() * 1e3;
        let test_ops = plan
            .ops
            .iter()
            .filter(|o| o.phase == plan::Phase::Test)
            .count();
        let history = dir.join("history.jsonl");
        let (stats, events) = execute(&rt, &plan, clients(), Arc::new(NoTarget(3)), &history)?;
        let size = std::fs::metadata(&history).map(|m| m.len()).unwrap_or(0);
        let secs = stats.test_phase.as_secs_f64();
        let mut lags = stats.lags_ns.clone();
        println!("\n{label}: {test_ops} ops planned in {plan_ms:.0} ms");
        println!(
            "  throughput   {:>9.0} ops/s  ({} ops in {secs:.2} s, {events} events, {:.1} MB history)",
            test_ops as f64 / secs,
            test_ops,
            size as f64 / 1e6
        );
        if rate < 1e9 {
            println!(
                "  start lag    p50 {:.3} ms   p99 {:.3} ms   p99.9 {:.3} ms   max {:.3} ms",
                percentile(&mut lags, 50.0) as f64 / 1e6,
                percentile(&mut lags, 99.0) as f64 / 1e6,
                percentile(&mut lags, 99.9) as f64 / 1e6,
                percentile(&mut lags, 100.0) as f64 / 1e6,
            );
        }
    }

    if args.partitions > 0 {
        fault_delay(&dir, args.partitions)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
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
    plan.ops.clear();
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
        vec![(Arc::new(Noop), "n1".into())],
        target,
        &dir.join("faults.jsonl"),
    );
    drop(rt);
    if let Err(e) = env.teardown() {
        eprintln!("squall: teardown: {e} (run `squall clean`)");
    }
    let (stats, _) = result?;
    let mut d = stats.fault_delays_ns.clone();
    println!(
        "\npartition delay (planned → FIB rules in force, real namespaces): {} partitions",
        d.len()
    );
    println!(
        "  p50 {:.3} ms   p99 {:.3} ms   max {:.3} ms",
        percentile(&mut d, 50.0) as f64 / 1e6,
        percentile(&mut d, 99.0) as f64 / 1e6,
        percentile(&mut d, 100.0) as f64 / 1e6,
    );
    if !stats.fault_errors.is_empty() {
        println!("  errors: {}", stats.fault_errors.join("; "));
    }
    Ok(())
}
