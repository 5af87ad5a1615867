//! The cas-register workload: reads, writes and compare-and-sets over a few independent
//! keys, every key written once (with 0) before the test phase (so a read of "no value" is
//! an anomaly, not a startup artefact).
//!
//! Its values ([`Values`], its `[cas-register]` table's `values`):
//! - `small` (the default, Jepsen's): from `0..5`, so that a CAS often succeeds and the
//!   checker's memoisation is effective;
//! - `unique`: every write and every CAS writes a value no other op writes (worker `w` of
//!   `n` writes `1 + w`, `1 + w + n`, ...), and a CAS expects the value its own worker last
//!   wrote to that key (0 before it wrote any). A value can then be linearized once only, so
//!   a write the system applies twice — a client library retrying a write whose first attempt
//!   was committed, with another write between the two — shows as a read of a value that
//!   was already overwritten. With small values another op writing the same value hides it.
//!   Systems whose client retries writes by itself ask for this by default (Aspen).
//!
//! Its ops are [`RegisterOp`]s, carried as Jepsen's independent-key values: a read is
//! `read [k nil]` (and completes `[k v]`, `v` nil when the key does not exist), a write
//! `write [k v]`, a compare-and-set `cas [k [old new]]`.

use crate::client::Op;
use crate::generator::{Mix, OpGen};
use crate::rng::Rng;
use crate::workload::{Workload, WorkloadError, WorkloadOptions};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Small values written are `0..VALUES`.
pub const VALUES: i64 = 5;

/// Which values writes and compare-and-sets write (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Values {
    /// From `0..VALUES` (Jepsen's).
    #[default]
    Small,
    /// Every value written once only.
    Unique,
}

/// The cas-register workload's own options: its `[cas-register]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CasRegisterOptions {
    /// `small` or `unique`.
    pub values: Values,
}

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
    values: Values,
}

impl CasRegister {
    /// A workload over `opts.keys` keys (at least one), with its `[cas-register]` options.
    pub fn new(opts: &WorkloadOptions) -> Result<Self, WorkloadError> {
        let own: CasRegisterOptions = opts.own("cas-register")?;
        Ok(CasRegister {
            keys: opts.keys.max(1),
            values: own.values,
        })
    }

    /// Which values it writes.
    pub fn values(&self) -> Values {
        self.values
    }
}

fn value(rng: &mut Rng) -> i64 {
    rng.below(VALUES as u64) as i64
}

/// Worker `worker` of `workers`'s ops with unique values (see the module docs): a pure
/// function of the seed like every generator — its state is what it generated before.
struct UniqueOps {
    keys: u64,
    next: i64,
    step: i64,
    /// The value this worker last wrote to each key.
    last: BTreeMap<u64, i64>,
}

impl UniqueOps {
    fn fresh(&mut self) -> i64 {
        let v = self.next;
        self.next += self.step;
        v
    }
}

impl OpGen for UniqueOps {
    fn op(&mut self, r: &mut Rng) -> Op {
        let key = r.below(self.keys);
        // The mix of the small-valued workload: 2 reads, 1 write, 1 cas.
        match r.weighted(&[2, 1, 1]) {
            0 => RegisterOp::Read { key }.to_op(),
            1 => {
                let value = self.fresh();
                self.last.insert(key, value);
                RegisterOp::Write { key, value }.to_op()
            }
            _ => {
                let old = self.last.get(&key).copied().unwrap_or(0);
                let new = self.fresh();
                self.last.insert(key, new);
                RegisterOp::Cas { key, old, new }.to_op()
            }
        }
    }
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

