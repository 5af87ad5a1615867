//! The plan: a pure function of (seed, test config).
//!
//! A plan lists every client op (phase, logical time, worker, f, key, value) and every fault
//! (nemesis, parameters, start, heal). It is built from the workload's generators and the
//! nemesis schedule, each on its own ChaCha8 stream of the seed:
//! - stream `0`: the nemesis schedule (with `overlap`, stream `2^32 + k` for nemesis `k`);
//! - stream `1 + w`: worker `w`'s ops.
//!
//! So changing `--nemesis` does not change the client ops, and adding a worker does not
//! change the others'. Nothing here reads a clock, the environment, or a hash map's order.
//!
//! A plan is drawn lazily: [`Plan`] holds the seed and what ops and faults are made from,
//! and each worker's ops, the faults and the plan file's lines are streams drawn as they are
//! needed. So a plan of a day at thousands of ops per second takes the memory of one op per
//! worker, and the runner draws each worker's ops as it goes.
//!
//! Phases: `setup` ops (every key written once) run before the test clock starts; `test` ops
//! and faults carry times from the start of the test phase; `final` ops run after every
//! fault has healed and the cluster has been quiet.

use crate::config::TestConfig;
pub mod read;

use anyhow::{anyhow, Result};
use nemeses::{DynNemesis, Fault, Overlapping, Schedule, ScheduleOptions};
use read::{Header, PlanSource};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;
use workloads::{Limit, Merged, Op, PlannedOp, Rng, Stagger, WorkerStream, Workload};

/// The phase an op belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before the test clock starts.
    Setup,
    /// The timed test phase, under faults.
    Test,
    /// After the final heal and quiet period.
    Final,
}

/// One client op of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanOp {
    /// Its phase.
    pub phase: Phase,
    /// Logical time in ns (from the start of the test phase; 0 outside it).
    pub time: u64,
    /// The worker that runs it.
    pub worker: usize,
    /// The op.
    pub op: Op,
}

/// One fault of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanFault {
    /// The fault: its nemesis and typed parameters (the plan file's `fault` and `params`).
    pub fault: Fault,
    /// In words, e.g. `partition majority-minority: n1 n2 | n3`.
    pub description: String,
    /// Start, ns from the start of the test phase.
    pub start: u64,
    /// Heal, ns from the start of the test phase.
    pub heal: u64,
}

impl PlanFault {
    /// A fault line of a plan file read back; `line` is its number in the file (from 1),
    /// which an error names: `plan line 12: kill parameters: missing field `nodes``.
    pub fn from_json(line: usize, text: &str) -> Result<PlanFault> {
        let at = |e: &dyn std::fmt::Display| anyhow!("plan line {line}: {e}");
        let v: Value = serde_json::from_str(text).map_err(|e| at(&e))?;
        PlanFault::from_value(v).map_err(|e| at(&e))
    }

    /// A fault line already parsed as JSON; the problem, if it is not one, without its
    /// place (for the caller to name).
    pub fn from_value(v: Value) -> Result<PlanFault, String> {
        let l: FaultLineIn = serde_json::from_value(v).map_err(|e| e.to_string())?;
        if l.heal < l.t {
            return Err(format!("heals at {} before it starts at {}", l.heal, l.t));
        }
        Ok(PlanFault {
            fault: nemeses::decode(&l.fault, &l.params).map_err(|e| e.to_string())?,
            description: l.description,
            start: l.t,
            heal: l.heal,
        })
    }
}

/// How the test phase's client ops are timed. Runs use [`OpTiming::Planned`]; the others
/// are for measuring the runner itself (`squall bench`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpTiming {
    /// At their planned times.
    Planned,
    /// The same ops, every one due at the start of the test phase.
    AllAtStart,
    /// No client ops at all (setup and final ops neither): faults only.
    NoOps,
}

