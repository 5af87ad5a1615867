//! [`Set`]: a grow-only set whose acknowledged elements must survive (Jepsen's `set-full`,
//! simplified).
//!
//! Ops: `add` (its value the element) and `read` (its `ok` value the whole set, a list; EDN's
//! `#{1 2 3}` reads as one). Other functions, and reads that did not complete `ok`, are
//! ignored. What the history must satisfy, in real time (the history's order):
//!
//! - An element is *known* to be in the set from the first moment the history proves it: the
//!   completion of an `ok` add of it, or the completion of a read that returned it. Every
//!   `ok` read that *began* after that moment must contain it. A read concurrent with the add
//!   may or may not see it: its order relative to the add is not known.
//! - *Lost*: known, then missing from the last read that began after it was known (it never
//!   came back). Always invalid.
//! - *Stale*: missing from some read that began after it was known, but present in a later
//!   one. Invalid when [`SetOptions::linearizable`] (the default): each read must reflect
//!   every add completed before it; with `false` stale reads are reported and tolerated.
//! - *Unexpected*: present in a read though no add of it (other than failed ones: `fail`
//!   means it certainly did not happen) was invoked before the read completed. Invalid.
//! - *Duplicated*: returned more than once by one read (a set has no duplicates). Invalid.
//! - *Recovered*: an element whose adds were all indeterminate (`info`, or never completed)
//!   that some read returned. Never a failure: an indeterminate add may have happened; an
//!   indeterminate add that no read returned is not a failure either.
//!
//! With no `ok` read at all the verdict is `Unknown` ("no reads"): nothing was ever seen. So
//! it is when elements were acknowledged but no read began after any of them completed (no
//! read could have been expected to see one).
//!
//! Elements are compared as JSON values (1 and 1.0 differ). Reports name history indices: an
//! add by its invocation's index, a read by its `ok` completion's.

use crate::checker::{client_operations, Checker, Verdict};
use crate::operation::{Operation, Outcome};
use histories::Event;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// How strict [`Set`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetOptions {
    /// A read must contain every element known before it began: stale reads are invalid.
    /// Default: true. With false only lost elements (never seen again) are.
    pub linearizable: bool,
}

impl Default for SetOptions {
    fn default() -> Self {
        SetOptions { linearizable: true }
    }
}

/// The set checker; see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Set {
    /// Its options.
    pub options: SetOptions,
}

impl Set {
    /// The checker's name.
    pub const NAME: &'static str = "set";

    /// A set checker with these options.
    pub fn new(options: SetOptions) -> Set {
        Set { options }
    }
}

/// How many anomalies of each kind the explanation and details list by element.
const SHOWN: usize = 5;

/// One `ok` read.
struct Read {
    start: u64,
    end: u64,
    /// The `ok` completion's history index.
    index: u64,
    /// Element (as JSON text) → how many times the read returned it.
    elements: BTreeMap<String, usize>,
}

/// One element's adds and where it was seen.
#[derive(Default)]
struct Element {
    value: Value,
    adds: Vec<usize>,
}

/// An anomaly about one element, for the explanation and the details.
#[derive(Serialize)]
struct Finding {
    element: Value,
    /// The first add of it that did not fail (its invocation's index), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    add_index: Option<u64>,
    /// The `ok` completion of that add, if acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    add_ok_index: Option<u64>,
    /// The read concerned: the read it is missing from (lost: the last; stale: the first),
    /// the read it showed up in (unexpected, duplicated, recovered).
    read_index: u64,
    /// Stale: the later read that has it again.
    #[serde(skip_serializing_if = "Option::is_none")]
    present_again_index: Option<u64>,
}

impl Finding {
    fn describe(&self, kind: &str) -> String {
        let add = match (self.add_index, self.add_ok_index) {
            (Some(a), Some(ok)) => format!("added at history index {a}, ok at {ok}; "),
            (Some(a), None) => format!("added at history index {a}, indeterminate; "),
            _ => String::new(),
        };
        let read = self.read_index;
        let what = match kind {
            "lost" => format!("missing from the last read, at history index {read}"),
            "stale" => format!(
                "missing from the read at history index {read}, present again at {}",
                self.present_again_index.unwrap_or(read)
            ),
            "unexpected" => format!("read at history index {read}, never added before it"),
            "duplicated" => format!("returned more than once by the read at history index {read}"),
            _ => format!("read at history index {read}"),
        };
        format!("{} ({add}{what})", self.element)
    }
}

impl Checker for Set {
    fn name(&self) -> &str {
        Self::NAME
    }

