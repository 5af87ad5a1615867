//! The test configuration: everything a plan and a run depend on.
//!
//! A test is configured by command-line options, optionally on top of a TOML test file
//! (`--test FILE`); an option given on the command line wins. The effective configuration
//! is written to the run's store as `test.toml`, so a run can be repeated from its store.

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How a system serves reads (`--read-mode`): systems that can serve either kind (etcd,
/// a command system with a `[command.read_mode.serializable]` table) honour it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReadMode {
    /// Linearizable: a read sees every write acknowledged before it began (etcd: through
    /// raft's read index).
    #[default]
    Linearizable,
    /// From the node's local state, without contacting the leader: may be stale (under a
    /// partition a minority node keeps serving its old value) — an anomaly squall must find.
    Serializable,
}

impl ReadMode {
    /// The name used on the command line, in test files and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadMode::Linearizable => "linearizable",
            ReadMode::Serializable => "serializable",
        }
    }
}

impl std::fmt::Display for ReadMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the nodes run (`--env`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EnvKind {
    /// Each node a process in its own network namespace.
    #[default]
    Local,
    /// Each node a Cloud Hypervisor VM.
    CloudHypervisor,
    /// Each node a QEMU VM (KVM where it boots guests, else software emulation).
    Qemu,
}

impl EnvKind {
    /// The name used on the command line and in test files.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvKind::Local => "local",
            EnvKind::CloudHypervisor => "cloud-hypervisor",
            EnvKind::Qemu => "qemu",
        }
    }
}

/// The most independent keys a test may have.
pub const MAX_KEYS: u64 = 100_000;

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
    pub read_mode: ReadMode,
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
    /// Faults of different nemeses overlap (Jepsen's combined nemesis): each nemesis keeps
    /// its own schedule of faults and healthy windows, so a partition may start while a
    /// node is paused. Off (the default): one fault at a time. Written in a plan's header
    /// only when on, so default plans keep their bytes.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub overlap: bool,
    /// Quiet time after the final heal, before the final reads.
    #[serde(with = "duration_text")]
    pub quiet: Duration,
    /// Where runs are stored.
    pub store: PathBuf,
    /// How long the cluster may take to become ready.
    #[serde(with = "duration_text")]
    pub ready_timeout: Duration,
    /// Where the nodes run: `local`, `cloud-hypervisor` or `qemu`.
    pub env: EnvKind,
    /// The cloud-hypervisor binary (default: `cloud-hypervisor` on PATH).
    pub cloud_hypervisor: Option<PathBuf>,
    /// Preserve the nodes for a post-mortem (VM snapshots; a local node's data directory)
    /// at the end of every run, not only of invalid ones.
    pub post_mortem: bool,
    /// Each plug-in's own options: a table named after the plug-in (`[etcd]`, `[command]`,
    /// `[bank]`, `[partition]`), in the test file or from `-o NAME.KEY=VALUE`. squall does
    /// not know what is in them: the plug-in reads its table into its own type
    /// ([`TestConfig::options`]), so a new option of a plug-in is an edit in its file alone.
    #[serde(skip)]
    pub plugins: BTreeMap<String, toml::Table>,
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
            read_mode: ReadMode::Linearizable,
            keys: 5,
            rate: 20.0,
            op_timeout: Duration::from_millis(1000),
            fault_duration: (Duration::from_secs(3), Duration::from_secs(6)),
            healthy_duration: (Duration::from_secs(2), Duration::from_secs(5)),
            overlap: false,
            quiet: Duration::from_secs(3),
            store: PathBuf::from("store"),
            ready_timeout: Duration::from_secs(30),
            env: EnvKind::Local,
            cloud_hypervisor: None,
            post_mortem: false,
            plugins: BTreeMap::new(),
        }
    }
}

impl TestConfig {
    /// Reads a TOML test file; errors name the file and line.
    pub fn from_file(path: &Path) -> Result<TestConfig> {
        Self::from_file_with_keys(path).map(|(c, _)| c)
    }

