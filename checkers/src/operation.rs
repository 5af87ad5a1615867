//! From events to operations: pairing each invocation with its completion.
//!
//! Jepsen's rules, which the verdicts depend on:
//!
//! - Only events of client processes (integers) are operations. Nemesis events (faults)
//!   constrain nothing and are skipped.
//! - Each process is sequential: it invokes at most one op at a time, and the next event of a
//!   process after an invoke is that op's completion. So an invoke pairs with the next
//!   completion of the same process. A second invoke while one is pending, or a completion
//!   with nothing pending, breaks the rules: the history is malformed ([`CheckError`]).
//! - `ok`: the op happened, at some instant between its invoke and its completion.
//! - `fail`: the op certainly did not happen. Checkers drop it.
//! - `info`: the outcome is unknown: the op may take effect at any instant after its
//!   invocation, or never. Its completion time says nothing, so its end is infinite.
//! - An invoke with no completion at all (the history was cut short, a run crashed) is the
//!   same as `info`.
//!
//! ## Real time
//!
//! Operations are ordered by real time: `a` precedes `b` when `a` completed before `b` was
//! invoked. Real time is the history's own order, each event's position in it, as in Jepsen
//! and Knossos: Jepsen appends each event to the history when it happens, so "`a`'s
//! completion comes before `b`'s invocation in the history" is what "`a` completed before `b`
//! was invoked" means. See [`Operation::start`].
//!
//! The events' `time` is not consulted: it is informational (shown in reports). Ordering by
//! it instead would let a file's clock override its order, and a clock can tie (two events
//! stamped 5 would be concurrent, though the history says which came first) or run backwards
//! (an `ok` stamped before its own `invoke`). Where `time` disagrees with the order — it
//! decreases along the history — the input is suspect; the history readers can say so,
//! naming the line (`histories::order::check_times`), and `squall check` refuses such a file
//! unless told to accept it. Two events are never at one instant here: positions are
//! distinct, so every pair of operations is either ordered or overlapping.

use crate::error::CheckError;
use histories::{Event, EventType};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// How a client operation ended. Serialized as `ok`, `fail`, `info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It happened, between its invocation and completion.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// Unknown: it may have happened at any time after its invocation, or never. Also the
    /// outcome of an invocation that the history never completes.
    Info,
}

/// One client operation: an invocation paired with its completion, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// The client process.
    pub process: u64,
    /// The function (`read`, `write`, `cas`, ...).
    pub f: String,
    /// The invocation's value (a read's is usually null).
    pub invoke_value: Value,
    /// The completion's value (the value a read returned); `None` when never completed.
    pub completion_value: Option<Value>,
    /// How it ended.
    pub outcome: Outcome,
    /// The invocation's history index.
    pub invoke_index: u64,
    /// The completion's history index; `None` when never completed.
    pub completion_index: Option<u64>,
    /// The invocation's time (ns).
    pub invoke_time: u64,
    /// The completion's time (ns); `None` when never completed.
    pub completion_time: Option<u64>,
    /// The instant it was invoked in real time: the invocation's position in the history
    /// (see "Real time" above).
    pub start: u64,
    /// The instant it returned in real time, the completion's position in the history;
    /// `None` for "never" (an `info` op or one never completed: it may take effect
    /// arbitrarily late).
    pub end: Option<u64>,
}

