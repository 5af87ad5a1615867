//! Linearizability of one register (one key): from paired operations to a verdict.
//!
//! Drops what constrains nothing (`fail` ops: they did not happen; ops the model drops, such
//! as indeterminate reads; indeterminate ops the model's [`Model::simplify`] shows cannot
//! matter), asks the model for a quick refutation ([`Model::refute`]), hands the rest to the
//! WGL search (`wgl.rs`), and turns what it finds into a [`KeyResult`] with a
//! [`Counterexample`] a person can read.

use crate::budget::Budget;
use crate::counterexample::{Counterexample, LinearizedOp, OpSummary};
use crate::error::CheckError;
use crate::memo::Account;
use crate::model::Model;
use crate::operation::{Operation, Outcome};
use crate::verdict::Validity;
use crate::wgl::{self, SearchOp, SearchResult};

/// What [`Model::refute`] may use per op, claimed from the budget (generous for the register
/// models' few vectors of a few words per op).
const REFUTE_BYTES_PER_OP: u64 = 128;
/// The memory of the search that looks for a counterexample to show once an op is refuted.
const COUNTEREXAMPLE_SEARCH_BYTES: u64 = 32 << 20;
/// And its time: the verdict is known, this only looks for a prefix to show.
const COUNTEREXAMPLE_SEARCH_TIME: std::time::Duration = std::time::Duration::from_secs(1);
use serde_json::Value;

/// The verdict on one key's history.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyResult {
    /// Valid, invalid, or unknown.
    pub valid: Validity,
    /// Why it is unknown (a budget ran out, the history is malformed).
    pub cause: Option<String>,
    /// Why it is invalid.
    pub counterexample: Option<Counterexample>,
}

impl KeyResult {
    /// An `Unknown` result with this cause.
    pub fn unknown(cause: impl Into<String>) -> KeyResult {
        KeyResult {
            valid: Validity::Unknown,
            cause: Some(cause.into()),
            counterexample: None,
        }
    }
}

/// Checks that `ops` (one register's, paired by [`operations`](crate::operations)) are
/// linearizable with respect to `model`, within `budget`.
pub fn check_key<M: Model>(mut model: M, ops: &[Operation], budget: &Budget) -> KeyResult {
    let mut search_ops = Vec::with_capacity(ops.len());
    let mut origin: Vec<&Operation> = Vec::with_capacity(ops.len());
    for op in ops {
        let completion = match op.outcome {
            // A failed op certainly did not happen: it constrains nothing.
            Outcome::Fail => continue,
            Outcome::Ok => Some(op.completion_value.as_ref().unwrap_or(&Value::Null)),
            Outcome::Info => None,
        };
        match model.prepare(&op.f, &op.invoke_value, completion) {
            Err(source) => {
                let index = op.invoke_index;
                return KeyResult::unknown(CheckError::Model { index, source }.to_string());
            }
            Ok(None) => continue,
            Ok(Some(prepared)) => {
                search_ops.push(SearchOp {
                    op: prepared,
                    start: op.start,
                    // A completion stamped before its invocation (a broken clock) is taken
                    // as at its invocation: the op is then concurrent with more, not fewer.
                    end: op.end.map(|end| end.max(op.start)),
                });
                origin.push(op);
            }
        }
    }
    // An op no linearization can contain, if the model sees one at once. This is part of the
    // check like the search: within the budget (its working memory, a few words per op, is
    // claimed first).
    if let Err(e) = budget.check_time() {
        return KeyResult::unknown(e.to_string());
    }
    let refuted = {
        let mut account = Account::new(budget);
        if let Err(e) = account.take(REFUTE_BYTES_PER_OP * search_ops.len() as u64) {
            return KeyResult::unknown(e.to_string());
        }
        let timed: Vec<(M::Op, u64, Option<u64>)> = search_ops
            .iter()
            .map(|o| (o.op.clone(), o.start, o.end))
            .collect();
        model
            .refute(&timed)
            .map(|i| (OpSummary::of(origin[i]), search_ops[i].end))
    };
    // Indeterminate ops the model can do without (see its `simplify` for why each is sound).
    let shapes: Vec<(M::Op, bool)> = search_ops
        .iter()
        .map(|o| (o.op.clone(), o.end.is_none()))
        .collect();
    let keep = model.simplify(&shapes);
    if keep.len() == search_ops.len() && keep.iter().any(|k| !k) {
        let keep: Vec<bool> = search_ops
            .iter()
            .zip(keep)
            .map(|(o, k)| k || o.end.is_some())
            .collect();
        retain_paired(&mut search_ops, &mut origin, &keep);
    }
    // Refuted: the verdict is known; a short search may still find the usual counterexample
    // (the furthest point and the longest prefix).
    //
    // That search looks only at the ops invoked by the refuted op's return: they are not
    // linearizable either (the refutation's producers and overwriting ops are all among them),
    // and a partial linearization of them is one of the whole history (an op invoked later
    // never has to precede one of them).
    let bounded;
    let search_budget = match refuted {
        Some((_, end)) => {
            if let Some(end) = end {
                let keep: Vec<bool> = search_ops.iter().map(|o| o.start <= end).collect();
                retain_paired(&mut search_ops, &mut origin, &keep);
            }
            bounded = budget.bounded(COUNTEREXAMPLE_SEARCH_BYTES, COUNTEREXAMPLE_SEARCH_TIME);
            &bounded
        }
        None => budget,
    };
    let found = match refuted {
        Some(_) => wgl::furthest(&model, &search_ops, search_budget),
        None => wgl::search(&model, &search_ops, search_budget),
    };
    let linearized = |prefix: &[(usize, M::State)]| -> Vec<LinearizedOp> {
        prefix
            .iter()
            .map(|(op, state)| LinearizedOp {
                op: OpSummary::of(origin[*op]),
                state: model.show(state),
            })
            .collect()
    };
    if let Some((op, _)) = refuted {
        // The refuted op, and the furthest real prefix the bounded search found, if any.
        let linearized = match &found {
            SearchResult::NotLinearizable { prefix, .. } => linearized(prefix),
            _ => Vec::new(),
        };
        return KeyResult {
            valid: Validity::Invalid,
            cause: None,
            counterexample: Some(Counterexample {
                key: None,
                op,
                linearized,
            }),
        };
    }
    match found {
        SearchResult::Linearizable => KeyResult {
            valid: Validity::Valid,
            cause: None,
            counterexample: None,
        },
        SearchResult::Exhausted(e) => KeyResult::unknown(e.to_string()),
        SearchResult::NotLinearizable { blocked, prefix } => KeyResult {
            valid: Validity::Invalid,
            cause: None,
            counterexample: Some(Counterexample {
                key: None,
                op: OpSummary::of(origin[blocked]),
                linearized: linearized(&prefix),
            }),
        },
    }
}

/// Keeps the `i`-th element of both vectors (the search's ops and the history ops they come
/// from, in step) where `keep[i]`.
fn retain_paired<A, B>(a: &mut Vec<A>, b: &mut Vec<B>, keep: &[bool]) {
    let mut flags = keep.iter();
    a.retain(|_| flags.next().copied().unwrap_or(true));
    let mut flags = keep.iter();
    b.retain(|_| flags.next().copied().unwrap_or(true));
}