/// A whole plan, drawn lazily: it holds what the ops and faults are made from, not the ops
/// and faults themselves, so a plan of any length takes constant memory. Each worker's
/// ops, the faults, and the plan's lines in file order are streams
/// ([`Plan::worker_ops`], [`Plan::faults`], [`Plan::lines`]); drawing one twice gives the
/// same items.
#[derive(Clone)]
pub struct Plan {
    /// The seed.
    pub seed: u64,
    /// Node names.
    pub names: Vec<String>,
    /// The checker model the workload's histories are checked with.
    pub model: String,
    /// How test ops are timed.
    pub timing: OpTiming,
    workload: Arc<dyn Workload>,
    workers: usize,
    /// Mean gap between one worker's test ops, ns.
    mean: u64,
    /// The test phase's length, ns.
    end: u64,
    nemeses: Vec<Arc<dyn DynNemesis>>,
    schedule: ScheduleOptions,
    /// Faults of different nemeses overlap, each nemesis on its own stream.
    overlap: bool,
    /// A plan read from a file: its lines, not the seed's, are the plan.
    file: Option<Arc<PlanSource>>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("seed", &self.seed)
            .field("names", &self.names)
            .field("workload", &self.workload.name())
            .field("workers", &self.workers)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

/// The first random stream of the overlapping nemesis schedules, far above the workers'
/// streams (`1 + worker`).
pub const OVERLAP_STREAMS: u64 = 1 << 32;

/// Node names `n1..nN`.
pub fn node_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("n{i}")).collect()
}

