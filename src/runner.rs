//! The runner: executes a plan in real time and records what happened.
//!
//! The plan says what to do and when; reality decides how long it takes and what comes
//! back. Each worker runs its ops in plan order: an op starts at its planned time, or when
//! the worker's previous op returns, whichever is later (the difference between when it
//! could start and when it did is the *scheduling lag*, which the benchmark measures).
//! A worker whose op ended `info` continues under a fresh process id (old + concurrency),
//! as in Jepsen, since the old process may still be acting.
//!
//! Phases: setup ops (all workers, then a barrier); the test phase, with the nemesis task
//! starting and healing faults at their planned times; then every fault healed, a quiet
//! period, and the final ops. Ctrl-C (or SIGTERM) stops every task at once: in-flight ops
//! are recorded `info`, fault guards heal as they drop, and the run returns `interrupted`.

use crate::plan::{Phase, Plan, PlanOp};
use crate::recorder::Recorder;
use crate::timer;
use histories::{EventType, Process};
use nemeses::{FaultGuard, FaultTarget};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use workloads::{Client, Outcome};

/// Options of one execution.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Quiet period between the final heal and the final ops.
    pub quiet: Duration,
    /// An op not answered within this (plus a grace second, for clients that enforce it
    /// themselves) is `info`.
    pub op_timeout: Duration,
}

/// What an execution measured.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Client ops completed (any outcome), all phases.
    pub ops: u64,
    /// Of which `info`.
    pub info: u64,
    /// Scheduling lag of each test-phase op, ns.
    pub lags_ns: Vec<u64>,
    /// For each fault: planned start → in force, ns.
    pub fault_delays_ns: Vec<u64>,
    /// Length of the test phase as executed.
    pub test_phase: Duration,
    /// Stopped early by a signal.
    pub interrupted: bool,
    /// Faults that could not be started or healed, as messages.
    pub fault_errors: Vec<String>,
    /// Nodes that stopped on their own during the run (not by a fault), as messages.
    pub node_exits: Vec<String>,
}

/// Things the runner tells a person as they happen (faults, phases).
pub type Say = Arc<dyn Fn(String) + Send + Sync>;

/// One worker's connection and identity.
struct Worker {
    id: usize,
    process: u64,
    client: Arc<dyn Client>,
    node: String,
}

struct WorkerResult {
    worker: Worker,
    ops: u64,
    info: u64,
    lags: Vec<u64>,
}

/// Executes `plan`. `clients[w]` is worker `w`'s client, bound to node `nodes[w]`.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    plan: &Plan,
    clients: Vec<(Arc<dyn Client>, String)>,
    target: Arc<dyn FaultTarget>,
    recorder: Arc<Recorder>,
    opts: &RunOptions,
    stop: watch::Receiver<bool>,
    say: Say,
) -> RunStats {
    let mut workers: Vec<Worker> = clients
        .into_iter()
        .enumerate()
        .map(|(id, (client, node))| Worker {
            id,
            process: id as u64,
            client,
            node,
        })
        .collect();
    let mut stats = RunStats::default();

    // Setup.
    say("setup: writing initial values".into());
    workers = run_phase(
        plan,
        Phase::Setup,
        workers,
        None,
        &recorder,
        opts,
        &stop,
        &mut stats,
    )
    .await;
    if *stop.borrow() {
        stats.interrupted = true;
        return stats;
    }

    // Test phase, with the nemesis.
    let t0 = Instant::now();
    say(format!(
        "test phase: {} ops, {} faults",
        plan.ops.iter().filter(|o| o.phase == Phase::Test).count(),
        plan.faults.len()
    ));
    let nemesis = tokio::spawn(run_nemesis(
        plan.clone(),
        target.clone(),
        recorder.clone(),
        t0,
        stop.clone(),
        say.clone(),
    ));
    workers = run_phase(
        plan,
        Phase::Test,
        workers,
        Some(t0),
        &recorder,
        opts,
        &stop,
        &mut stats,
    )
    .await;
    let (delays, errors) = nemesis
        .await
        .unwrap_or_else(|e| (Vec::new(), vec![e.to_string()]));
    stats.fault_delays_ns = delays;
    stats.fault_errors.extend(errors);
    stats.test_phase = t0.elapsed();

    // Heal everything, even what no guard knows about (belt and braces).
    let t = target.clone();
    let err = nemesis_call(&recorder, "heal-all", serde_json::Value::Null, move || {
        t.heal_all()
    })
    .await
    .err();
    if let Some(e) = err {
        say(format!("heal-all failed: {e}"));
        stats.fault_errors.push(format!("heal-all: {e}"));
    } else {
        say("all faults healed".into());
    }
    if *stop.borrow() {
        stats.interrupted = true;
        return stats;
    }

    // Quiet, then final ops.
    say(format!("quiet for {:?}, then final reads", opts.quiet));
    let mut s = stop.clone();
    tokio::select! {
        _ = tokio::time::sleep(opts.quiet) => {}
        _ = s.wait_for(|v| *v) => {}
    }
    if !*stop.borrow() {
        run_phase(
            plan,
            Phase::Final,
            workers,
            None,
            &recorder,
            opts,
            &stop,
            &mut stats,
        )
        .await;
    }
    recorder.sync();
    stats.interrupted = *stop.borrow();
    stats
}

