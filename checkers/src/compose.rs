//! [`Compose`]: several checkers as one (Jepsen's `checker/compose`).
//!
//! Each checker runs on the whole history, through [`check_safe`] (a panic is `Unknown`), one
//! after the other in the order given. The composed verdict merges theirs by priority,
//! invalid > unknown > valid ([`Validity::merge`]): one invalid part makes the whole invalid,
//! else one undecided part (a budget that ran out, a panic, no evidence) makes it unknown.
//! The parts' verdicts are kept, in order, in [`Verdict::results`].

use crate::checker::{check_safe, Checker, Verdict};
use crate::verdict::Validity;
use histories::Event;

/// Several checkers run as one; see the module docs.
#[derive(Default)]
pub struct Compose {
    checkers: Vec<Box<dyn Checker>>,
}

impl Compose {
    /// No checkers yet (its verdict on any history is `Unknown`: "no checkers").
    pub fn new() -> Compose {
        Compose::default()
    }

    /// Adds a checker, run after those added before.
    #[must_use]
    pub fn with(mut self, checker: impl Checker + 'static) -> Compose {
        self.checkers.push(Box::new(checker));
        self
    }

    /// Adds a boxed checker.
    pub fn push(&mut self, checker: Box<dyn Checker>) {
        self.checkers.push(checker);
    }

    /// The checkers' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.checkers.iter().map(|c| c.name()).collect()
    }
}

impl Checker for Compose {
    fn name(&self) -> &str {
        "compose"
    }

    /// The merged verdict. Its explanation lists each part's (`bank invalid, stats valid`);
    /// its cause, when unknown, is each undecided part's `name: cause`, joined by `; `.
    fn check(&self, history: &[Event]) -> Verdict {
        if self.checkers.is_empty() {
            return Verdict::unknown(self.name(), "no checkers");
        }
        let results: Vec<Verdict> = self
            .checkers
            .iter()
            .map(|c| check_safe(c.as_ref(), history))
            .collect();
        let valid = Validity::merge_all(results.iter().map(|r| r.valid));
        let summary: Vec<String> = results
            .iter()
            .map(|r| format!("{} {}", r.checker, r.valid))
            .collect();
        let causes: Vec<String> = results
            .iter()
            .filter(|r| r.valid == Validity::Unknown)
            .map(|r| {
                let cause = r.cause.as_deref().unwrap_or(&r.explanation);
                format!("{}: {cause}", r.checker)
            })
            .collect();
        Verdict {
            checker: self.name().to_string(),
            valid,
            explanation: summary.join(", "),
            cause: (valid == Validity::Unknown).then(|| causes.join("; ")),
            details: serde_json::Value::Null,
            results,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checker that says `valid` (`!` for a panic).
    struct Says(&'static str, Option<Validity>);

    impl Checker for Says {
        fn name(&self) -> &str {
            self.0
        }
        fn check(&self, _: &[Event]) -> Verdict {
            match self.1 {
                Some(Validity::Valid) => Verdict::valid(self.0, "fine"),
                Some(Validity::Invalid) => Verdict::invalid(self.0, "broken"),
                Some(Validity::Unknown) => Verdict::unknown(self.0, "out of time"),
                None => panic!("bug in {}", self.0),
            }
        }
    }

    #[test]
    fn merges_by_priority_and_survives_panics() {
        use Validity::*;
        let v = Some(Valid);
        let i = Some(Invalid);
        let u = Some(Unknown);
        // (what each part says, None for a panic; the merged verdict; its cause)
        type Case<'a> = (&'a [Option<Validity>], Validity, Option<&'a str>);
        let table: &[Case] = &[
            (&[v], Valid, None),
            (&[v, v], Valid, None),
            (&[v, u], Unknown, Some("b: out of time")),
            (&[u, i, v], Invalid, None),
            (
                &[v, None],
                Unknown,
                Some("b: the checker panicked: bug in b"),
            ),
            (
                &[u, None],
                Unknown,
                Some("a: out of time; b: the checker panicked: bug in b"),
            ),
            (&[None, i], Invalid, None),
        ];
        let names = ["a", "b", "c"];
        for (parts, want, cause) in table {
            let mut c = Compose::new();
            for (name, says) in names.iter().zip(parts.iter()) {
                c.push(Box::new(Says(name, *says)));
            }
            let verdict = c.check(&[]);
            assert_eq!(verdict.valid, *want, "{parts:?}");
            assert_eq!(verdict.cause.as_deref(), *cause, "{parts:?}");
            assert_eq!(verdict.results.len(), parts.len());
            assert_eq!(verdict.results[0].checker, "a");
        }
        let c = Compose::new()
            .with(Says("bank", Some(Invalid)))
            .with(Says("stats", Some(Valid)));
        assert_eq!(c.names(), ["bank", "stats"]);
        assert_eq!(c.check(&[]).explanation, "bank invalid, stats valid");
        assert_eq!(Compose::new().check(&[]).valid, Unknown);
    }

    #[test]
    fn composes_nest() {
        let inner = Compose::new().with(Says("a", Some(Validity::Unknown)));
        let outer = Compose::new()
            .with(inner)
            .with(Says("b", Some(Validity::Valid)));
        let v = outer.check(&[]);
        assert_eq!(v.valid, Validity::Unknown);
        assert_eq!(v.results[0].results[0].checker, "a");
    }
}