fn ns(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The plan for `seed` and `cfg` (which must be valid). Nothing is drawn yet.
pub fn build(seed: u64, cfg: &TestConfig) -> Result<Plan> {
    let registry = crate::registry::get();
    let workload: Arc<dyn Workload> = registry.test_workload(cfg)?.into();
    let nemeses = cfg
        .nemesis
        .iter()
        .map(|n| registry.make_nemesis(n, cfg))
        .collect::<Result<_>>()?;
    let workers = cfg.concurrency;
    let end = ns(cfg.time_limit);
    Ok(Plan {
        seed,
        names: node_names(cfg.nodes),
        model: workload.model().to_string(),
        timing: OpTiming::Planned,
        // Each worker issues rate/workers ops per second on average.
        mean: (workers as f64 * 1e9 / cfg.rate).round() as u64,
        workload,
        workers,
        end,
        nemeses,
        schedule: ScheduleOptions {
            end,
            healthy: (ns(cfg.healthy_duration.0), ns(cfg.healthy_duration.1)),
            fault: (ns(cfg.fault_duration.0), ns(cfg.fault_duration.1)),
        },
        overlap: cfg.overlap,
        file: None,
    })
}

/// The plan a plan file holds, run as written ([`crate::plan::read`]): its header's seed and
/// `cfg` (the header's config, perhaps with where-it-runs options changed), and the file's
/// lines, checked whole first.
pub fn from_file(path: &std::path::Path, header: &Header, cfg: &TestConfig) -> Result<Plan> {
    let source = PlanSource::check(path, header, cfg)?;
    let mut plan = build(header.seed, cfg)?;
    if header.json["model"] != plan.model.as_str() {
        anyhow::bail!(
            "{}:1: model {} is not the workload's ({})",
            path.display(),
            header.json["model"],
            plan.model
        );
    }
    plan.file = Some(Arc::new(source));
    Ok(plan)
}

/// An iterator of plan items that can be sent to a worker task.
pub type Stream<T> = Box<dyn Iterator<Item = T> + Send>;

impl Plan {
    /// The nemeses whose faults may target `primaries` (the system must name its leader).
    pub fn targeting_primaries(&self) -> Vec<&'static str> {
        self.nemeses
            .iter()
            .filter(|n| n.needs_primaries())
            .map(|n| n.name())
            .collect()
    }

    /// The number of client workers.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The test phase's planned length.
    pub fn test_phase_length(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.end)
    }

    /// About how many test ops the plan has (its rate times its length), without drawing
    /// them.
    pub fn expected_test_ops(&self) -> u64 {
        if let Some(f) = &self.file {
            return f.test_ops();
        }
        if self.timing == OpTiming::NoOps {
            return 0;
        }
        let per_worker = self.end as f64 / self.mean.max(1) as f64;
        (per_worker * self.workers as f64).round() as u64
    }

    /// The untimed ops of a phase (setup or final), spread over the workers by position.
    fn untimed(&self, phase: Phase) -> Vec<PlanOp> {
        if self.timing == OpTiming::NoOps {
            return Vec::new();
        }
        let list = match phase {
            Phase::Setup => self.workload.setup(),
            _ => self.workload.finals(),
        };
        list.into_iter()
            .enumerate()
            .map(|(i, op)| PlanOp {
                phase,
                time: 0,
                worker: i % self.workers,
                op,
            })
            .collect()
    }

    /// Worker `worker`'s test-phase ops, drawn from its own random stream `1 + worker`.
    fn worker_stream(&self, worker: usize) -> WorkerStream {
        let gen = self.workload.generator(worker, self.workers);
        let timed = Limit::new(Stagger::new(gen, self.mean), self.end);
        WorkerStream::new(self.seed, 1, worker, Box::new(timed))
    }

    fn test_op(&self, p: PlannedOp) -> PlanOp {
        PlanOp {
            phase: Phase::Test,
            time: if self.timing == OpTiming::AllAtStart {
                0
            } else {
                p.time
            },
            worker: p.worker,
            op: p.op,
        }
    }

    /// The ops of one worker in one phase, in order, drawn as they are asked for.
    pub fn worker_ops(&self, phase: Phase, worker: usize) -> Stream<PlanOp> {
        if let Some(f) = &self.file {
            return Box::new(f.lines().filter_map(move |l| match l {
                PlanLine::Op(p) if p.phase == phase && p.worker == worker => Some(p),
                _ => None,
            }));
        }
        if phase != Phase::Test {
            let ops = self.untimed(phase);
            return Box::new(ops.into_iter().filter(move |p| p.worker == worker));
        }
        if self.timing == OpTiming::NoOps {
            return Box::new(std::iter::empty());
        }
        let plan = self.clone();
        Box::new(self.worker_stream(worker).map(move |p| plan.test_op(p)))
    }

    /// Every worker's test ops merged by (time, worker): the order of the plan file.
    pub fn test_ops(&self) -> Stream<PlanOp> {
        if let Some(f) = &self.file {
            return Box::new(f.lines().filter_map(|l| match l {
                PlanLine::Op(p) if p.phase == Phase::Test => Some(p),
                _ => None,
            }));
        }
        if self.timing == OpTiming::NoOps {
            return Box::new(std::iter::empty());
        }
        let streams = (0..self.workers).map(|w| self.worker_stream(w)).collect();
        let plan = self.clone();
        Box::new(Merged::new(streams).map(move |p| plan.test_op(p)))
    }

    /// The faults, by start time, drawn from random stream `0`; with overlap, nemesis `k`
    /// (in `--nemesis` order) from stream [`OVERLAP_STREAMS`]` + k`.
    pub fn faults(&self) -> Stream<PlanFault> {
        if let Some(f) = &self.file {
            return Box::new(f.lines().filter_map(|l| match l {
                PlanLine::Fault(f) => Some(f),
                PlanLine::Op(_) => None,
            }));
        }
        let names = self.names.clone();
        let (seed, nodes) = (self.seed, self.names.len());
        let schedule: Stream<nemeses::PlannedFault> = if self.overlap {
            Box::new(Overlapping::new(
                self.nemeses.clone(),
                |k| Rng::new(seed, OVERLAP_STREAMS + k as u64),
                nodes,
                self.schedule,
            ))
        } else {
            Box::new(Schedule::new(
                self.nemeses.clone(),
                Rng::new(seed, 0),
                nodes,
                self.schedule,
            ))
        };
        Box::new(schedule.map(move |f| PlanFault {
            description: f.fault.describe(&names),
            fault: f.fault,
            start: f.start,
            heal: f.heal,
        }))
    }

    /// The plan's lines in file order: setup ops; test ops and faults by time (a fault
    /// before the ops at its start time); faults after the last test op; final ops.
    pub fn lines(&self) -> Lines {
        if let Some(f) = &self.file {
            return Lines(LinesOf::File(f.lines()));
        }
        Lines(LinesOf::Drawn(Box::new(Drawn {
            setup: self.untimed(Phase::Setup).into_iter(),
            test: self.test_ops().peekable(),
            faults: self.faults().peekable(),
            finals: self.untimed(Phase::Final).into_iter(),
        })))
    }

    /// Whether the plan is a plan file's lines, run as written, rather than its seed's.
    pub fn is_from_file(&self) -> bool {
        self.file.is_some()
    }

    /// The header line: seed, nodes, model, and the test configuration.
    pub fn header(&self, cfg: &TestConfig) -> std::io::Result<String> {
        // A plan file's own header stands as written: the run stores the plan it ran.
        if let Some(f) = &self.file {
            return Ok(f.header().to_string());
        }
        // Where things run and are kept (the store, binaries, the environment, snapshots)
        // is not part of what is planned: a plan is the same on any machine and in any
        // environment, so a seed found in VMs replays locally and the other way round.
        let mut config = cfg.to_json();
        if let Some(m) = config.as_object_mut() {
            for key in ["store", "env", "cloud_hypervisor", "post_mortem"] {
                m.remove(key);
            }
        }
        let header = serde_json::json!({
            "squall_plan": 1,
            "seed": self.seed,
            "nodes": self.names,
            "model": self.model,
            "config": config,
        });
        Ok(header.to_string())
    }

    /// Writes the plan as JSONL: the [header](Plan::header), then one line per op or fault
    /// in [file order](Plan::lines). The same plan writes the same bytes. Streams: memory
    /// does not grow with the plan's length.
    pub fn write_jsonl(&self, cfg: &TestConfig, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(w, "{}", self.header(cfg)?)?;
        for line in self.lines() {
            writeln!(w, "{}", line.to_json()?)?;
        }
        Ok(())
    }
}