/// Runs one phase on all workers concurrently and waits for them.
#[allow(clippy::too_many_arguments)]
async fn run_phase(
    plan: &Plan,
    phase: Phase,
    workers: Vec<Worker>,
    t0: Option<Instant>,
    recorder: &Arc<Recorder>,
    opts: &RunOptions,
    stop: &watch::Receiver<bool>,
    stats: &mut RunStats,
) -> Vec<Worker> {
    let concurrency = workers.len() as u64;
    let mut tasks = Vec::new();
    for w in workers {
        let ops = plan.worker_ops(phase, w.id);
        tasks.push(tokio::spawn(run_worker(
            w,
            ops,
            t0,
            concurrency,
            recorder.clone(),
            opts.op_timeout + Duration::from_secs(1),
            stop.clone(),
        )));
    }
    let mut out = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => {
                stats.ops += r.ops;
                stats.info += r.info;
                if phase == Phase::Test {
                    stats.lags_ns.extend(r.lags);
                }
                out.push(r.worker);
            }
            Err(e) => panic!("worker task failed: {e}"),
        }
    }
    out.sort_by_key(|w| w.id);
    out
}

async fn run_worker(
    mut w: Worker,
    ops: Vec<PlanOp>,
    t0: Option<Instant>,
    concurrency: u64,
    recorder: Arc<Recorder>,
    timeout: Duration,
    mut stop: watch::Receiver<bool>,
) -> WorkerResult {
    let mut lags = Vec::with_capacity(ops.len());
    let mut done = 0u64;
    let mut info = 0u64;
    let mut ready = Instant::now();
    for p in ops {
        if *stop.borrow() {
            break;
        }
        if let Some(t0) = t0 {
            let due = t0 + Duration::from_nanos(p.time);
            if due > Instant::now() {
                tokio::select! {
                    _ = timer::sleep_until(due) => {}
                    _ = stop.wait_for(|v| *v) => break,
                }
            }
            let now = Instant::now();
            lags.push(now.saturating_duration_since(due.max(ready)).as_nanos() as u64);
        }
        let f = p.op.f.as_str();
        let process = Process::Client(w.process);
        recorder.record(
            EventType::Invoke,
            process,
            f,
            p.op.history_value(),
            None,
            Some(&w.node),
        );
        let outcome = tokio::select! {
            o = tokio::time::timeout(timeout, w.client.invoke(&p.op)) => {
                o.unwrap_or_else(|_| Outcome::Info("timeout".into()))
            }
            _ = stop.wait_for(|v| *v) => Outcome::Info("interrupted".into()),
        };
        let (kind, value, error) = match outcome {
            Outcome::Ok(read) => {
                let value = match p.op.f {
                    workloads::OpFn::Read => serde_json::json!([p.op.key, read]),
                    _ => p.op.history_value(),
                };
                (EventType::Ok, value, None)
            }
            Outcome::Fail(e) => (EventType::Fail, p.op.history_value(), Some(e)),
            Outcome::Info(e) => (EventType::Info, p.op.history_value(), Some(e)),
        };
        recorder.record(kind, process, f, value, error, Some(&w.node));
        done += 1;
        if kind == EventType::Info {
            info += 1;
            w.process += concurrency;
        }
        ready = Instant::now();
    }
    WorkerResult {
        worker: w,
        ops: done,
        info,
        lags,
    }
}

