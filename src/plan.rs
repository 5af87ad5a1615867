//! The plan: a pure function of (seed, test config).
//!
//! A plan lists every client op (phase, logical time, worker, f, key, value) and every fault
//! (nemesis, parameters, start, heal). It is built from the workload's generators and the
//! nemesis schedule, each on its own ChaCha8 stream of the seed:
//! - stream `0`: the nemesis schedule;
//! - stream `1 + w`: worker `w`'s ops.
//!
//! So changing `--nemesis` does not change the client ops, and adding a worker does not
//! change the others'. Nothing here reads a clock, the environment, or a hash map's order.
//!
//! Phases: `setup` ops (every key written once) run before the test clock starts; `test` ops
//! and faults carry times from the start of the test phase; `final` ops run after every
//! fault has healed and the cluster has been quiet.

use crate::config::TestConfig;
use anyhow::{anyhow, Result};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use workloads::{
    per_worker, ClientOp, Limit, OpFn, OpValue, PlannedOp, Rng, Stagger, WorkloadOptions,
};

/// The phase an op belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
    pub op: ClientOp,
}

/// One fault of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanFault {
    /// The nemesis's name.
    pub nemesis: String,
    /// Its parameters.
    pub params: Value,
    /// In words, e.g. `partition majority-minority: n1 n2 | n3`.
    pub description: String,
    /// Start, ns from the start of the test phase.
    pub start: u64,
    /// Heal, ns from the start of the test phase.
    pub heal: u64,
}

/// A whole plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The seed.
    pub seed: u64,
    /// Node names.
    pub names: Vec<String>,
    /// Client ops, setup first, then test ops by time, then finals.
    pub ops: Vec<PlanOp>,
    /// Faults, by start time.
    pub faults: Vec<PlanFault>,
    /// The checker model the workload's histories are checked with.
    pub model: String,
}

/// Node names `n1..nN`.
pub fn node_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("n{i}")).collect()
}

fn ns(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Builds the plan for `seed` and `cfg` (which must be valid).
pub fn build(seed: u64, cfg: &TestConfig) -> Result<Plan> {
    let workload = workloads::by_name(&cfg.workload, &WorkloadOptions { keys: cfg.keys })
        .ok_or_else(|| anyhow!("unknown workload {:?}", cfg.workload))?;
    let names = node_names(cfg.nodes);
    let end = ns(cfg.time_limit);
    let workers = cfg.concurrency;

    let mut ops = Vec::new();
    // Setup and final ops are spread over the workers by key; they have no times.
    for (phase, list) in [(Phase::Setup, workload.setup())] {
        for (i, op) in list.into_iter().enumerate() {
            ops.push(PlanOp {
                phase,
                time: 0,
                worker: i % workers,
                op,
            });
        }
    }
    // Each worker issues rate/workers ops per second on average.
    let mean = (workers as f64 * 1e9 / cfg.rate).round() as u64;
    let test = per_worker(seed, 1, workers, |_| {
        Box::new(Limit::new(Stagger::new(workload.generator(), mean), end))
    });
    ops.extend(
        test.into_iter()
            .map(|PlannedOp { time, worker, op }| PlanOp {
                phase: Phase::Test,
                time,
                worker,
                op,
            }),
    );
    for (i, op) in workload.finals().into_iter().enumerate() {
        ops.push(PlanOp {
            phase: Phase::Final,
            time: 0,
            worker: i % workers,
            op,
        });
    }

    let chosen: Vec<std::sync::Arc<dyn nemeses::Nemesis>> = cfg
        .nemesis
        .iter()
        .map(|n| nemeses::by_name(n).ok_or_else(|| anyhow!("unknown nemesis {n:?}")))
        .collect::<Result<_>>()?;
    let refs: Vec<&dyn nemeses::Nemesis> = chosen.iter().map(|n| n.as_ref()).collect();
    let schedule = nemeses::schedule(
        &refs,
        &mut Rng::new(seed, 0),
        cfg.nodes,
        &nemeses::ScheduleOptions {
            end,
            healthy: (ns(cfg.healthy_duration.0), ns(cfg.healthy_duration.1)),
            fault: (ns(cfg.fault_duration.0), ns(cfg.fault_duration.1)),
        },
    );
    let faults = schedule
        .into_iter()
        .map(|f| {
            let n = nemeses::by_name(&f.nemesis).expect("scheduled from known nemeses");
            PlanFault {
                description: n.describe(&f.params, &names),
                nemesis: f.nemesis,
                params: f.params,
                start: f.start,
                heal: f.heal,
            }
        })
        .collect();

    Ok(Plan {
        seed,
        names,
        ops,
        faults,
        model: workload.model().to_string(),
    })
}

#[derive(Serialize)]
struct OpLine<'a> {
    phase: Phase,
    t: u64,
    worker: usize,
    f: OpFn,
    key: u64,
    value: &'a OpValue,
}

