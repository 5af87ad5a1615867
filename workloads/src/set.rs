//! The set workload (Jepsen's `set`): clients add unique elements to one set and read it
//! back whole; a final read after every fault has healed must hold every acknowledged add.
//!
//! Ops, in Jepsen's shape: `add e` (an integer, unique over the whole test: worker `w` of `n`
//! adds `w`, `w + n`, `w + 2n`, ...) completing with the same value, and `read nil`
//! completing with the elements read, as a sorted list. There are no setup ops (the set
//! starts empty); the final op is one read.

use crate::client::Op;
use crate::generator::OpGen;
use crate::rng::Rng;
use crate::workload::{Workload, WorkloadOptions};
use serde_json::{json, Value};

/// Of this many ops, one is a read (the rest are adds).
const READ_ONE_IN: u64 = 10;

/// One set op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    /// Add an element.
    Add(u64),
    /// Read the whole set.
    Read,
}

impl SetOp {
    /// The op as data.
    pub fn to_op(self) -> Op {
        match self {
            SetOp::Add(e) => Op::new("add", json!(e)),
            SetOp::Read => Op::new("read", Value::Null),
        }
    }

    /// The set op `op` is, or why it is none.
    pub fn from_op(op: &Op) -> Result<SetOp, String> {
        match (op.f.as_str(), &op.value) {
            ("add", v) => v
                .as_u64()
                .map(SetOp::Add)
                .ok_or_else(|| format!("not a set op: add {v}")),
            ("read", _) => Ok(SetOp::Read),
            (f, v) => Err(format!("not a set op: {f} {v}")),
        }
    }

    /// The completion value of a read that found `elements`.
    pub fn read_value(mut elements: Vec<u64>) -> Value {
        elements.sort_unstable();
        json!(elements)
    }
}

/// The set workload.
#[derive(Clone, Debug, Default)]
pub struct Set;

impl Set {
    /// The workload (it has no options of its own).
    pub fn new(_opts: &WorkloadOptions) -> Self {
        Set
    }
}

struct Adds {
    next: u64,
    step: u64,
}

impl OpGen for Adds {
    fn op(&mut self, rng: &mut Rng) -> Op {
        if rng.below(READ_ONE_IN) == 0 {
            return SetOp::Read.to_op();
        }
        let e = self.next;
        self.next += self.step;
        SetOp::Add(e).to_op()
    }
}

impl Workload for Set {
    fn name(&self) -> &'static str {
        "set"
    }

    fn model(&self) -> &'static str {
        "set"
    }

    fn ops(&self) -> &'static str {
        "set"
    }

    fn setup(&self) -> Vec<Op> {
        Vec::new()
    }

    fn generator(&self, worker: usize, workers: usize) -> Box<dyn OpGen> {
        Box::new(Adds {
            next: worker as u64,
            step: workers.max(1) as u64,
        })
    }

    fn finals(&self) -> Vec<Op> {
        vec![SetOp::Read.to_op()]
    }

    fn checker(&self) -> Box<dyn checkers::Checker> {
        let set = checkers::Set::new(checkers::SetOptions::default());
        Box::new(checkers::Compose::new().with(set).with(checkers::Stats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_unique_across_workers_and_reads_are_mixed_in() {
        let w = Set::new(&WorkloadOptions::keys(1));
        let mut seen = std::collections::BTreeSet::new();
        let mut reads = 0;
        for worker in 0..4 {
            let mut g = w.generator(worker, 4);
            let mut rng = Rng::new(3, worker as u64);
            for _ in 0..500 {
                match SetOp::from_op(&g.op(&mut rng)).unwrap() {
                    SetOp::Add(e) => assert!(seen.insert(e), "{e} twice"),
                    SetOp::Read => reads += 1,
                }
            }
        }
        assert!((100..300).contains(&reads), "{reads}");
        assert_eq!(w.finals(), vec![SetOp::Read.to_op()]);
        assert!(w.setup().is_empty());
    }

    #[test]
    fn ops_read_back() {
        for op in [SetOp::Add(7), SetOp::Read] {
            assert_eq!(SetOp::from_op(&op.to_op()), Ok(op));
        }
        assert!(SetOp::from_op(&Op::new("add", json!("x"))).is_err());
        assert!(SetOp::from_op(&Op::new("write", json!(1))).is_err());
        assert_eq!(SetOp::read_value(vec![3, 1, 2]), json!([1, 2, 3]));
    }
}
