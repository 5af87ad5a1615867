//! Command-line arguments.

use crate::config::{parse_duration, parse_duration_range, InvalidValue, TestConfig};
use anyhow::Result;
use checkers::ModelKind;
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// Jepsen-style chaos testing of distributed systems, reproducible from a seed.
#[derive(Debug, Parser)]
#[command(name = "squall", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub cmd: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a seeded test against a real cluster and check its history.
    Run(TestArgs),
    /// Print the plan (client ops and faults) a seed gives, as JSONL, without running it.
    Plan(TestArgs),
    /// Run a stored plan again (a run's folder or its plan.jsonl), checked against the seed
    /// and config in its header; --times K runs it K times.
    Replay(ReplayArgs),
    /// Run many seeds of a test (--seeds 1..200, --count N, --for 8h), N at once, with a
    /// summary (soak.json, index.html, --junit); `soak merge DIR...` joins soak folders.
    Soak(Box<crate::cmd::soak::SoakArgs>),
    /// Check recorded histories (JSONL, Jepsen EDN or a Jepsen log) for linearizability.
    Check(CheckArgs),
    /// Remove everything killed runs left behind: namespaces, links, rules, processes, files.
    Clean,
    /// Measure the runner: throughput and scheduling lag against an in-process no-op system,
    /// and the delay from a planned partition to it being in force.
    Bench(BenchArgs),
    /// Check what this host supports: KVM, cloud-hypervisor, TAP devices, qdiscs, etcd;
    /// `--env cloud-hypervisor` also takes a throwaway VM through its lifecycle.
    Doctor(crate::doctor::DoctorArgs),
    /// Convert a history (JSONL, Jepsen EDN or a Jepsen log) to CSV, EDN or JSONL, on stdout.
    Export(ExportArgs),
    /// Write a stored run's report.html again, from its folder.
    Report(crate::cmd::report::ReportArgs),
    /// Make a failing run's plan smaller while it still fails (RUN_DIR/shrink/plan.jsonl).
    Shrink(crate::cmd::shrink::ShrinkArgs),
    /// Guest images for the cloud-hypervisor environment.
    #[command(subcommand)]
    Image(ImageCommand),
}

/// Options of `squall replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A run's store folder (its `plan.jsonl`) or a plan file.
    pub plan: PathBuf,
    /// Run it this many times.
    #[arg(long, default_value_t = 1)]
    pub times: u32,
    /// Where runs are stored [default: ./store].
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Where the nodes run [default: local].
    #[arg(long, value_enum)]
    pub env: Option<crate::config::EnvKind>,
    /// A plug-in's option, over the stored one (e.g. `-o etcd.binary=PATH`); one that
    /// changes the plan makes the replay refuse it, naming the first line that differs.
    #[arg(short = 'o', long = "opt", value_name = "PLUG-IN.KEY=VALUE")]
    pub opt: Vec<String>,
}

/// Options of `squall export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format: csv, edn, jsonl.
    #[arg(long, default_value = "csv")]
    pub to: String,
    /// The history file.
    pub file: PathBuf,
}

/// `squall image ...`
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build (or reuse, cached by content hash) a guest image: Debian's cloud kernel, busybox,
    /// the system's binary and its libraries, and squall's init.
    Build(crate::image::ImageBuildArgs),
}

