//! The cas-register workload: reads, writes and compare-and-sets over a few independent
//! keys, with values from a small range (so that CAS often succeeds and the checker's
//! memoisation is effective), every key written once before the test phase (so a read of
//! "no value" is an anomaly, not a startup artefact).
//!
//! Its ops are [`RegisterOp`]s, carried as Jepsen's independent-key values: a read is
//! `read [k nil]` (and completes `[k v]`, `v` nil when the key does not exist), a write
//! `write [k v]`, a compare-and-set `cas [k [old new]]`.

use crate::client::Op;
use crate::generator::{Mix, OpGen};
use crate::rng::Rng;
use crate::workload::{Workload, WorkloadOptions};
use serde_json::{json, Value};

/// Values written are `0..VALUES`.
pub const VALUES: i64 = 5;

/// One register op on an independent key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterOp {
    /// Read the key's value.
    Read {
        /// The key.
        key: u64,
    },
    /// Write a value.
    Write {
        /// The key.
        key: u64,
        /// The value.
        value: i64,
    },
    /// Write `new` if the current value is `old`.
    Cas {
        /// The key.
        key: u64,
        /// The value expected.
        old: i64,
        /// The value written.
        new: i64,
    },
}

impl RegisterOp {
    /// The op as data.
    pub fn to_op(self) -> Op {
        match self {
            RegisterOp::Read { key } => Op::new("read", json!([key, null])),
            RegisterOp::Write { key, value } => Op::new("write", json!([key, value])),
            RegisterOp::Cas { key, old, new } => Op::new("cas", json!([key, [old, new]])),
        }
    }

    /// The register op `op` is, or why it is none (a client answers that with a `Fail`).
    pub fn from_op(op: &Op) -> Result<RegisterOp, String> {
        let bad = || format!("not a register op: {} {}", op.f, op.value);
        let [key, arg] = op.value.as_array().map(Vec::as_slice).unwrap_or_default() else {
            return Err(bad());
        };
        let key = key.as_u64().ok_or_else(bad)?;
        let int = |v: &Value| v.as_i64().ok_or_else(bad);
        Ok(match (op.f.as_str(), arg) {
            ("read", _) => RegisterOp::Read { key },
            ("write", v) => RegisterOp::Write {
                key,
                value: int(v)?,
            },
            ("cas", Value::Array(pair)) if pair.len() == 2 => RegisterOp::Cas {
                key,
                old: int(&pair[0])?,
                new: int(&pair[1])?,
            },
            _ => return Err(bad()),
        })
    }

    /// The key.
    pub fn key(self) -> u64 {
        match self {
            RegisterOp::Read { key }
            | RegisterOp::Write { key, .. }
            | RegisterOp::Cas { key, .. } => key,
        }
    }

    /// The completion value of a read of `key` that found `value` (`None`: no such key).
    pub fn read_value(key: u64, value: Option<i64>) -> Value {
        json!([key, value])
    }
}

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

    fn ops(&self) -> &'static str {
        "register"
    }

    fn setup(&self) -> Vec<Op> {
        (0..self.keys)
            .map(|key| RegisterOp::Write { key, value: 0 }.to_op())
            .collect()
    }

    fn generator(&self, _worker: usize, _workers: usize) -> Box<dyn OpGen> {
        let keys = self.keys;
        Box::new(Mix(vec![
            (
                2,
                Box::new(move |r: &mut Rng| RegisterOp::Read { key: r.below(keys) }.to_op()),
            ),
            (
                1,
                Box::new(move |r: &mut Rng| {
                    let key = r.below(keys);
                    RegisterOp::Write {
                        key,
                        value: value(r),
                    }
                    .to_op()
                }),
            ),
            (
                1,
                Box::new(move |r: &mut Rng| {
                    let key = r.below(keys);
                    let old = value(r);
                    let new = value(r);
                    RegisterOp::Cas { key, old, new }.to_op()
                }),
            ),
        ]))
    }

    fn finals(&self) -> Vec<Op> {
        (0..self.keys)
            .map(|key| RegisterOp::Read { key }.to_op())
            .collect()
    }

    fn checker(&self) -> Box<dyn checkers::Checker> {
        // Independent keys from nil (every key is written in setup, so a read of nil
        // before that write's completion is the only nil a read may see).
        let linearizable = checkers::Linearizable::new(checkers::CheckOptions {
            model: checkers::ModelKind::CasRegister,
            initial: Value::Null,
            independent: true,
            time_limit: Some(std::time::Duration::from_secs(300)),
            ..Default::default()
        });
        Box::new(
            checkers::Compose::new()
                .with(linearizable)
                .with(checkers::Stats),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_has_all_three_functions_over_all_keys() {
        let w = CasRegister::new(&WorkloadOptions::keys(4));
        let mut g = w.generator(0, 1);
        let mut rng = Rng::new(11, 0);
        let ops: Vec<RegisterOp> = (0..400)
            .map(|_| RegisterOp::from_op(&g.op(&mut rng)).unwrap())
            .collect();
        for f in ["read", "write", "cas"] {
            assert!(ops.iter().any(|o| o.to_op().f == f), "{f} missing");
        }
        for k in 0..4 {
            assert!(ops.iter().any(|o| o.key() == k));
        }
        assert!(ops.iter().all(|o| match *o {
            RegisterOp::Read { key } => key < 4,
            RegisterOp::Write { value, .. } => (0..VALUES).contains(&value),
            RegisterOp::Cas { old, new, .. } => old < VALUES && new < VALUES,
        }));
    }

    #[test]
    fn every_key_is_written_before_and_read_after() {
        let w = CasRegister::new(&WorkloadOptions::keys(3));
        let keys = |ops: Vec<Op>| -> Vec<u64> {
            ops.iter()
                .map(|o| RegisterOp::from_op(o).unwrap().key())
                .collect()
        };
        assert_eq!(keys(w.setup()), [0, 1, 2]);
        assert!(w.setup().iter().all(|o| o.f == "write"));
        assert!(w.finals().iter().all(|o| o.f == "read"));
    }

    #[test]
    fn ops_are_jepsen_independent_values_and_read_back() {
        let cases = [
            (RegisterOp::Read { key: 3 }, "read", json!([3, null])),
            (
                RegisterOp::Write { key: 1, value: 4 },
                "write",
                json!([1, 4]),
            ),
            (
                RegisterOp::Cas {
                    key: 0,
                    old: 2,
                    new: 3,
                },
                "cas",
                json!([0, [2, 3]]),
            ),
        ];
        for (typed, f, value) in cases {
            let op = typed.to_op();
            assert_eq!((op.f.as_str(), &op.value), (f, &value));
            assert_eq!(RegisterOp::from_op(&op), Ok(typed));
        }
        for bad in [
            Op::new("read", json!(3)),
            Op::new("write", json!([1])),
            Op::new("write", json!([1, "x"])),
            Op::new("cas", json!([0, [1]])),
            Op::new("append", json!([0, 1])),
            Op::new("read", json!([-1, null])),
        ] {
            assert!(RegisterOp::from_op(&bad).is_err(), "{bad:?}");
        }
    }
}
