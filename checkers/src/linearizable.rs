//! [`Linearizable`]: the linearizability check over a model ([`check()`]) as a [`Checker`].
//!
//! Its verdict is the [`Report`]'s: the explanation is the report's text ("linearizable as a
//! cas-register (2 ops, 1 key, ...)", or the op that cannot be linearized and the longest
//! linearizable order before it), the cause is the report's (a budget, a malformed history),
//! and the details are the report itself as JSON ([`Linearizable::report_of`] reads it back).

use crate::check::{check, CheckOptions, Report};
use crate::checker::{Checker, Verdict};
use histories::Event;

/// Linearizability over [`CheckOptions::model`]; see the module docs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Linearizable {
    /// How to check: model, initial value, key splitting, budgets.
    pub options: CheckOptions,
}

impl Linearizable {
    /// The checker's name.
    pub const NAME: &'static str = "linearizable";

    /// A checker with these options.
    pub fn new(options: CheckOptions) -> Linearizable {
        Linearizable { options }
    }

    /// The report of a verdict this checker gave (from its details), if it is one.
    pub fn report_of(verdict: &Verdict) -> Option<Report> {
        if verdict.checker != Self::NAME {
            return None;
        }
        serde_json::from_value(verdict.details.clone()).ok()
    }

    /// The verdict a report gives.
    pub fn verdict(report: &Report) -> Verdict {
        let text = report.to_string();
        let prefix = format!("{}: ", report.valid);
        let explanation = text.strip_prefix(&prefix).unwrap_or(&text).to_string();
        Verdict {
            checker: Self::NAME.to_string(),
            valid: report.valid,
            explanation,
            cause: report.cause.clone(),
            details: serde_json::to_value(report).unwrap_or_default(),
            results: Vec::new(),
        }
    }
}

impl Checker for Linearizable {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn check(&self, history: &[Event]) -> Verdict {
        Linearizable::verdict(&check(history, &self.options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Validity;
    use histories::{EventType, Process};
    use serde_json::{json, Value};

    fn ev(index: u64, kind: EventType, process: u64, f: &str, value: Value) -> Event {
        Event {
            index,
            time: index,
            kind,
            process: Process::Client(process),
            f: f.into(),
            value,
            error: None,
            node: None,
        }
    }

    #[test]
    fn is_the_report_as_a_verdict() {
        use EventType::*;
        let history = |read: Value| {
            vec![
                ev(0, Invoke, 1, "write", json!(1)),
                ev(1, Ok, 1, "write", json!(1)),
                ev(2, Invoke, 2, "read", Value::Null),
                ev(3, Ok, 2, "read", read),
            ]
        };
        let opts = CheckOptions {
            independent: false,
            ..CheckOptions::default()
        };
        let checker = Linearizable::new(opts.clone());
        let table = [
            (json!(1), Validity::Valid, "linearizable as a cas-register"),
            (
                Value::Null,
                Validity::Invalid,
                "read by process 2 (history index 3) returned null",
            ),
        ];
        for (read, want, text) in table {
            let v = checker.check(&history(read));
            assert_eq!(v.valid, want);
            assert!(v.explanation.contains(text), "{}", v.explanation);
            assert!(
                !v.explanation.starts_with(want.as_str()),
                "{}",
                v.explanation
            );
            let report = Linearizable::report_of(&v).expect("a report in the details");
            assert_eq!(report.valid, want);
            assert_eq!(report.model, "cas-register");
        }
        let v = checker.check(&[ev(0, Ok, 1, "read", Value::Null)]);
        assert_eq!(v.valid, Validity::Unknown);
        assert!(v.cause.unwrap().contains("no pending invoke"));
        let budget = Linearizable::new(CheckOptions {
            time_limit: Some(std::time::Duration::from_nanos(1)),
            ..opts
        });
        let v = budget.check(&history(json!(1)));
        assert_eq!(v.valid, Validity::Unknown);
        assert!(v.cause.unwrap().contains("time limit"));
    }
}
