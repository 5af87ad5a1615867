//! Small composable, pure op generators.
//!
//! A plan's client side is built from two kinds of pieces:
//! - [`OpGen`] makes the next operation: [`Mix`] picks among weighted generators; workloads
//!   supply the leaves (e.g. a read of a random key).
//! - [`Timed`] gives operations their logical times: [`Stagger`] spaces them by a random
//!   interval around a mean (the rate), [`Limit`] stops a stream at a time, [`Phases`] runs
//!   one stream after another, [`Once`] emits a fixed list at one time.
//!
//! [`per_worker`] runs one timed stream per worker, each from its own random stream (so one
//! worker's ops do not shift when the concurrency changes), and merges them by time.
//!
//! Nothing here reads a clock, a result or the environment: the same seed and options give
//! the same ops at the same logical times, byte for byte.

use crate::client::Op;
use crate::rng::Rng;

/// Makes operations.
pub trait OpGen: Send {
    /// The next operation.
    fn op(&mut self, rng: &mut Rng) -> Op;
}

impl<F: FnMut(&mut Rng) -> Op + Send> OpGen for F {
    fn op(&mut self, rng: &mut Rng) -> Op {
        self(rng)
    }
}

impl OpGen for Box<dyn OpGen> {
    fn op(&mut self, rng: &mut Rng) -> Op {
        (**self).op(rng)
    }
}

/// Picks one of several generators with probability proportional to its weight.
pub struct Mix(pub Vec<(u32, Box<dyn OpGen>)>);

impl OpGen for Mix {
    fn op(&mut self, rng: &mut Rng) -> Op {
        let weights: Vec<u32> = self.0.iter().map(|(w, _)| *w).collect();
        let i = rng.weighted(&weights);
        self.0[i].1.op(rng)
    }
}

/// A stream of operations with logical times (ns from the start of the test phase).
pub trait Timed: Send {
    /// The next op at or after `now` (the time of the previous op of this stream), or
    /// `None` when the stream has ended.
    fn next(&mut self, rng: &mut Rng, now: u64) -> Option<(u64, Op)>;
}

/// Spaces ops by a uniform random interval in `[0, 2 × mean]` (Jepsen's `stagger`), so a
/// worker issues on average one op per `mean`.
pub struct Stagger<G> {
    gen: G,
    mean_ns: u64,
}

impl<G: OpGen> Stagger<G> {
    /// Ops from `gen`, one per `mean_ns` on average.
    pub fn new(gen: G, mean_ns: u64) -> Self {
        Stagger { gen, mean_ns }
    }
}

impl<G: OpGen> Timed for Stagger<G> {
    fn next(&mut self, rng: &mut Rng, now: u64) -> Option<(u64, Op)> {
        let gap = if self.mean_ns == 0 {
            0
        } else {
            rng.range(0, 2 * self.mean_ns)
        };
        let op = self.gen.op(rng);
        Some((now + gap, op))
    }
}

/// Ends a stream at `end_ns`: ops planned at or after it are not emitted.
pub struct Limit<T> {
    inner: T,
    end_ns: u64,
}

impl<T: Timed> Limit<T> {
    /// `inner` until `end_ns`.
    pub fn new(inner: T, end_ns: u64) -> Self {
        Limit { inner, end_ns }
    }
}

impl<T: Timed> Timed for Limit<T> {
    fn next(&mut self, rng: &mut Rng, now: u64) -> Option<(u64, Op)> {
        match self.inner.next(rng, now) {
            Some((t, op)) if t < self.end_ns => Some((t, op)),
            _ => None,
        }
    }
}

/// A fixed list of ops, all at time `at` (or at `now`, if later).
pub struct Once {
    ops: std::vec::IntoIter<Op>,
    at: u64,
}

impl Once {
    /// Emits `ops` at `at`.
    pub fn new(ops: Vec<Op>, at: u64) -> Self {
        Once {
            ops: ops.into_iter(),
            at,
        }
    }
}

impl Timed for Once {
    fn next(&mut self, _rng: &mut Rng, now: u64) -> Option<(u64, Op)> {
        self.ops.next().map(|op| (now.max(self.at), op))
    }
}

/// Runs streams one after another: the next starts when the previous has ended.
pub struct Phases(std::collections::VecDeque<Box<dyn Timed>>);

impl Phases {
    /// The phases, in order.
    pub fn new(phases: Vec<Box<dyn Timed>>) -> Self {
        Phases(phases.into())
    }
}

impl Timed for Phases {
    fn next(&mut self, rng: &mut Rng, now: u64) -> Option<(u64, Op)> {
        while let Some(front) = self.0.front_mut() {
            if let Some(x) = front.next(rng, now) {
                return Some(x);
            }
            self.0.pop_front();
        }
        None
    }
}

/// One planned client operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedOp {
    /// Logical time, ns from the start of the run's test phase.
    pub time: u64,
    /// The worker that runs it.
    pub worker: usize,
    /// What it does.
    pub op: Op,
}

/// One worker's timed stream, drawing from its own random stream: the ops of one worker, in
/// order, made one at a time.
pub struct WorkerStream {
    worker: usize,
    rng: Rng,
    stream: Box<dyn Timed>,
    now: u64,
}

impl WorkerStream {
    /// Worker `worker`'s ops from `stream`, drawn from random stream `stream_base + worker`
    /// of `seed`.
    pub fn new(seed: u64, stream_base: u64, worker: usize, stream: Box<dyn Timed>) -> Self {
        WorkerStream {
            worker,
            rng: Rng::new(seed, stream_base + worker as u64),
            stream,
            now: 0,
        }
    }
}

impl Iterator for WorkerStream {
    type Item = PlannedOp;

