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
//! period, and the final ops.
//!
//! Memory does not grow with the run: each worker draws its ops from the plan as it goes,
//! the statistics are fixed-size histograms, and the plan file's writer is told how far the
//! run has got ([`Progress`]). A worker that has fallen so far behind its plan that the
//! test phase's time limit (plus [`RunOptions::cut_after`]'s grace) has passed stops
//! there: its remaining planned ops are not run, and the run says so (`cut`). Ctrl-C (or SIGTERM) stops every task at once: in-flight ops
//! are recorded `info`, fault guards heal as they drop, and the run returns `interrupted`.

use crate::histogram::Histogram;
use crate::plan::{Phase, Plan, PlanOp, Stream};
use crate::plan_file::Progress;
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
    /// No test op starts later than this after the test phase began (the time limit plus
    /// a grace for workers that are behind); `None`: every planned op runs, however late.
    pub cut_after: Option<Duration>,
    /// Where the run tells the plan file's writer how far it has got.
    pub progress: Arc<Progress>,
}

/// How long after the start of the test phase a worker still starts its planned ops: the
/// time limit, and a grace for a worker that fell behind (ops timing out under a fault) to
/// catch up — a tenth of the time limit, at least 10 s. A worker later than that has
/// fallen too far behind its plan (a rate the system cannot sustain) and stops.
pub fn cut_after(time_limit: std::time::Duration) -> std::time::Duration {
    time_limit.saturating_add((time_limit / 10).max(std::time::Duration::from_secs(10)))
}
/// At most this many fault errors are kept as messages (the rest are counted).
const FAULT_ERRORS_KEPT: usize = 100;

/// What an execution measured.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Client ops completed (any outcome), all phases.
    pub ops: u64,
    /// Of which `info`.
    pub info: u64,
    /// Scheduling lag of the test-phase ops, ns.
    pub lags_ns: Histogram,
    /// Faults started.
    pub faults: u64,
    /// Faults' delays from planned start to in force, ns.
    pub fault_delays_ns: Histogram,
    /// Workers that stopped at the time limit with planned ops not run (they had fallen
    /// behind the plan).
    pub cut_workers: u64,
    /// Length of the test phase as executed.
    pub test_phase: Duration,
    /// Stopped early by a signal.
    pub interrupted: bool,
    /// Faults that could not be started or healed, as messages (the first
    /// [`FAULT_ERRORS_KEPT`]; [`RunStats::fault_error_count`] counts them all).
    pub fault_errors: Vec<String>,
    /// How many fault errors there were.
    pub fault_error_count: u64,
    /// Nodes that stopped on their own during the run (not by a fault), as messages.
    pub node_exits: Vec<String>,
    /// The whole plan was written to the plan file (every planned op ran).
    pub plan_complete: bool,
}