    fn generator(&self, worker: usize, workers: usize) -> Box<dyn OpGen> {
        let keys = self.keys;
        if self.values == Values::Unique {
            return Box::new(UniqueOps {
                keys,
                next: 1 + worker as i64,
                step: workers.max(1) as i64,
                last: BTreeMap::new(),
            });
        }
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
        let w = CasRegister::new(&WorkloadOptions::keys(4)).unwrap();
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
        let w = CasRegister::new(&WorkloadOptions::keys(3)).unwrap();
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

    fn unique(keys: u64) -> CasRegister {
        let opts = WorkloadOptions {
            keys,
            options: json!({"values": "unique"}),
        };
        CasRegister::new(&opts).unwrap()
    }

    #[test]
    fn unique_values_are_written_once_across_workers_and_cas_expects_its_own_last() {
        let w = unique(3);
        assert_eq!(w.values(), Values::Unique);
        let mut written = std::collections::BTreeSet::new();
        let mut funcs = std::collections::BTreeSet::new();
        for worker in 0..4 {
            let mut g = w.generator(worker, 4);
            let mut rng = Rng::new(5, worker as u64);
            let mut last: BTreeMap<u64, i64> = BTreeMap::new();
            for _ in 0..300 {
                let op = RegisterOp::from_op(&g.op(&mut rng)).unwrap();
                funcs.insert(op.to_op().f);
                let (key, new) = match op {
                    RegisterOp::Read { .. } => continue,
                    RegisterOp::Write { key, value } => (key, value),
                    RegisterOp::Cas { key, old, new } => {
                        assert_eq!(old, last.get(&key).copied().unwrap_or(0), "{op:?}");
                        (key, new)
                    }
                };
                assert!(new > 0, "0 is the setup's value: {op:?}");
                assert_eq!((new - 1) % 4, worker as i64, "{op:?}");
                assert!(written.insert(new), "{new} written twice");
                last.insert(key, new);
            }
        }
        assert_eq!(funcs.len(), 3, "{funcs:?}");
    }

    #[test]
    fn values_option_is_checked() {
        let small = CasRegister::new(&WorkloadOptions::keys(1)).unwrap();
        assert_eq!(small.values(), Values::Small);
        for (options, want) in [
            (
                json!({"values": "random"}),
                "[cas-register]: unknown variant `random`",
            ),
            (
                json!({"value": "unique"}),
                "[cas-register]: unknown field `value`",
            ),
        ] {
            let e = CasRegister::new(&WorkloadOptions { keys: 1, options })
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(want), "{e}");
        }
    }

    /// Why unique values: a write the client retried and the system applied twice, with
    /// another write between the two, is a history the checker rejects — the value read
    /// again after it was overwritten can be linearized once only. (With small values the
    /// same reads are explained by any other write of that value.)
    #[test]
    fn a_twice_applied_write_of_a_unique_value_is_not_linearizable() {
        let history = |second_writer_of_1: &str| {
            let text = format!(
                r#"[{{:type :invoke, :f :write, :value [0 1], :process 0}}
                {{:type :invoke, :f :read, :value [0 nil], :process 1}}
                {{:type :ok, :f :read, :value [0 1], :process 1}}
                {{:type :invoke, :f :write, :value [0 2], :process 2}}
                {{:type :ok, :f :write, :value [0 2], :process 2}}
                {{:type :invoke, :f :read, :value [0 nil], :process 1}}
                {{:type :ok, :f :read, :value [0 2], :process 1}}
                {second_writer_of_1}
                {{:type :invoke, :f :read, :value [0 nil], :process 1}}
                {{:type :ok, :f :read, :value [0 1], :process 1}}
                {{:type :info, :f :write, :value [0 1], :process 0}}]"#
            );
            histories::parse_edn(&text, "t").unwrap()
        };
        let checker = unique(1).checker();
        let v = checker.check(&history(""));
        assert_eq!(v.valid, checkers::Validity::Invalid, "{v}");
        // Had another op written 1 too (possible with small values), it would explain it.
        let other = "{:type :invoke, :f :write, :value [0 1], :process 3}
                     {:type :ok, :f :write, :value [0 1], :process 3}";
        let v = checker.check(&history(other));
        assert_eq!(v.valid, checkers::Validity::Valid, "{v}");
    }
}