    /// Explanation: a summary line (`1 lost, 1 unexpected (3 acknowledged adds, 2 reads)`),
    /// then a line per kind of anomaly naming the first few elements and history indices:
    /// `lost (1): 3 (added at history index 4, ok at 5; missing from the last read, at
    /// history index 11)`. Details: counts and the first findings of each kind.
    fn check(&self, history: &[Event]) -> Verdict {
        let ops = match client_operations(Self::NAME, history) {
            Ok(ops) => ops,
            Err(unknown) => return *unknown,
        };
        let mut reads = Vec::new();
        let mut elements: BTreeMap<String, Element> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            match op.f.as_str() {
                "add" => {
                    let e = elements.entry(key(&op.invoke_value)).or_default();
                    e.value = op.invoke_value.clone();
                    e.adds.push(i);
                }
                "read" if op.outcome == Outcome::Ok => match read(op) {
                    Ok(r) => reads.push(r),
                    Err(cause) => return Verdict::unknown(Self::NAME, cause),
                },
                _ => {}
            }
        }
        if reads.is_empty() {
            return Verdict::unknown(Self::NAME, "no reads: no read completed ok");
        }
        let mut found: BTreeMap<&str, (usize, Vec<Finding>)> = BTreeMap::new();
        let mut note = |kind: &'static str, f: Finding| {
            let entry = found.entry(kind).or_default();
            entry.0 += 1;
            if entry.1.len() < SHOWN {
                entry.1.push(f);
            }
        };
        // Unexpected and duplicated, read by read.
        for r in &reads {
            for (k, &times) in &r.elements {
                let element = elements.get(k);
                let value = element.map_or_else(
                    || serde_json::from_str(k).unwrap_or(Value::Null),
                    |e| e.value.clone(),
                );
                let attempted = element.is_some_and(|e| {
                    e.adds
                        .iter()
                        .any(|&a| ops[a].outcome != Outcome::Fail && ops[a].start < r.end)
                });
                let finding = || Finding {
                    element: value.clone(),
                    add_index: None,
                    add_ok_index: None,
                    read_index: r.index,
                    present_again_index: None,
                };
                if !attempted {
                    note("unexpected", finding());
                }
                if times > 1 {
                    note("duplicated", finding());
                }
            }
        }
        // Lost, stale, recovered, element by element.
        let mut acknowledged = 0;
        let mut indeterminate = 0;
        let mut never_read = 0;
        for (k, e) in &elements {
            let attempts: Vec<&Operation> = e
                .adds
                .iter()
                .map(|&a| &ops[a])
                .filter(|o| o.outcome != Outcome::Fail)
                .collect();
            let Some(first) = attempts.first() else {
                continue;
            };
            let ok = attempts.iter().find(|o| o.outcome == Outcome::Ok);
            let present = |r: &Read| r.elements.contains_key(k);
            // The first moment the history proves it is in the set.
            let known = ok
                .and_then(|o| o.end)
                .into_iter()
                .chain(reads.iter().filter(|r| present(r)).map(|r| r.end))
                .min();
            let finding = |read_index, present_again_index| Finding {
                element: e.value.clone(),
                add_index: Some(first.invoke_index),
                add_ok_index: ok.and_then(|o| o.completion_index),
                read_index,
                present_again_index,
            };
            if ok.is_some() {
                acknowledged += 1;
            } else {
                indeterminate += 1;
                if let Some(r) = reads.iter().find(|r| present(r)) {
                    note("recovered", finding(r.index, None));
                }
            }
            let Some(known) = known else {
                continue;
            };
            let after: Vec<&Read> = reads.iter().filter(|r| r.start > known).collect();
            if after.is_empty() {
                never_read += usize::from(ok.is_some());
                continue;
            }
            let Some(missing) = after.iter().find(|r| !present(r)) else {
                continue;
            };
            let last = after.iter().max_by_key(|r| r.start).expect("not empty");
            if !present(last) {
                note("lost", finding(last.index, None));
            } else {
                let again = after
                    .iter()
                    .find(|r| r.start > missing.start && present(r))
                    .map_or(last.index, |r| r.index);
                note("stale", finding(missing.index, Some(again)));
            }
        }
        let count = |kind: &str| found.get(kind).map_or(0, |f| f.0);
        let bad: Vec<&str> = ["lost", "stale", "unexpected", "duplicated"]
            .into_iter()
            .filter(|&k| count(k) > 0 && (k != "stale" || self.options.linearizable))
            .collect();
        let mut details = json!({
            "reads": reads.len(),
            "attempted": acknowledged + indeterminate,
            "acknowledged": acknowledged,
            "indeterminate": indeterminate,
            "never_read": never_read,
        });
        let mut lines = Vec::new();
        for kind in ["lost", "stale", "unexpected", "duplicated", "recovered"] {
            let (n, list) = found.remove(kind).unwrap_or_default();
            details[format!("{kind}_count")] = json!(n);
            details[kind] = serde_json::to_value(&list).unwrap_or_default();
            if !list.is_empty() {
                lines.push(finding_line(kind, n, &list));
            }
        }
        let counts = format!(
            "{acknowledged} acknowledged add{}, {} read{}",
            plural(acknowledged),
            reads.len(),
            plural(reads.len())
        );
        let mut explanation = if bad.is_empty() {
            let mut s = format!("no element lost ({counts}");
            let recovered = details["recovered_count"].as_u64().unwrap_or(0);
            if indeterminate > 0 {
                s += &format!("; {recovered} of {indeterminate} indeterminate adds recovered");
            }
            if never_read > 0 {
                s += &format!("; {never_read} acknowledged adds never read: no read began after they completed");
            }
            s + ")"
        } else {
            let problems: Vec<String> = bad
                .iter()
                .map(|k| format!("{} {k}", count_of(&details, k)))
                .collect();
            format!("{} ({counts})", problems.join(", "))
        };
        for line in lines {
            explanation += "\n";
            explanation += &line;
        }
        let verdict = if !bad.is_empty() {
            Verdict::invalid(Self::NAME, explanation)
        } else if acknowledged > 0 && never_read == acknowledged {
            let mut v = Verdict::unknown(
                Self::NAME,
                "no read began after an acknowledged add completed",
            );
            v.explanation = format!("{}\n{explanation}", v.explanation);
            v
        } else {
            Verdict::valid(Self::NAME, explanation)
        };
        verdict.with_details(details)
    }
}