/// Options of a test (shared by `run` and `plan`). Each overrides the test file's value.
#[derive(Debug, Args, Default, Clone)]
pub struct TestArgs {
    /// The seed; the same seed and options give the same plan. Default: a random seed,
    /// printed first.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run this plan file (or a run folder's plan.jsonl) as written, with its header's test.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// A TOML test file; options given here override its values.
    #[arg(long, value_name = "FILE")]
    pub test: Option<PathBuf>,
    /// Test name (its folder in the store). Default: <system>-<workload>.
    #[arg(long)]
    pub name: Option<String>,
    /// The system under test: etcd, or command (defined by a test file's [command] table)
    /// [default: etcd].
    #[arg(long)]
    pub system: Option<String>,
    /// The workload: cas-register (reads, writes, compare-and-sets on independent keys), set
    /// (adds, reads of the whole set), bank (transfers, reads of every balance; --keys
    /// accounts) [default: cas-register].
    #[arg(long)]
    pub workload: Option<String>,
    /// Number of nodes [default: 3].
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Number of client workers, spread over the nodes [default: 5].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Length of the test phase, e.g. 30s, 5m [default: 30s].
    #[arg(long, value_parser = parse_duration)]
    pub time_limit: Option<Duration>,
    /// Faults, comma-separated: partition, pause, kill; or `none` [default: partition,pause,kill].
    #[arg(long)]
    pub nemesis: Option<String>,
    /// How reads are served: linearizable, or serializable (from a node's own state: may
    /// be stale) [default: linearizable].
    #[arg(long, value_enum)]
    pub read_mode: Option<crate::config::ReadMode>,
    /// Number of independent keys [default: 5].
    #[arg(long)]
    pub keys: Option<u64>,
    /// Client operations per second, over all workers [default: 20].
    #[arg(long)]
    pub rate: Option<f64>,
    /// A client op unanswered after this is indeterminate (info) [default: 1s].
    #[arg(long, value_parser = parse_duration)]
    pub op_timeout: Option<Duration>,
    /// Fault length range, e.g. 3s..6s [default: 3s..6s].
    #[arg(long, value_parser = parse_duration_range)]
    pub fault_duration: Option<(Duration, Duration)>,
    /// Healthy window range between faults, e.g. 2s..5s [default: 2s..5s].
    #[arg(long, value_parser = parse_duration_range)]
    pub healthy_duration: Option<(Duration, Duration)>,
    /// Quiet time between the final heal and the final reads [default: 3s].
    #[arg(long, value_parser = parse_duration)]
    pub quiet: Option<Duration>,
    /// Where runs are stored [default: ./store].
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// A plug-in's own option, as its table in a test file would set it (repeatable):
    /// `-o etcd.binary=/usr/bin/etcd`, `-o bank.initial_balance=100`,
    /// `-o partition.shapes='["isolate"]'`. The value is read as TOML, else as a string.
    #[arg(short = 'o', long = "opt", value_name = "PLUG-IN.KEY=VALUE")]
    pub opt: Vec<String>,
    /// How long the cluster may take to become ready [default: 30s].
    #[arg(long, value_parser = parse_duration)]
    pub ready_timeout: Option<Duration>,
    /// Where the nodes run: local (processes in network namespaces) or cloud-hypervisor
    /// (VMs; needs `squall image build --system etcd` first) [default: local].
    #[arg(long, value_enum)]
    pub env: Option<crate::config::EnvKind>,
    /// The cloud-hypervisor binary [default: cloud-hypervisor on PATH].
    #[arg(long, value_name = "PATH")]
    pub cloud_hypervisor: Option<PathBuf>,
    /// Keep the nodes in the store at the end of the run, even a valid one (VM snapshots;
    /// local nodes' data directories as .tar.gz); an invalid run always keeps them.
    #[arg(long)]
    pub post_mortem: bool,
}

impl TestArgs {
    /// The effective configuration: the test file (if any), then these options, validated.
    pub fn config(&self) -> Result<TestConfig> {
        self.config_with_origins().map(|(c, _)| c)
    }

    /// [`TestArgs::config`], and where each value came from. A value that means nothing is
    /// an error naming its flag (`--op-timeout 0s: must be positive`) or, from the test
    /// file, the file and key (`t.toml: op_timeout = "0s": must be positive`).
    pub fn config_with_origins(&self) -> Result<(TestConfig, Origins)> {
        let mut origins = Origins::default();
        let mut c = match &self.test {
            Some(p) => {
                let (c, keys) = TestConfig::from_file_with_keys(p)?;
                origins.file = Some(p.clone());
                origins.file_keys = keys.into_iter().collect();
                c
            }
            None => TestConfig::default(),
        };
        macro_rules! set {
            ($($field:ident),*) => { $(
                if let Some(v) = &self.$field {
                    c.$field = v.clone();
                    origins.flags.insert(stringify!($field));
                }
            )* };
        }
        set!(
            system,
            workload,
            nodes,
            concurrency,
            time_limit,
            read_mode,
            keys,
            rate,
            op_timeout,
            fault_duration,
            healthy_duration,
            quiet,
            store,
            ready_timeout,
            env
        );
        if let Some(p) = &self.cloud_hypervisor {
            c.cloud_hypervisor = Some(p.clone());
            origins.flags.insert("cloud_hypervisor");
        }
        if self.post_mortem {
            c.post_mortem = true;
            origins.flags.insert("post_mortem");
        }
        if let Some(n) = &self.name {
            c.name = Some(n.clone());
            origins.flags.insert("name");
        }
        apply_opts(&mut c, &self.opt)?;
        if let Some(n) = &self.nemesis {
            c.nemesis = parse_nemeses(n)
                .map_err(|problem| anyhow::anyhow!("--nemesis {}: {problem}", shell_word(n)))?;
            origins.flags.insert("nemesis");
        }
        if let Err(e) = c.validate() {
            anyhow::bail!("{}", origins.describe(&e));
        }
        // Workloads, systems and nemeses are plug-ins the configuration does not know; the
        // registry does (a user's crate may add its own).
        if let Some(e) = unknown_plug_in(&c) {
            anyhow::bail!("{}", origins.describe(&e));
        }
        // The plug-ins' own tables: each is made once here, so that a wrong option is an
        // error before anything runs.
        let checked = crate::registry::get().check(&c);
        if let Err(e) = checked {
            match (&origins.file, self.opt.is_empty()) {
                (Some(f), true) => anyhow::bail!("{}: {e:#}", f.display()),
                _ => anyhow::bail!("{e:#}"),
            }
        }
        Ok((c, origins))
    }
}

