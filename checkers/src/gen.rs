//! Generated cas-register histories, for benchmarks and tests (not a stable API).
//!
//! A history is *simulated* from a real sequential register: ops are spread over `processes`
//! busy workers (each starts its next op a moment after the last returned, so concurrency is
//! as heavy as the process count allows), each op takes effect at a random instant inside its
//! interval, and the register's real state gives each read its value and each cas its
//! outcome (a cas that finds another value fails). A crashed op (reported `info`) took effect
//! or not, at random, possibly after its `info` was reported; its process is then retired and
//! a fresh one takes the worker over, as in Jepsen. Such a history is linearizable.
//! `mutate` then changes one `ok` read's value: for odd seeds to a value never written (not
//! linearizable), for even seeds to another value (often still linearizable).
//!
//! Deterministic: the same [`GenOptions`] give the same history (splitmix64, seeded).

use histories::{Event, EventType, Process};
use serde_json::{json, Value};

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenOptions {
    /// The seed.
    pub seed: u64,
    /// Concurrent workers.
    pub processes: usize,
    /// Operations.
    pub ops: usize,
    /// Values written are `0..values`.
    pub values: u32,
    /// Per mille of ops that crash (`info`).
    pub crash_per_mille: u32,
    /// Change one `ok` read's value.
    pub mutate: bool,
}

/// splitmix64.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next word.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    Read,
    Write(u32),
    Cas(u32, u32),
}

struct Op {
    process: u64,
    call: Call,
    start: u64,
    end: u64,
    /// `None`: reported `info`.
    ok: Option<bool>,
    read: Option<u32>,
}

/// A simulated cas-register history (register starts at nil), see the module doc.
pub fn cas_register_history(o: &GenOptions) -> Vec<Event> {
    let mut rng = SplitMix(o.seed ^ 0x0515_7a11);
    let workers = o.processes.max(1);
    let mut free_at = vec![0u64; workers];
    let mut process: Vec<u64> = (0..workers as u64).collect();
    let mut next_process = workers as u64;
    let mut ops: Vec<Op> = Vec::with_capacity(o.ops);
    // (instant it takes effect, op)
    let mut points: Vec<(u64, usize)> = Vec::new();
    let scale = workers as u64;
    for i in 0..o.ops {
        // The worker free earliest takes the next op: every worker stays busy.
        let w = (0..workers).min_by_key(|&w| (free_at[w], w)).unwrap_or(0);
        let start = free_at[w] + rng.below(3);
        let end = start + 1 + rng.below(20);
        free_at[w] = end + 1;
        let call = match rng.below(3) {
            0 => Call::Read,
            1 => Call::Write(rng.below(u64::from(o.values)) as u32),
            _ => Call::Cas(
                rng.below(u64::from(o.values)) as u32,
                rng.below(u64::from(o.values)) as u32,
            ),
        };
        let crashed = rng.below(1000) < u64::from(o.crash_per_mille);
        // Distinct instants per worker: time × workers + worker.
        let (s, e) = (start * scale + w as u64, end * scale + w as u64);
        let point = if !crashed {
            Some(s + rng.below(e - s + 1))
        } else if rng.below(2) == 0 {
            // Took effect, maybe long after its `info` was reported.
            let late = rng.below(200) * scale;
            Some(s + rng.below(e - s + 1 + late))
        } else {
            None
        };
        if let Some(p) = point {
            points.push((p, i));
        }
        ops.push(Op {
            process: process[w],
            call,
            start: s,
            end: e,
            ok: (!crashed).then_some(true),
            read: None,
        });
        if crashed {
            process[w] = next_process;
            next_process += 1;
        }
    }
    points.sort_unstable();
    let mut register: Option<u32> = None;
    for (_, i) in points {
        let op = &mut ops[i];
        match op.call {
            Call::Read => op.read = register,
            Call::Write(v) => register = Some(v),
            Call::Cas(a, b) if register == Some(a) => register = Some(b),
            Call::Cas(..) => {
                if op.ok.is_some() {
                    op.ok = Some(false);
                }
            }
        }
    }
    if o.mutate {
        let reads: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].call == Call::Read && ops[i].ok.is_some())
            .collect();
        if !reads.is_empty() {
            // One in the middle half.
            let at = reads.len() / 4 + rng.below(reads.len() as u64 / 2 + 1) as usize;
            let op = &mut ops[reads[at.min(reads.len() - 1)]];
            // Odd seeds: a value nobody wrote. Even seeds: another value, which concurrent
            // writes may well explain (the history may stay valid).
            op.read = Some(if o.seed % 2 == 1 {
                o.values
            } else {
                op.read.map_or(0, |v| (v + 1) % o.values.max(1))
            });
        }
    }
    events(&ops)
}

fn events(ops: &[Op]) -> Vec<Event> {
    let nil_or = |v: Option<u32>| v.map_or(Value::Null, |v| json!(v));
    let mut timed: Vec<(u64, Event)> = Vec::with_capacity(ops.len() * 2);
    for op in ops {
        let (f, invoke) = match op.call {
            Call::Read => ("read", Value::Null),
            Call::Write(v) => ("write", json!(v)),
            Call::Cas(a, b) => ("cas", json!([a, b])),
        };
        let (kind, completion) = match (op.ok, op.call) {
            (None, _) => (EventType::Info, invoke.clone()),
            (Some(false), _) => (EventType::Fail, invoke.clone()),
            (Some(true), Call::Read) => (EventType::Ok, nil_or(op.read)),
            (Some(true), _) => (EventType::Ok, invoke.clone()),
        };
        let event = |time, kind, value| Event {
            index: 0,
            time,
            kind,
            process: Process::Client(op.process),
            f: f.into(),
            value,
            error: None,
            node: None,
        };
        timed.push((op.start, event(op.start, EventType::Invoke, invoke)));
        timed.push((op.end, event(op.end, kind, completion)));
    }
    // Each worker's instants are distinct, and an op's completion is after its invocation.
    timed.sort_by_key(|(t, _)| *t);
    timed
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut e))| {
            e.index = i as u64;
            e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check, CheckOptions, Validity};

    #[test]
    fn simulated_histories_are_valid_and_deterministic() {
        for seed in 0..20 {
            let o = GenOptions {
                seed,
                processes: 3 + seed as usize % 6,
                ops: 200,
                values: 5,
                crash_per_mille: 100,
                mutate: false,
            };
            let h = cas_register_history(&o);
            assert_eq!(h, cas_register_history(&o));
            let opts = CheckOptions {
                independent: false,
                ..CheckOptions::default()
            };
            let report = check(&h, &opts);
            assert_eq!(report.valid, Validity::Valid, "seed {seed}: {report}");
        }
    }
}
