//! `squall run --plan FILE|RUN_DIR`: runs a plan file's op and fault lines as written, with
//! its header's test (nodes, workload, timing), whether or not its seed gives them — a
//! shrunk plan (`squall shrink`) does not, and an edited one need not. The file is checked
//! whole first ([`crate::plan::read`]): a line that is not an op or a fault of this test is
//! one error naming `FILE:LINE`, before anything is made. The run stores the plan it ran:
//! its `plan.jsonl` is the input file (header and lines), as far as the run got.
//!
//! What the plan fixes cannot be given with it (`--seed`, `--nemesis`, `--time-limit`,
//! ...): the header says. Where it runs can: `--store`, `--env`, `--cloud-hypervisor`,
//! `--post-mortem` and plug-in options (`-o etcd.binary=PATH`), as for `squall replay`.

use crate::cmd::test_args::TestArgs;
use crate::interrupt::Stop;
use crate::origins::Origins;
use crate::rerun::shell_word;
use crate::runner::Say;
use anyhow::{bail, Result};
use std::path::Path;

/// The options of `squall run` that say what the test is: the plan's header does.
fn test_options_given(a: &TestArgs) -> Vec<&'static str> {
    let given = [
        ("--seed", a.seed.is_some()),
        ("--test", a.test.is_some()),
        ("--name", a.name.is_some()),
        ("--system", a.system.is_some()),
        ("--workload", a.workload.is_some()),
        ("--nodes", a.nodes.is_some()),
        ("--concurrency", a.concurrency.is_some()),
        ("--time-limit", a.time_limit.is_some()),
        ("--nemesis", a.nemesis.is_some()),
        ("--read-mode", a.read_mode.is_some()),
        ("--keys", a.keys.is_some()),
        ("--rate", a.rate.is_some()),
        ("--op-timeout", a.op_timeout.is_some()),
        ("--fault-duration", a.fault_duration.is_some()),
        ("--healthy-duration", a.healthy_duration.is_some()),
        ("--quiet", a.quiet.is_some()),
        ("--ready-timeout", a.ready_timeout.is_some()),
    ];
    given
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
}

/// Runs `squall run --plan FILE`; the caller has installed the signal handling. Returns
/// the exit code.
pub fn run_plan(args: &TestArgs, file: &Path, stop: &Stop, say: &Say) -> Result<i32> {
    let given = test_options_given(args);
    if !given.is_empty() {
        bail!(
            "--plan {}: {} cannot be given with a plan (its header sets the test; --store, \
             --env, --cloud-hypervisor, --post-mortem and -o can)",
            shell_word(&file.display().to_string()),
            given.join(", ")
        );
    }
    let path = crate::plan::read::plan_file(file);
    let header = crate::plan::read::read_header(&path)?;
    let mut cfg = header.cfg.clone();
    if let Some(s) = &args.store {
        cfg.store = s.clone();
    }
    if let Some(e) = args.env {
        cfg.env = e;
    }
    if let Some(c) = &args.cloud_hypervisor {
        cfg.cloud_hypervisor = Some(c.clone());
    }
    cfg.post_mortem |= args.post_mortem;
    crate::cmd::test_args::apply_opts(&mut cfg, &args.opt)?;
    crate::registry::get()
        .check(&cfg)
        .map_err(|e| anyhow::anyhow!("{}:1: {e:#}", path.display()))?;
    let plan = crate::plan::from_file(&path, &header, &cfg)?;
    crate::interrupt::print_line(&format!(
        "plan {} (seed {}, as written: {} test ops, {} faults)",
        path.display(),
        header.seed,
        plan.expected_test_ops(),
        plan.faults().count()
    ));
    let rerun = rerun_line(&path, args);
    crate::run::run_plan(&cfg, &plan, &Origins::default(), None, &rerun, stop, say)
}

/// `squall run --plan FILE` with the where-it-runs options given.
fn rerun_line(path: &Path, args: &TestArgs) -> String {
    let mut line = format!(
        "squall run --plan {}",
        shell_word(&path.display().to_string())
    );
    if let Some(s) = &args.store {
        line.push_str(&format!(
            " --store {}",
            shell_word(&s.display().to_string())
        ));
    }
    for o in &args.opt {
        line.push_str(&format!(" -o {}", shell_word(o)));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(words: &[&str]) -> TestArgs {
        let mut all = vec!["squall", "run"];
        all.extend_from_slice(words);
        match crate::cli::Cli::try_parse_from(all).unwrap().cmd {
            crate::cli::Command::Run(a) => a,
            _ => panic!("not run"),
        }
    }

    #[test]
    fn only_where_it_runs_may_be_given_with_a_plan() {
        let a = args(&["--plan", "p.jsonl", "--store", "s", "-o", "etcd.binary=/e"]);
        assert!(test_options_given(&a).is_empty());
        assert_eq!(
            rerun_line(Path::new("my runs/p.jsonl"), &a),
            "squall run --plan 'my runs/p.jsonl' --store s -o etcd.binary=/e"
        );
        let a = args(&["--plan", "p", "--seed", "3", "--time-limit", "5s"]);
        assert_eq!(test_options_given(&a), ["--seed", "--time-limit"]);
        let stop = Stop::new();
        let say: Say = std::sync::Arc::new(|_| {});
        let e = run_plan(&a, Path::new("p"), &stop, &say).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--plan p: --seed, --time-limit cannot be given with a plan"),
            "{e}"
        );
    }
}
