//! The [`Checker`] trait: one `check` from a history to a [`Verdict`].
//!
//! As in Jepsen, a checker is a tiny protocol: it looks at a whole history and says whether
//! it satisfies one property (linearizability, a set's elements surviving, a bank's total
//! staying put, ...). A verdict is three-valued ([`Validity`]); beside it a checker gives its
//! name, a short explanation a person can read, the cause when it could not decide, and
//! structured details (JSON, for `results.json`).
//!
//! A checker should never panic, but one that does must not take the others down:
//! [`check_safe`] (Jepsen's `check-safe`) turns a panic into `Unknown` with the panic's
//! message as the cause. [`Compose`](crate::Compose) runs several checkers through it.
//!
//! # Example
//!
//! A checker that every op succeeded, composed with another:
//!
//! ```
//! use checkers::{Checker, Compose, Validity, Verdict};
//! use histories::{Event, EventType, Process};
//! use serde_json::Value;
//!
//! struct NoFailures;
//!
//! impl Checker for NoFailures {
//!     fn name(&self) -> &str {
//!         "no-failures"
//!     }
//!     fn check(&self, history: &[Event]) -> Verdict {
//!         match history.iter().find(|e| e.kind == EventType::Fail) {
//!             Some(e) => Verdict::invalid(self.name(), format!("history index {} failed", e.index)),
//!             None => Verdict::valid(self.name(), "no op failed"),
//!         }
//!     }
//! }
//!
//! struct Broken;
//!
//! impl Checker for Broken {
//!     fn name(&self) -> &str {
//!         "broken"
//!     }
//!     fn check(&self, _: &[Event]) -> Verdict {
//!         panic!("oops")
//!     }
//! }
//!
//! let ev = |index, kind| Event { index, time: 0, kind, process: Process::Client(0),
//!     f: "read".into(), value: Value::Null, error: None, node: None };
//! let history = vec![ev(0, EventType::Invoke), ev(1, EventType::Ok)];
//! assert_eq!(NoFailures.check(&history).valid, Validity::Valid);
//!
//! # std::panic::set_hook(Box::new(|_| {})); // keep the doc test's output quiet
//! let both = Compose::new().with(NoFailures).with(Broken);
//! let verdict = both.check(&history);
//! assert_eq!(verdict.valid, Validity::Unknown); // valid + unknown
//! assert_eq!(verdict.results[1].cause.as_deref(), Some("the checker panicked: oops"));
//! ```

use crate::check::NO_OPERATIONS;
use crate::operation::{operations, Operation};
use crate::verdict::Validity;
use histories::Event;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Checks one property of a whole history.
///
/// Implementations never panic on bad input and never run without bound: a history they
/// cannot interpret, or a budget that ran out, is a [`Verdict::unknown`] naming the cause.
pub trait Checker {
    /// The checker's short name (`linearizable`, `set`, `bank`, `stats`): the verdict's
    /// [`Verdict::checker`] and the name on the command line.
    fn name(&self) -> &str;

    /// Checks `history`. Real time is the history's order (see
    /// [`operation`](crate::operation)).
    fn check(&self, history: &[Event]) -> Verdict;
}

impl<C: Checker + ?Sized> Checker for Box<C> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn check(&self, history: &[Event]) -> Verdict {
        (**self).check(history)
    }
}

/// What a checker says about a history.
///
/// Serialized as `{"checker": ..., "valid": true|false|"unknown", "explanation": ...,
/// "cause": ..., "details": ..., "results": [...]}`; `cause`, `details` and `results` only
/// where present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The checker's name.
    pub checker: String,
    /// The verdict.
    pub valid: Validity,
    /// A short readable explanation: what was found (or why nothing could be decided). May
    /// span lines; the first line is a summary.
    pub explanation: String,
    /// For `Unknown`: why the checker could not decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Structured details (counts, the offending ops' history indices), checker-specific.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
    /// The verdicts of the parts of a composed checker, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<Verdict>,
}

impl Verdict {
    fn new(checker: &str, valid: Validity, explanation: String) -> Verdict {
        Verdict {
            checker: checker.to_string(),
            valid,
            explanation,
            cause: None,
            details: Value::Null,
            results: Vec::new(),
        }
    }

    /// The history satisfies the property.
    pub fn valid(checker: &str, explanation: impl Into<String>) -> Verdict {
        Verdict::new(checker, Validity::Valid, explanation.into())
    }