/// One line of a plan file after its header.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanLine {
    /// A client op.
    Op(PlanOp),
    /// A fault.
    Fault(PlanFault),
}

impl PlanLine {
    /// The line's logical time: an op's time, a fault's start.
    pub fn time(&self) -> u64 {
        match self {
            PlanLine::Op(p) => p.time,
            PlanLine::Fault(f) => f.start,
        }
    }

    /// The line as JSON, without its newline.
    pub fn to_json(&self) -> serde_json::Result<String> {
        match self {
            PlanLine::Op(p) => serde_json::to_string(&OpLine {
                phase: p.phase,
                t: p.time,
                worker: p.worker,
                f: &p.op.f,
                value: &p.op.value,
            }),
            PlanLine::Fault(f) => serde_json::to_string(&FaultLine {
                t: f.start,
                fault: f.fault.nemesis(),
                heal: f.heal,
                description: &f.description,
                params: f.fault.params_json(),
            }),
        }
    }
}

/// The plan's lines in file order, drawn lazily ([`Plan::lines`]), or read from its file.
pub struct Lines(LinesOf);

enum LinesOf {
    Drawn(Box<Drawn>),
    File(Stream<PlanLine>),
}

/// A seed's plan's lines, drawn lazily.
struct Drawn {
    setup: std::vec::IntoIter<PlanOp>,
    test: std::iter::Peekable<Stream<PlanOp>>,
    faults: std::iter::Peekable<Stream<PlanFault>>,
    finals: std::vec::IntoIter<PlanOp>,
}

impl Lines {
    /// The final ops still to come, skipping whatever test ops and faults are left (without
    /// drawing them: a cut run's plan file ends its test phase where the run did).
    pub fn finals(self) -> Stream<PlanLine> {
        match self.0 {
            LinesOf::Drawn(d) => Box::new(d.finals.map(PlanLine::Op)),
            LinesOf::File(f) => {
                Box::new(f.filter(|l| matches!(l, PlanLine::Op(p) if p.phase == Phase::Final)))
            }
        }
    }
}

impl Iterator for Lines {
    type Item = PlanLine;

    fn next(&mut self) -> Option<PlanLine> {
        match &mut self.0 {
            LinesOf::Drawn(d) => d.next(),
            LinesOf::File(f) => f.next(),
        }
    }
}

impl Drawn {
    fn next(&mut self) -> Option<PlanLine> {
        if let Some(p) = self.setup.next() {
            return Some(PlanLine::Op(p));
        }
        // A fault comes before the test ops at or after its start.
        let fault_first = match (self.faults.peek(), self.test.peek()) {
            (Some(f), Some(p)) => f.start <= p.time,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if fault_first {
            return self.faults.next().map(PlanLine::Fault);
        }
        if let Some(p) = self.test.next() {
            return Some(PlanLine::Op(p));
        }
        self.finals.next().map(PlanLine::Op)
    }
}

#[derive(Serialize)]
struct OpLine<'a> {
    phase: Phase,
    t: u64,
    worker: usize,
    f: &'a str,
    value: &'a Value,
}

