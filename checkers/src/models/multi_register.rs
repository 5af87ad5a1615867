//! Many registers read and written in transactions (Knossos's `multi-register`).
//!
//! Every op is a `txn` whose value is a list of micro-ops, applied in order, atomically:
//! `[read k v]` (the register `k` holds `v`) and `[write k v]` (set `k` to `v`); in JSON,
//! `["read", k, v]`, and Elle's short `r` / `w` are accepted too. Every register starts at
//! the same initial value (0 in Knossos's tests).
//!
//! Which values a read micro-op carries:
//!
//! - An `ok` txn's micro-ops are taken from its completion, which carries the values read
//!   (the invocation's reads carry nil). If the completion has no list, the invocation's is
//!   used.
//! - A read micro-op whose value is nil constrains nothing (Knossos's rule): the invocation's
//!   reads are nil, and a txn whose outcome is unknown reports no values. So an indeterminate
//!   (`info`) txn keeps only its writes, and one with no writes is dropped.
//!
//! The state is the set of registers that differ from the initial value, as sorted
//! `(key, value)` pairs of interned ids: equal register contents give equal states.

use crate::error::ModelError;
use crate::model::Model;
use crate::models::intern::Interner;
use serde_json::{Map, Value};

/// One micro-op, its key and value interned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MicroOp {
    /// Register `.0` holds `.1`.
    Read(u32, u32),
    /// Set register `.0` to `.1`.
    Write(u32, u32),
}

/// A transaction: its micro-ops, in order.
pub type TxnOp = Vec<MicroOp>;

/// Registers that differ from the initial value: `(key id, value id)`, sorted by key.
pub type Registers = Vec<(u32, u32)>;

/// Registers read and written by transactions.
#[derive(Clone, Debug)]
pub struct MultiRegister {
    keys: Interner,
    values: Interner,
    initial: u32,
}

impl MultiRegister {
    /// Registers that all start out holding `initial`.
    pub fn new(initial: &Value) -> Self {
        let mut values = Interner::new();
        let initial = values.intern(initial);
        MultiRegister {
            keys: Interner::new(),
            values,
            initial,
        }
    }

    /// The value register `key` holds in `state`.
    fn get(&self, state: &Registers, key: u32) -> u32 {
        match state.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(i) => state[i].1,
            Err(_) => self.initial,
        }
    }

    /// Sets register `key` to `value` in `state`, keeping it canonical.
    fn set(&self, state: &mut Registers, key: u32, value: u32) {
        match state.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(i) if value == self.initial => {
                state.remove(i);
            }
            Ok(i) => state[i].1 = value,
            Err(_) if value == self.initial => {}
            Err(i) => state.insert(i, (key, value)),
        }
    }

    /// Translates `[f k v]` micro-ops; `None` for a read that constrains nothing.
    fn micro_op(&mut self, value: &Value) -> Result<Option<MicroOp>, ModelError> {
        let bad = || ModelError::BadValue {
            f: "txn".into(),
            expected: "a list of [read k v] / [write k v]",
            value: value.clone(),
        };
        let Some([f, k, v]) = value.as_array().map(Vec::as_slice) else {
            return Err(bad());
        };
        match f.as_str() {
            Some("read" | "r") if v.is_null() => Ok(None),
            Some("read" | "r") => Ok(Some(MicroOp::Read(
                self.keys.intern(k),
                self.values.intern(v),
            ))),
            Some("write" | "w") => Ok(Some(MicroOp::Write(
                self.keys.intern(k),
                self.values.intern(v),
            ))),
            _ => Err(bad()),
        }
    }
}

impl Model for MultiRegister {
    type Op = TxnOp;
    type State = Registers;

