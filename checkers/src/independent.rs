//! Independent keys (Jepsen's `independent`): one history of many registers, checked one key
//! at a time, in parallel.
//!
//! Linearizability is compositional (Herlihy & Wing's locality, the "P" in P-compositionality):
//! a history of independent objects is linearizable iff each object's sub-history is. Ops carry
//! Jepsen's `[key value]` tuples: the key is the first element, the op's own value the second
//! (a read's invocation is `[key null]`, its completion `[key value-read]`; a cas carries
//! `[key [old new]]`). Splitting shrinks the search exponentially: each key's search sees
//! only that key's concurrency.
//!
//! Keys are checked on at most `available_parallelism` threads (std scoped threads; no async
//! runtime). The first key found invalid cancels the others: the verdict is already decided.

use crate::budget::Budget;
use crate::error::CheckError;
use crate::linear::KeyResult;
use crate::operation::{Operation, Outcome};
use crate::verdict::Validity;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

/// One key's sub-history.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyHistory {
    /// The key.
    pub key: Value,
    /// Its ops, in history order, with values unwrapped from `[key value]`.
    pub ops: Vec<Operation>,
}

/// `Some((key, value))` for a `[key value]` pair.
fn pair(v: &Value) -> Option<(&Value, &Value)> {
    match v {
        Value::Array(kv) if kv.len() == 2 => Some((&kv[0], &kv[1])),
        _ => None,
    }
}

/// Splits ops whose values are `[key value]` into one history per key, keys in order of first
/// appearance.
///
/// An invocation must carry a pair, and so must an `ok` completion, for the same key. The
/// completion value of a `fail` or `info` op matters to no checker; a non-pair there becomes
/// null.
pub fn split(ops: &[Operation]) -> Result<Vec<KeyHistory>, CheckError> {
    let mut keys: Vec<KeyHistory> = Vec::new();
    let mut by_text: HashMap<String, usize> = HashMap::new();
    for op in ops {
        let Some((key, value)) = pair(&op.invoke_value) else {
            return Err(CheckError::NotKeyed {
                index: op.invoke_index,
                value: op.invoke_value.clone(),
            });
        };
        let completion_value = match (&op.completion_value, op.outcome) {
            (None, _) => None,
            (Some(c), outcome) => match pair(c) {
                Some((k, v)) if k == key => Some(v.clone()),
                _ if outcome != Outcome::Ok => Some(Value::Null),
                _ => {
                    return Err(CheckError::NotKeyed {
                        index: op.completion_index.unwrap_or(op.invoke_index),
                        value: c.clone(),
                    })
                }
            },
        };
        let i = *by_text.entry(key.to_string()).or_insert_with(|| {
            keys.push(KeyHistory {
                key: key.clone(),
                ops: Vec::new(),
            });
            keys.len() - 1
        });
        keys[i].ops.push(Operation {
            invoke_value: value.clone(),
            completion_value,
            ..op.clone()
        });
    }
    Ok(keys)
}

/// Checks every key with `check`, on up to `available_parallelism` threads. Once a key is
/// invalid the budget is cancelled: keys not yet checked get `None`, keys being checked end
/// `Unknown` ("cancelled").
pub fn check_keys<F>(keys: &[KeyHistory], budget: &Budget, check: F) -> Vec<Option<KeyResult>>
where
    F: Fn(&KeyHistory, &Budget) -> KeyResult + Sync,
{
    let threads = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(keys.len());
    let results: Mutex<Vec<Option<KeyResult>>> = Mutex::new(vec![None; keys.len()]);
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= keys.len() || budget.is_cancelled() {
            break;
        }
        let result = check(&keys[i], budget);
        if result.valid == Validity::Invalid {
            budget.cancel();
        }
        // A poisoned lock means another worker panicked; keep its partial results anyway.
        let mut all = results.lock().unwrap_or_else(|e| e.into_inner());
        all[i] = Some(result);
    };
    if threads <= 1 {
        work();
    } else {
        thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::operations;
    use histories::{Event, EventType, Process};
    use serde_json::json;

    fn ev(index: u64, kind: EventType, process: u64, f: &str, value: Value) -> Event {
        Event {
            index,
            time: index + 1,
            kind,
            process: Process::Client(process),
            f: f.into(),
            value,
            error: None,
            node: None,
        }
    }

    #[test]
    fn splits_by_first_element() {
        use EventType::*;
        let h = vec![
            ev(0, Invoke, 1, "write", json!(["a", 1])),
            ev(1, Invoke, 2, "read", json!([7, null])),
            ev(2, Ok, 1, "write", json!(["a", 1])),
            ev(3, Ok, 2, "read", json!([7, 3])),
            ev(4, Invoke, 1, "cas", json!(["a", [1, 2]])),
            ev(5, Info, 1, "cas", Value::Null),
        ];
        let keys = split(&operations(&h).unwrap()).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].key, json!("a"));
        assert_eq!(keys[0].ops.len(), 2);
        assert_eq!(keys[0].ops[1].invoke_value, json!([1, 2]));
        assert_eq!(keys[0].ops[1].completion_value, Some(Value::Null));
        assert_eq!(keys[1].key, json!(7));
        assert_eq!(keys[1].ops[0].completion_value, Some(json!(3)));
    }

    #[test]
    fn unkeyed_values_are_errors() {
        use EventType::*;
        let h = vec![ev(0, Invoke, 1, "write", json!(1))];
        let e = split(&operations(&h).unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "history index 0: value 1 is not a [key value] pair"
        );
        let h = vec![
            ev(0, Invoke, 1, "read", json!([1, null])),
            ev(1, Ok, 1, "read", json!([2, 5])),
        ];
        let e = split(&operations(&h).unwrap()).unwrap_err();
        assert!(matches!(e, CheckError::NotKeyed { index: 1, .. }));
    }

    /// Deterministic whatever the scheduling: every key but the invalid one waits until the
    /// check is cancelled, so no worker can take a second key before key 0 is decided and the
    /// check cancelled. So each worker checks at most one key, among the first `threads`
    /// (key 0 surely), and every later key is left unchecked.
    #[test]
    fn an_invalid_key_cancels_the_rest() {
        let keys: Vec<KeyHistory> = (0..50)
            .map(|k| KeyHistory {
                key: json!(k),
                ops: vec![],
            })
            .collect();
        let threads = thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(keys.len());
        let budget = Budget::unlimited();
        let results = check_keys(&keys, &budget, |k, b| {
            if k.key == json!(0) {
                return KeyResult {
                    valid: Validity::Invalid,
                    cause: None,
                    counterexample: None,
                };
            }
            let waited = std::time::Instant::now();
            while !b.is_cancelled() {
                assert!(
                    waited.elapsed() < std::time::Duration::from_secs(60),
                    "key {} was never cancelled",
                    k.key
                );
                thread::yield_now();
            }
            KeyResult::unknown("cancelled")
        });
        assert!(budget.is_cancelled());
        assert_eq!(results[0].as_ref().unwrap().valid, Validity::Invalid);
        let checked: Vec<usize> = (0..keys.len()).filter(|&i| results[i].is_some()).collect();
        assert!(
            checked.iter().all(|&i| i < threads),
            "{checked:?}, {threads} threads"
        );
        assert!(results[threads..].iter().all(Option::is_none));
    }
}