/// Starts and heals the plan's faults at their times. Returns each fault's delay from its
/// planned start to being in force, and the errors met.
async fn run_nemesis(
    plan: Plan,
    target: Arc<dyn FaultTarget>,
    recorder: Arc<Recorder>,
    t0: Instant,
    mut stop: watch::Receiver<bool>,
    say: Say,
) -> (Vec<u64>, Vec<String>) {
    let mut delays = Vec::new();
    let mut errors = Vec::new();
    for f in &plan.faults {
        let due = t0 + Duration::from_nanos(f.start);
        tokio::select! {
            _ = timer::sleep_until(due) => {}
            _ = stop.wait_for(|v| *v) => break,
        }
        let Some(nemesis) = nemeses::by_name(&f.nemesis) else {
            errors.push(format!("unknown nemesis {}", f.nemesis));
            continue;
        };
        let start_f = format!("start-{}", f.nemesis);
        let desc = serde_json::Value::String(f.description.clone());
        let (n, params, t) = (nemesis.clone(), f.params.clone(), target.clone());
        let started = nemesis_call(&recorder, &start_f, desc.clone(), move || {
            FaultGuard::start(n, params, t)
        })
        .await;
        let delay = Instant::now().saturating_duration_since(due);
        let guard = match started {
            Ok(g) => {
                delays.push(delay.as_nanos() as u64);
                say(format!(
                    "fault  {} — in force at {:.2}s",
                    f.description,
                    (f.start as f64 / 1e9) + delay.as_secs_f64()
                ));
                Some(g)
            }
            Err(e) => {
                say(format!("fault  {} — could not start: {e}", f.description));
                errors.push(format!("{}: {e}", f.description));
                None
            }
        };
        let heal_due = t0 + Duration::from_nanos(f.heal);
        let stopped = tokio::select! {
            _ = timer::sleep_until(heal_due) => false,
            _ = stop.wait_for(|v| *v) => true,
        };
        if let Some(g) = guard {
            let stop_f = format!("stop-{}", f.nemesis);
            let err = nemesis_call(&recorder, &stop_f, desc, move || g.heal())
                .await
                .err();
            match err {
                None => say(format!("healed {}", f.description)),
                Some(e) => {
                    say(format!("healing {} failed: {e}", f.description));
                    errors.push(format!("heal {}: {e}", f.description));
                }
            }
        }
        if stopped {
            break;
        }
    }
    (delays, errors)
}

/// Records a nemesis operation around `op` (run on the blocking pool: environments are
/// synchronous): an `invoke`, then an `info` carrying the error if any (Jepsen records
/// nemesis completions as `info`), then an fsync — fault boundaries are where a crash would
/// hurt most.
async fn nemesis_call<T: Send + 'static>(
    recorder: &Recorder,
    f: &str,
    value: serde_json::Value,
    op: impl FnOnce() -> Result<T, nemeses::NemesisError> + Send + 'static,
) -> Result<T, String> {
    recorder.record(
        EventType::Invoke,
        Process::Nemesis,
        f,
        value.clone(),
        None,
        None,
    );
    let result = match tokio::task::spawn_blocking(op).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let error = result.as_ref().err().cloned();
    recorder.record(EventType::Info, Process::Nemesis, f, value, error, None);
    recorder.sync();
    result
}
