//! The `Model` trait: the sequential specification an operation history is checked against.
//!
//! **Change note (search engine rework):** `Op` now also needs `Eq + Hash` (the search groups
//! identical indeterminate ops: they are interchangeable), and the trait gained three optional
//! methods with safe defaults, [`Model::read_only`], [`Model::simplify`] and
//! [`Model::refute`], which let the search prune or skip. A model that does not override them
//! is checked exactly as before.
//!
//! A model is Knossos's single `step`: given a state and an op, the state after it, or `None`
//! when the op cannot happen in that state (a read of 2 when the register holds 1). It is
//! pure; the search calls it many times, from many states, in many orders.
//!
//! Before the search, [`Model::prepare`] turns each history op into the model's own compact
//! op (the register models intern JSON values into integers), so that `step` is cheap and
//! states are small and hashable: the search memoises on (set of linearized ops, state).
//!
//! Adding a model is one file under `models/` plus one line in
//! [`ModelKind`](crate::ModelKind).

use crate::error::ModelError;
use serde_json::Value;
use std::fmt::Debug;
use std::hash::Hash;

/// A sequential specification: an initial state and a `step` function.
///
/// # Example: a counter
///
/// ```
/// use checkers::{check_key, operations, Budget, Model, ModelError, Validity};
/// use histories::{Event, EventType, Process};
/// use serde_json::{json, Value};
///
/// /// `add n` adds n; `read` returns the total.
/// struct Counter;
///
/// #[derive(Clone, Debug, PartialEq, Eq, Hash)]
/// enum Op { Add(i64), Read(i64) }
///
/// impl Model for Counter {
///     type Op = Op;
///     type State = i64;
///     fn name(&self) -> &'static str { "counter" }
///     fn init(&self) -> i64 { 0 }
///     fn prepare(&mut self, f: &str, invoke: &Value, completion: Option<&Value>)
///         -> Result<Option<Op>, ModelError> {
///         let bad = |v: &Value| ModelError::BadValue {
///             f: f.into(), expected: "an integer", value: v.clone() };
///         match (f, completion) {
///             ("add", _) => invoke.as_i64().map(|n| Some(Op::Add(n))).ok_or_else(|| bad(invoke)),
///             // A read whose outcome is unknown constrains nothing.
///             ("read", None) => Ok(None),
///             ("read", Some(v)) => v.as_i64().map(|n| Some(Op::Read(n))).ok_or_else(|| bad(v)),
///             _ => Err(ModelError::UnknownFunction { model: "counter", f: f.into() }),
///         }
///     }
///     fn step(&self, total: &i64, op: &Op) -> Option<i64> {
///         match *op {
///             Op::Add(n) => Some(total + n),
///             Op::Read(n) => (n == *total).then_some(*total),
///         }
///     }
///     fn show(&self, total: &i64) -> Value { json!(total) }
/// }
///
/// let ev = |index, kind, process, f: &str, value| Event {
///     index, time: index + 1, kind, process: Process::Client(process), f: f.into(), value,
///     error: None, node: None };
/// use EventType::{Invoke, Ok as Done};
/// let history = vec![
///     ev(0, Invoke, 1, "add", json!(2)),
///     ev(1, Invoke, 2, "read", Value::Null),
///     ev(2, Done, 2, "read", json!(2)),   // the add took effect before this read returned
///     ev(3, Done, 1, "add", json!(2)),
///     ev(4, Invoke, 2, "read", Value::Null),
///     ev(5, Done, 2, "read", json!(0)),   // stale: the add had completed
/// ];
/// let ops = operations(&history).unwrap();
/// let result = check_key(Counter, &ops[..2], &Budget::unlimited());
/// assert_eq!(result.valid, Validity::Valid);
/// let result = check_key(Counter, &ops, &Budget::unlimited());
/// assert_eq!(result.valid, Validity::Invalid);
/// ```
pub trait Model {
    /// The model's own form of one operation, made by [`Model::prepare`]. Equal ops must
    /// behave equally under [`Model::step`] (derived `Eq`/`Hash` do).
    type Op: Clone + Debug + Eq + Hash;
    /// A state of the model. Small and cheap to clone and hash: the search stores many.
    type State: Clone + Eq + Hash + Debug;

    /// The model's name in reports (`cas-register`).
    fn name(&self) -> &'static str;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Translates one history op. `completion` is the value of its `ok` completion, or `None`
    /// when its outcome is unknown (`info`, or never completed); `fail` ops never get here.
    ///
    /// Returns `Ok(None)` for an op that constrains nothing and can be dropped (an
    /// indeterminate read), and an error for an op this model does not know.
    fn prepare(
        &mut self,
        f: &str,
        invoke: &Value,
        completion: Option<&Value>,
    ) -> Result<Option<Self::Op>, ModelError>;

    /// The state after `op` from `state`, or `None` if `op` cannot happen in `state`.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// A state as JSON, for counterexamples.
    fn show(&self, state: &Self::State) -> Value;

    /// `true` only if `op` never changes the state: whenever `step(s, op)` is `Some`, it is
    /// `Some(s)` (a read). The search then linearizes such an op as soon as the model allows,
    /// without trying the alternatives: doing it at once is never worse. Default: `false`
    /// (always safe; returning `true` for an op that can change the state would be a lie).
    fn read_only(&self, op: &Self::Op) -> bool {
        let _ = op;
        false
    }

    /// Drops indeterminate ops that cannot matter to the verdict. `ops` are the ops to search,
    /// each with `true` when it is indeterminate (`info`: optional, never returns). Returns,
    /// per op, whether to keep it. Only indeterminate ops may be dropped, and only when the
    /// model can argue that any linearization using the op can do without it. Default: keep
    /// all.
    fn simplify(&self, ops: &[(Self::Op, bool)]) -> Vec<bool> {
        vec![true; ops.len()]
    }

    /// A quick proof of non-linearizability, before any search: the index of an `ok` op that
    /// no linearization can contain. `ops` are `(op, invoked, returned)` on the ordering clock,
    /// `returned` `None` for an indeterminate op. Must be sound: `Some` only when no order
    /// exists. Default: `None` (always safe; the search decides).
    fn refute(&self, ops: &[(Self::Op, u64, Option<u64>)]) -> Option<usize> {
        let _ = ops;
        None
    }
}
