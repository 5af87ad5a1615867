//! The shrink's account: how big the plan was and is, and what finding that out cost —
//! `faults 6 → 1, test ops 1,200 → 90, test phase 60s → 12s; 23 runs (9 candidates) in
//! 14m`. Printed at the end and kept as `shrink/account.json`.

use crate::shrink::candidate::Size;
use serde_json::json;
use std::time::Duration;

/// What a shrink did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The original plan.
    pub before: Size,
    /// The smallest plan that still failed.
    pub after: Size,
    /// Runs started.
    pub runs: u64,
    /// Candidates tried.
    pub candidates: u64,
    /// How long it took.
    pub took: Duration,
    /// The search ran to its end (rather than out of budget or stopped).
    pub complete: bool,
    /// The result, run again to confirm it: (runs that failed, runs); `None` if the result
    /// is the original plan or no budget was left to confirm it.
    pub confirmed: Option<(u32, u32)>,
}

/// `1200` → `1,200`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration for people: `60s`, `12.5s`, `14m 5s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 90.0 {
        let whole = d.as_secs();
        format!("{}m {}s", whole / 60, whole % 60)
    } else if (s - s.round()).abs() < 0.05 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}

impl Account {
    /// The account in one line.
    pub fn line(&self) -> String {
        format!(
            "faults {} → {}, test ops {} → {}, test phase {} → {}; {} runs ({} candidates) in \
             {}{}{}",
            self.before.faults,
            self.after.faults,
            thousands(self.before.test_ops),
            thousands(self.after.test_ops),
            human(self.before.test_phase),
            human(self.after.test_phase),
            self.runs,
            self.candidates,
            human(self.took),
            match self.confirmed {
                Some((f, n)) => format!("; the result failed again in {f} of {n} runs"),
                None if self.after == self.before => String::new(),
                None => "; the result is not confirmed (stopped, or no budget left)".into(),
            },
            if self.complete {
                ""
            } else {
                " (stopped before the search ended: the budget ran out or it was interrupted)"
            }
        )
    }

    /// The account as JSON (`shrink/account.json`).
    pub fn to_json(&self) -> serde_json::Value {
        let size = |s: &Size| {
            json!({
                "faults": s.faults,
                "test_ops": s.test_ops,
                "test_phase_s": s.test_phase.as_secs_f64(),
            })
        };
        json!({
            "before": size(&self.before),
            "after": size(&self.after),
            "runs": self.runs,
            "candidates": self.candidates,
            "took_s": self.took.as_secs_f64(),
            "complete": self.complete,
            "confirmed": self.confirmed.map(|(f, n)| json!({"failed": f, "runs": n})),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_in_words() {
        let a = Account {
            before: Size {
                faults: 6,
                test_ops: 1200,
                test_phase: Duration::from_secs(60),
            },
            after: Size {
                faults: 1,
                test_ops: 90,
                test_phase: Duration::from_millis(12_500),
            },
            runs: 23,
            candidates: 9,
            took: Duration::from_secs(845),
            complete: true,
            confirmed: Some((2, 3)),
        };
        assert_eq!(
            a.line(),
            "faults 6 → 1, test ops 1,200 → 90, test phase 60s → 12.5s; 23 runs (9 candidates) \
             in 14m 5s; the result failed again in 2 of 3 runs"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(a.to_json()["after"]["faults"], 1);
    }
}