    fn next(&mut self) -> Option<PlannedOp> {
        let (t, op) = self.stream.next(&mut self.rng, self.now)?;
        self.now = t;
        Some(PlannedOp {
            time: t,
            worker: self.worker,
            op,
        })
    }
}

/// Several workers' streams merged by (time, worker), lazily: it holds one pending op per
/// worker, whatever the streams' lengths. A worker's own ops keep their order at equal times
/// (each stream's times never decrease), so this is the order [`per_worker`] sorts into.
pub struct Merged {
    streams: Vec<WorkerStream>,
    /// The next op of each stream still running, smallest (time, worker) on top.
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize)>>,
    pending: Vec<Option<PlannedOp>>,
}

impl Merged {
    /// The merge of `streams` (worker `i` is `streams[i]`).
    pub fn new(mut streams: Vec<WorkerStream>) -> Self {
        let mut heads = std::collections::BinaryHeap::new();
        let mut pending = Vec::with_capacity(streams.len());
        for (i, s) in streams.iter_mut().enumerate() {
            let next = s.next();
            if let Some(p) = &next {
                heads.push(std::cmp::Reverse((p.time, i)));
            }
            pending.push(next);
        }
        Merged {
            streams,
            heads,
            pending,
        }
    }
}

impl Iterator for Merged {
    type Item = PlannedOp;

    fn next(&mut self) -> Option<PlannedOp> {
        let std::cmp::Reverse((_, i)) = self.heads.pop()?;
        let out = self.pending[i].take();
        let next = self.streams[i].next();
        if let Some(p) = &next {
            self.heads.push(std::cmp::Reverse((p.time, i)));
        }
        self.pending[i] = next;
        out
    }
}

/// Runs `make(worker)` for each of `workers` workers, each drawing from random stream
/// `stream_base + worker` of `seed`, and merges the results by (time, worker), whole. See
/// [`Merged`] for the same ops one at a time.
pub fn per_worker(
    seed: u64,
    stream_base: u64,
    workers: usize,
    mut make: impl FnMut(usize) -> Box<dyn Timed>,
) -> Vec<PlannedOp> {
    let mut all = Vec::new();
    for w in 0..workers {
        all.extend(WorkerStream::new(seed, stream_base, w, make(w)));
    }
    // Stable sort: a worker's own ops keep their order at equal times.
    all.sort_by_key(|p| (p.time, p.worker));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    fn read(key: u64) -> Op {
        Op::new("read", serde_json::json!([key, null]))
    }

    fn key(op: &Op) -> u64 {
        op.value[0].as_u64().unwrap()
    }

    #[test]
    fn stagger_limit_respects_the_limit_and_rate() {
        let ops = per_worker(1, 0, 2, |_| {
            Box::new(Limit::new(Stagger::new(|_: &mut Rng| read(0), 10), 10_000))
        });
        assert!(ops.iter().all(|p| p.time < 10_000));
        // ~1000 per worker at mean 10 over 10_000.
        assert!((1500..2500).contains(&ops.len()), "{}", ops.len());
        assert!(ops.windows(2).all(|w| w[0].time <= w[1].time));
    }

    #[test]
    fn phases_run_in_order() {
        let ops = per_worker(1, 0, 1, |_| {
            Box::new(Phases::new(vec![
                Box::new(Once::new(vec![read(1), read(2)], 0)),
                Box::new(Limit::new(Stagger::new(|_: &mut Rng| read(3), 5), 50)),
                Box::new(Once::new(vec![read(4)], 100)),
            ]))
        });
        let keys: Vec<u64> = ops.iter().map(|p| key(&p.op)).collect();
        assert_eq!(&keys[..2], &[1, 2]);
        assert_eq!(*keys.last().unwrap(), 4);
        assert_eq!(ops.last().unwrap().time, 100);
    }

    #[test]
    fn mix_uses_every_branch() {
        let mut m = Mix(vec![
            (1, Box::new(|_: &mut Rng| read(1))),
            (3, Box::new(|_: &mut Rng| read(2))),
        ]);
        let mut rng = Rng::new(9, 0);
        let keys: Vec<u64> = (0..100).map(|_| key(&m.op(&mut rng))).collect();
        assert!(keys.contains(&1) && keys.contains(&2));
        assert!(keys.iter().filter(|&&k| k == 2).count() > 50);
    }

    #[test]
    fn the_lazy_merge_is_the_sorted_order() {
        // Ties within and between workers: gaps of 0..=2 on a mean of 1.
        for seed in 0..20 {
            let make = |_| -> Box<dyn Timed> {
                Box::new(Limit::new(
                    Stagger::new(|r: &mut Rng| read(r.below(10)), 1),
                    300,
                ))
            };
            let sorted = per_worker(seed, 3, 4, make);
            let merged: Vec<PlannedOp> = Merged::new(
                (0..4)
                    .map(|w| WorkerStream::new(seed, 3, w, make(w)))
                    .collect(),
            )
            .collect();
            assert!(sorted.len() > 500);
            assert_eq!(sorted, merged, "seed {seed}");
        }
    }

    #[test]
    fn worker_streams_are_independent_of_concurrency() {
        let make = |_| -> Box<dyn Timed> {
            Box::new(Limit::new(
                Stagger::new(|r: &mut Rng| read(r.below(10)), 7),
                1_000,
            ))
        };
        let two = per_worker(5, 0, 2, make);
        let three = per_worker(5, 0, 3, make);
        let w0 = |v: &[PlannedOp]| -> Vec<PlannedOp> {
            v.iter().filter(|p| p.worker == 0).cloned().collect()
        };
        assert_eq!(w0(&two), w0(&three));
    }
}
