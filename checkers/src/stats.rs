//! [`Stats`]: how many ops of each function succeeded, failed, or ended unknown (Jepsen's
//! `stats` checker).
//!
//! Counts are of client operations (an invocation and its completion); an invocation the
//! history never completes counts as `info`. A function that never once succeeded (every
//! `add` failed or timed out) says the test exercised nothing of it: the verdict is
//! `Unknown` ("no add ever succeeded"), as Jepsen's, since a property checked over no
//! successful op is checked over no evidence. Otherwise `Valid`: stats find no anomaly.

use crate::checker::{client_operations, Checker, Verdict};
use crate::operation::Outcome;
use histories::Event;
use serde::Serialize;
use std::collections::BTreeMap;

/// Per-function counts of ok / fail / info; see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats;

impl Stats {
    /// The checker's name.
    pub const NAME: &'static str = "stats";
}

/// One function's counts (also the totals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Ops that completed `ok`.
    pub ok: usize,
    /// Ops that completed `fail`.
    pub fail: usize,
    /// Ops that completed `info`, or never completed.
    pub info: usize,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Fail => self.fail += 1,
            Outcome::Info => self.info += 1,
        }
    }
}

impl Checker for Stats {
    fn name(&self) -> &str {
        Self::NAME
    }

    /// Explanation: `add: 3 ok, 1 fail, 0 info; read: 2 ok, 0 fail, 1 info`. Details:
    /// `{"all": counts, "by_f": {f: counts}}`.
    fn check(&self, history: &[Event]) -> Verdict {
        let ops = match client_operations(Self::NAME, history) {
            Ok(ops) => ops,
            Err(unknown) => return *unknown,
        };
        let mut all = Counts::default();
        let mut by_f: BTreeMap<&str, Counts> = BTreeMap::new();
        for op in &ops {
            all.add(op.outcome);
            by_f.entry(&op.f).or_default().add(op.outcome);
        }
        let counts: Vec<String> = by_f
            .iter()
            .map(|(f, c)| format!("{f}: {} ok, {} fail, {} info", c.ok, c.fail, c.info))
            .collect();
        let counts = counts.join("; ");
        let details = serde_json::json!({"all": all, "by_f": by_f});
        let never: Vec<&str> = by_f
            .iter()
            .filter(|(_, c)| c.ok == 0)
            .map(|(f, _)| *f)
            .collect();
        if never.is_empty() {
            return Verdict::valid(Self::NAME, counts).with_details(details);
        }
        let cause = format!("no {} ever succeeded", or_list(&never));
        let mut v = Verdict::unknown(Self::NAME, cause);
        v.explanation = format!("{}\n{counts}", v.explanation);
        v.with_details(details)
    }
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::NO_OPERATIONS;
    use crate::testing::history;
    use crate::verdict::Validity;

    #[test]
    fn accepted_and_rejected_histories() {
        use Validity::*;
        let table: &[(&str, Validity, &str)] = &[
            (
                "p0 invoke read; p0 ok read []",
                Valid,
                "read: 1 ok, 0 fail, 0 info",
            ),
            (
                "p0 invoke add 1; p0 ok add 1; p1 invoke add 2; p1 fail add 2; \
                 p2 invoke add 3; p2 info add 3; p3 invoke add 4; \
                 p0 invoke read; p0 ok read [1]",
                Valid,
                "add: 1 ok, 1 fail, 2 info; read: 1 ok, 0 fail, 0 info",
            ),
            (
                "p0 invoke add 1; p0 ok add 1; p1 invoke read; p1 fail read",
                Unknown,
                "no read ever succeeded\nadd: 1 ok, 0 fail, 0 info; read: 0 ok, 1 fail, 0 info",
            ),
            (
                "p0 invoke add 1; p0 info add 1; p1 invoke read; p1 fail read; \
                 p2 invoke cas [1,2]",
                Unknown,
                "no add, cas or read ever succeeded",
            ),
            ("nemesis info start", Unknown, NO_OPERATIONS),
            ("p0 ok read 1", Unknown, "no pending invoke"),
        ];
        for (text, want, explanation) in table {
            let v = Stats.check(&history(text));
            assert_eq!(v.valid, *want, "{text}: {v}");
            assert!(v.explanation.contains(explanation), "{text}: {v}");
        }
        let v = Stats.check(&history("p0 invoke add 1; p0 ok add 1; p1 invoke add 2"));
        assert_eq!(v.details["by_f"]["add"]["info"], 1);
        assert_eq!(v.details["all"]["ok"], 1);
    }
}
