//! Why a history could not be checked at all.
//!
//! A checker never fails with an error to its caller: [`check`](crate::check()) turns these into
//! an `Unknown` verdict whose cause is the message (Jepsen's `check-safe`). They exist as a
//! type so the cause is specific ("history index 12: ...") and testable.

use serde_json::Value;
use thiserror::Error;

/// A model cannot interpret an operation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// The model has no such function (a register has no `:incr`).
    #[error("{model} has no function {f:?}")]
    UnknownFunction {
        /// The model's name.
        model: &'static str,
        /// The function the history names.
        f: String,
    },
    /// The function's value has the wrong shape (a cas whose value is not `[old new]`).
    #[error("{f} expects {expected}, got {value}")]
    BadValue {
        /// The function.
        f: String,
        /// What the value should look like.
        expected: &'static str,
        /// The value the history has.
        value: Value,
    },
}

/// A history that breaks the rules the checker relies on, or an op a model cannot take.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CheckError {
    /// A completion (`ok`, `fail`, `info`) for a process with no op pending.
    #[error("history index {index}: {kind} by process {process} with no pending invoke")]
    UnpairedCompletion {
        /// The completion's history index.
        index: u64,
        /// `ok`, `fail` or `info`.
        kind: &'static str,
        /// The process.
        process: u64,
    },
    /// A process invoked a second op while its first was still pending.
    #[error(
        "history index {index}: process {process} invoked while its op from index {pending} was pending"
    )]
    DoubleInvoke {
        /// The second invoke's history index.
        index: u64,
        /// The process.
        process: u64,
        /// The pending invoke's history index.
        pending: u64,
    },
    /// A completion whose function differs from its invocation's.
    #[error("history index {index}: completion {f:?} does not match invoke {invoked:?} (index {invoke_index})")]
    MismatchedCompletion {
        /// The completion's history index.
        index: u64,
        /// The completion's function.
        f: String,
        /// The invocation's function.
        invoked: String,
        /// The invocation's history index.
        invoke_index: u64,
    },
    /// An independent history whose value is not a `[key value]` pair.
    #[error("history index {index}: value {value} is not a [key value] pair")]
    NotKeyed {
        /// The event's history index.
        index: u64,
        /// Its value.
        value: Value,
    },
    /// The model cannot take this op.
    #[error("history index {index}: {source}")]
    Model {
        /// The invocation's history index.
        index: u64,
        /// What the model said.
        source: ModelError,
    },
}