/// Applies `-o PLUG-IN.KEY=VALUE` options to `c`; a malformed one is an error naming it.
pub fn apply_opts(c: &mut TestConfig, opts: &[String]) -> Result<()> {
    for o in opts {
        let Some((path, value)) = o.split_once('=') else {
            anyhow::bail!(
                "-o {}: expected PLUG-IN.KEY=VALUE, e.g. etcd.binary=/usr/bin/etcd",
                shell_word(o)
            );
        };
        c.set_option(path, value)
            .map_err(|problem| anyhow::anyhow!("-o {}: {problem}", shell_word(o)))?;
    }
    Ok(())
}

/// The first workload, system or nemesis `c` names that the registry does not have.
fn unknown_plug_in(c: &TestConfig) -> Option<crate::config::InvalidValue> {
    use crate::config::InvalidValue;
    let r = crate::registry::get();
    if !r.has_workload(&c.workload) {
        let problem = format!("unknown workload (known: {})", r.workload_names());
        let toml = format!("{:?}", c.workload);
        return Some(InvalidValue::new(
            "workload",
            toml,
            Some(c.workload.clone()),
            problem,
        ));
    }
    if !r.has_system(&c.system) {
        let problem = format!("unknown system (known: {})", r.system_names());
        let toml = format!("{:?}", c.system);
        return Some(InvalidValue::new(
            "system",
            toml,
            Some(c.system.clone()),
            problem,
        ));
    }
    let unknown = c.nemesis.iter().find(|n| r.nemesis_named(n).is_none())?;
    let problem = format!("unknown nemesis {unknown:?} (known: {})", r.nemesis_names());
    Some(InvalidValue::new(
        "nemesis",
        format!("{:?}", c.nemesis),
        Some(c.nemesis.join(",")),
        problem,
    ))
}

/// Where the values of a configuration came from: a flag, the test file, or the default.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    file: Option<PathBuf>,
    file_keys: BTreeSet<String>,
    flags: BTreeSet<&'static str>,
}

impl Origins {
    /// `e`, naming where its value came from: `--op-timeout 0s: must be positive`, or
    /// `t.toml: op_timeout = "0s": must be positive`.
    pub fn describe(&self, e: &InvalidValue) -> String {
        let flag = format!("--{}", e.key.replace('_', "-"));
        if self.flags.contains(e.key) {
            match &e.flag {
                Some(v) => format!("{flag} {}: {}", shell_word(v), e.problem),
                None => format!("{flag}: {}", e.problem),
            }
        } else if let Some(file) = self
            .file
            .as_ref()
            .filter(|_| self.file_keys.contains(e.key))
        {
            format!("{}: {e}", file.display())
        } else {
            format!("{e} (the default)")
        }
    }

    /// Which ready timeout applied and how to raise it, for a cluster that was not ready.
    pub fn ready_timeout_hint(&self, t: Duration) -> String {
        use crate::config::format_duration as d;
        let more = d((t * 2).max(Duration::from_secs(1)));
        if self.flags.contains("ready_timeout") {
            format!(
                "--ready-timeout {} applied; raise it, e.g. --ready-timeout {more}",
                d(t)
            )
        } else if let Some(file) = self
            .file
            .as_ref()
            .filter(|_| self.file_keys.contains("ready_timeout"))
        {
            format!(
                "ready_timeout = \"{}\" in {} applied; raise it there, or with --ready-timeout {more}",
                d(t),
                file.display()
            )
        } else {
            format!(
                "the default --ready-timeout {} applied; raise it, e.g. --ready-timeout {more}",
                d(t)
            )
        }
    }
}

