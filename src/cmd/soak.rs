//! `squall soak [TEST OPTIONS] --seeds 1..200 | --count N [--seed BASE] | --for 8h`: the
//! seeds of one test run as `squall run`s, N at once, into a soak folder; and `squall soak
//! merge DIR...`, soak folders joined into one summary. See [`crate::soak`].

use crate::cmd::test_args::TestArgs;
use crate::interrupt::{self, Stop};
use crate::soak::parallel::host_default;
use crate::soak::pool::{self, Running};
use crate::soak::progress::{human, say, Progress};
use crate::soak::{merge, SeedRecord, Seeds, Shard, SoakDir, Summary};
use anyhow::{bail, Context, Result};
use checkers::Validity;
use clap::{Args, CommandFactory, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `squall soak`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SoakArgs {
    /// `merge DIR...`: join soak folders into one summary.
    #[command(subcommand)]
    pub cmd: Option<SoakCommand>,
    /// The test every seed runs (`--seed` is the first seed of `--count` and `--for`;
    /// `--store` holds the soak's folder).
    #[command(flatten)]
    pub test: TestArgs,
    /// The seeds: ranges (both ends included) and single seeds, e.g. 1..200 or 1..50,77.
    #[arg(long, value_name = "LIST", value_parser = Seeds::parse, conflicts_with = "count")]
    pub seeds: Option<Seeds>,
    /// This many seeds, from --seed (default 1).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Start no seed after this long, e.g. 8h; alone, seeds from --seed (default 1) on.
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::config::parse_duration)]
    pub for_: Option<Duration>,
    /// Runs at once [default: what the host holds: min(cores × 48, available memory ÷
    /// 128 MiB) ÷ nodes].
    #[arg(long, value_name = "N")]
    pub parallel: Option<u64>,
    /// Start no seed once this many have failed (invalid).
    #[arg(long, value_name = "K")]
    pub stop_after_failures: Option<u64>,
    /// The soak's folder; the same soak run again resumes there, skipping seeds stored
    /// with a verdict [default: <store>/soak-<test>-<hash of the test>[-shard<I>of<N>]].
    #[arg(long, value_name = "DIR")]
    pub soak_dir: Option<PathBuf>,
    /// Run shard I of N: every N-th seed from the I-th [default: from JOB_COMPLETION_INDEX
    /// and --shards, or CI_NODE_INDEX and CI_NODE_TOTAL; else the whole soak].
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// How many shards, for JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's completions).
    #[arg(long, value_name = "N")]
    pub shards: Option<u64>,
    /// Write the summary as JUnit XML here too: a testcase per seed.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// `squall soak ...` subcommands.
#[derive(Debug, Subcommand)]
pub enum SoakCommand {
    /// Join soak folders of one test (shards, resumed soaks) into one summary.
    Merge(MergeArgs),
}

/// Options of `squall soak merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The soak folders.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where the merged summary goes (soak.json, index.html).
    #[arg(long, value_name = "DIR", default_value = "soak-merged")]
    pub out: PathBuf,
    /// Write the summary as JUnit XML here too.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Runs `squall soak`; returns the exit code (the worst verdict).