    /// The history violates the property; `explanation` says where.
    pub fn invalid(checker: &str, explanation: impl Into<String>) -> Verdict {
        Verdict::new(checker, Validity::Invalid, explanation.into())
    }

    /// The checker could not decide; `cause` says why (also the explanation).
    pub fn unknown(checker: &str, cause: impl Into<String>) -> Verdict {
        let cause = cause.into();
        let mut v = Verdict::new(checker, Validity::Unknown, cause.clone());
        v.cause = Some(cause);
        v
    }

    /// The same verdict with these structured details.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Verdict {
        self.details = details;
        self
    }
}

impl fmt::Display for Verdict {
    /// `name: valid: explanation`, further lines of the explanation and the parts' verdicts
    /// indented by two spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = self.explanation.lines();
        write!(
            f,
            "{}: {}: {}",
            self.checker,
            self.valid,
            lines.next().unwrap_or("")
        )?;
        for line in lines {
            write!(f, "\n  {line}")?;
        }
        for part in &self.results {
            for line in part.to_string().lines() {
                write!(f, "\n  {line}")?;
            }
        }
        Ok(())
    }
}

/// Runs `checker` on `history`; a panic becomes `Unknown` whose cause is "the checker
/// panicked: MESSAGE" (Jepsen's `check-safe`). The verdict's name is the checker's.
///
/// The panic still goes through the panic hook (by default a message on stderr): a library
/// does not replace the process's hook.
pub fn check_safe(checker: &dyn Checker, history: &[Event]) -> Verdict {
    let name = checker.name().to_string();
    let mut verdict = match catch_unwind(AssertUnwindSafe(|| checker.check(history))) {
        Ok(v) => v,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string panic".to_string());
            Verdict::unknown(&name, format!("the checker panicked: {message}"))
        }
    };
    verdict.checker = name;
    verdict
}

/// The client operations of `history`, for the checker `name`; its `Unknown` verdict when
/// there are none to judge — a history that does not pair up, or one with no client
/// operation at all (never `Valid`: nothing was shown).
pub fn client_operations(name: &str, history: &[Event]) -> Result<Vec<Operation>, Box<Verdict>> {
    match operations(history) {
        Ok(ops) if ops.is_empty() => Err(Box::new(Verdict::unknown(name, NO_OPERATIONS))),
        Ok(ops) => Ok(ops),
        Err(e) => Err(Box::new(Verdict::unknown(name, e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_jepsen_style() {
        let v = Verdict::invalid("set", "lost 1").with_details(json!({"lost": [1]}));
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            json!({"checker": "set", "valid": false, "explanation": "lost 1",
                   "details": {"lost": [1]}})
        );
        let u = Verdict::unknown("bank", "no reads");
        let j = serde_json::to_value(&u).unwrap();
        assert_eq!(j["valid"], "unknown");
        assert_eq!(j["cause"], "no reads");
        let back: Verdict = serde_json::from_value(j).unwrap();
        assert_eq!(back, u);
    }

    #[test]
    fn display_indents_continuations() {
        let v = Verdict::invalid("bank", "1 bad read\nread at index 3: sum 9");
        assert_eq!(
            v.to_string(),
            "bank: invalid: 1 bad read\n  read at index 3: sum 9"
        );
    }

    struct Panics(&'static str);
    impl Checker for Panics {
        fn name(&self) -> &str {
            "panics"
        }
        fn check(&self, _: &[Event]) -> Verdict {
            if self.0.is_empty() {
                std::panic::panic_any(7u8);
            }
            panic!("{}", self.0)
        }
    }

    struct Misnamed;
    impl Checker for Misnamed {
        fn name(&self) -> &str {
            "right"
        }
        fn check(&self, _: &[Event]) -> Verdict {
            Verdict::valid("wrong", "fine")
        }
    }

    #[test]
    fn check_safe_turns_panics_into_unknown() {
        let v = check_safe(&Panics("index 3 out of range"), &[]);
        assert_eq!(v.valid, Validity::Unknown);
        assert_eq!(v.checker, "panics");
        assert_eq!(
            v.cause.as_deref(),
            Some("the checker panicked: index 3 out of range")
        );
        let v = check_safe(&Panics(""), &[]);
        assert_eq!(
            v.cause.as_deref(),
            Some("the checker panicked: a non-string panic")
        );
        assert_eq!(check_safe(&Misnamed, &[]).checker, "right");
    }
}