#[derive(Serialize)]
struct FaultLine<'a> {
    t: u64,
    fault: &'a str,
    heal: u64,
    description: &'a str,
    params: Value,
}

/// A fault line as read back ([`PlanFault::from_json`]): [`FaultLine`]'s fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultLineIn {
    t: u64,
    fault: String,
    heal: u64,
    description: String,
    params: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(seed: u64, cfg: &TestConfig) -> String {
        let mut out = Vec::new();
        build(seed, cfg)
            .unwrap()
            .write_jsonl(cfg, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let cfg = TestConfig::default();
        assert_eq!(text(7, &cfg), text(7, &cfg));
        assert_ne!(text(7, &cfg), text(8, &cfg));
    }

    #[test]
    fn changing_the_nemesis_keeps_the_client_ops() {
        let a = TestConfig::default();
        let b = TestConfig {
            nemesis: vec!["partition".into()],
            ..TestConfig::default()
        };
        let ops = |c: &TestConfig| -> Vec<PlanOp> {
            build(3, c)
                .unwrap()
                .lines()
                .filter_map(|l| match l {
                    PlanLine::Op(p) => Some(p),
                    PlanLine::Fault(_) => None,
                })
                .collect()
        };
        let faults = |c: &TestConfig| -> Vec<PlanFault> { build(3, c).unwrap().faults().collect() };
        assert_eq!(ops(&a), ops(&b));
        assert_ne!(faults(&a), faults(&b));
    }

    #[test]
    fn overlap_overlaps_the_faults_keeps_the_ops_and_says_so_in_the_header() {
        let a = TestConfig {
            nemesis: vec!["partition".into(), "pause".into(), "bandwidth".into()],
            time_limit: std::time::Duration::from_secs(60),
            ..TestConfig::default()
        };
        let b = TestConfig {
            overlap: true,
            ..a.clone()
        };
        let faults = |c: &TestConfig| -> Vec<PlanFault> { build(5, c).unwrap().faults().collect() };
        let overlapping =
            |fs: &[PlanFault]| fs.windows(2).filter(|w| w[1].start < w[0].heal).count();
        assert_eq!(overlapping(&faults(&a)), 0, "one at a time");
        let fb = faults(&b);
        assert!(overlapping(&fb) > 0, "{fb:?}");
        assert!(fb.windows(2).all(|w| w[0].start <= w[1].start));
        let ops = |c: &TestConfig| build(5, c).unwrap().test_ops().collect::<Vec<_>>();
        assert_eq!(ops(&a), ops(&b));
        assert!(!text(5, &a).lines().next().unwrap().contains("overlap"));
        assert!(text(5, &b)
            .lines()
            .next()
            .unwrap()
            .contains("\"overlap\":true"));
        assert_eq!(text(5, &b), text(5, &b));
        assert_eq!(
            crate::rerun::rerun_command(5, &b),
            "squall run --seed 5 --nemesis partition,pause,bandwidth --overlap --time-limit 60s"
        );
    }

    #[test]
    fn plan_has_every_phase_and_faults_within_the_time_limit() {
        let cfg = TestConfig::default();
        let p = build(1, &cfg).unwrap();
        let workers = 0..p.workers();
        let count = |phase| -> usize {
            workers
                .clone()
                .map(|w| p.worker_ops(phase, w).count())
                .sum()
        };
        assert_eq!(count(Phase::Setup) as u64, cfg.keys);
        assert_eq!(count(Phase::Final) as u64, cfg.keys);
        let test = count(Phase::Test);
        // 20 ops/s for 30 s, give or take.
        assert!((450..750).contains(&test), "{test}");
        assert_eq!(p.test_ops().count(), test);
        let faults: Vec<PlanFault> = p.faults().collect();
        assert!(!faults.is_empty());
        let end = cfg.time_limit.as_nanos() as u64;
        assert!(faults.iter().all(|f| f.start < f.heal && f.heal <= end));
        let kinds: std::collections::BTreeSet<_> = (1..6)
            .flat_map(|s| build(s, &cfg).unwrap().faults())
            .map(|f| f.fault.nemesis())
            .collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
    }

    #[test]
    fn each_worker_draws_its_own_ops_of_the_merged_plan() {
        let cfg = TestConfig {
            concurrency: 7,
            rate: 500.0,
            ..TestConfig::default()
        };
        let p = build(9, &cfg).unwrap();
        let merged: Vec<PlanOp> = p.test_ops().collect();
        assert!(merged
            .windows(2)
            .all(|w| (w[0].time, w[0].worker) <= (w[1].time, w[1].worker)));
        for w in 0..7 {
            let own: Vec<PlanOp> = merged.iter().filter(|o| o.worker == w).cloned().collect();
            assert_eq!(
                p.worker_ops(Phase::Test, w).collect::<Vec<_>>(),
                own,
                "worker {w}"
            );
        }
    }

    #[test]
    fn a_plan_of_a_century_is_drawn_as_it_goes() {
        // 10^9 s at 10^6 ops/s: drawing its start costs what it draws, not what it holds.
        let cfg = TestConfig {
            time_limit: std::time::Duration::from_secs(1_000_000_000),
            rate: 1e6,
            ..TestConfig::default()
        };
        let p = build(1, &cfg).unwrap();
        let lines: Vec<PlanLine> = p.lines().take(100_000).collect();
        assert_eq!(lines.len(), 100_000);
        assert!(p.faults().nth(1_000).is_some());
    }

    #[test]
    fn fault_lines_read_back_as_the_faults_written() {
        let cfg = TestConfig {
            nodes: 5,
            time_limit: std::time::Duration::from_secs(120),
            ..TestConfig::default()
        };
        let text = text(4711, &cfg);
        let read: Vec<PlanFault> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("\"fault\":"))
            .map(|(i, l)| {
                let f = PlanFault::from_json(i + 1, l).unwrap();
                assert_eq!(PlanLine::Fault(f.clone()).to_json().unwrap(), l);
                f
            })
            .collect();
        let planned: Vec<PlanFault> = build(4711, &cfg).unwrap().faults().collect();
        assert!(planned.len() > 10);
        assert_eq!(read, planned);
    }

    #[test]
    fn a_malformed_fault_line_is_an_error_naming_the_line_and_what_is_wrong() {
        let line = |params: &str| {
            format!(
                r#"{{"t":5,"fault":"kill","heal":9,"description":"kill n1","params":{params}}}"#
            )
        };
        assert!(PlanFault::from_json(1, &line(r#"{"nodes":[0]}"#)).is_ok());
        let cases = [
            (
                line("{}"),
                "plan line 12: kill parameters: missing field `nodes`",
            ),
            (
                line(r#"{"nodes":["n1"]}"#),
                "plan line 12: kill parameters: invalid type: string \"n1\", expected usize",
            ),
            (
                line(r#"{"nodes":[0]}"#).replace("\"kill\",", "\"flood\","),
                "plan line 12: unknown nemesis \"flood\"",
            ),
            (
                line(r#"{"nodes":[0]}"#).replace("\"heal\":9", "\"heal\":1"),
                "plan line 12: heals at 1 before it starts at 5",
            ),
            (
                line(r#"{"nodes":[0]}"#).replace("\"t\":5,", ""),
                "plan line 12: missing field `t`",
            ),
        ];
        for (text, want) in cases {
            let e = PlanFault::from_json(12, &text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }
}

#[cfg(test)]
mod fuzz_corpus {
    use crate::config::TestConfig;
    use std::path::{Path, PathBuf};

    /// Every input of the test-file fuzz target's corpus (`fuzz/corpus/test_file/`) parses to
    /// a configuration or an error, and a valid one plans, without a panic (the target itself
    /// needs nightly; this runs its corpus on stable).
    #[test]
    fn the_fuzz_corpus_reads_without_panics() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/test_file");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() >= 2, "{} holds too little", dir.display());
        let mut valid = 0;
        for f in &files {
            let Ok(text) = std::str::from_utf8(&std::fs::read(f).unwrap()).map(str::to_string)
            else {
                continue;
            };
            let Ok((cfg, _)) = TestConfig::parse(&text, "corpus.toml") else {
                continue;
            };
            if cfg.validate().is_err() {
                continue;
            }
            valid += 1;
            let plan = super::build(1, &cfg).unwrap();
            for line in plan.lines().take(200) {
                line.to_json().unwrap();
            }
        }
        assert!(valid >= 2, "{valid} valid configurations in the corpus");
    }
}
