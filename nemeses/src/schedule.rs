//! The nemesis schedule: when each fault starts and heals.
//!
//! Faults alternate with healthy windows, so the system gets the chance to recover and the
//! checker sees behaviour both under faults and after them: a healthy window, a fault, a
//! healthy window, ... Faults are dealt from a shuffled bag of the chosen nemeses, refilled
//! when empty, so every kind of fault occurs before any repeats (a 30 s test with three
//! nemeses sees all three); durations are drawn uniformly from their ranges. No fault outlives the test phase. Pure: the same seed
//! and options give the same schedule.

use crate::nemesis::Nemesis;
use serde_json::Value;
use workloads::Rng;

/// Timing of the schedule, in ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleOptions {
    /// The test phase's length: every fault heals by then.
    pub end: u64,
    /// Shortest and longest healthy window between faults (and before the first).
    pub healthy: (u64, u64),
    /// Shortest and longest fault.
    pub fault: (u64, u64),
}

/// One planned fault.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedFault {
    /// When it starts (ns from the start of the test phase).
    pub start: u64,
    /// When it heals.
    pub heal: u64,
    /// The nemesis's name.
    pub nemesis: String,
    /// Its parameters (targets, shape), as the nemesis drew them.
    pub params: Value,
}

/// The schedule of faults from `nemeses` on a cluster of `nodes` nodes.
pub fn schedule(
    nemeses: &[&dyn Nemesis],
    rng: &mut Rng,
    nodes: usize,
    opts: &ScheduleOptions,
) -> Vec<PlannedFault> {
    let mut out = Vec::new();
    if nemeses.is_empty() || nodes == 0 {
        return out;
    }
    let mut now = 0u64;
    let mut bag: Vec<usize> = Vec::new();
    loop {
        let start = now + rng.range(opts.healthy.0, opts.healthy.1);
        let len = rng.range(opts.fault.0, opts.fault.1);
        if bag.is_empty() {
            bag = rng.sample(nemeses.len(), nemeses.len());
        }
        let nemesis = nemeses[bag.pop().expect("refilled above")];
        let params = nemesis.generate(rng, nodes);
        // A fault needs at least its shortest length before the end of the test phase.
        if start + opts.fault.0 > opts.end {
            break;
        }
        let heal = (start + len).min(opts.end);
        out.push(PlannedFault {
            start,
            heal,
            nemesis: nemesis.name().to_string(),
            params,
        });
        now = heal;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kill, Partition, Pause};

    #[test]
    fn faults_alternate_with_healthy_windows_and_end_in_time() {
        let opts = ScheduleOptions {
            end: 60_000,
            healthy: (1_000, 3_000),
            fault: (2_000, 5_000),
        };
        let s = schedule(&[&Partition, &Pause, &Kill], &mut Rng::new(4, 9), 3, &opts);
        assert!(s.len() >= 6, "{}", s.len());
        let mut prev_heal = 0;
        for f in &s {
            assert!(f.start >= prev_heal + 1_000, "{f:?}");
            assert!(f.heal > f.start && f.heal <= 60_000);
            prev_heal = f.heal;
        }
        // Dealt from a bag: each run of three consecutive faults has all three kinds.
        for w in s.chunks_exact(3) {
            let kinds: std::collections::BTreeSet<&str> =
                w.iter().map(|f| f.nemesis.as_str()).collect();
            assert_eq!(kinds.len(), 3, "{w:?}");
        }
    }

    #[test]
    fn no_nemesis_no_faults() {
        let opts = ScheduleOptions {
            end: 60_000,
            healthy: (1, 2),
            fault: (1, 2),
        };
        assert!(schedule(&[], &mut Rng::new(1, 1), 3, &opts).is_empty());
    }
}
