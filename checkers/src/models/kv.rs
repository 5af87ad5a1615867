//! One key of a key-value store (the `kv` model): a register that also takes `append`.
//!
//! [`check`](crate::check()) splits a `kv` history by key first (Jepsen's `[key value]`
//! values, see [`independent`](crate::independent)); this model then checks one key's ops,
//! with the key already stripped:
//!
//! - `read`: the `ok` completion's value is what was read; an indeterminate read is dropped.
//! - `write v`: the key holds `v`.
//! - `cas [old new]`: if the key holds `old`, it holds `new`; it cannot happen otherwise.
//! - `append e`: the key holds a list, and `e` is added at its end. Appending to nil starts
//!   the list `[e]`; appending to a value that is not a list cannot happen.
//!
//! A missing key reads as nil, and some stores read it as the empty list: a read of nil and a
//! read of `[]` both match a key holding nil or `[]`. Otherwise values compare as JSON.
//! Values (and list elements) are interned: a state is a value id or a list of element ids.

use crate::error::ModelError;
use crate::model::Model;
use crate::models::intern::Interner;
use serde_json::Value;

/// What one key holds, interned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvState {
    /// A value that is not a list (nil included).
    Value(u32),
    /// A list, as its elements' ids.
    List(Vec<u32>),
}

/// A kv op on one key, its values interned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// A read that returned this.
    Read(KvState),
    /// A write of this.
    Write(KvState),
    /// A compare-and-set from the first to the second.
    Cas(KvState, KvState),
    /// Appends this element.
    Append(u32),
}

/// One key: a register with `append`.
#[derive(Clone, Debug)]
pub struct Kv {
    values: Interner,
    nil: u32,
    initial: KvState,
}

impl Kv {
    /// A key that starts out holding `initial`.
    pub fn new(initial: &Value) -> Self {
        let mut values = Interner::new();
        let nil = values.intern(&Value::Null);
        let initial = intern_state(&mut values, initial);
        Kv {
            values,
            nil,
            initial,
        }
    }

    /// Is the key, holding `state`, seen as `seen`? Nil and `[]` are the same to a reader.
    fn matches(&self, state: &KvState, seen: &KvState) -> bool {
        let empty = |s: &KvState| match s {
            KvState::Value(v) => *v == self.nil,
            KvState::List(l) => l.is_empty(),
        };
        state == seen || (empty(state) && empty(seen))
    }
}

/// Interns `value` as a state.
fn intern_state(values: &mut Interner, value: &Value) -> KvState {
    match value {
        Value::Array(items) => KvState::List(items.iter().map(|v| values.intern(v)).collect()),
        other => KvState::Value(values.intern(other)),
    }
}

/// The value an op carries: its invocation's, or its completion's when the invocation has
/// none.
fn argument<'a>(invoke: &'a Value, completion: Option<&'a Value>) -> &'a Value {
    match (invoke, completion) {
        (Value::Null, Some(c)) => c,
        _ => invoke,
    }
}

impl Model for Kv {
    type Op = KvOp;
    type State = KvState;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> KvState {
        self.initial.clone()
    }

    fn prepare(
        &mut self,
        f: &str,
        invoke: &Value,
        completion: Option<&Value>,
    ) -> Result<Option<KvOp>, ModelError> {
        let values = &mut self.values;
        match f {
            "read" => Ok(completion.map(|v| KvOp::Read(intern_state(values, v)))),
            "write" => Ok(Some(KvOp::Write(intern_state(
                values,
                argument(invoke, completion),
            )))),
            "append" => Ok(Some(KvOp::Append(
                values.intern(argument(invoke, completion)),
            ))),
            "cas" => match argument(invoke, completion) {
                Value::Array(pair) if pair.len() == 2 => Ok(Some(KvOp::Cas(
                    intern_state(values, &pair[0]),
                    intern_state(values, &pair[1]),
                ))),
                other => Err(ModelError::BadValue {
                    f: "cas".into(),
                    expected: "[old new]",
                    value: other.clone(),
                }),
            },
            _ => Err(ModelError::UnknownFunction {
                model: "kv",
                f: f.into(),
            }),
        }
    }