pub fn soak(args: &SoakArgs) -> Result<i32> {
    if let Some(SoakCommand::Merge(m)) = &args.cmd {
        return merge_cmd(m);
    }
    if args.test.plan.is_some() {
        bail!("--plan is for squall run (a soak runs seeds; squall run --plan FILE runs a plan)");
    }
    // From the first instant, as `squall run`: INT, TERM and HUP stop the soak (passed on
    // to its runs), never end it before its runs are torn down.
    let stop = Stop::new();
    let notify: interrupt::Notify = Arc::new(|msg: String| say(&format!("soak: {msg}")));
    let _signals = interrupt::install(stop.clone(), notify).context("handle signals")?;

    let cfg = args.test.config()?;
    let base = args.test.seed.unwrap_or(1);
    let seeds = match (&args.seeds, args.count, args.for_) {
        (Some(s), _, _) => s.clone(),
        (None, Some(n), _) => {
            Seeds::count(base, n).map_err(|e| anyhow::anyhow!("--count {n}: {e}"))?
        }
        (None, None, Some(_)) => Seeds::From(base),
        (None, None, None) => {
            bail!("say which seeds: --seeds 1..200, --count N [--seed BASE], or --for 8h")
        }
    };
    let shard = Shard::resolve(args.shard, args.shards, &|k| std::env::var(k).ok())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let parallel = match args.parallel {
        Some(0) => bail!("--parallel 0: want at least 1"),
        Some(n) => n,
        None => host_default(cfg.nodes),
    };
    let dir = match &args.soak_dir {
        Some(d) => SoakDir::at(d),
        None => SoakDir::default_for(&cfg, shard),
    };
    dir.create_or_resume(&cfg)?;
    let exe = pool::current_exe()?;
    let test_args = pool::test_args(&soak_words(), &own_options());

    // The shard's seeds: positions of the sequence, and which of them are stored.
    let positions = || (0u64..).map_while(|p| seeds.get(p).map(|s| (p, s)));
    let owned = || positions().filter(|(p, _)| shard.owns(*p)).map(|(_, s)| s);
    let (stored, to_run): (u64, Option<u64>) = match seeds.len() {
        Some(_) => {
            let (mut stored, mut left) = (0, 0);
            for s in owned() {
                if SeedRecord::load(&dir, s).is_done() {
                    stored += 1;
                } else {
                    left += 1;
                }
            }
            (stored, Some(left))
        }
        None => (0, None),
    };
    let mut failing = count_failing(&dir, &seeds, shard);
    let start = Instant::now();
    let deadline = args.for_.map(|d| start + d);
    let shard_text = if shard.is_whole() {
        String::new()
    } else {
        format!(", shard {shard}")
    };
    say(&format!(
        "soak: {} seeds {seeds}{shard_text}{}, {parallel} at once, in {}",
        cfg.test_name(),
        match to_run {
            Some(n) => format!(" ({n} to run, {stored} stored)"),
            None => String::new(),
        },
        dir.path.display()
    ));
    let mut progress = Progress {
        to_run,
        started: start,
        deadline,
        finished: 0,
        stored,
        failing,
        parallel,
        run_time: Duration::ZERO,
    };

    let mut next = owned();
    let mut running: Vec<Running> = Vec::new();
    let mut forwarded = false;
    let mut exhausted = false;
    let mut why_stopped: Option<String> = None;
    let mut no_verdict_streak = 0u32;
    let mut any_verdict = false;
    loop {
        // The runs that ended: their records, read from disk.
        let mut finished = Vec::new();
        let mut i = 0;
        while i < running.len() {
            if !running[i].ended() {
                i += 1;
                continue;
            }
            let r = running.swap_remove(i);
            let rec = SeedRecord::load(&dir, r.seed);
            progress.finished += 1;
            progress.run_time += r.started.elapsed();
            match rec.verdict {
                Some(Validity::Invalid) => failing += 1,
                None => no_verdict_streak += 1,
                Some(_) => {}
            }
            progress.failing = failing;
            if rec.verdict.is_some() {
                any_verdict = true;
                no_verdict_streak = 0;
            }
            finished.push(match rec.verdict {
                Some(Validity::Valid) if !rec.interrupted => format!("seed {} valid", r.seed),
                Some(v) => format!("seed {} {} ({})", r.seed, v.as_str(), rec.explanation),
                None => format!("seed {} no verdict ({})", r.seed, rec.explanation),
            });
        }
        // Whether to start more.
        if why_stopped.is_none() {
            why_stopped = if let Some(r) = stop.reason() {
                Some(r)
            } else if args.stop_after_failures.is_some_and(|k| failing >= k) {
                Some(format!("{failing} seeds failed (--stop-after-failures)"))
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                Some("the --for time is up".into())
            } else if !any_verdict && no_verdict_streak >= 3 {
                Some("3 runs in a row gave no verdict: no run could start".into())
            } else {
                None
            };
            if let Some(why) = &why_stopped {
                say(&format!(
                    "soak: {why}: starting no more seeds; waiting for {} running",
                    running.len()
                ));
            }
        }
        if let (Some(why), false) = (stop.reason(), forwarded) {
            let sig = pool::signal_of(&why);
            for r in &running {
                r.signal(sig);
            }
            forwarded = true;
        }
        while why_stopped.is_none() && !exhausted && (running.len() as u64) < parallel {
            let Some(seed) = next.next() else {
                exhausted = true;
                break;
            };
            if SeedRecord::load(&dir, seed).is_done() {
                continue;
            }
            let store = dir.seed_store(seed);
            match Running::start(&exe, &test_args, seed, &store, &dir.seed_log(seed)) {
                Ok(r) => running.push(r),
                Err(e) => {
                    // The runs already going are waited for: stop them as a signal would.
                    say(&format!("soak: start the run of seed {seed}: {e}"));
                    stop.request("interrupted by SIGTERM");
                    why_stopped = Some(format!("the run of seed {seed} could not start"));
                }
            }
        }
        let now = Instant::now();
        for what in finished {
            say(&progress.line(&what, running.len(), now));
        }
        if running.is_empty() && (exhausted || why_stopped.is_some()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let records: Vec<SeedRecord> = match seeds.len() {
        Some(_) => owned()
            .filter(|s| dir.seed_store(*s).exists())
            .map(|s| SeedRecord::load(&dir, s))
            .collect(),
        None => dir
            .stored_seeds()?
            .into_iter()
            .filter(|s| s.checked_sub(base).is_some_and(|p| shard.owns(p)))
            .map(|s| SeedRecord::load(&dir, s))
            .collect(),
    };
    // Complete: every seed it was to run has a verdict; a --for soak's end is its time.
    let all_ran = exhausted || (seeds.len().is_none() && deadline.is_some());
    let interrupted = stop.is_set() || why_stopped.as_deref().is_some_and(|w| w.contains("failed"));
    let complete = all_ran && !interrupted && records.iter().all(SeedRecord::is_done);
    let summary = Summary::new(&cfg.test_name(), records, complete);
    crate::soak::write::write(&summary, &dir, args.junit.as_deref())?;
    print_summary(&summary, &dir, args.junit.as_deref(), start.elapsed());
    Ok(summary.exit_code())
}

fn merge_cmd(m: &MergeArgs) -> Result<i32> {
    let dirs: Vec<SoakDir> = m.dirs.iter().map(SoakDir::at).collect();
    let out = SoakDir::at(&m.out);
    let summary = merge::merge(&dirs, &out)?;
    crate::soak::write::write(&summary, &out, m.junit.as_deref())?;
    print_summary(&summary, &out, m.junit.as_deref(), Duration::ZERO);
    Ok(summary.exit_code())
}

fn print_summary(s: &Summary, dir: &SoakDir, junit: Option<&std::path::Path>, took: Duration) {
    for line in s.table().lines() {
        interrupt::print_line(line);
    }
    if took > Duration::ZERO {
        interrupt::print_line(&format!("soak took {}", human(took)));
    }
    interrupt::print_line(&format!("summary: {}", dir.file("index.html").display()));
    interrupt::print_line(&format!("         {}", dir.file("soak.json").display()));
    if let Some(j) = junit {
        interrupt::print_line(&format!("junit: {}", j.display()));
    }
}

/// Invalid seeds among those stored for this soak's shard.
fn count_failing(dir: &SoakDir, seeds: &Seeds, shard: Shard) -> u64 {
    let owned = |s: u64| match seeds {
        Seeds::List(v) => v
            .iter()
            .position(|x| *x == s)
            .is_some_and(|p| shard.owns(p as u64)),
        Seeds::From(b) => s.checked_sub(*b).is_some_and(|p| shard.owns(p)),
    };
    dir.stored_seeds()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| owned(*s))
        .filter(|s| SeedRecord::load(dir, *s).verdict == Some(Validity::Invalid))
        .count() as u64
}

/// The words of the command line after `soak`.
fn soak_words() -> Vec<String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "soak") {
        Some(i) => args[i + 1..].to_vec(),
        None => Vec::new(),
    }
}