    fn name(&self) -> &'static str {
        "multi-register"
    }

    fn init(&self) -> Registers {
        Vec::new()
    }

    fn prepare(
        &mut self,
        f: &str,
        invoke: &Value,
        completion: Option<&Value>,
    ) -> Result<Option<TxnOp>, ModelError> {
        if f != "txn" {
            return Err(ModelError::UnknownFunction {
                model: "multi-register",
                f: f.into(),
            });
        }
        let value = match completion {
            Some(c @ Value::Array(_)) => c,
            _ => invoke,
        };
        let Value::Array(micro) = value else {
            return Err(ModelError::BadValue {
                f: "txn".into(),
                expected: "a list of [read k v] / [write k v]",
                value: value.clone(),
            });
        };
        let mut txn = Vec::with_capacity(micro.len());
        for m in micro {
            txn.extend(self.micro_op(m)?);
        }
        Ok((!txn.is_empty()).then_some(txn))
    }

    fn step(&self, state: &Registers, txn: &TxnOp) -> Option<Registers> {
        let mut next = state.clone();
        for op in txn {
            match *op {
                MicroOp::Read(k, v) => {
                    if self.get(&next, k) != v {
                        return None;
                    }
                }
                MicroOp::Write(k, v) => self.set(&mut next, k, v),
            }
        }
        Some(next)
    }

    fn read_only(&self, txn: &TxnOp) -> bool {
        txn.iter().all(|m| matches!(m, MicroOp::Read(..)))
    }

    fn show(&self, state: &Registers) -> Value {
        // Every register seen so far, in key order of first appearance.
        let mut out = Map::new();
        for id in 0..self.keys.len() as u32 {
            let key = match self.keys.value(id) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            out.insert(key, self.values.value(self.get(state, id)));
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The final state shown, or the index of the txn that cannot happen.
    type Outcome = Result<Value, usize>;

    /// Runs `txns` (completion values) in order from the initial state; the index of the
    /// first that cannot happen, or the final state shown.
    fn run(initial: Value, txns: &[Value]) -> Outcome {
        let mut m = MultiRegister::new(&initial);
        let ops: Vec<Option<TxnOp>> = txns
            .iter()
            .map(|t| m.prepare("txn", &Value::Null, Some(t)).unwrap())
            .collect();
        let mut state = m.init();
        for (i, op) in ops.iter().enumerate() {
            if let Some(op) = op {
                state = m.step(&state, op).ok_or(i)?;
            }
        }
        Ok(m.show(&state))
    }

    #[test]
    fn accepted_and_rejected_sequences() {
        let table: &[(&str, Value, Vec<Value>, Outcome)] = &[
            (
                "reads of the initial value",
                json!(0),
                vec![json!([["read", "x", 0], ["read", "y", 0]])],
                Ok(json!({"x": 0, "y": 0})),
            ),
            (
                "a write then a read",
                json!(0),
                vec![
                    json!([["write", "x", 1]]),
                    json!([["read", "x", 1], ["read", "y", 0]]),
                ],
                Ok(json!({"x": 1, "y": 0})),
            ),
            (
                "a read inside a txn sees the txn's own write",
                json!(0),
                vec![json!([["write", "x", 2], ["read", "x", 2]])],
                Ok(json!({"x": 2})),
            ),
            (
                "stale read",
                json!(0),
                vec![json!([["w", "x", 1]]), json!([["r", "x", 0]])],
                Err(1),
            ),
            (
                "a nil read constrains nothing",
                json!(0),
                vec![json!([["read", "x", null]])],
                Ok(json!({})),
            ),
            (
                "writing the initial value back gives the initial state",
                json!(null),
                vec![json!([["write", 1, 5], ["write", 1, null]])],
                Ok(json!({"1": null})),
            ),
        ];
        for (name, initial, txns, want) in table {
            assert_eq!(&run(initial.clone(), txns), want, "{name}");
        }
    }

    #[test]
    fn canonical_states_and_dropped_ops() {
        let mut m = MultiRegister::new(&json!(0));
        let w = m
            .prepare("txn", &json!([["write", "x", 1], ["write", "x", 0]]), None)
            .unwrap()
            .unwrap();
        assert_eq!(m.step(&m.init(), &w), Some(m.init()));
        let reads_only = json!([["read", "x", null]]);
        assert_eq!(m.prepare("txn", &reads_only, None), Ok(None));
        let e = m
            .prepare("txn", &json!([["cas", "x", 1]]), None)
            .unwrap_err();
        assert!(e.to_string().starts_with("txn expects a list of"), "{e}");
        assert!(m.prepare("read", &Value::Null, None).is_err());
    }
}