    fn step(&self, state: &KvState, op: &KvOp) -> Option<KvState> {
        match op {
            KvOp::Read(seen) => self.matches(state, seen).then(|| state.clone()),
            KvOp::Write(v) => Some(v.clone()),
            KvOp::Cas(old, new) => self.matches(state, old).then(|| new.clone()),
            KvOp::Append(e) => match state {
                KvState::List(old) => {
                    let mut l = Vec::with_capacity(old.len() + 1);
                    l.extend_from_slice(old);
                    l.push(*e);
                    Some(KvState::List(l))
                }
                KvState::Value(v) if *v == self.nil => Some(KvState::List(vec![*e])),
                KvState::Value(_) => None,
            },
        }
    }

    fn read_only(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Read(_))
    }

    fn show(&self, state: &KvState) -> Value {
        match state {
            KvState::Value(v) => self.values.value(*v),
            KvState::List(l) => Value::Array(l.iter().map(|e| self.values.value(*e)).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Ops as `(f, invoke, completion)`.
    type Ops<'a> = Vec<(&'a str, Value, Value)>;

    /// Runs `(f, invoke, completion)` ops in order; the index of the first that cannot happen,
    /// or the final state shown.
    fn run(ops: &[(&str, Value, Value)]) -> Result<Value, usize> {
        let mut m = Kv::new(&Value::Null);
        let prepared: Vec<Option<KvOp>> = ops
            .iter()
            .map(|(f, i, c)| m.prepare(f, i, Some(c)).unwrap())
            .collect();
        let mut state = m.init();
        for (i, op) in prepared.iter().enumerate() {
            if let Some(op) = op {
                state = m.step(&state, op).ok_or(i)?;
            }
        }
        Ok(m.show(&state))
    }

    #[test]
    fn accepted_and_rejected_sequences() {
        let n = Value::Null;
        let table: Vec<(&str, Ops, Result<Value, usize>)> = vec![
            (
                "read of nil",
                vec![("read", n.clone(), n.clone())],
                Ok(n.clone()),
            ),
            (
                "nil reads as an empty list",
                vec![("read", n.clone(), json!([]))],
                Ok(n.clone()),
            ),
            (
                "appends build a list",
                vec![
                    ("append", json!(1), json!(1)),
                    ("append", json!(2), json!(2)),
                    ("read", n.clone(), json!([1, 2])),
                ],
                Ok(json!([1, 2])),
            ),
            (
                "a read missing an append",
                vec![
                    ("append", json!(1), json!(1)),
                    ("append", json!(2), json!(2)),
                    ("read", n.clone(), json!([1])),
                ],
                Err(2),
            ),
            (
                "appends in the other order",
                vec![
                    ("append", json!(1), json!(1)),
                    ("append", json!(2), json!(2)),
                    ("read", n.clone(), json!([2, 1])),
                ],
                Err(2),
            ),
            (
                "append after a write of a list",
                vec![
                    ("write", json!([7]), json!([7])),
                    ("append", json!(8), json!(8)),
                ],
                Ok(json!([7, 8])),
            ),
            (
                "append to a number cannot happen",
                vec![
                    ("write", json!(3), json!(3)),
                    ("append", json!(8), json!(8)),
                ],
                Err(1),
            ),
            (
                "cas on a list",
                vec![
                    ("append", json!("a"), json!("a")),
                    ("cas", json!([["a"], 5]), json!([["a"], 5])),
                    ("read", n.clone(), json!(5)),
                ],
                Ok(json!(5)),
            ),
            (
                "cas from a value not held",
                vec![
                    ("write", json!(1), json!(1)),
                    ("cas", json!([2, 3]), json!([2, 3])),
                ],
                Err(1),
            ),
        ];
        for (name, ops, want) in table {
            assert_eq!(run(&ops), want, "{name}");
        }
    }

    #[test]
    fn indeterminate_reads_drop_and_bad_values_are_errors() {
        let mut m = Kv::new(&json!([1]));
        assert_eq!(m.show(&m.init()), json!([1]));
        assert_eq!(m.prepare("read", &Value::Null, None), Ok(None));
        let e = m.prepare("cas", &json!(1), None).unwrap_err();
        assert_eq!(e.to_string(), "cas expects [old new], got 1");
        assert!(m.prepare("incr", &json!(1), None).is_err());
    }
}
