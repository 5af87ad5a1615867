//! `squall replay RUN_DIR|PLAN_FILE [--times K]`: runs a stored plan again.
//!
//! A plan file's header holds the seed and the test configuration it was drawn from; the
//! plan is a pure function of the two, so replaying draws it again and first checks, line
//! by line, that what it draws is what the file holds (a plan file that differs — edited,
//! or from another version of squall — is refused, naming the first line that differs). A
//! file that ends early (its run was interrupted, or cut) is a prefix of the plan: the
//! whole plan is replayed, and the replay says so. Where the plan runs (the store, the
//! environment, the binaries) is not part of it: `--store`, `--env` and `-o`
//! (`-o etcd.binary=PATH`) choose.
//!
//! A shrunk plan (`squall shrink`; its header carries `"shrunk"`) is not what its seed gives:
//! it is replayed as written, as `squall run --plan` runs it ([`crate::plan::read`]).
//!
//! `--times K` runs it K times and reports how many runs were not valid: a real cluster is
//! not deterministic (timing decides which ops meet which faults), so a failure found once
//! may take several runs to show again. Exit code: the worst verdict (invalid > unknown >
//! valid), or 3 for bad input or an interrupted replay.

use crate::config::TestConfig;
use crate::exit;
use crate::interrupt::{self, Stop};
use crate::runner::Say;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The plan file of `path`: `path/plan.jsonl` for a folder, else `path`.
fn plan_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("plan.jsonl")
    } else {
        path.to_path_buf()
    }
}

/// The seed and configuration a plan file was drawn from, checked against what they draw.
/// Returns them and whether the file holds the whole plan.
pub fn read_plan(path: &Path) -> Result<(u64, TestConfig, bool)> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("open {name}"))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let header = match lines.next() {
        Some(line) => line.with_context(|| format!("read {name}"))?,
        None => bail!("{name}: empty, not a plan file"),
    };
    let h: serde_json::Value = serde_json::from_str(&header)
        .map_err(|e| anyhow::anyhow!("{name} line 1: not a plan header: {e}"))?;
    if h["squall_plan"] != 1 {
        bail!("{name} line 1: not a squall plan header (no \"squall_plan\": 1)");
    }
    let seed = h["seed"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("{name} line 1: no seed"))?;
    let cfg = TestConfig::from_json(&h["config"])
        .map_err(|e| anyhow::anyhow!("{name} line 1: its config: {e}"))?;
    if let Err(e) = cfg.validate() {
        bail!("{name} line 1: its config: {e}");
    }
    let plan = crate::plan::build(seed, &cfg)?;
    let want = plan.header(&cfg)?;
    if want != header {
        bail!("{name} line 1: the header differs from what its own seed and config give");
    }
    let mut drawn = plan.lines();
    let mut n = 1;
    for line in lines {
        n += 1;
        let line = line.with_context(|| format!("read {name}"))?;
        let Some(expected) = drawn.next() else {
            bail!("{name} line {n}: a line after the end of the plan");
        };
        if expected.to_json()? != line {
            bail!(
                "{name} line {n}: differs from the plan seed {seed} and its config give \
                 (edited, or written by another version of squall; `squall run --plan {name}` \
                 runs a plan as written)"
            );
        }
    }
    Ok((seed, cfg, drawn.next().is_none()))
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