    /// Reads a TOML test file, and which keys it sets (so that errors about a value can
    /// name the file rather than a flag).
    pub fn from_file_with_keys(path: &Path) -> Result<(TestConfig, Vec<String>)> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses the text of a test file called `name` (for messages), and which keys it sets.
    ///
    /// A table (`[etcd]`, `[bank]`...) is a plug-in's options, kept as it is written; every
    /// other key is the test's own, and an error in one names its line.
    pub fn parse(text: &str, name: &str) -> Result<(TestConfig, Vec<String>)> {
        let line_of = |offset: usize| {
            let upto = &text.as_bytes()[..offset.min(text.len())];
            upto.iter().filter(|&&b| b == b'\n').count() + 1
        };
        let doc: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start)).unwrap_or(1);
            anyhow::anyhow!("{name} line {line}: {}", message(&e))
        })?;
        // The line of a test key: the test's keys come before the first table header.
        let line_of_key = |key: &str| {
            text.lines()
                .take_while(|l| !l.trim_start().starts_with('['))
                .position(|l| {
                    let l = l.trim_start();
                    let l = l.trim_start_matches(['"', '\'']);
                    l.strip_prefix(key).is_some_and(|rest| {
                        rest.trim_start_matches(['"', '\''])
                            .trim_start()
                            .starts_with('=')
                    })
                })
                .map_or(1, |i| i + 1)
        };
        let mut core = toml::Table::new();
        let mut plugins = BTreeMap::new();
        for (key, value) in doc {
            match value {
                toml::Value::Table(t) => {
                    plugins.insert(key, t);
                }
                v => {
                    core.insert(key, v);
                }
            }
        }
        let keys: Vec<String> = core.keys().chain(plugins.keys()).cloned().collect();
        let mut config: TestConfig = match toml::Value::Table(core.clone()).try_into() {
            Ok(c) => c,
            Err(e) => {
                // Which key: the first that fails on its own (an unknown key fails alone too).
                let bad = core.iter().find_map(|(k, v)| {
                    let one = toml::Table::from_iter([(k.clone(), v.clone())]);
                    toml::Value::Table(one)
                        .try_into::<TestConfig>()
                        .err()
                        .map(|e| (k.clone(), e))
                });
                let (line, e) = match bad {
                    Some((k, e)) => (line_of_key(&k), e),
                    None => (1, e),
                };
                anyhow::bail!("{name} line {line}: {}", message(&e));
            }
        };
        config.plugins = plugins;
        Ok((config, keys))
    }

    /// The plug-in `name`'s options: its table, or none.
    pub fn plugin(&self, name: &str) -> Option<&toml::Table> {
        self.plugins.get(name)
    }

    /// The plug-in `name`'s options read into its own type `T` (which gives its defaults:
    /// `#[serde(default, deny_unknown_fields)]`); an error names the table and what is wrong
    /// with it: `[etcd]: unknown field `binry`, expected `binary``.
    pub fn options<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let table = self.plugins.get(name).cloned().unwrap_or_default();
        toml::Value::Table(table)
            .try_into()
            .map_err(|e| anyhow::anyhow!("[{name}]: {}", message(&e)))
    }

    /// The plug-in `name`'s options as JSON (an object; empty if it has none), for plug-ins
    /// in crates that do not read TOML (workloads, nemeses): the test's own table only
    /// ([`crate::registry::Registry::options_json`] adds the defaults its system gives).
    pub fn options_json(&self, name: &str) -> serde_json::Value {
        match self.plugins.get(name) {
            Some(t) => serde_json::to_value(t).unwrap_or_default(),
            None => serde_json::Value::Object(Default::default()),
        }
    }

    /// Sets the plug-in option `path` (`etcd.binary`, `command.vars.x`) to `value`, as
    /// `-o PATH=VALUE` does. The value is read as a TOML value (`3`, `true`, `["a"]`), or
    /// else taken as a string.
    pub fn set_option(&mut self, path: &str, value: &str) -> Result<(), String> {
        let parts: Vec<&str> = path.split('.').map(str::trim).collect();
        if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
            return Err("expected PLUG-IN.KEY=VALUE, e.g. etcd.binary=/usr/bin/etcd".into());
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        let mut table = self.plugins.entry(parts[0].to_string()).or_default();
        for p in &parts[1..parts.len() - 1] {
            let next = table
                .entry(p.to_string())
                .or_insert_with(|| toml::Value::Table(Default::default()));
            table = match next {
                toml::Value::Table(t) => t,
                _ => return Err(format!("{p} is not a table")),
            };
        }
        table.insert(parts[parts.len() - 1].to_string(), value);
        Ok(())
    }

    /// The test's name.
    pub fn test_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.system, self.workload))
    }

    /// Checks values that parse but mean nothing (a zero timeout, an empty nemesis name, a
    /// partition of one node). The error names the key and the value; [`crate::cli`] turns
    /// it into the flag or the test file's line that gave it.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let text = |key: &'static str, v: &str, problem: String| {
            Err(InvalidValue::new(
                key,
                format!("{v:?}"),
                Some(v.to_string()),
                problem,
            ))
        };
        let number = |key: &'static str, v: String, problem: String| {
            Err(InvalidValue::new(key, v.clone(), Some(v), problem))
        };
        let duration = |key: &'static str, d: Duration, problem: &str| {
            let v = format_duration(d);
            Err(InvalidValue::new(
                key,
                format!("{v:?}"),
                Some(v),
                problem.into(),
            ))
        };
        let range = |key: &'static str, r: (Duration, Duration), problem: &str| {
            let v = format!("{}..{}", format_duration(r.0), format_duration(r.1));
            Err(InvalidValue::new(
                key,
                format!("{v:?}"),
                Some(v),
                problem.into(),
            ))
        };
        let path = |key: &'static str, p: &Path, problem: &str| {
            let v = p.display().to_string();
            Err(InvalidValue::new(
                key,
                format!("{v:?}"),
                Some(v),
                problem.into(),
            ))
        };
        if let Some(name) = &self.name {
            // The name is a folder of the store: one plain path component.
            let plain =
                !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0']);
            if !plain {
                return text(
                    "name",
                    name,
                    "must be a plain folder name (not empty, no `/`, not `.` or `..`)".into(),
                );
            }
        }
        let nemesis_list = || {
            let toml = format!(
                "[{}]",
                self.nemesis
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let flag = if self.nemesis.is_empty() {
                "none".to_string()
            } else {
                self.nemesis.join(",")
            };
            (toml, Some(flag))
        };
        for (i, n) in self.nemesis.iter().enumerate() {
            let problem = if n.is_empty() {
                "an empty nemesis name".to_string()
            } else if n == "none" {
                "`none` in a list (no faults is an empty list: nemesis = [])".to_string()
            } else if self.nemesis[..i].contains(n) {
                format!("{n} is listed twice")
            } else {
                continue;
            };
            let (toml, flag) = nemesis_list();
            return Err(InvalidValue::new("nemesis", toml, flag, problem));
        }
        if !(1..=50).contains(&self.nodes) {
            return number(
                "nodes",
                self.nodes.to_string(),
                "out of range 1..=50".into(),
            );
        }
        if self.nodes < 2 && self.nemesis.iter().any(|n| n == "partition") {
            return number(
                "nodes",
                self.nodes.to_string(),
                "a partition needs at least 2 nodes (choose other nemeses, or none)".into(),
            );
        }
        if !(1..=1000).contains(&self.concurrency) {
            return number(
                "concurrency",
                self.concurrency.to_string(),
                "out of range 1..=1000".into(),
            );
        }
        // Every key is written once before the test and read once after it: a bound keeps
        // those phases (and the checker's per-key work) finite.
        if !(1..=MAX_KEYS).contains(&self.keys) {
            return number(
                "keys",
                self.keys.to_string(),
                format!("out of range 1..={MAX_KEYS}"),
            );
        }
        if !(self.rate > 0.0 && self.rate.is_finite()) {
            return number(
                "rate",
                self.rate.to_string(),
                "must be a positive number of ops per second".into(),
            );
        }
        for (key, d) in [
            ("time_limit", self.time_limit),
            ("op_timeout", self.op_timeout),
            ("ready_timeout", self.ready_timeout),
        ] {
            if d.is_zero() {
                return duration(key, d, "must be positive");
            }
        }
        if self.fault_duration.0.is_zero() {
            return range(
                "fault_duration",
                self.fault_duration,
                "a fault must last a positive time",
            );
        }
        for (key, r) in [
            ("fault_duration", self.fault_duration),
            ("healthy_duration", self.healthy_duration),
        ] {
            if r.0 > r.1 {
                return range(key, r, "the minimum is above the maximum");
            }
        }
        if self.store.as_os_str().is_empty() {
            return path("store", &self.store, "must not be empty");
        }
        if self
            .cloud_hypervisor
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return path("cloud_hypervisor", Path::new(""), "must not be empty");
        }
        if self.env != EnvKind::CloudHypervisor {
            if let Some(p) = &self.cloud_hypervisor {
                return path(
                    "cloud_hypervisor",
                    p,
                    "only used with the cloud-hypervisor environment (--env cloud-hypervisor)",
                );
            }
        }
        Ok(())
    }

    /// The configuration as TOML, as stored with each run: the test's keys, then each
    /// plug-in's table.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.to_table()).expect("config serializes")
    }

    /// The configuration as a JSON object, plug-in tables included (as objects).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("config serializes");
        if let Some(m) = v.as_object_mut() {
            for name in self.plugins.keys() {
                m.insert(name.clone(), self.options_json(name));
            }
        }
        v
    }

    /// Reads [`TestConfig::to_json`]'s object back: an object member is a plug-in's table.
    pub fn from_json(v: &serde_json::Value) -> Result<TestConfig, String> {
        let Some(m) = v.as_object() else {
            return Err("not an object".into());
        };
        let mut core = serde_json::Map::new();
        let mut plugins = BTreeMap::new();
        for (k, v) in m {
            if v.is_object() {
                let t: toml::Table =
                    serde_json::from_value(v.clone()).map_err(|e| format!("[{k}]: {e}"))?;
                plugins.insert(k.clone(), t);
            } else {
                core.insert(k.clone(), v.clone());
            }
        }
        let mut c: TestConfig =
            serde_json::from_value(serde_json::Value::Object(core)).map_err(|e| e.to_string())?;
        c.plugins = plugins;
        Ok(c)
    }

    /// The configuration as one TOML table, plug-in tables included.
    pub fn to_table(&self) -> toml::Table {
        let mut t = toml::Table::try_from(self).expect("config serializes");
        for (name, table) in &self.plugins {
            t.insert(name.clone(), toml::Value::Table(table.clone()));
        }
        t
    }
}