/// The soak's own options (long name, whether it takes a value): those of `squall soak`
/// that `squall run` does not have, and `--seed` and `--store`, which each run gets anew.
fn own_options() -> Vec<(String, bool)> {
    #[derive(clap::Parser)]
    struct Soak {
        #[command(flatten)]
        soak: SoakArgs,
    }
    #[derive(clap::Parser)]
    struct Run {
        #[command(flatten)]
        test: TestArgs,
    }
    let run = Run::command();
    let run_has = |name: &str| run.get_arguments().any(|a| a.get_long() == Some(name));
    Soak::command()
        .get_arguments()
        .filter_map(|a| {
            let long = a.get_long()?;
            let own = !run_has(long) || long == "seed" || long == "store";
            own.then(|| (long.to_string(), a.get_action().takes_values()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soaks_own_options_are_known_from_its_arguments() {
        let own = own_options();
        let names: Vec<&str> = own.iter().map(|(n, _)| n.as_str()).collect();
        for n in [
            "seeds", "count", "for", "parallel", "junit", "shard", "soak-dir", "seed", "store",
        ] {
            assert!(names.contains(&n), "{n} in {names:?}");
        }
        for n in ["read-mode", "nemesis", "time-limit", "test", "post-mortem"] {
            assert!(!names.contains(&n), "{n} in {names:?}");
        }
        assert!(own.iter().all(|(_, takes)| *takes));
    }
}
