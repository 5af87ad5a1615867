//! An anomaly's signature — (checker, anomaly kind, op function) — and failures grouped by
//! it: forty seeds that hit the same stale read are one [`Finding`] with forty seeds, the
//! shortest run first (the one to debug).
//!
//! The signature is read from the checkers' verdicts as `results.json` stores them (the
//! `checks` tree): each invalid leaf verdict gives one. For linearizability the kind is
//! the model, and no op function: the op its counterexample names is where the search ran
//! out of ways on, not what went wrong — one stale read shows as a read that cannot be
//! linearized in one run and as a cas after it in the next (seeds 1..12 of the stale-read
//! soak gave 11 of one and 1 of the other), so the function would split one anomaly in
//! two. The counterexample's op stays in each seed's report. Other checkers
//! name their kinds of anomaly as `<kind>_count` in their details (the set checker: lost,
//! stale, unexpected, duplicated); a checker that does neither is known by the first line of
//! its explanation with its numbers blanked (`N of N reads wrong`), so its findings still
//! group by what went wrong rather than by how often.

use checkers::{Validity, Verdict};
use serde::Serialize;
use std::fmt;

/// What kind of anomaly a failing run hit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Signature {
    /// The checker that found it.
    pub checker: String,
    /// The kind of anomaly, in the checker's words.
    pub kind: String,
    /// The op function involved (`read`), where the checker names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f: Option<String>,
}

impl fmt::Display for Signature {
    /// `set: lost, stale`; `checker: kind, f read` where it names an op function.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.checker, self.kind)?;
        if let Some(op) = &self.f {
            write!(f, ", f {op}")?;
        }
        Ok(())
    }
}

/// The signatures of a verdict's invalid leaves, in order, without repeats.
pub fn signatures(verdict: &Verdict) -> Vec<Signature> {
    let mut out = Vec::new();
    collect(verdict, &mut out);
    out.dedup();
    out
}

fn collect(v: &Verdict, out: &mut Vec<Signature>) {
    if !v.results.is_empty() {
        for part in &v.results {
            collect(part, out);
        }
        return;
    }
    if v.valid != Validity::Invalid {
        return;
    }
    if let Some(report) = checkers::Linearizable::report_of(v) {
        out.push(Signature {
            checker: v.checker.clone(),
            kind: format!("not linearizable ({})", report.model),
            f: None,
        });
        return;
    }
    let kinds: Vec<&str> = v
        .details
        .as_object()
        .map(|d| {
            d.iter()
                .filter_map(|(k, n)| {
                    let kind = k.strip_suffix("_count")?;
                    // A count of an anomaly is listed beside it (`lost` and `lost_count`).
                    (n.as_u64()? > 0 && d.get(kind).is_some_and(|l| l.is_array())).then_some(kind)
                })
                .filter(|k| *k != "recovered")
                .collect()
        })
        .unwrap_or_default();
    let kind = if kinds.is_empty() {
        blank_numbers(v.explanation.lines().next().unwrap_or(""))
    } else {
        kinds.join(", ")
    };
    out.push(Signature {
        checker: v.checker.clone(),
        kind,
        f: None,
    });
}

/// The text up to its first ` (`, with each number replaced by `N`.
pub fn blank_numbers(text: &str) -> String {
    let text = text.split(" (").next().unwrap_or(text).trim();
    let mut out = String::new();
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lin_invalid(f: &str) -> Verdict {
        // The shape the linearizability checker gives, as results.json stores it.
        serde_json::from_value(json!({
            "checker": "linearizable", "valid": false, "explanation": "NOT linearizable",
            "details": {"valid": false, "model": "cas-register", "ops": 10, "keys": 1,
                "check_ms": 1, "cause": null,
                "counterexample": {"key": 0, "linearized": [], "op": {
                    "process": 3, "f": f, "invoke_index": 8, "invoke_time": 1,
                    "invoke_value": null, "outcome": "ok", "completion_index": 9,
                    "completion_time": 2, "completion_value": 3}}}
        }))
        .unwrap()
    }

    fn composed(parts: Vec<Verdict>) -> Verdict {
        let mut v = Verdict::invalid("cas-register", "composed");
        v.results = parts;
        v
    }

    #[test]
    fn each_checkers_anomaly_has_its_signature() {
        let set = Verdict::invalid("set", "2 lost, 1 stale (5 acknowledged adds, 3 reads)")
            .with_details(json!({"lost_count": 2, "lost": [1, 2], "stale_count": 1,
                "stale": [3], "recovered_count": 4, "recovered": [5], "reads": 3}));
        let bank = Verdict::invalid("bank", "3 of 40 reads wrong (total 100)\nread at 7");
        let valid = Verdict::valid("stats", "all fine");
        let v = composed(vec![lin_invalid("read"), set, bank, valid]);
        let sigs: Vec<String> = signatures(&v).iter().map(|s| s.to_string()).collect();
        assert_eq!(
            sigs,
            [
                "linearizable: not linearizable (cas-register)",
                "set: lost, stale",
                "bank: N of N reads wrong",
            ]
        );
        assert!(signatures(&Verdict::valid("x", "ok")).is_empty());
        assert!(signatures(&Verdict::unknown("x", "out of time")).is_empty());
    }

    #[test]
    fn numbers_are_blanked() {
        assert_eq!(
            blank_numbers("12 of 340 reads wrong (total 100)"),
            "N of N reads wrong"
        );
        assert_eq!(blank_numbers("no numbers"), "no numbers");
    }
}
