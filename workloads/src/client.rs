//! The client contract: what a system adapter implements so a workload can drive it.
//!
//! A client turns one [`ClientOp`] into an [`Outcome`]. The classification rule is the
//! heart of honest verdicts: `Fail` only when the op certainly did not take effect (refused
//! before the request was sent, a CAS whose compare was false); `Info` whenever the outcome
//! is unknown (a timeout or a reset after the request was sent). Never guess.

use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future (keeps the traits object-safe without extra crates).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The function of a register op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpFn {
    /// Read the key's value.
    Read,
    /// Write a value.
    Write,
    /// Compare-and-set: write `new` if the current value is `old`.
    Cas,
}

impl OpFn {
    /// The history `f` name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpFn::Read => "read",
            OpFn::Write => "write",
            OpFn::Cas => "cas",
        }
    }
}

/// One client operation, as planned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientOp {
    /// What to do.
    pub f: OpFn,
    /// Which independent key.
    pub key: u64,
    /// `None` for a read; `[v]` for a write; `[old, new]` for a cas.
    pub value: OpValue,
}

/// The argument of an op.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OpValue {
    /// A read carries nothing.
    None,
    /// A write's value.
    One(i64),
    /// A cas's `[old, new]`.
    Pair(i64, i64),
}

impl ClientOp {
    /// The Jepsen-style history value of the invocation: `[key value]`, `[key null]` for a
    /// read, `[key [old new]]` for a cas.
    pub fn history_value(&self) -> serde_json::Value {
        let v = match self.value {
            OpValue::None => serde_json::Value::Null,
            OpValue::One(v) => v.into(),
            OpValue::Pair(a, b) => serde_json::json!([a, b]),
        };
        serde_json::json!([self.key, v])
    }
}

/// The outcome of one op.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It happened. For a read, the value read (`None`: the key does not exist).
    Ok(Option<i64>),
    /// It certainly did not happen; the reason.
    Fail(String),
    /// Unknown whether it happened; the reason.
    Info(String),
}

/// A connection to one node of the system under test.
pub trait Client: Send + Sync {
    /// Performs `op`. Must not panic; every error becomes `Fail` or `Info` per the rule above.
    fn invoke<'a>(&'a self, op: &'a ClientOp) -> BoxFuture<'a, Outcome>;
}
