//! The cas-register workload: reads, writes and compare-and-sets over a few independent
//! keys, with values from a small range (so that CAS often succeeds and the checker's
//! memoisation is effective), every key written once before the test phase (so a read of
//! "no value" is an anomaly, not a startup artefact).

use crate::client::{ClientOp, OpFn, OpValue};
use crate::generator::{Mix, OpGen};
use crate::rng::Rng;
use crate::workload::{Workload, WorkloadOptions};

/// Values written are `0..VALUES`.
pub const VALUES: i64 = 5;

/// The cas-register workload.
#[derive(Clone, Debug)]
pub struct CasRegister {
    keys: u64,
}

impl CasRegister {
    /// A workload over `opts.keys` keys (at least one).
    pub fn new(opts: &WorkloadOptions) -> Self {
        CasRegister {
            keys: opts.keys.max(1),
        }
    }
}

fn value(rng: &mut Rng) -> i64 {
    rng.below(VALUES as u64) as i64
}

impl Workload for CasRegister {
    fn name(&self) -> &'static str {
        "cas-register"
    }

    fn model(&self) -> &'static str {
        "cas-register"
    }

    fn setup(&self) -> Vec<ClientOp> {
        (0..self.keys)
            .map(|key| ClientOp {
                f: OpFn::Write,
                key,
                value: OpValue::One(0),
            })
            .collect()
    }

    fn generator(&self) -> Box<dyn OpGen> {
        let keys = self.keys;
        Box::new(Mix(vec![
            (
                2,
                Box::new(move |r: &mut Rng| ClientOp {
                    f: OpFn::Read,
                    key: r.below(keys),
                    value: OpValue::None,
                }),
            ),
            (
                1,
                Box::new(move |r: &mut Rng| {
                    let key = r.below(keys);
                    ClientOp {
                        f: OpFn::Write,
                        key,
                        value: OpValue::One(value(r)),
                    }
                }),
            ),
            (
                1,
                Box::new(move |r: &mut Rng| {
                    let key = r.below(keys);
                    let old = value(r);
                    let new = value(r);
                    ClientOp {
                        f: OpFn::Cas,
                        key,
                        value: OpValue::Pair(old, new),
                    }
                }),
            ),
        ]))
    }

    fn finals(&self) -> Vec<ClientOp> {
        (0..self.keys)
            .map(|key| ClientOp {
                f: OpFn::Read,
                key,
                value: OpValue::None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_has_all_three_functions_over_all_keys() {
        let w = CasRegister::new(&WorkloadOptions { keys: 4 });
        let mut g = w.generator();
        let mut rng = Rng::new(11, 0);
        let ops: Vec<ClientOp> = (0..400).map(|_| g.op(&mut rng)).collect();
        for f in [OpFn::Read, OpFn::Write, OpFn::Cas] {
            assert!(ops.iter().any(|o| o.f == f), "{f:?} missing");
        }
        for k in 0..4 {
            assert!(ops.iter().any(|o| o.key == k));
        }
        assert!(ops.iter().all(|o| match o.value {
            OpValue::None => o.f == OpFn::Read,
            OpValue::One(v) => o.f == OpFn::Write && (0..VALUES).contains(&v),
            OpValue::Pair(a, b) => o.f == OpFn::Cas && a < VALUES && b < VALUES,
        }));
    }

    #[test]
    fn every_key_is_written_before_and_read_after() {
        let w = CasRegister::new(&WorkloadOptions { keys: 3 });
        assert_eq!(
            w.setup().iter().map(|o| o.key).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert!(w.setup().iter().all(|o| o.f == OpFn::Write));
        assert!(w.finals().iter().all(|o| o.f == OpFn::Read));
    }
}
