//! The test's options ([`TestArgs`]: `run`, `plan`, `soak`, `run --plan`): the command line
//! over a test file, validated, with where each value came from ([`Origins`]) for error
//! messages.

use crate::config::{parse_duration, parse_duration_range, TestConfig};
use crate::origins::Origins;
use crate::rerun::shell_word;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

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
    /// The system under test: etcd, aspen (its binaries: -o aspen.bin=DIR), or command
    /// (defined by a test file's [command] table) [default: etcd].
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
    /// Faults, comma-separated: partition, pause, kill, isolate, bandwidth, packet, clock; or `none` [default: partition,pause,kill].
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
    /// The directory of Aspen's aspen-node and aspen-cli (`--system aspen`): short for
    /// `-o aspen.bin=DIR` [default: SQUALL_ASPEN_BIN, else PATH].
    #[arg(long, value_name = "DIR")]
    pub aspen_bin: Option<PathBuf>,
    /// How long the cluster may take to become ready [default: 30s].
    #[arg(long, value_parser = parse_duration)]
    pub ready_timeout: Option<Duration>,
    /// Where the nodes run: local (processes in network namespaces), cloud-hypervisor or
    /// qemu (VMs; the guest image is built on first use) [default: local].
    #[arg(long, value_enum)]
    pub env: Option<crate::config::EnvKind>,
    /// The cloud-hypervisor binary [default: cloud-hypervisor on PATH].
    #[arg(long, value_name = "PATH")]
    pub cloud_hypervisor: Option<PathBuf>,
    /// Keep the nodes in the store at the end of the run, even a valid one (VM snapshots;
    /// local nodes' data directories as .tar.gz); an invalid run always keeps them.
    #[arg(long)]
    pub post_mortem: bool,
    /// Faults of different nemeses overlap, each nemesis on its own schedule (the test
    /// file's `overlap = true`).
    #[arg(long)]
    pub overlap: bool,
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
        if self.overlap {
            c.overlap = true;
            origins.flags.insert("overlap");
        }
        if let Some(n) = &self.name {
            c.name = Some(n.clone());
            origins.flags.insert("name");
        }
        apply_opts(&mut c, &self.opt)?;
        apply_aspen_bin(&mut c, self.aspen_bin.as_deref())?;
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

/// The plug-in options of a command that makes a system without running a test — `squall
/// doctor`, `squall image build` — so that it checks, or packs, the binaries a run with the
/// same options would use.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PluginArgs {
    /// A plug-in's own option, as for `squall run` (repeatable): `-o etcd.binary=PATH`,
    /// `-o aspen.bin=DIR`.
    #[arg(short = 'o', long = "opt", value_name = "PLUG-IN.KEY=VALUE")]
    pub opt: Vec<String>,
    /// The directory of Aspen's aspen-node and aspen-cli: short for `-o aspen.bin=DIR`.
    #[arg(long, value_name = "DIR")]
    pub aspen_bin: Option<PathBuf>,
}

impl PluginArgs {
    /// The configuration of a test of `system` with these options and every other default.
    pub fn config(&self, system: &str) -> Result<TestConfig> {
        let mut c = TestConfig {
            system: system.to_string(),
            ..TestConfig::default()
        };
        apply_opts(&mut c, &self.opt)?;
        apply_aspen_bin(&mut c, self.aspen_bin.as_deref())?;
        Ok(c)
    }
}

/// `--aspen-bin DIR`: `-o aspen.bin=DIR`, whatever the path looks like.
fn apply_aspen_bin(c: &mut TestConfig, dir: Option<&std::path::Path>) -> Result<()> {
    if let Some(dir) = dir {
        // Quoted, so that the path is read as the string it is whatever it looks like.
        let quoted = serde_json::to_string(&dir.display().to_string())?;
        c.set_option("aspen.bin", &quoted)
            .map_err(|problem| anyhow::anyhow!("--aspen-bin {}: {problem}", dir.display()))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::rerun::{rerun_command, shell_split};
    use clap::Parser;

    #[test]
    fn plug_ins_the_registry_does_not_have_are_named() {
        let cases = [
            (
                TestConfig {
                    nemesis: vec!["partition".into(), "flood".into()],
                    ..TestConfig::default()
                },
                "unknown nemesis \"flood\" (known: bandwidth, clock, isolate, kill, packet, partition, pause)",
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
                "unknown system (known: aspen, command, etcd)",
            ),
        ];
        for (c, want) in cases {
            let e = unknown_plug_in(&c).expect("refused");
            assert!(e.problem.starts_with(want), "{}", e.problem);
        }
        assert!(unknown_plug_in(&TestConfig::default()).is_none());
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
        // --aspen-bin DIR is -o aspen.bin=DIR, whatever the path looks like.
        let a = parse(&["--aspen-bin", "/opt/aspen 1/42", "-o", "aspen.bin=/x"]).unwrap();
        assert_eq!(
            a.plugin("aspen").unwrap()["bin"].as_str(),
            Some("/opt/aspen 1/42")
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
}
