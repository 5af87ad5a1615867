//! squall's checkers: does a recorded history satisfy a property — linearizability, a set's
//! elements surviving, a bank's total staying put?
//!
//! Pure library code: no async runtime, no I/O. A verdict is three-valued ([`Validity`]):
//! valid, invalid (with a [`Counterexample`] a person can read), or unknown (a time or memory
//! [`Budget`] ran out, the history is malformed, or it has no client operation to judge) —
//! never a panic or an OOM. Real time is the history's order, never its `time` stamps
//! ([`operation`]).
//!
//! # Map
//!
//! - [`checker`]: the [`Checker`] trait (one `check`, history → [`Verdict`]) and
//!   [`check_safe`] (a panicking checker is unknown); [`compose`]: [`Compose`], several
//!   checkers as one, merged by priority.
//! - The checkers: [`linearizable`] ([`Linearizable`]: the linearizability check below, over a
//!   model), [`set`] ([`Set`], Jepsen's set-full), [`bank`] ([`Bank`]), [`stats`] ([`Stats`]).
//! - [`check`](mod@check): linearizability's entry point, [`check()`]`(history, &`[`CheckOptions`]`)` →
//!   [`Report`], and [`ModelKind`], the registry of models.
//! - [`verdict`]: [`Validity`] and how verdicts merge (invalid > unknown > valid).
//! - [`operation`]: events → [`Operation`]s: invocations paired with completions, Jepsen's
//!   semantics of `ok` / `fail` / `info` and of real time.
//! - [`independent`]: splitting `[key value]` histories per key and checking keys in parallel.
//! - [`linear`]: one key's check, [`check_key`], from operations to a [`KeyResult`].
//! - `wgl` (private): the WGL depth-first search (exact compact memo keys, crashed-op kinds,
//!   twins, dominance; a relaxed pass, a search for a backed order, then refinement), and
//!   `memo` (private): its memo cache, within the memory budget (forgetting what lies
//!   furthest behind the search rather than giving up).
//! - [`model`]: the [`Model`] trait (one `step`); [`models`]: [`Register`], [`CasRegister`],
//!   [`Kv`], [`MultiRegister`], [`Mutex`].
//! - [`counterexample`]: [`Counterexample`], printed and serialized; [`report_html`]:
//!   [`render_html`], a report as a self-contained HTML page (timeline, prefix, states).
//! - [`budget`]: [`Budget`], time and memory limits shared by the keys of one check.
//! - [`error`]: [`CheckError`], [`ModelError`]: why a history could not be checked.
//!
//! # Example
//!
//! ```
//! use checkers::{check, CheckOptions, Validity};
//! use histories::{Event, EventType, Process};
//! use serde_json::{json, Value};
//!
//! let ev = |index, kind, process, f: &str, value| Event {
//!     index, time: index * 10, kind, process: Process::Client(process), f: f.into(), value,
//!     error: None, node: None };
//! use EventType::*;
//! let history = vec![
//!     ev(0, Invoke, 1, "write", json!(["x", 1])),
//!     ev(1, Ok, 1, "write", json!(["x", 1])),
//!     ev(2, Invoke, 2, "read", json!(["x", null])),
//!     ev(3, Ok, 2, "read", json!(["x", null])), // stale: 1 was written before
//! ];
//! let report = check(&history, &CheckOptions::default());
//! assert_eq!(report.valid, Validity::Invalid);
//! assert!(report.to_string().contains("key \"x\": read by process 2 (history index 3) returned null"));
//! ```

pub mod bank;
pub mod budget;
pub mod check;
pub mod checker;
pub mod compose;
pub mod counterexample;
pub mod error;
#[doc(hidden)]
pub mod gen;
pub mod independent;
pub mod linear;
pub mod linearizable;
mod memo;
pub mod model;
pub mod models;
pub mod operation;
pub mod report_html;
pub mod set;
pub mod stats;
#[cfg(test)]
mod testing;
pub mod verdict;
mod wgl;

pub use bank::{Bank, BankOptions};
pub use budget::{human_bytes, Budget, Exhausted};
pub use check::{check, CheckOptions, ModelKind, Report, NO_OPERATIONS};
pub use checker::{check_safe, client_operations, Checker, Verdict};
pub use compose::Compose;
pub use counterexample::{Counterexample, LinearizedOp, OpSummary};
pub use error::{CheckError, ModelError};
pub use independent::{check_keys, split, KeyHistory};
pub use linear::{check_key, KeyResult};
pub use linearizable::Linearizable;
pub use model::Model;
pub use models::{CasRegister, Kv, MultiRegister, Mutex, Register, RegisterOp};
pub use operation::{operations, Operation, Outcome};
pub use report_html::{esc as html_escape, render_html};
pub use set::{Set, SetOptions};
pub use stats::{Counts, Stats};
pub use verdict::Validity;