/// A TOML error's message on one line.
fn message(e: &toml::de::Error) -> String {
    let msg: Vec<&str> = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    msg.join(": ")
}

/// A configuration value that parses but means nothing: which key, the value, and why.
///
/// Shown on its own as the test file would write it (`op_timeout = "0s": must be
/// positive`); [`crate::origins::Origins`] names the flag or the file it came from instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidValue {
    /// The test file's key, e.g. `op_timeout` (its flag is `--op-timeout`).
    pub key: &'static str,
    /// The value as a test file writes it: `"0s"`, `["partition", ""]`, `0`.
    pub toml: String,
    /// The value as its flag takes it (`0s`, `partition,pause`), or `None` for a switch.
    pub flag: Option<String>,
    /// What is wrong with it: `must be positive`.
    pub problem: String,
}

impl InvalidValue {
    /// A value `key` (written `toml` in a test file, `flag` on the command line) that is
    /// wrong for `problem`.
    pub fn new(key: &'static str, toml: String, flag: Option<String>, problem: String) -> Self {
        InvalidValue {
            key,
            toml,
            flag,
            problem,
        }
    }
}

impl std::fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {}: {}", self.key, self.toml, self.problem)
    }
}

impl std::error::Error for InvalidValue {}

/// Parses `30s`, `5m`, `1h`, `250ms`, `100us`, `1.5s`, or a bare number of seconds.
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
        "ns" => n / 1e9,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration {s:?} (units: ns, us, ms, s, m, h)"
            ))
        }
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("invalid duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Formats a duration the way [`parse_duration`] reads it back (in the largest unit that
/// keeps it exact: `30s`, `1500ms`, `250us`, `7ns`).
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns % 1_000_000_000 == 0 {
        format!("{}s", ns / 1_000_000_000)
    } else if ns % 1_000_000 == 0 {
        format!("{}ms", ns / 1_000_000)
    } else if ns % 1_000 == 0 {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
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
        // Below a millisecond, exactly (it used to print 250us as 0ms, which reads back as
        // zero).
        for (d, text) in [
            (Duration::from_micros(250), "250us"),
            (Duration::from_nanos(7), "7ns"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(format_duration(d), text);
            assert_eq!(parse_duration(text).unwrap(), d, "{text}");
        }
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
    fn plug_in_tables_are_kept_as_written_and_errors_name_their_line() {
        let text = "workload = \"bank\"\nnodes = 5\n\n[bank]\ninitial_balance = 7\n\n\
                    [command.ops.read]\ncmd = \"true\"\n";
        let (c, keys) = TestConfig::parse(text, "t.toml").unwrap();
        assert_eq!(keys, ["nodes", "workload", "bank", "command"]);
        assert_eq!(c.nodes, 5);
        assert_eq!(
            c.plugin("bank").unwrap()["initial_balance"].as_integer(),
            Some(7)
        );
        assert!(c.plugin("command").unwrap()["ops"]["read"].is_table());
        // Stored and read back, as TOML and as a plan header's JSON.
        assert_eq!(TestConfig::parse(&c.to_toml(), "s").unwrap().0, c);
        assert_eq!(TestConfig::from_json(&c.to_json()).unwrap(), c);
        // The plug-in reads its own table into its own type.
        #[derive(Debug, Default, Deserialize, PartialEq)]
        #[serde(default, deny_unknown_fields)]
        struct BankOpts {
            initial_balance: i64,
        }
        assert_eq!(
            c.options::<BankOpts>("bank").unwrap(),
            BankOpts { initial_balance: 7 }
        );
        assert_eq!(c.options::<BankOpts>("none").unwrap(), BankOpts::default());
        let e = TestConfig::parse("[bank]\ninitial_balance = \"x\"\n", "t")
            .unwrap()
            .0
            .options::<BankOpts>("bank")
            .unwrap_err();
        assert!(
            e.to_string().starts_with("[bank]: invalid type: string"),
            "{e}"
        );
        // An error in one of the test's own keys names its line, whatever comes after.
        let e = TestConfig::parse("nodes = 3\nrate = \"fast\"\n[bank]\nx = 1\n", "t.toml");
        let e = e.unwrap_err().to_string();
        assert!(e.starts_with("t.toml line 2: invalid type: string"), "{e}");
    }

    #[test]
    fn validate_rejects_unknown_names() {
        // (Unknown plug-ins — workloads, systems, nemeses — are the registry's to know: see
        // cli.rs.)
        // A closed set is an enum: a value outside it does not even parse.
        let e = TestConfig::parse("read_mode = \"stale\"\n", "t.toml").unwrap_err();
        let e = e.to_string();
        assert!(
            e.starts_with("t.toml line 1: unknown variant `stale`"),
            "{e}"
        );
        assert!(
            e.contains("linearizable") && e.contains("serializable"),
            "{e}"
        );
        let e = TestConfig::parse("env = \"docker\"\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("cloud-hypervisor"), "{e}");
        assert!(TestConfig::default().validate().is_ok());
    }

    #[test]
    fn validate_names_the_key_and_the_value_as_a_test_file_writes_it() {
        let cases = [
            (
                TestConfig {
                    op_timeout: Duration::ZERO,
                    ..TestConfig::default()
                },
                "op_timeout = \"0s\": must be positive",
            ),
            (
                TestConfig {
                    nemesis: vec!["partition".into(), "".into()],
                    ..TestConfig::default()
                },
                "nemesis = [\"partition\", \"\"]: an empty nemesis name",
            ),
            (
                TestConfig {
                    nodes: 1,
                    ..TestConfig::default()
                },
                "nodes = 1: a partition needs at least 2 nodes (choose other nemeses, or none)",
            ),
            (
                TestConfig {
                    name: Some("a/b".into()),
                    ..TestConfig::default()
                },
                "name = \"a/b\": must be a plain folder name (not empty, no `/`, not `.` or `..`)",
            ),
        ];
        for (c, want) in cases {
            assert_eq!(c.validate().unwrap_err().to_string(), want);
        }
        let e = TestConfig {
            ready_timeout: Duration::ZERO,
            ..TestConfig::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!((e.key, e.flag.as_deref()), ("ready_timeout", Some("0s")));
    }
}
