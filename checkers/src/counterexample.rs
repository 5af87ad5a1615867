//! What an `Invalid` verdict shows a person: the op that could not be linearized, and the
//! longest linearizable prefix the search found before it.
//!
//! Printed, it reads: `key 3: read by process 7 (history index 412) returned 2, but no
//! linearization allows it; last linearizable order: write 2 (p1) → write 4 (p3) → read 4
//! (p2), leaving 4`. As JSON it carries every field, and the whole prefix.

use crate::operation::{Operation, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// How many of the prefix's last ops the one-line form prints.
const SHOWN: usize = 10;

/// One operation, as a counterexample shows it. For an independent history, values are the
/// key's (the second element of `[key value]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpSummary {
    /// The client process.
    pub process: u64,
    /// The function.
    pub f: String,
    /// The invocation's value.
    pub invoke_value: Value,
    /// The completion's value (what a read returned); absent if never completed.
    pub completion_value: Option<Value>,
    /// `ok` or `info`.
    pub outcome: Outcome,
    /// The invocation's history index.
    pub invoke_index: u64,
    /// The completion's history index.
    pub completion_index: Option<u64>,
    /// The invocation's time (ns).
    pub invoke_time: u64,
    /// The completion's time (ns).
    pub completion_time: Option<u64>,
}

impl OpSummary {
    /// Summarises `op`.
    pub fn of(op: &Operation) -> OpSummary {
        OpSummary {
            process: op.process,
            f: op.f.clone(),
            invoke_value: op.invoke_value.clone(),
            completion_value: op.completion_value.clone(),
            outcome: op.outcome,
            invoke_index: op.invoke_index,
            completion_index: op.completion_index,
            invoke_time: op.invoke_time,
            completion_time: op.completion_time,
        }
    }

    /// The value that describes the op: a read's result, otherwise its argument.
    fn value(&self) -> &Value {
        let completion = self.completion_value.as_ref().filter(|v| !v.is_null());
        match (self.f.as_str(), completion) {
            ("read", Some(v)) => v,
            ("read", None) => &Value::Null,
            (_, Some(v)) if self.invoke_value.is_null() => v,
            _ => &self.invoke_value,
        }
    }

    /// `write 2`, `read 4`, `cas 1→2`; `acquire` for an op that carries no value.
    pub fn short(&self) -> String {
        match (self.f.as_str(), self.value()) {
            ("cas", Value::Array(pair)) if pair.len() == 2 => {
                format!("cas {}→{}", pair[0], pair[1])
            }
            (f, Value::Null) if f != "read" => f.to_string(),
            (f, v) => format!("{f} {v}"),
        }
    }
}

/// One step of a linearization: an op and the model's state after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearizedOp {
    /// The op.
    pub op: OpSummary,
    /// The model's state after it.
    pub state: Value,
}

/// Why a history is not linearizable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counterexample {
    /// The key, for an independent history.
    pub key: Option<Value>,
    /// The op that could not be linearized: the furthest return the search could not get
    /// past. Every order that respects real time needs it linearized by its return, and no
    /// order the model accepts can have it there.
    pub op: OpSummary,
    /// The longest linearizable prefix found at that point, in linearization order.
    pub linearized: Vec<LinearizedOp>,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(key) = &self.key {
            write!(f, "key {key}: ")?;
        }
        let op = &self.op;
        let at = match op.completion_index {
            Some(i) => format!("process {} (history index {i})", op.process),
            None => format!(
                "process {} (invoked at history index {})",
                op.process, op.invoke_index
            ),
        };
        match op.f.as_str() {
            "read" => write!(f, "read by {at} returned {}", op.value())?,
            "write" | "cas" => write!(f, "{} by {at} succeeded", op.short())?,
            _ if op
                .completion_value
                .as_ref()
                .is_none_or(|c| *c == op.invoke_value) =>
            {
                write!(f, "{} by {at} succeeded", op.short())?
            }
            other => write!(
                f,
                "{other} {} by {at} returned {}",
                op.invoke_value,
                op.completion_value.as_ref().unwrap_or(&Value::Null)
            )?,
        }
        f.write_str(", but no linearization allows it; ")?;
        let Some(last) = self.linearized.last() else {
            return f.write_str("no op can be linearized before it");
        };
        f.write_str("last linearizable order: ")?;
        let skipped = self.linearized.len().saturating_sub(SHOWN);
        if skipped > 0 {
            write!(f, "({skipped} earlier ops) → ")?;
        }
        for (i, step) in self.linearized[skipped..].iter().enumerate() {
            if i > 0 {
                f.write_str(" → ")?;
            }
            let info = if step.op.outcome == Outcome::Info {
                ", info"
            } else {
                ""
            };
            write!(f, "{} (p{}{info})", step.op.short(), step.op.process)?;
        }
        write!(f, ", leaving {}", last.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(process: u64, f: &str, invoke: Value, completion: Value, index: u64) -> OpSummary {
        OpSummary {
            process,
            f: f.into(),
            invoke_value: invoke,
            completion_value: Some(completion),
            outcome: Outcome::Ok,
            invoke_index: index - 1,
            completion_index: Some(index),
            invoke_time: index - 1,
            completion_time: Some(index),
        }
    }

    #[test]
    fn reads_like_a_sentence() {
        let c = Counterexample {
            key: Some(json!(3)),
            op: op(7, "read", Value::Null, json!(2), 412),
            linearized: vec![
                LinearizedOp {
                    op: op(1, "write", json!(2), json!(2), 2),
                    state: json!(2),
                },
                LinearizedOp {
                    op: op(3, "cas", json!([2, 4]), json!([2, 4]), 4),
                    state: json!(4),
                },
                LinearizedOp {
                    op: OpSummary {
                        outcome: Outcome::Info,
                        ..op(2, "read", Value::Null, json!(4), 6)
                    },
                    state: json!(4),
                },
            ],
        };
        assert_eq!(
            c.to_string(),
            "key 3: read by process 7 (history index 412) returned 2, but no linearization \
             allows it; last linearizable order: write 2 (p1) → cas 2→4 (p3) → read 4 (p2, \
             info), leaving 4"
        );
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["op"]["completion_index"], json!(412));
        assert_eq!(json["linearized"][1]["state"], json!(4));
        assert_eq!(json["linearized"][2]["op"]["outcome"], json!("info"));
    }

    #[test]
    fn long_prefixes_are_cut_and_empty_ones_said() {
        let w = |i: u64| LinearizedOp {
            op: op(1, "write", json!(i), json!(i), i + 1),
            state: json!(i),
        };
        let c = Counterexample {
            key: None,
            op: op(2, "write", json!(9), json!(9), 99),
            linearized: (0..25).map(w).collect(),
        };
        let s = c.to_string();
        assert!(
            s.starts_with("write 9 by process 2 (history index 99) succeeded"),
            "{s}"
        );
        assert!(s.contains("(15 earlier ops) → write 15 (p1) →"), "{s}");
        let c = Counterexample {
            linearized: vec![],
            ..c
        };
        assert!(c.to_string().ends_with("no op can be linearized before it"));
    }
}