fn count_of(details: &Value, kind: &str) -> u64 {
    details[format!("{kind}_count")].as_u64().unwrap_or(0)
}

/// The explanation's line for one kind of finding: `lost (2): 3 (...), 4 (...)`.
fn finding_line(kind: &str, n: usize, list: &[Finding]) -> String {
    let shown: Vec<String> = list.iter().map(|f| f.describe(kind)).collect();
    let more = if n > list.len() {
        format!(" and {} more", n - list.len())
    } else {
        String::new()
    };
    format!("{kind} ({n}): {}{more}", shown.join(", "))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// An element's identity: its JSON text.
fn key(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// An `ok` read's elements, or why it is not a read of a set.
fn read(op: &Operation) -> Result<Read, String> {
    let value = op.completion_value.as_ref().unwrap_or(&Value::Null);
    let Some(items) = value.as_array() else {
        return Err(format!(
            "history index {}: read returned {value}, not a list of elements",
            op.completion_index.unwrap_or(op.invoke_index)
        ));
    };
    let mut elements = BTreeMap::new();
    for item in items {
        *elements.entry(key(item)).or_insert(0) += 1;
    }
    Ok(Read {
        start: op.start,
        end: op.end.unwrap_or(u64::MAX),
        index: op.completion_index.unwrap_or(op.invoke_index),
        elements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::history;
    use crate::verdict::Validity;

    #[test]
    fn accepted_and_rejected_histories() {
        use Validity::*;
        // (what, history, verdict, text the explanation must contain)
        let table: &[(&str, &str, Validity, &str)] = &[
            (
                "every acknowledged add read",
                "p0 invoke add 1; p0 ok add 1; p1 invoke add 2; p1 ok add 2; \
                 p0 invoke read; p0 ok read [1,2]",
                Valid,
                "no element lost (2 acknowledged adds, 1 read)",
            ),
            (
                "a read concurrent with the add may miss it",
                "p0 invoke add 1; p1 invoke read; p1 ok read []; p0 ok add 1; \
                 p1 invoke read; p1 ok read [1]",
                Valid,
                "no element lost",
            ),
            (
                "a read concurrent with the add may see it",
                "p0 invoke add 1; p1 invoke read; p1 ok read [1]; p0 ok add 1",
                Unknown,
                "no read began after an acknowledged add completed",
            ),
            (
                "an indeterminate add may be absent",
                "p0 invoke add 1; p0 info add 1; p1 invoke add 2; p1 ok add 2; \
                 p2 invoke read; p2 ok read [2]",
                Valid,
                "0 of 1 indeterminate adds recovered",
            ),
            (
                "an indeterminate add may be present: recovered",
                "p0 invoke add 1; p0 info add 1; p1 invoke add 2; p1 ok add 2; \
                 p2 invoke read; p2 ok read [1,2]",
                Valid,
                "recovered (1): 1 (added at history index 0, indeterminate; read at history index 5)",
            ),
            (
                "a never-completed add is indeterminate",
                "p0 invoke add 1; p1 invoke add 2; p1 ok add 2; p2 invoke read; p2 ok read [2,1]",
                Valid,
                "1 of 1 indeterminate adds recovered",
            ),
            (
                "failed reads and other functions are ignored",
                "p0 invoke add 1; p0 ok add 1; p1 invoke read; p1 fail read; \
                 p1 invoke size; p1 ok size 1; p2 invoke read; p2 ok read [1]",
                Valid,
                "1 acknowledged add, 1 read",
            ),
            (
                "an acknowledged add missing from the final read: lost",
                "p0 invoke add 1; p0 ok add 1; p0 invoke add 2; p0 ok add 2; \
                 p1 invoke read; p1 ok read [2]",
                Invalid,
                "1 lost (2 acknowledged adds, 1 read)\nlost (1): 1 (added at history index 0, \
                 ok at 1; missing from the last read, at history index 5)",
            ),
            (
                "seen, then gone: lost though indeterminate",
                "p0 invoke add 1; p0 info add 1; p1 invoke read; p1 ok read [1]; \
                 p1 invoke read; p1 ok read []",
                Invalid,
                "lost (1): 1 (added at history index 0, indeterminate; missing from the last \
                 read, at history index 5)",
            ),
            (
                "missing, then back: stale",
                "p0 invoke add 1; p0 ok add 1; p1 invoke read; p1 ok read []; \
                 p1 invoke read; p1 ok read [1]",
                Invalid,
                "stale (1): 1 (added at history index 0, ok at 1; missing from the read at \
                 history index 3, present again at 5)",
            ),
            (
                "read but never added: unexpected",
                "p0 invoke add 1; p0 ok add 1; p1 invoke read; p1 ok read [1,9]",
                Invalid,
                "unexpected (1): 9 (read at history index 3, never added before it)",
            ),
            (
                "read though its add failed: unexpected",
                "p0 invoke add 1; p0 fail add 1; p1 invoke add 2; p1 ok add 2; \
                 p1 invoke read; p1 ok read [1,2]",
                Invalid,
                "1 unexpected",
            ),
            (
                "read before its add was invoked: unexpected",
                "p1 invoke read; p1 ok read [1]; p0 invoke add 1; p0 ok add 1; \
                 p1 invoke read; p1 ok read [1]",
                Invalid,
                "unexpected (1): 1 (read at history index 1",
            ),
            (
                "returned twice by one read: duplicated",
                "p0 invoke add 1; p0 ok add 1; p1 invoke read; p1 ok read [1,1]",
                Invalid,
                "duplicated (1): 1 (returned more than once by the read at history index 3)",
            ),
            (
                "no read: unknown",
                "p0 invoke add 1; p0 ok add 1; p1 invoke read; p1 info read",
                Unknown,
                "no reads",
            ),
            (
                "a read that is not a list",
                "p0 invoke read; p0 ok read 3",
                Unknown,
                "history index 1: read returned 3, not a list of elements",
            ),
            ("malformed", "p0 ok read [1]", Unknown, "no pending invoke"),
        ];
        for (what, text, want, explanation) in table {
            let v = Set::default().check(&history(text));
            assert_eq!(v.valid, *want, "{what}: {v}");
            assert!(v.explanation.contains(explanation), "{what}: {v}");
            if *want == Unknown {
                assert!(v.cause.is_some(), "{what}");
            }
        }
    }

    #[test]
    fn stale_reads_are_tolerated_unless_linearizable() {
        let h = history(
            "p0 invoke add 1; p0 ok add 1; p1 invoke read; p1 ok read []; \
             p1 invoke read; p1 ok read [1]",
        );
        let lax = Set::new(SetOptions {
            linearizable: false,
        });
        let v = lax.check(&h);
        assert_eq!(v.valid, Validity::Valid, "{v}");
        assert!(v.explanation.contains("stale (1)"), "{v}");
        assert_eq!(v.details["stale_count"], 1);
        assert_eq!(Set::default().check(&h).valid, Validity::Invalid);
    }

    #[test]
    fn details_count_and_name_the_first_few() {
        let mut text = String::new();
        for e in 0..8 {
            text += &format!("p0 invoke add {e}; p0 ok add {e}; ");
        }
        text += "p1 invoke read; p1 ok read [7]";
        let v = Set::default().check(&history(&text));
        assert_eq!(v.valid, Validity::Invalid);
        assert_eq!(v.details["lost_count"], 7);
        assert_eq!(v.details["acknowledged"], 8);
        let lost = v.details["lost"].as_array().unwrap();
        assert_eq!(lost.len(), SHOWN);
        assert_eq!(lost[0]["element"], 0);
        assert_eq!(lost[0]["add_index"], 0);
        assert_eq!(lost[0]["add_ok_index"], 1);
        assert_eq!(lost[0]["read_index"], 17);
        assert!(v.explanation.contains(" and 2 more"), "{v}");
    }
}