/// `partition,pause` → the list; `none` → no nemesis. An empty list or name, or `none`
/// among faults, means nothing and is an error (what is wrong, for the caller to place).
pub fn parse_nemeses(s: &str) -> Result<Vec<String>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty (name the faults, e.g. partition,pause,kill, or say none)".into());
    }
    if s == "none" {
        return Ok(Vec::new());
    }
    let names: Vec<String> = s.split(',').map(|x| x.trim().to_string()).collect();
    if names.iter().any(String::is_empty) {
        return Err("an empty name in the list".into());
    }
    if names.iter().any(|n| n == "none") {
        return Err("none cannot be combined with faults".into());
    }
    Ok(names)
}

/// The command line that reruns `cfg` with `seed`: from the test file it came from, if any,
/// with the options that differ from that file's values (else from the defaults).
pub fn rerun_with(seed: u64, cfg: &TestConfig, test: Option<&std::path::Path>) -> String {
    let Some(t) = test else {
        return rerun_command(seed, cfg);
    };
    let base = TestConfig::from_file(t).unwrap_or_default();
    let flags = rerun_flags(cfg, &base);
    format!(
        "squall run --test {} --seed {seed}{flags}",
        shell_word(&t.display().to_string())
    )
}

/// The command line that reruns `cfg` with `seed` (options that differ from the defaults).
pub fn rerun_command(seed: u64, cfg: &TestConfig) -> String {
    format!(
        "squall run --seed {seed}{}",
        rerun_flags(cfg, &TestConfig::default())
    )
}

/// The flags that take `base` to `cfg`, derived from the two as TOML: a test key `k` is the
/// flag `--k` (`time_limit` → `--time-limit 60s`), a plug-in's option `-o NAME.KEY=VALUE`.
/// A value `cfg` lacks and `base` has (an unset name) cannot be given as a flag: it is left
/// out.
fn rerun_flags(cfg: &TestConfig, base: &TestConfig) -> String {
    let (now, was) = (cfg.to_table(), base.to_table());
    let mut s = String::new();
    for (key, v) in &now {
        if was.get(key) == Some(v) {
            continue;
        }
        let flag = format!("--{}", key.replace('_', "-"));
        match v {
            toml::Value::Table(t) => {
                let empty = toml::Table::new();
                let old = match was.get(key) {
                    Some(toml::Value::Table(o)) => o,
                    _ => &empty,
                };
                plugin_flags(&mut s, key, t, old);
            }
            toml::Value::Boolean(true) => s.push_str(&format!(" {flag}")),
            toml::Value::Boolean(false) => {}
            toml::Value::String(text) => s.push_str(&format!(" {flag} {}", shell_word(text))),
            toml::Value::Array(a) if key == "nemesis" => {
                let names: Vec<&str> = a.iter().filter_map(toml::Value::as_str).collect();
                let list = if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(",")
                };
                s.push_str(&format!(" {flag} {}", shell_word(&list)));
            }
            other => s.push_str(&format!(" {flag} {}", shell_word(&other.to_string()))),
        }
    }
    s
}

/// `-o path.key=value` for each option of a plug-in's table `now` that differs from `was`.
fn plugin_flags(s: &mut String, path: &str, now: &toml::Table, was: &toml::Table) {
    for (key, v) in now {
        if was.get(key) == Some(v) {
            continue;
        }
        let here = format!("{path}.{key}");
        match v {
            toml::Value::Table(t) => {
                let empty = toml::Table::new();
                let old = match was.get(key) {
                    Some(toml::Value::Table(o)) => o,
                    _ => &empty,
                };
                plugin_flags(s, &here, t, old);
            }
            toml::Value::String(text) => {
                // A string that reads as another TOML value (`3`, `true`) keeps its quotes.
                let reads_as_toml = toml::from_str::<toml::Table>(&format!("v = {text}")).is_ok();
                let text = if reads_as_toml {
                    v.to_string()
                } else {
                    text.clone()
                };
                s.push_str(&format!(" -o {}", shell_word(&format!("{here}={text}"))));
            }
            other => s.push_str(&format!(" -o {}", shell_word(&format!("{here}={other}")))),
        }
    }
}

