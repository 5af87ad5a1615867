//! The client contract: what a system adapter implements so a workload can drive it.
//!
//! Ops are data, in Jepsen's shape: an [`Op`] is a function name `f` and a JSON `value`, and
//! the plan, the runner and the history carry it as such, whatever the workload. Each
//! workload owns its typed ops (e.g. [`crate::RegisterOp`]) and converts them to and from
//! [`Op`]; a system's client decodes the ops of the workloads it supports and answers the
//! rest with a `Fail` (nothing was sent).
//!
//! A client turns one [`Op`] into an [`Outcome`]: `Ok` with the completion's value (a
//! read's value holds what was read), `Fail` or `Info`. The classification rule is the heart
//! of honest verdicts: `Fail` only when the op certainly did not take effect (refused before
//! the request was sent, a CAS whose compare was false); `Info` whenever the outcome is
//! unknown (a timeout or a reset after the request was sent). Never guess.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future (keeps the traits object-safe without extra crates).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One client operation, as planned and as the history records its invocation: a function
/// and a value (Jepsen's `:f` and `:value`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// What to do: `read`, `write`, `cas`, `add`, `transfer`, ...
    pub f: String,
    /// Its argument, as the history records it (e.g. `[key value]` for a register write).
    pub value: Value,
}

impl Op {
    /// The op `f` with `value`.
    pub fn new(f: impl Into<String>, value: Value) -> Op {
        Op { f: f.into(), value }
    }
}

/// The outcome of one op.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It happened; the completion's value (for a read: what was read, in the op's shape).
    Ok(Value),
    /// It certainly did not happen; the reason.
    Fail(String),
    /// Unknown whether it happened; the reason.
    Info(String),
}

/// A connection to one node of the system under test.
pub trait Client: Send + Sync {
    /// Performs `op`. Must not panic; every error becomes `Fail` or `Info` per the rule above,
    /// and an op the client does not know is a `Fail` (it was never sent).
    fn invoke<'a>(&'a self, op: &'a Op) -> BoxFuture<'a, Outcome>;
}
