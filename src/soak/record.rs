//! One seed of a soak as its run left it: read back from the run's `results.json` (the
//! newest run in the seed's own store), so a summary — of this soak, of a resumed one, of a
//! merge of shards — is always made from what is on disk, never from memory.

use super::layout::SoakDir;
use super::signature::{signatures, Signature};
use checkers::{Validity, Verdict};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What one seed's run came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRecord {
    /// The seed.
    pub seed: u64,
    /// The verdict; `None` when the run gave none (it could not start, or was stopped
    /// before its test began).
    #[serde(with = "validity_text")]
    pub verdict: Option<Validity>,
    /// Whether the run was interrupted (only part of its test ran).
    pub interrupted: bool,
    /// The signatures of its anomalies (invalid runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<Signature>,
    /// What went wrong, in a line: the failing checkers' first lines, an unknown's cause,
    /// or why there is no verdict.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub explanation: String,
    /// Client operations run.
    pub ops: u64,
    /// Of them, those that completed `ok` (`None` where the run did not say): a cluster that
    /// stopped serving shows here, whatever its verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<u64>,
    /// Faults put in force.
    pub faults: u64,
    /// The test phase's length, in seconds.
    pub test_phase_s: f64,
    /// The line that reruns this seed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rerun: String,
    /// The run's store folder, if it got one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<PathBuf>,
}

mod validity_text {
    //! A verdict as results.json writes it: `"valid"`, `"invalid"`, `"unknown"`, or null.
    use checkers::Validity;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Validity>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(v.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Validity>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        Ok(text.as_deref().and_then(super::parse_validity))
    }
}

fn parse_validity(s: &str) -> Option<Validity> {
    [Validity::Valid, Validity::Invalid, Validity::Unknown]
        .into_iter()
        .find(|v| v.as_str() == s)
}

impl SeedRecord {
    /// A seed with nothing stored for it.
    pub fn missing(seed: u64) -> SeedRecord {
        SeedRecord {
            seed,
            verdict: None,
            interrupted: false,
            signatures: Vec::new(),
            explanation: String::new(),
            ops: 0,
            ok: None,
            faults: 0,
            test_phase_s: 0.0,
            rerun: String::new(),
            run_dir: None,
        }
    }

    /// Whether the seed is done: it has a verdict from a whole test (a resumed soak skips
    /// it; an interrupted run or one that did not start runs again).
    pub fn is_done(&self) -> bool {
        self.verdict.is_some() && !self.interrupted
    }

    /// Its anomaly in a line (nothing for a valid run that ran whole): its signatures, or
    /// else its explanation.
    pub fn anomaly(&self) -> String {
        if self.is_done() && self.verdict == Some(checkers::Validity::Valid) {
            String::new()
        } else if self.signatures.is_empty() {
            self.explanation.clone()
        } else {
            self.signatures
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        }
    }

    /// The seed's record in soak folder `dir`: from the newest run in its store, or, where
    /// there is none, why (the last line of the run's output).
    pub fn load(dir: &SoakDir, seed: u64) -> SeedRecord {
        let latest = dir.seed_store(seed).join("latest");
        let mut r = match std::fs::canonicalize(&latest) {
            Ok(run) => SeedRecord::from_run_dir(seed, &run),
            Err(_) => SeedRecord::missing(seed),
        };
        if r.verdict.is_none() && r.explanation.is_empty() {
            r.explanation = last_line(&dir.seed_log(seed))
                .unwrap_or_else(|| "no run stored for this seed".into());
        }
        r
    }

    /// The record of the run in folder `run`.
    pub fn from_run_dir(seed: u64, run: &Path) -> SeedRecord {
        let mut r = SeedRecord {
            run_dir: Some(run.to_path_buf()),
            ..SeedRecord::missing(seed)
        };
        let path = run.join("results.json");
        let results: serde_json::Value = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => {
                r.explanation = format!("{}: {e}", path.display());
                return r;
            }
        };
        r.verdict = results["verdict"].as_str().and_then(parse_validity);
        r.interrupted = results["interrupted"].as_bool().unwrap_or(false);
        r.rerun = results["rerun"].as_str().unwrap_or_default().to_string();
        let run_stats = &results["run"];
        r.ops = run_stats["ops"].as_u64().unwrap_or(0);
        r.ok = results["availability"]["ok"].as_u64();
        r.faults = run_stats["faults"].as_u64().unwrap_or(0);
        r.test_phase_s = run_stats["test_phase_s"].as_f64().unwrap_or(0.0);
        if let Some(why) = results["stopped"].as_str() {
            r.explanation = why.to_string();
        }
        if let Ok(checks) = serde_json::from_value::<Verdict>(results["checks"].clone()) {
            r.signatures = signatures(&checks);
            r.explanation = explain(&checks);
        }
        r
    }
}

/// The first line of each leaf verdict that is not valid, `checker: line`, joined by `; `.
fn explain(v: &Verdict) -> String {
    fn walk(v: &Verdict, out: &mut Vec<String>) {
        if !v.results.is_empty() {
            v.results.iter().for_each(|p| walk(p, out));
        } else if v.valid != Validity::Valid {
            let text = v.cause.as_deref().unwrap_or(&v.explanation);
            out.push(format!(
                "{}: {}",
                v.checker,
                text.lines().next().unwrap_or("")
            ));
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out.join("; ")
}

/// The last non-empty line of a file, if it has one.
fn last_line(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    Some(line.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_is_read_from_results_json() {
        let dir = std::env::temp_dir().join(format!("sqsoak-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let checks = json!({"checker": "cas-register", "valid": false, "explanation": "x",
            "results": [
                {"checker": "stats", "valid": true, "explanation": "fine"},
                {"checker": "set", "valid": false,
                 "explanation": "1 lost (3 acknowledged adds, 2 reads)\nelement 4",
                 "details": {"lost_count": 1, "lost": [4]}}]});
        let results = json!({"seed": 7, "verdict": "invalid", "valid": false,
            "interrupted": false, "checks": checks, "rerun": "squall run --seed 7",
            "run": {"ops": 120, "faults": 3, "test_phase_s": 5.5},
            "availability": {"ops": 120, "ok": 77}});
        std::fs::write(dir.join("results.json"), results.to_string()).unwrap();
        let r = SeedRecord::from_run_dir(7, &dir);
        assert_eq!(r.verdict, Some(Validity::Invalid));
        assert!(r.is_done());
        assert_eq!(
            (r.ops, r.ok, r.faults, r.test_phase_s),
            (120, Some(77), 3, 5.5)
        );
        assert_eq!(r.explanation, "set: 1 lost (3 acknowledged adds, 2 reads)");
        assert_eq!(r.signatures.len(), 1);
        assert_eq!(r.rerun, "squall run --seed 7");
        // Through soak.json and back.
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"verdict\":\"invalid\""), "{text}");
        assert_eq!(serde_json::from_str::<SeedRecord>(&text).unwrap(), r);

        // Stopped before the test: no verdict, not done.
        let stopped = json!({"seed": 7, "verdict": null, "interrupted": true,
            "stopped": "interrupted by SIGINT before the cluster was ready", "run": {}});
        std::fs::write(dir.join("results.json"), stopped.to_string()).unwrap();
        let r = SeedRecord::from_run_dir(7, &dir);
        assert_eq!(r.verdict, None);
        assert!(!r.is_done());
        assert!(r.explanation.contains("before the cluster was ready"));
        std::fs::remove_dir_all(&dir).unwrap();
        let r = SeedRecord::from_run_dir(7, &dir);
        assert!(r
            .explanation
            .ends_with("results.json: No such file or directory (os error 2)"));
    }
}
