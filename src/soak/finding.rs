//! Findings: the failing seeds grouped by anomaly [`Signature`], so forty seeds that hit the
//! same stale read are one finding with forty seeds, the shortest run first (the one to
//! debug).

use super::record::SeedRecord;
use super::signature::Signature;
use checkers::Validity;
use serde::Serialize;
use std::collections::BTreeMap;

/// One kind of anomaly and the seeds that hit it, shortest run first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// What went wrong.
    pub signature: Signature,
    /// The seeds, the shortest run (fewest ops, then shortest test phase) first.
    pub seeds: Vec<u64>,
}

/// The invalid records grouped by signature; a run with two kinds of anomaly counts in
/// both. Findings with the most seeds come first.
pub fn group(records: &[SeedRecord]) -> Vec<Finding> {
    let mut by: BTreeMap<&Signature, Vec<&SeedRecord>> = BTreeMap::new();
    for r in records {
        if r.verdict == Some(Validity::Invalid) {
            for s in &r.signatures {
                by.entry(s).or_default().push(r);
            }
        }
    }
    let mut findings: Vec<Finding> = by
        .into_iter()
        .map(|(signature, mut rs)| {
            rs.sort_by(|a, b| {
                (a.ops, a.test_phase_s, a.seed)
                    .partial_cmp(&(b.ops, b.test_phase_s, b.seed))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            Finding {
                signature: signature.clone(),
                seeds: rs.iter().map(|r| r.seed).collect(),
            }
        })
        .collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.seeds.len()));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::signature::signatures;
    use checkers::Verdict;
    use serde_json::json;

    fn lin_invalid(f: &str) -> Verdict {
        let mut v = Verdict::invalid("cas-register", "composed");
        v.results = vec![serde_json::from_value(json!({
            "checker": "linearizable", "valid": false, "explanation": "NOT linearizable",
            "details": {"valid": false, "model": "cas-register", "ops": 10, "keys": 1,
                "check_ms": 1, "cause": null,
                "counterexample": {"key": 0, "linearized": [], "op": {
                    "process": 3, "f": f, "invoke_index": 8, "invoke_time": 1,
                    "invoke_value": null, "outcome": "ok", "completion_index": 9,
                    "completion_time": 2, "completion_value": 3}}}
        }))
        .unwrap()];
        v
    }

    fn record(seed: u64, ops: u64, sig: Option<Signature>) -> SeedRecord {
        SeedRecord {
            seed,
            verdict: Some(if sig.is_some() {
                Validity::Invalid
            } else {
                Validity::Valid
            }),
            ops,
            signatures: sig.into_iter().collect(),
            ..SeedRecord::missing(seed)
        }
    }

    #[test]
    fn failures_group_by_signature_shortest_first() {
        let stale = signatures(&lin_invalid("read")).remove(0);
        // The same anomaly where the search got stuck on a cas: the same finding.
        let cas = signatures(&lin_invalid("cas")).remove(0);
        assert_eq!(stale, cas);
        let set = signatures(
            &Verdict::invalid("set", "1 lost").with_details(json!({"lost_count": 1, "lost": [1]})),
        )
        .remove(0);
        let records = vec![
            record(1, 900, Some(stale.clone())),
            record(2, 100, None),
            record(3, 300, Some(stale.clone())),
            record(4, 500, Some(cas.clone())),
            record(5, 300, Some(stale.clone())),
            record(6, 50, Some(set.clone())),
        ];
        let findings = group(&records);
        assert_eq!(findings.len(), 2, "{findings:?}");
        assert_eq!(findings[0].signature, stale);
        // Shortest first; equal lengths by seed.
        assert_eq!(findings[0].seeds, [3, 5, 4, 1]);
        assert_eq!(findings[1].signature, set);
        assert_eq!(findings[1].seeds, [6]);
        assert!(group(&records[1..2]).is_empty());
    }
}
