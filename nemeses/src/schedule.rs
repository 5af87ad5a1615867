//! The nemesis schedule: when each fault starts and heals.
//!
//! Faults alternate with healthy windows, so the system gets the chance to recover and the
//! checker sees behaviour both under faults and after them: a healthy window, a fault, a
//! healthy window, ... Faults are dealt from a shuffled bag of the chosen nemeses, refilled
//! when empty, so every kind of fault occurs before any repeats (a 30 s test with three
//! nemeses sees all three); durations are drawn uniformly from their ranges. No fault outlives the test phase. Pure: the same seed
//! and options give the same schedule.
//!
//! With overlap ([`Overlapping`], Jepsen's combined nemesis): each nemesis keeps a schedule
//! of its own — its faults alternating with healthy windows, from its own random stream —
//! and the schedules run side by side, merged by start time. Faults of different kinds
//! then overlap (a partition starts while a node is paused); faults of one kind never do.

use crate::fault::Fault;
use crate::nemesis::DynNemesis;
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
    /// The fault: its nemesis, with the parameters (targets, shape) it drew.
    pub fault: Fault,
}

/// The schedule of faults from `nemeses` on a cluster of `nodes` nodes, whole.
///
/// The same faults as [`Schedule`] yields one at a time; use that when the test phase may be
/// long (a schedule of a day has thousands of faults).
pub fn schedule(
    nemeses: &[&dyn DynNemesis],
    rng: &mut Rng,
    nodes: usize,
    opts: &ScheduleOptions,
) -> Vec<PlannedFault> {
    let owned: Vec<&dyn DynNemesis> = nemeses.to_vec();
    let mut s = Schedule::new(owned, rng.clone(), nodes, *opts);
    let out = s.by_ref().collect();
    *rng = s.rng;
    out
}

/// The schedule as a lazy stream: each fault is drawn when it is asked for, so a schedule
/// of any length takes constant memory. `N` is how the nemeses are held (`&dyn DynNemesis`,
/// `Arc<dyn DynNemesis>`, ...).
pub struct Schedule<N> {
    nemeses: Vec<N>,
    rng: Rng,
    nodes: usize,
    opts: ScheduleOptions,
    now: u64,
    bag: Vec<usize>,
    done: bool,
}

impl<N: std::ops::Deref<Target = T>, T: DynNemesis + ?Sized> Schedule<N> {
    /// The schedule drawn from `rng` (the plan's nemesis stream).
    pub fn new(nemeses: Vec<N>, rng: Rng, nodes: usize, opts: ScheduleOptions) -> Self {
        let done = nemeses.is_empty() || nodes == 0;
        Schedule {
            nemeses,
            rng,
            nodes,
            opts,
            now: 0,
            bag: Vec::new(),
            done,
        }
    }
}

impl<N: std::ops::Deref<Target = T>, T: DynNemesis + ?Sized> Iterator for Schedule<N> {
    type Item = PlannedFault;

    fn next(&mut self) -> Option<PlannedFault> {
        if self.done {
            return None;
        }
        let (rng, opts) = (&mut self.rng, &self.opts);
        let start = self
            .now
            .saturating_add(rng.range(opts.healthy.0, opts.healthy.1));
        let len = rng.range(opts.fault.0, opts.fault.1);
        if self.bag.is_empty() {
            self.bag = rng.sample(self.nemeses.len(), self.nemeses.len());
        }
        let nemesis = &*self.nemeses[self.bag.pop().expect("refilled above")];
        let fault = nemesis.generate(rng, self.nodes);
        // A fault needs at least its shortest length before the end of the test phase.
        if start.saturating_add(opts.fault.0) > opts.end {
            self.done = true;
            return None;
        }
        let heal = start.saturating_add(len).min(opts.end);
        self.now = heal;
        Some(PlannedFault { start, heal, fault })
    }
}

/// Several schedules side by side, merged by start time (ties: the earlier schedule
/// first): the faults of [`Schedule`]s that each deal from one nemesis, overlapping.
pub struct Overlapping<N> {
    lanes: Vec<Schedule<N>>,
    /// Each lane's next fault, drawn ahead.
    heads: Vec<Option<PlannedFault>>,
}

impl<N: std::ops::Deref<Target = T>, T: DynNemesis + ?Sized> Overlapping<N> {
    /// Nemesis `k` of `nemeses` on its own schedule, drawn from `rngs(k)`.
    pub fn new(
        nemeses: Vec<N>,
        mut rngs: impl FnMut(usize) -> Rng,
        nodes: usize,
        opts: ScheduleOptions,
    ) -> Self {
        let mut lanes: Vec<Schedule<N>> = nemeses
            .into_iter()
            .enumerate()
            .map(|(k, n)| Schedule::new(vec![n], rngs(k), nodes, opts))
            .collect();
        let heads = lanes.iter_mut().map(Iterator::next).collect();
        Overlapping { lanes, heads }
    }
}