/// Runs `squall replay`; returns the exit code.
pub fn replay(args: &ReplayArgs) -> Result<i32> {
    let stop = Stop::new();
    let say: Say = Arc::new(|msg: String| {
        tracing::info!("{msg}");
        interrupt::print_line(&msg);
    });
    let _signals = interrupt::install(stop.clone(), say.clone()).context("handle signals")?;
    let path = plan_file(&args.plan);
    // A shrunk plan says so in its header: it is not what its seed gives, so it runs as
    // written (as `squall run --plan` runs it), not drawn again.
    let header = crate::plan::read::read_header(&path)?;
    let edited = header.is_edited();
    let (seed, mut cfg, complete) = if edited {
        (header.seed, header.cfg.clone(), true)
    } else {
        read_plan(&path)?
    };
    if let Some(s) = &args.store {
        cfg.store = s.clone();
    }
    if let Some(e) = args.env {
        cfg.env = e;
    }
    crate::cmd::test_args::apply_opts(&mut cfg, &args.opt)?;
    if args.times == 0 {
        bail!("--times 0: must be at least 1");
    }
    let (plan, rerun) = if edited {
        let line = format!(
            "squall run --plan {}",
            crate::rerun::shell_word(&path.display().to_string())
        );
        (crate::plan::from_file(&path, &header, &cfg)?, line)
    } else {
        let rerun = crate::rerun::rerun_with(seed, &cfg, None);
        (crate::plan::build(seed, &cfg)?, rerun)
    };
    say(format!(
        "replaying {} (seed {seed}{})",
        path.display(),
        if edited {
            "; a shrunk plan, not what its seed gives: its lines run as written"
        } else if complete {
            ""
        } else {
            "; the file is a prefix of its plan: the whole plan is replayed"
        }
    ));
    let origins = crate::origins::Origins::default();
    let mut worst = exit::VALID;
    let mut failed = 0;
    for i in 1..=args.times {
        if args.times > 1 {
            say(format!("replay {i} of {}", args.times));
        }
        crate::interrupt::print_line(&format!("seed {seed}"));
        let code = crate::run::run_plan(&cfg, &plan, &origins, None, &rerun, &stop, &say)?;
        if code != exit::VALID {
            failed += 1;
        }
        worst = worse(worst, code);
        if stop.is_set() {
            break;
        }
    }
    if args.times > 1 {
        say(format!(
            "replay: {failed} of {} runs not valid (a real cluster is not deterministic: the \
             same plan meets the faults at other instants each time)",
            args.times
        ));
    }
    Ok(worst)
}

/// The worse of two exit codes: error > invalid > unknown > valid.
fn worse(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        exit::VALID => 0,
        exit::UNKNOWN => 1,
        exit::INVALID => 2,
        _ => 3,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_plan(dir: &Path, cfg: &TestConfig, seed: u64) -> PathBuf {
        let path = dir.join("plan.jsonl");
        let mut out = Vec::new();
        crate::plan::build(seed, cfg)
            .unwrap()
            .write_jsonl(cfg, &mut out)
            .unwrap();
        std::fs::write(&path, out).unwrap();
        path
    }

    #[test]
    fn a_stored_plan_reads_back_to_its_seed_and_config_and_an_edited_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("sqreplay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = TestConfig {
            nodes: 5,
            nemesis: vec!["partition".into()],
            time_limit: std::time::Duration::from_secs(20),
            ..TestConfig::default()
        };
        let path = write_plan(&dir, &cfg, 42);
        let (seed, back, complete) = read_plan(&plan_file(&dir)).unwrap();
        assert_eq!((seed, complete), (42, true));
        assert_eq!(back.nodes, 5);
        assert_eq!(back.nemesis, cfg.nemesis);
        // A prefix (an interrupted run's file) is the plan, incomplete.
        let text = std::fs::read_to_string(&path).unwrap();
        let prefix: String = text.lines().take(20).map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, &prefix).unwrap();
        assert!(!read_plan(&path).unwrap().2);
        // An edited line is refused, naming it.
        let edited = prefix.replacen("\"write\"", "\"read\"", 2);
        std::fs::write(&path, edited).unwrap();
        let e = read_plan(&path).unwrap_err().to_string();
        assert!(e.contains("line 2: differs"), "{e}");
        std::fs::write(&path, "{\"x\":1}\n").unwrap();
        let e = read_plan(&path).unwrap_err().to_string();
        assert!(e.contains("line 1: not a squall plan header"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_worst_exit_code_wins() {
        assert_eq!(worse(exit::VALID, exit::UNKNOWN), exit::UNKNOWN);
        assert_eq!(worse(exit::INVALID, exit::UNKNOWN), exit::INVALID);
        assert_eq!(worse(exit::INVALID, exit::ERROR), exit::ERROR);
        assert_eq!(worse(exit::VALID, exit::VALID), exit::VALID);
    }
}