#[derive(Serialize)]
struct FaultLine<'a> {
    t: u64,
    fault: &'a str,
    heal: u64,
    description: &'a str,
    params: &'a Value,
}

impl Plan {
    /// Writes the plan as JSONL: a header line (seed, nodes, test config), then one line per
    /// op or fault in execution order (setup, then test ops and faults by time, then finals).
    /// The same plan writes the same bytes.
    pub fn write_jsonl(&self, cfg: &TestConfig, w: &mut dyn Write) -> std::io::Result<()> {
        // Where things run and are kept (the store, binaries, the environment, snapshots)
        // is not part of what is planned: a plan is the same on any machine and in any
        // environment, so a seed found in VMs replays locally and the other way round.
        let mut config = serde_json::to_value(cfg).map_err(std::io::Error::other)?;
        if let Some(m) = config.as_object_mut() {
            for key in ["store", "etcd", "env", "cloud_hypervisor", "post_mortem"] {
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
        writeln!(w, "{header}")?;
        let op_line = |p: &PlanOp| {
            serde_json::to_string(&OpLine {
                phase: p.phase,
                t: p.time,
                worker: p.worker,
                f: p.op.f,
                key: p.op.key,
                value: &p.op.value,
            })
        };
        let mut faults = self.faults.iter().peekable();
        for p in &self.ops {
            if p.phase == Phase::Test {
                while let Some(f) = faults.next_if(|f| f.start <= p.time) {
                    writeln!(w, "{}", fault_line(f)?)?;
                }
            }
            if p.phase == Phase::Final {
                for f in faults.by_ref() {
                    writeln!(w, "{}", fault_line(f)?)?;
                }
            }
            writeln!(w, "{}", op_line(p)?)?;
        }
        for f in faults {
            writeln!(w, "{}", fault_line(f)?)?;
        }
        Ok(())
    }

    /// Ops of one worker in one phase, in order.
    pub fn worker_ops(&self, phase: Phase, worker: usize) -> Vec<PlanOp> {
        self.ops
            .iter()
            .filter(|p| p.phase == phase && p.worker == worker)
            .cloned()
            .collect()
    }
}

fn fault_line(f: &PlanFault) -> serde_json::Result<String> {
    serde_json::to_string(&FaultLine {
        t: f.start,
        fault: &f.nemesis,
        heal: f.heal,
        description: &f.description,
        params: &f.params,
    })
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
        assert_eq!(build(3, &a).unwrap().ops, build(3, &b).unwrap().ops);
        assert_ne!(build(3, &a).unwrap().faults, build(3, &b).unwrap().faults);
    }

    #[test]
    fn plan_has_every_phase_and_faults_within_the_time_limit() {
        let cfg = TestConfig::default();
        let p = build(1, &cfg).unwrap();
        let setup = p.ops.iter().filter(|o| o.phase == Phase::Setup).count();
        let finals = p.ops.iter().filter(|o| o.phase == Phase::Final).count();
        assert_eq!(setup as u64, cfg.keys);
        assert_eq!(finals as u64, cfg.keys);
        let test = p.ops.len() - setup - finals;
        // 20 ops/s for 30 s, give or take.
        assert!((450..750).contains(&test), "{test}");
        assert!(!p.faults.is_empty());
        let end = cfg.time_limit.as_nanos() as u64;
        assert!(p.faults.iter().all(|f| f.start < f.heal && f.heal <= end));
        let kinds: std::collections::BTreeSet<_> = (1..6)
            .flat_map(|s| build(s, &cfg).unwrap().faults)
            .map(|f| f.nemesis)
            .collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
    }
}