impl RunStats {
    /// Notes a fault error.
    pub fn fault_error(&mut self, message: String) {
        self.fault_error_count += 1;
        if self.fault_errors.len() < FAULT_ERRORS_KEPT {
            self.fault_errors.push(message);
        }
    }
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
    lags: Histogram,
    cut: bool,
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
        "test phase: {:.0}s, about {} ops",
        plan.test_phase_length().as_secs_f64(),
        plan.expected_test_ops()
    ));
    let nemesis = tokio::spawn(run_nemesis(
        plan.clone(),
        target.clone(),
        recorder.clone(),
        t0,
        opts.progress.clone(),
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
    match nemesis.await {
        Ok(n) => {
            stats.faults = n.started;
            stats.fault_delays_ns = n.delays;
            for e in n.errors {
                stats.fault_error(e);
            }
        }
        Err(e) => stats.fault_error(e.to_string()),
    }
    stats.test_phase = t0.elapsed();
    if *stop.borrow() {
        opts.progress.stop();
    } else if stats.cut_workers > 0 {
        opts.progress.cut();
        say(format!(
            "the runner fell behind the plan: {} of {} workers stopped at the time limit with \
             planned ops not run",
            stats.cut_workers,
            workers.len()
        ));
    } else {
        opts.progress.complete();
    }

    // Heal everything, even what no guard knows about (belt and braces).
    let t = target.clone();
    let err = nemesis_call(
        &recorder,
        "heal-all",
        serde_json::Value::Null,
        move || t.heal_all(),
        |_| serde_json::Value::Null,
    )
    .await
    .err();
    if let Some(e) = err {
        say(format!("heal-all failed: {e}"));
        stats.fault_error(format!("heal-all: {e}"));
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
            opts.clone(),
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
                    stats.lags_ns.merge(&r.lags);
                    stats.cut_workers += u64::from(r.cut);
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
    ops: Stream<PlanOp>,
    t0: Option<Instant>,
    concurrency: u64,
    recorder: Arc<Recorder>,
    opts: RunOptions,
    mut stop: watch::Receiver<bool>,
) -> WorkerResult {
    let timeout = opts.op_timeout + Duration::from_secs(1);
    let cut_at = t0.zip(opts.cut_after).map(|(t0, d)| t0 + d);
    let mut lags = Histogram::default();
    let mut done = 0u64;
    let mut info = 0u64;
    let mut cut = false;
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
            if cut_at.is_some_and(|c| now >= c) {
                cut = true;
                break;
            }
            opts.progress.reached(p.time);
            lags.record(now.saturating_duration_since(due.max(ready)).as_nanos() as u64);
        }
        let f = p.op.f.as_str();
        let process = Process::Client(w.process);
        recorder.record(
            EventType::Invoke,
            process,
            f,
            p.op.value.clone(),
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
            Outcome::Ok(value) => (EventType::Ok, value, None),
            Outcome::Fail(e) => (EventType::Fail, p.op.value, Some(e)),
            Outcome::Info(e) => (EventType::Info, p.op.value, Some(e)),
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
        cut,
    }
}

/// What the nemesis task did.
struct NemesisResult {
    started: u64,
    delays: Histogram,
    errors: Vec<String>,
}

/// Starts and heals the plan's faults at their times. Returns how many started, their
/// delays from planned start to being in force, and the errors met (the first
/// [`FAULT_ERRORS_KEPT`]).
///
/// Faults may overlap (`overlap`: each nemesis on its own schedule), so this is a small
/// event loop: the next event is the earliest of the next fault's start and the heals of
/// the faults in force (a heal first at a tie, so a fault that ends as another begins is
/// gone first). One fault at a time is the special case where they alternate. On a stop,
/// every fault in force is healed (its guard), then the run's final heal-all follows.
/// A fault whose nodes are decided at start (`primaries`) is recorded as applied: the
/// completion of `start-<nemesis>` carries the resolved description.
async fn run_nemesis(
    plan: Plan,
    target: Arc<dyn FaultTarget>,
    recorder: Arc<Recorder>,
    t0: Instant,
    progress: Arc<Progress>,
    mut stop: watch::Receiver<bool>,
    say: Say,
) -> NemesisResult {
    let mut delays = Histogram::default();
    let mut started = 0;
    let mut errors = Vec::new();
    let mut error = |e: String| {
        if errors.len() < FAULT_ERRORS_KEPT {
            errors.push(e);
        }
    };
    let mut faults = plan.faults().peekable();
    // Faults in force: heal time, the nemesis, the resolved description, the guard.
    let mut in_force: Vec<(u64, &'static str, String, FaultGuard)> = Vec::new();
    loop {
        let next_heal = in_force
            .iter()
            .enumerate()
            .min_by_key(|(_, f)| f.0)
            .map(|(i, f)| (f.0, i));
        let next_start = faults.peek().map(|f| f.start);
        let heal_now = match (next_heal, next_start) {
            (None, None) => break,
            (Some((h, _)), Some(s)) => h <= s,
            (h, _) => h.is_some(),
        };
        let at = if heal_now {
            next_heal.map(|h| h.0)
        } else {
            next_start
        }
        .expect("an event is due");
        let stopped = tokio::select! {
            _ = timer::sleep_until(t0 + Duration::from_nanos(at)) => false,
            _ = stop.wait_for(|v| *v) => true,
        };
        if stopped {
            break;
        }
        if heal_now {
            let (_, nemesis, desc, g) = in_force.swap_remove(next_heal.expect("due").1);
            heal(&recorder, nemesis, desc, g, &say, &mut error).await;
            continue;
        }
        let f = faults.next().expect("peeked");
        progress.reached(f.start);
        let nemesis = f.fault.nemesis();
        let start_f = format!("start-{nemesis}");
        let desc = serde_json::Value::String(f.description.clone());
        let (fault, t) = (f.fault.clone(), target.clone());
        let names = plan.names.clone();
        let due = t0 + Duration::from_nanos(f.start);
        let result = nemesis_call(
            &recorder,
            &start_f,
            desc,
            move || FaultGuard::start(fault, t),
            move |g: &FaultGuard| serde_json::Value::String(g.fault().describe(&names)),
        )
        .await;
        let delay = Instant::now().saturating_duration_since(due);
        match result {
            Ok(g) => {
                started += 1;
                delays.record(delay.as_nanos() as u64);
                let applied = g.fault().describe(&plan.names);
                say(format!(
                    "fault  {applied} — in force at {:.2}s",
                    (f.start as f64 / 1e9) + delay.as_secs_f64()
                ));
                in_force.push((f.heal, nemesis, applied, g));
            }
            Err(e) => {
                say(format!("fault  {} — could not start: {e}", f.description));
                error(format!("{}: {e}", f.description));
            }
        }
    }
    // Stopped (or done): whatever is still in force heals now, latest-started first.
    while let Some((_, nemesis, desc, g)) = in_force.pop() {
        heal(&recorder, nemesis, desc, g, &say, &mut error).await;
    }
    NemesisResult {
        started,
        delays,
        errors,
    }
}

/// Heals one fault in force, recorded as `stop-<nemesis>` with what it was.
async fn heal(
    recorder: &Recorder,
    nemesis: &str,
    desc: String,
    g: FaultGuard,
    say: &Say,
    error: &mut impl FnMut(String),
) {
    let stop_f = format!("stop-{nemesis}");
    let value = serde_json::Value::String(desc.clone());
    let err = nemesis_call(
        recorder,
        &stop_f,
        value.clone(),
        move || g.heal(),
        move |_| value,
    )
    .await
    .err();
    match err {
        None => say(format!("healed {desc}")),
        Some(e) => {
            say(format!("healing {desc} failed: {e}"));
            error(format!("heal {desc}: {e}"));
        }
    }
}

/// Records a nemesis operation around `op` (run on the blocking pool: environments are
/// synchronous): an `invoke`, then an `info` carrying the error if any (Jepsen records
/// nemesis completions as `info`), then an fsync — fault boundaries are where a crash would
/// hurt most. The `info`'s value is `done(result)` when `op` succeeded (what was applied),
/// else the invoke's value.
async fn nemesis_call<T: Send + 'static>(
    recorder: &Recorder,
    f: &str,
    value: serde_json::Value,
    op: impl FnOnce() -> Result<T, nemeses::NemesisError> + Send + 'static,
    done: impl FnOnce(&T) -> serde_json::Value,
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
    let value = result.as_ref().map_or(value, done);
    recorder.record(EventType::Info, Process::Nemesis, f, value, error, None);
    recorder.sync();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TestConfig;
    use crate::noop::{NoTarget, Noop};

    fn run(name: &str, cfg: &TestConfig, cut_after: Option<Duration>) -> RunStats {
        let dir = std::env::temp_dir().join(format!("sqrunner-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plan = crate::plan::build(1, cfg).unwrap();
        let recorder = Arc::new(Recorder::create(&dir.join("h.jsonl"), Instant::now()).unwrap());
        let opts = RunOptions {
            quiet: Duration::ZERO,
            op_timeout: Duration::from_secs(1),
            cut_after,
            progress: Arc::new(Progress::default()),
        };
        let clients = (0..cfg.concurrency)
            .map(|_| (Arc::new(Noop) as Arc<dyn Client>, "n1".to_string()))
            .collect();
        let (_tx, stop) = watch::channel(false);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let stats = rt.block_on(execute(
            &plan,
            clients,
            Arc::new(NoTarget(3)),
            recorder,
            &opts,
            stop,
            Arc::new(|_| {}),
        ));
        std::fs::remove_dir_all(&dir).unwrap();
        stats
    }

    #[test]
    fn a_plan_the_runner_cannot_keep_up_with_is_cut_at_the_time_limit() {
        // 10^12 ops/s: every op due at once, forever; the workers stop at the cut.
        let cfg = TestConfig {
            rate: 1e12,
            concurrency: 3,
            time_limit: Duration::from_millis(100),
            nemesis: vec![],
            ..TestConfig::default()
        };
        let t = Instant::now();
        let stats = run("cut", &cfg, Some(Duration::from_millis(300)));
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
        assert_eq!(stats.cut_workers, 3);
        assert!(stats.lags_ns.count() > 100, "{}", stats.lags_ns.count());
        assert!(!stats.interrupted);
    }

    #[test]
    fn a_plan_kept_up_with_runs_whole() {
        let cfg = TestConfig {
            rate: 200.0,
            concurrency: 2,
            time_limit: Duration::from_millis(500),
            nemesis: vec![],
            ..TestConfig::default()
        };
        let stats = run("whole", &cfg, Some(Duration::from_secs(30)));
        let plan = crate::plan::build(1, &cfg).unwrap();
        assert_eq!(stats.cut_workers, 0);
        assert_eq!(stats.lags_ns.count() as usize, plan.test_ops().count());
        assert_eq!(
            stats.ops as usize,
            plan.test_ops().count() + 2 * cfg.keys as usize
        );
    }
}
