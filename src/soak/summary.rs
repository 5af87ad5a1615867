//! A soak's summary, made from the seeds' records: `soak.json`, the terminal table, the
//! findings by signature, `index.html`, JUnit, and the exit code (the worst verdict).

use super::finding::{group, Finding};
use super::record::SeedRecord;
use crate::exit;
use checkers::Validity;
use serde::Serialize;

/// A soak's seeds and what they found.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The test's name.
    pub test: String,
    /// Whether every seed the soak was to run has a verdict (false when it was stopped, by
    /// a signal, `--stop-after-failures` or `--for`, or a seed's run gave none).
    pub complete: bool,
    /// The seeds, ascending.
    pub seeds: Vec<SeedRecord>,
    /// Failures grouped by anomaly signature, the most seeds first.
    pub findings: Vec<Finding>,
}

impl Summary {
    /// The summary of `records` (any order) of test `test`.
    pub fn new(test: &str, mut records: Vec<SeedRecord>, complete: bool) -> Summary {
        records.sort_by_key(|r| r.seed);
        let findings = group(&records);
        Summary {
            test: test.to_string(),
            complete,
            seeds: records,
            findings,
        }
    }

    /// How many seeds have verdict `v` (from a whole test; `None`: no verdict or
    /// interrupted).
    pub fn count(&self, v: Option<Validity>) -> usize {
        self.seeds
            .iter()
            .filter(|r| r.is_done().then_some(r.verdict).flatten() == v)
            .count()
    }

    /// `12 seeds: 2 valid, 10 invalid, 0 unknown, 0 without a verdict`.
    pub fn counts_line(&self) -> String {
        format!(
            "{} seeds: {} valid, {} invalid, {} unknown, {} without a verdict{}",
            self.seeds.len(),
            self.count(Some(Validity::Valid)),
            self.count(Some(Validity::Invalid)),
            self.count(Some(Validity::Unknown)),
            self.count(None),
            if self.complete {
                ""
            } else {
                " (the soak did not run every seed)"
            }
        )
    }

    /// The exit code: 1 if any seed is invalid; else 2 if any is unknown, has no verdict,
    /// or the soak did not run every seed; else 0 — and 3 when no seed's run could start.
    pub fn exit_code(&self) -> i32 {
        if self.seeds.iter().all(|r| r.verdict.is_none()) {
            return exit::ERROR;
        }
        if self.count(Some(Validity::Invalid)) > 0 {
            exit::INVALID
        } else if !self.complete || self.count(Some(Validity::Valid)) < self.seeds.len() {
            exit::UNKNOWN
        } else {
            exit::VALID
        }
    }

    /// The terminal table: a row per seed (with more than `ROWS` seeds, only those that are
    /// not valid), the findings, and the counts.
    pub fn table(&self) -> String {
        const ROWS: usize = 50;
        let mut out = String::new();
        let all = self.seeds.len() <= ROWS;
        out.push_str(&format!(
            "{:>8}  {:<10} {:>7} {:>7} {:>6} {:>7}  anomaly\n",
            "seed", "verdict", "ops", "ok", "faults", "test"
        ));
        for r in &self.seeds {
            let valid = r.is_done() && r.verdict == Some(Validity::Valid);
            if !all && valid {
                continue;
            }
            let verdict = match (r.verdict, r.interrupted) {
                (Some(v), false) => v.as_str().to_string(),
                (Some(_), true) => "interrupted".into(),
                (None, _) => "none".into(),
            };
            let anomaly = r.anomaly();
            out.push_str(&format!(
                "{:>8}  {:<10} {:>7} {:>7} {:>6} {:>6.1}s  {anomaly}\n",
                r.seed,
                verdict,
                r.ops,
                r.ok.map_or("-".to_string(), |n| n.to_string()),
                r.faults,
                r.test_phase_s
            ));
        }
        if !all {
            out.push_str(&format!(
                "(valid seeds not listed: {} of them; see index.html)\n",
                self.count(Some(Validity::Valid))
            ));
        }
        for f in &self.findings {
            let seeds: Vec<String> = f.seeds.iter().map(u64::to_string).collect();
            out.push_str(&format!(
                "finding: {} — {} seed{}, shortest first: {}\n",
                f.signature,
                f.seeds.len(),
                if f.seeds.len() == 1 { "" } else { "s" },
                seeds.join(", ")
            ));
            if let Some(r) = f
                .seeds
                .first()
                .and_then(|s| self.seeds.iter().find(|r| r.seed == *s))
            {
                out.push_str(&format!("  rerun the shortest with: {}\n", r.rerun));
            }
        }
        out.push_str(&self.counts_line());
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seed: u64, v: Option<Validity>) -> SeedRecord {
        SeedRecord {
            verdict: v,
            ..SeedRecord::missing(seed)
        }
    }

    #[test]
    fn the_exit_code_is_the_worst_verdict() {
        use Validity::*;
        let code = |vs: &[Option<Validity>], complete| {
            let rs = vs
                .iter()
                .enumerate()
                .map(|(i, v)| rec(i as u64, *v))
                .collect();
            Summary::new("t", rs, complete).exit_code()
        };
        assert_eq!(code(&[Some(Valid), Some(Valid)], true), exit::VALID);
        assert_eq!(code(&[Some(Valid), Some(Valid)], false), exit::UNKNOWN);
        assert_eq!(code(&[Some(Valid), Some(Unknown)], true), exit::UNKNOWN);
        assert_eq!(code(&[Some(Valid), None], true), exit::UNKNOWN);
        assert_eq!(
            code(&[Some(Unknown), Some(Invalid), None], true),
            exit::INVALID
        );
        assert_eq!(code(&[None, None], true), exit::ERROR);
        assert_eq!(code(&[], true), exit::ERROR);
    }
}