/// Pairs invocations with completions, in history order. Skips nemesis events.
///
/// Keeps `fail` ops (a checker drops them; a report counts them). An invocation still pending
/// at the end of the history becomes an [`Outcome::Info`] op.
pub fn operations(history: &[Event]) -> Result<Vec<Operation>, CheckError> {
    let mut ops: Vec<Operation> = Vec::new();
    let mut pending: HashMap<u64, usize> = HashMap::new();
    for (pos, e) in history.iter().enumerate() {
        let Some(process) = e.process.client() else {
            continue;
        };
        // Real time is the position in the history, never `time` (see "Real time").
        let stamp = pos as u64;
        if e.kind == EventType::Invoke {
            if let Some(&i) = pending.get(&process) {
                return Err(CheckError::DoubleInvoke {
                    index: e.index,
                    process,
                    pending: ops[i].invoke_index,
                });
            }
            pending.insert(process, ops.len());
            ops.push(Operation {
                process,
                f: e.f.clone(),
                invoke_value: e.value.clone(),
                completion_value: None,
                outcome: Outcome::Info,
                invoke_index: e.index,
                completion_index: None,
                invoke_time: e.time,
                completion_time: None,
                start: stamp,
                end: None,
            });
            continue;
        }
        let Some(i) = pending.remove(&process) else {
            return Err(CheckError::UnpairedCompletion {
                index: e.index,
                kind: e.kind.as_str(),
                process,
            });
        };
        let op = &mut ops[i];
        if op.f != e.f {
            return Err(CheckError::MismatchedCompletion {
                index: e.index,
                f: e.f.clone(),
                invoked: op.f.clone(),
                invoke_index: op.invoke_index,
            });
        }
        op.completion_value = Some(e.value.clone());
        op.completion_index = Some(e.index);
        op.completion_time = Some(e.time);
        op.outcome = match e.kind {
            EventType::Ok => Outcome::Ok,
            EventType::Fail => Outcome::Fail,
            _ => Outcome::Info,
        };
        // An `info` op never returns as far as ordering goes: it may take effect later.
        if op.outcome != Outcome::Info {
            op.end = Some(stamp);
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use histories::Process;
    use serde_json::json;

    fn ev(index: u64, time: u64, kind: EventType, process: Process, f: &str, v: Value) -> Event {
        Event {
            index,
            time,
            kind,
            process,
            f: f.into(),
            value: v,
            error: None,
            node: None,
        }
    }

    #[test]
    fn pairs_per_process_and_skips_nemesis() {
        use EventType::*;
        let c = Process::Client;
        let h = vec![
            ev(0, 10, Invoke, c(1), "write", json!(1)),
            ev(1, 11, Invoke, Process::Nemesis, "start", Value::Null),
            ev(2, 12, Invoke, c(2), "read", Value::Null),
            ev(3, 13, Ok, c(2), "read", json!(1)),
            ev(4, 14, Info, c(1), "write", json!(1)),
            ev(5, 15, Invoke, c(3), "cas", json!([1, 2])),
            ev(6, 16, Fail, c(3), "cas", json!([1, 2])),
            ev(7, 17, Invoke, c(4), "read", Value::Null),
        ];
        let ops = operations(&h).unwrap();
        assert_eq!(ops.len(), 4);
        assert_eq!(
            (ops[0].outcome, ops[0].start, ops[0].end),
            (Outcome::Info, 0, None)
        );
        assert_eq!(ops[0].invoke_time, 10);
        assert_eq!(ops[1].completion_value, Some(json!(1)));
        assert_eq!((ops[1].outcome, ops[1].end), (Outcome::Ok, Some(3)));
        assert_eq!(ops[1].completion_time, Some(13));
        assert_eq!(ops[2].outcome, Outcome::Fail);
        assert_eq!(
            (ops[3].outcome, ops[3].completion_index),
            (Outcome::Info, None)
        );
    }

    #[test]
    fn real_time_is_the_event_order_whatever_the_times() {
        use EventType::*;
        let c = Process::Client;
        // Untimed, tied, and backwards times: the same positions.
        for times in [[0, 0, 0, 0], [5, 5, 5, 5], [10, 20, 1, 2]] {
            let h = vec![
                ev(0, times[0], Invoke, c(1), "write", json!(1)),
                ev(1, times[1], Ok, c(1), "write", json!(1)),
                ev(2, times[2], Invoke, c(2), "read", Value::Null),
                ev(3, times[3], Ok, c(2), "read", Value::Null),
            ];
            let ops = operations(&h).unwrap();
            let spans: Vec<_> = ops.iter().map(|o| (o.start, o.end)).collect();
            assert_eq!(spans, [(0, Some(1)), (2, Some(3))], "{times:?}");
            assert_eq!(ops[1].invoke_time, times[2]);
        }
        // Positions, not indices: a history with gaps in its indices orders the same.
        let h = vec![
            ev(10, 0, Invoke, c(1), "write", json!(1)),
            ev(20, 0, Ok, c(1), "write", json!(1)),
        ];
        let ops = operations(&h).unwrap();
        assert_eq!((ops[0].start, ops[0].end), (0, Some(1)));
        assert_eq!(
            (ops[0].invoke_index, ops[0].completion_index),
            (10, Some(20))
        );
    }

    #[test]
    fn malformed_histories_are_errors() {
        use EventType::*;
        let c = Process::Client;
        let double = vec![
            ev(0, 1, Invoke, c(1), "read", Value::Null),
            ev(1, 2, Invoke, c(1), "read", Value::Null),
        ];
        let e = operations(&double).unwrap_err();
        assert_eq!(
            e.to_string(),
            "history index 1: process 1 invoked while its op from index 0 was pending"
        );
        let orphan = vec![ev(0, 1, Ok, c(1), "read", Value::Null)];
        assert!(matches!(
            operations(&orphan),
            Err(CheckError::UnpairedCompletion { index: 0, .. })
        ));
        let mismatch = vec![
            ev(0, 1, Invoke, c(1), "read", Value::Null),
            ev(1, 2, Ok, c(1), "write", Value::Null),
        ];
        assert!(matches!(
            operations(&mismatch),
            Err(CheckError::MismatchedCompletion { .. })
        ));
    }
}