impl<N: std::ops::Deref<Target = T>, T: DynNemesis + ?Sized> Iterator for Overlapping<N> {
    type Item = PlannedFault;

    fn next(&mut self) -> Option<PlannedFault> {
        let mut best: Option<(u64, usize)> = None;
        for (k, head) in self.heads.iter().enumerate() {
            if let Some(f) = head {
                if best.is_none_or(|(t, _)| f.start < t) {
                    best = Some((f.start, k));
                }
            }
        }
        let k = best?.1;
        let next = self.lanes[k].next();
        std::mem::replace(&mut self.heads[k], next)
    }
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
        let s = schedule(
            &[&Partition::default(), &Pause::default(), &Kill::default()],
            &mut Rng::new(4, 9),
            3,
            &opts,
        );
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
                w.iter().map(|f| f.fault.nemesis()).collect();
            assert_eq!(kinds.len(), 3, "{w:?}");
        }
    }

    #[test]
    fn the_stream_is_the_whole_schedule_one_at_a_time() {
        let opts = ScheduleOptions {
            end: 120_000,
            healthy: (1_000, 3_000),
            fault: (2_000, 5_000),
        };
        let whole = schedule(
            &[&Partition::default(), &Kill::default()],
            &mut Rng::new(8, 0),
            5,
            &opts,
        );
        let partition = Partition::default();
        let kill = Kill::default();
        let nemeses: Vec<&dyn DynNemesis> = vec![&partition, &kill];
        let streamed: Vec<PlannedFault> = Schedule::new(nemeses, Rng::new(8, 0), 5, opts).collect();
        assert!(whole.len() > 10);
        assert_eq!(whole, streamed);
    }

    #[test]
    fn a_long_schedule_is_drawn_lazily() {
        // A hundred years of faults: only what is asked for is drawn.
        let opts = ScheduleOptions {
            end: u64::MAX,
            healthy: (1_000, 3_000),
            fault: (2_000, 5_000),
        };
        let pause = Pause::default();
        let nemeses: Vec<&dyn DynNemesis> = vec![&pause];
        let mut s = Schedule::new(nemeses, Rng::new(1, 0), 3, opts);
        assert_eq!(s.nth(100_000).map(|f| f.fault.nemesis()), Some("pause"));
    }

    #[test]
    fn overlapping_schedules_overlap_across_kinds_never_within_one() {
        let opts = ScheduleOptions {
            end: 120_000,
            healthy: (1_000, 3_000),
            fault: (2_000, 5_000),
        };
        let (p, k) = (Partition::default(), Kill::default());
        let nemeses: Vec<&dyn DynNemesis> = vec![&p, &k];
        let all: Vec<PlannedFault> =
            Overlapping::new(nemeses.clone(), |i| Rng::new(3, 100 + i as u64), 3, opts).collect();
        // Merged by start.
        assert!(all.windows(2).all(|w| w[0].start <= w[1].start));
        // Within a kind: its own alternation of healthy windows and faults.
        for kind in ["partition", "kill"] {
            let mine: Vec<_> = all.iter().filter(|f| f.fault.nemesis() == kind).collect();
            assert!(mine.len() >= 10, "{kind}: {}", mine.len());
            let mut prev = 0;
            for f in mine {
                assert!(f.start >= prev + 1_000 && f.heal <= 120_000, "{f:?}");
                prev = f.heal;
            }
        }
        // Across kinds: some faults are in force at once.
        let overlaps = all
            .iter()
            .enumerate()
            .filter(|(i, f)| all[i + 1..].iter().any(|g| g.start < f.heal))
            .count();
        assert!(overlaps > 0);
        // Each lane is the plain schedule of its nemesis alone, on its own stream.
        let kills: Vec<_> =
            Schedule::new(vec![&k as &dyn DynNemesis], Rng::new(3, 101), 3, opts).collect();
        let merged_kills: Vec<_> = all
            .iter()
            .filter(|f| f.fault.nemesis() == "kill")
            .cloned()
            .collect();
        assert_eq!(kills, merged_kills);
        // Deterministic.
        let again: Vec<PlannedFault> =
            Overlapping::new(nemeses, |i| Rng::new(3, 100 + i as u64), 3, opts).collect();
        assert_eq!(all, again);
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