/// `s` as one shell word (quoted where it needs to be).
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,/:=+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Options of `squall check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The workload the histories come from, which picks the checkers: cas-register and
    /// register (linearizability over that model), set (set + stats: `add`s and `read`s of
    /// the whole set), bank (bank + stats: `transfer`s and `read`s of every balance).
    #[arg(long, value_enum, default_value_t = CheckWorkload::CasRegister, value_name = "W")]
    pub workload: CheckWorkload,
    /// Run exactly these checkers instead of the workload's, comma-separated: linearizable,
    /// set, bank, stats.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME[,NAME]")]
    pub checker: Vec<CheckerKind>,
    /// The linearizable checker's model: register, cas-register, kv (`[key value]` values;
    /// read, write, cas and append per key), multi-register (`txn`s of `[read k v]` /
    /// `[write k v]`), mutex (acquire, release) [default: the workload's, cas-register].
    #[arg(long, value_parser = parse_model)]
    pub model: Option<ModelKind>,
    /// bank: the total every read must sum to [default: inferred, the most common sum].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub total: Option<i64>,
    /// bank: negative balances are no anomaly.
    #[arg(long)]
    pub negative_allowed: bool,
    /// set: tolerate stale reads (an acknowledged element missing from a read, present in a
    /// later one); only elements lost for good are invalid.
    #[arg(long)]
    pub allow_stale: bool,
    /// Values are Jepsen `[key value]` pairs, checked per key: auto (guess from the
    /// history), yes, no. (kv is always per key; multi-register and mutex never are.)
    #[arg(long, default_value = "auto")]
    pub independent: String,
    /// The linearizable checker's initial value, as JSON or EDN (e.g. 0, nil, :x) [default:
    /// nil; 0 for multi-register].
    #[arg(long, value_name = "V")]
    pub initial: Option<String>,
    /// Input format: auto, jsonl, edn, jepsen-log (the `jepsen.util` op lines of a Jepsen
    /// console log).
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Give up (verdict unknown) after this long, per file, e.g. 10s; 0 for no limit
    /// [default: 5m].
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub time_limit: Option<Duration>,
    /// Give up (verdict unknown) before the search's memory exceeds this, per file, e.g.
    /// 512MiB, 2GiB; no more than an eighth of it is read from any input (a longer one would
    /// take more than this to hold; its verdict is unknown) [default: 1GiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// One JSON object per file on stdout, each checker's verdict in its `results`.
    #[arg(long)]
    pub json: bool,
    /// Write the linearizable checker's HTML report per file into DIR, as
    /// DIR/<file stem>.html.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Check a history whose `time` decreases along it (real time is the history's order,
    /// not its times; such a file was likely reordered): a warning instead of an input error.
    #[arg(long)]
    pub allow_time_disorder: bool,
    /// History files; `-` reads stdin. Pipes and devices are read too, within the memory
    /// limit.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// What `squall check --workload` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckWorkload {
    /// Linearizability as a cas-register.
    CasRegister,
    /// Linearizability as a register.
    Register,
    /// A grow-only set: set + stats.
    Set,
    /// Transfers between accounts: bank + stats.
    Bank,
}

/// A checker `squall check --checker` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum CheckerKind {
    /// Linearizability over `--model`.
    Linearizable,
    /// Jepsen's set-full: acknowledged adds are read, nothing unexpected.
    Set,
    /// Every read sums to the total, no negative balance.
    Bank,
    /// Per-function counts; unknown if some function never succeeded.
    Stats,
}

/// A model name, for clap.
fn parse_model(s: &str) -> Result<ModelKind, String> {
    s.parse()
}

/// A size in bytes: `1073741824`, `512MiB`, `2GiB`, `100MB`, `1.5G` (K, M, G, T: powers of
/// 1024 with or without `i`; `KB`, `MB`, `GB`, `TB`: powers of 1000).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("invalid size {s:?} (expected e.g. 512MiB, 2GiB)");
    let n: f64 = num.parse().map_err(|_| bad())?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024f64.powi(2),
        "g" | "gib" => 1024f64.powi(3),
        "t" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return Err(bad()),
    };
    let bytes = n * scale;
    if !bytes.is_finite() || !(1.0..=u64::MAX as f64).contains(&bytes) {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// Options of `squall bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// How long to drive the no-op system.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Workers.
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
    /// Partitions to apply for the fault-delay measurement (needs root; 0 skips it).
    #[arg(long, default_value_t = 20)]
    pub partitions: usize,
    /// Instead: one run of this length (e.g. 1h) against the no-op system, printing the
    /// process's memory as it goes.
    #[arg(long, value_parser = parse_duration)]
    pub soak: Option<Duration>,
    /// Ops per second for --soak [default: 2000].
    #[arg(long)]
    pub rate: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plug_ins_the_registry_does_not_have_are_named() {
        let cases = [
            (
                TestConfig {
                    nemesis: vec!["partition".into(), "flood".into()],
                    ..TestConfig::default()
                },
                "unknown nemesis \"flood\" (known: kill, partition, pause)",
            ),
            (
                TestConfig {
                    workload: "queue".into(),
                    ..TestConfig::default()
                },
                "unknown workload (known: bank, cas-register, set)",
            ),
            (
                TestConfig {
                    system: "zookeeper".into(),
                    ..TestConfig::default()
                },
                "unknown system (known: command, etcd)",
            ),
        ];
        for (c, want) in cases {
            let e = unknown_plug_in(&c).expect("refused");
            assert!(e.problem.starts_with(want), "{}", e.problem);
        }
        assert!(unknown_plug_in(&TestConfig::default()).is_none());
    }

    #[test]
    fn rerun_line_names_only_what_differs() {
        let mut c = TestConfig::default();
        assert_eq!(rerun_command(4, &c), "squall run --seed 4");
        c.read_mode = crate::config::ReadMode::Serializable;
        c.nemesis = vec!["partition".into()];
        c.time_limit = Duration::from_secs(60);
        assert_eq!(
            rerun_command(4, &c),
            "squall run --seed 4 --nemesis partition --read-mode serializable --time-limit 60s"
        );
    }

    #[test]
    fn plug_in_options_come_from_o_flags_and_rerun_as_them() {
        let parse = |words: &[&str]| {
            let mut all = vec!["squall", "run"];
            all.extend_from_slice(words);
            match Cli::try_parse_from(all).unwrap().cmd {
                Command::Run(args) => args.config(),
                _ => panic!(),
            }
        };
        let c = parse(&[
            "--workload",
            "bank",
            "-o",
            "bank.initial_balance=100",
            "-o",
            "partition.shapes=[\"isolate\"]",
            "-o",
            "etcd.binary=/opt/etcd v3/etcd",
        ])
        .unwrap();
        assert_eq!(
            c.plugin("bank").unwrap()["initial_balance"].as_integer(),
            Some(100)
        );
        assert_eq!(
            c.plugin("etcd").unwrap()["binary"].as_str(),
            Some("/opt/etcd v3/etcd")
        );
        let line = rerun_command(5, &c);
        assert_eq!(
            line,
            "squall run --seed 5 -o bank.initial_balance=100 -o 'etcd.binary=/opt/etcd v3/etcd' \
             -o 'partition.shapes=[\"isolate\"]' --workload bank"
        );
        let words = shell_split(&line);
        let Command::Run(args) = Cli::try_parse_from(words).unwrap().cmd else {
            panic!()
        };
        assert_eq!(args.config().unwrap(), c);
        // What is wrong is named: the table and the key, or the flag.
        let e = parse(&["--workload", "bank", "-o", "bank.initial_balanse=1"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("[bank]: unknown field `initial_balanse`"),
            "{e}"
        );
        let e = parse(&["-o", "partition.shapes=[\"square\"]"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("[partition]: unknown variant `square`"),
            "{e}"
        );
        let e = parse(&["--workload", "set", "-o", "set.x=1"]).unwrap_err();
        assert!(e.to_string().starts_with("[set]: unknown field `x`"), "{e}");
        let e = parse(&["-o", "flood.x=1"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("[flood]: no workload, system or nemesis is called \"flood\""),
            "{e}"
        );
        let e = parse(&["-o", "bank"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("-o bank: expected PLUG-IN.KEY=VALUE"),
            "{e}"
        );
        // A string that reads as a number keeps its quotes on the rerun line.
        let c = parse(&["-o", "command.vars.x=\"3\""]).unwrap();
        assert!(rerun_command(1, &c).ends_with(r#"-o 'command.vars.x="3"'"#));
    }

    #[test]
    fn rerun_line_parses_back_to_the_same_config() {
        let c = TestConfig {
            nemesis: vec![],
            rate: 12.5,
            fault_duration: (Duration::from_millis(1500), Duration::from_secs(4)),
            store: "my store".into(),
            ..TestConfig::default()
        };
        let line = rerun_command(9, &c);
        let words = shell_split(&line);
        let cli = Cli::try_parse_from(words).unwrap();
        let Command::Run(args) = cli.cmd else {
            panic!()
        };
        assert_eq!(args.seed, Some(9));
        assert_eq!(args.config().unwrap(), c);
    }

    #[test]
    fn a_run_from_a_test_file_reruns_from_it() {
        let c = TestConfig {
            system: "command".into(),
            ..TestConfig::default()
        };
        let line = rerun_with(3, &c, Some(std::path::Path::new("my tests/t.toml")));
        assert_eq!(
            line,
            "squall run --test 'my tests/t.toml' --seed 3 --system command"
        );
        assert_eq!(
            rerun_with(3, &TestConfig::default(), None),
            "squall run --seed 3"
        );
    }

    #[test]
    fn the_ready_timeout_hint_names_where_the_timeout_came_from() {
        let t = Duration::from_secs(5);
        let flag = Origins {
            flags: ["ready_timeout"].into_iter().collect(),
            ..Origins::default()
        };
        assert_eq!(
            flag.ready_timeout_hint(t),
            "--ready-timeout 5s applied; raise it, e.g. --ready-timeout 10s"
        );
        let file = Origins {
            file: Some("t.toml".into()),
            file_keys: ["ready_timeout".to_string()].into_iter().collect(),
            ..Origins::default()
        };
        assert_eq!(
            file.ready_timeout_hint(t),
            "ready_timeout = \"5s\" in t.toml applied; raise it there, or with --ready-timeout 10s"
        );
        assert_eq!(
            Origins::default().ready_timeout_hint(t),
            "the default --ready-timeout 5s applied; raise it, e.g. --ready-timeout 10s"
        );
    }

    #[test]
    fn sizes() {
        let cases = [
            ("1024", Some(1024)),
            ("512MiB", Some(512 << 20)),
            ("2GiB", Some(2 << 30)),
            ("2g", Some(2 << 30)),
            ("1.5K", Some(1536)),
            ("100MB", Some(100_000_000)),
            ("0", None),
            ("-1", None),
            ("lots", None),
            ("5 parsecs", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_size(s).ok(), want, "{s}");
        }
    }

    #[test]
    fn check_args_parse() {
        let cli = Cli::try_parse_from([
            "squall",
            "check",
            "--model",
            "mutex",
            "--memory-limit",
            "64MiB",
            "--report",
            "r",
            "--json",
            "h.edn",
        ])
        .unwrap();
        let Command::Check(args) = cli.cmd else {
            panic!()
        };
        assert_eq!(args.model, Some(ModelKind::Mutex));
        assert_eq!(args.workload, CheckWorkload::CasRegister);
        assert!(args.checker.is_empty());
        assert_eq!(args.memory_limit, Some(64 << 20));
        assert_eq!(args.report, Some(PathBuf::from("r")));
        assert!(args.json);
        let cli = Cli::try_parse_from([
            "squall",
            "check",
            "--workload",
            "bank",
            "--checker",
            "bank,stats",
            "--total",
            "-5",
            "h.edn",
        ])
        .unwrap();
        let Command::Check(args) = cli.cmd else {
            panic!()
        };
        assert_eq!(args.workload, CheckWorkload::Bank);
        assert_eq!(args.checker, [CheckerKind::Bank, CheckerKind::Stats]);
        assert_eq!(args.total, Some(-5));
        let e = Cli::try_parse_from(["squall", "check", "--checker", "queue", "h"]).unwrap_err();
        assert!(e.to_string().contains("queue"), "{e}");
        let e = Cli::try_parse_from(["squall", "check", "--model", "queue", "h"]).unwrap_err();
        assert!(e.to_string().contains("unknown model \"queue\""), "{e}");
    }

    fn shell_split(s: &str) -> Vec<String> {
        // Enough for the quoting `shell_word` produces.
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        for ch in s.chars() {
            match ch {
                '\'' => quoted = !quoted,
                ' ' if !quoted => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                c => cur.push(c),
            }
        }
        out.push(cur);
        out
    }
}
