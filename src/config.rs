//! The test configuration: everything a plan and a run depend on.
//!
//! A test is configured by command-line options, optionally on top of a TOML test file
//! (`--test FILE`); an option given on the command line wins. The effective configuration
//! is written to the run's store as `test.toml`, so a run can be repeated from its store.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The effective configuration of one test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestConfig {
    /// The test's name: its folder in the store. Default: `<system>-<workload>`.
    pub name: Option<String>,
    /// The system under test (`etcd`).
    pub system: String,
    /// The workload (`cas-register`).
    pub workload: String,
    /// Number of nodes.
    pub nodes: usize,
    /// Number of client workers, spread over the nodes.
    pub concurrency: usize,
    /// Length of the test phase, e.g. `30s`.
    #[serde(with = "duration_text")]
    pub time_limit: Duration,
    /// Nemeses, e.g. `["partition", "pause", "kill"]`; empty: no faults.
    pub nemesis: Vec<String>,
    /// etcd reads: `linearizable` or `serializable`.
    pub read_mode: String,
    /// Number of independent keys.
    pub keys: u64,
    /// Client operations per second, over all workers.
    pub rate: f64,
    /// A client op not answered within this is indeterminate (`info`).
    #[serde(with = "duration_text")]
    pub op_timeout: Duration,
    /// Shortest and longest fault.
    #[serde(with = "duration_pair")]
    pub fault_duration: (Duration, Duration),
    /// Shortest and longest healthy window between faults.
    #[serde(with = "duration_pair")]
    pub healthy_duration: (Duration, Duration),
    /// Quiet time after the final heal, before the final reads.
    #[serde(with = "duration_text")]
    pub quiet: Duration,
    /// Where runs are stored.
    pub store: PathBuf,
    /// The etcd binary (default: `etcd` on PATH).
    pub etcd: Option<PathBuf>,
    /// How long the cluster may take to become ready.
    #[serde(with = "duration_text")]
    pub ready_timeout: Duration,
    /// Where the nodes run: `local` or `cloud-hypervisor`.
    pub env: String,
    /// The cloud-hypervisor binary (default: `cloud-hypervisor` on PATH).
    pub cloud_hypervisor: Option<PathBuf>,
    /// Preserve the nodes for a post-mortem (VM snapshots) at the end of every run, not
    /// only of invalid ones.
    pub post_mortem: bool,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            name: None,
            system: "etcd".into(),
            workload: "cas-register".into(),
            nodes: 3,
            concurrency: 5,
            time_limit: Duration::from_secs(30),
            nemesis: vec!["partition".into(), "pause".into(), "kill".into()],
            read_mode: "linearizable".into(),
            keys: 5,
            rate: 20.0,
            op_timeout: Duration::from_millis(1000),
            fault_duration: (Duration::from_secs(3), Duration::from_secs(6)),
            healthy_duration: (Duration::from_secs(2), Duration::from_secs(5)),
            quiet: Duration::from_secs(3),
            store: PathBuf::from("store"),
            etcd: None,
            ready_timeout: Duration::from_secs(30),
            env: "local".into(),
            cloud_hypervisor: None,
            post_mortem: false,
        }
    }
}

impl TestConfig {
    /// Reads a TOML test file; errors name the file and line.
    pub fn from_file(path: &Path) -> Result<TestConfig> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(1);
            let msg: Vec<&str> = e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            anyhow::anyhow!("{} line {line}: {}", path.display(), msg.join(": "))
        })
    }

    /// The test's name.
    pub fn test_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.system, self.workload))
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<()> {
        if self.system != "etcd" {
            bail!("unknown system {:?} (known: etcd)", self.system);
        }
        if !workloads::NAMES.contains(&self.workload.as_str()) {
            bail!(
                "unknown workload {:?} (known: {})",
                self.workload,
                workloads::NAMES.join(", ")
            );
        }
        for n in &self.nemesis {
            if nemeses::by_name(n).is_none() {
                bail!(
                    "unknown nemesis {n:?} (known: {})",
                    nemeses::NAMES.join(", ")
                );
            }
        }
        if !["linearizable", "serializable"].contains(&self.read_mode.as_str()) {
            bail!(
                "unknown read mode {:?} (known: linearizable, serializable)",
                self.read_mode
            );
        }
        if !["local", "cloud-hypervisor"].contains(&self.env.as_str()) {
            bail!(
                "unknown environment {:?} (known: local, cloud-hypervisor)",
                self.env
            );
        }
        if !(1..=50).contains(&self.nodes) {
            bail!("--nodes {} out of range 1..=50", self.nodes);
        }
        if !(1..=1000).contains(&self.concurrency) {
            bail!("--concurrency {} out of range 1..=1000", self.concurrency);
        }
        if self.keys == 0 {
            bail!("--keys must be at least 1");
        }
        if !(self.rate > 0.0 && self.rate.is_finite()) {
            bail!(
                "--rate {} must be a positive number of ops per second",
                self.rate
            );
        }
        if self.time_limit.is_zero() {
            bail!("--time-limit must be positive");
        }
        if self.fault_duration.0 > self.fault_duration.1
            || self.healthy_duration.0 > self.healthy_duration.1
        {
            bail!("a duration range's minimum is above its maximum");
        }
        Ok(())
    }

    /// The configuration as TOML, as stored with each run.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("config serializes")
    }
}

/// Parses `30s`, `5m`, `1h`, `250ms`, `1.5s`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (expected e.g. 30s, 5m, 250ms)"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("invalid duration {s:?} (units: ms, s, m, h)")),
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("invalid duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Formats a duration the way [`parse_duration`] reads it back.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Parses `3s..6s` (or a single duration, meaning both ends).
pub fn parse_duration_range(s: &str) -> Result<(Duration, Duration), String> {
    match s.split_once("..") {
        Some((a, b)) => Ok((parse_duration(a)?, parse_duration(b)?)),
        None => {
            let d = parse_duration(s)?;
            Ok((d, d))
        }
    }
}

mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

mod duration_pair {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &(Duration, Duration), s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!(
            "{}..{}",
            super::format_duration(d.0),
            super::format_duration(d.1)
        ))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(Duration, Duration), D::Error> {
        let s = String::deserialize(d)?;
        super::parse_duration_range(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        let cases = [
            ("30s", 30_000),
            ("5m", 300_000),
            ("250ms", 250),
            ("1.5s", 1_500),
            ("2", 2_000),
            ("1h", 3_600_000),
        ];
        for (s, ms) in cases {
            assert_eq!(parse_duration(s).unwrap(), Duration::from_millis(ms), "{s}");
        }
        for bad in ["", "s", "3x", "-1s", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
    }

    #[test]
    fn config_round_trips_through_toml() {
        let c = TestConfig {
            nemesis: vec!["partition".into()],
            ..TestConfig::default()
        };
        let back: TestConfig = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn bad_test_file_names_file_and_line() {
        let dir = std::env::temp_dir().join(format!("sqcfgtest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.toml");
        std::fs::write(&p, "nodes = 3\n\nbogus = 1\n").unwrap();
        let e = TestConfig::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("t.toml line 3"), "{e}");
        assert!(e.contains("bogus"), "{e}");
        std::fs::write(&p, "time_limit = \"3q\"\n").unwrap();
        let e = TestConfig::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("3q"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn validate_rejects_unknown_names() {
        let c = TestConfig {
            nemesis: vec!["flood".into()],
            ..TestConfig::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("flood"));
        let c = TestConfig {
            read_mode: "stale".into(),
            ..TestConfig::default()
        };
        assert!(c.validate().is_err());
        assert!(TestConfig::default().validate().is_ok());
    }
}
