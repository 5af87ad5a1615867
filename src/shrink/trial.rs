//! Trying a candidate: up to K runs of `squall run --plan CANDIDATE`, each a child process
//! of squall's own executable ([`crate::soak::pool::Running`], as a soak runs its seeds),
//! each into its own scratch store next to the candidate; a few at once.
//!
//! A candidate fails if any of its runs is invalid (exit code 1); unknown (2) is not a
//! failure, and neither is a run that could not give a verdict (3) — but a candidate none
//! of whose runs gave a verdict is an error, naming a run's log (squall itself is broken
//! there: not root, no etcd). Once one run has failed, the others still going are stopped
//! as a signal would stop them (they heal and tear down) and waited for.
//!
//! The budget is counted in runs started ([`Budget`]); a candidate that could not run all
//! K times for want of budget, and did not fail in the runs it had, is not known to pass:
//! the search ends there. A stop (INT, TERM, HUP at the shrinker) is passed on to the
//! runs, and they are waited for.

use crate::exit;
use crate::interrupt::Stop;
use crate::shrink::ddmin::Outcome;
use crate::soak::pool::{signal_of, Running};
use anyhow::{bail, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How much the shrink may still spend.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Runs started so far.
    pub used: u64,
    /// At most this many runs in all.
    pub max_runs: u64,
    /// Start no run after this.
    pub deadline: Option<Instant>,
}

impl Budget {
    /// Whether another run may start.
    pub fn allows_a_run(&self) -> bool {
        self.used < self.max_runs && self.deadline.is_none_or(|d| Instant::now() < d)
    }
}

/// How the candidate's runs are started.
#[derive(Clone, Debug)]
pub struct Runner {
    /// squall's own executable (its name; `/proc/self/exe` is run).
    pub exe: PathBuf,
    /// Options every run gets after `--plan FILE` (`--env`, `-o ...`).
    pub extra: Vec<OsString>,
    /// Runs per candidate.
    pub runs: u32,
    /// Runs at once.
    pub parallel: u32,
}

/// What a candidate's runs found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tried {
    /// Fails, passes, or could not tell for want of budget (or a stop).
    pub outcome: Outcome,
    /// Runs started for it.
    pub runs: u32,
    /// Of which invalid.
    pub failed: u32,
}

impl Runner {
    /// Runs the candidate `plan` (in its folder `dir`) up to [`Runner::runs`] times.
    pub fn try_candidate(
        &self,
        plan: &Path,
        dir: &Path,
        budget: &mut Budget,
        stop: &Stop,
    ) -> Result<Tried> {
        let mut running: Vec<Running> = Vec::new();
        let (mut started, mut failed, mut verdicts) = (0u32, 0u32, 0u32);
        let mut out_of_budget = false;
        let mut forwarded = false;
        let mut last_log = None;
        // A run that cannot be started ends the candidate, once those going have stopped.
        let mut spawn_error: Option<anyhow::Error> = None;
        loop {
            let mut i = 0;
            while i < running.len() {
                match running[i].exit_code() {
                    None => i += 1,
                    Some(code) => {
                        running.swap_remove(i);
                        if code == exit::INVALID {
                            failed += 1;
                        }
                        if code != exit::ERROR {
                            verdicts += 1;
                        }
                    }
                }
            }
            let wanted =
                failed == 0 && !stop.is_set() && spawn_error.is_none() && started < self.runs;
            if (failed > 0 || spawn_error.is_some()) && !forwarded {
                for r in &running {
                    r.signal(libc::SIGTERM);
                }
                forwarded = true;
            }
            if let (Some(why), false) = (stop.reason(), forwarded) {
                for r in &running {
                    r.signal(signal_of(&why));
                }
                forwarded = true;
            }
            while wanted && started < self.runs && running.len() < self.parallel as usize {
                if !budget.allows_a_run() {
                    out_of_budget = true;
                    break;
                }
                started += 1;
                budget.used += 1;
                let store = dir.join(format!("run{started}"));
                let log = dir.join(format!("run{started}.log"));
                let mut words: Vec<OsString> = vec!["run".into(), "--plan".into()];
                words.push(plan.into());
                words.extend(["--store".into(), store.clone().into_os_string()]);
                words.extend(self.extra.iter().cloned());
                let spawned = std::fs::create_dir_all(&store)
                    .and_then(|()| Running::spawn(&self.exe, &words, u64::from(started), &log));
                match spawned {
                    Ok(r) => running.push(r),
                    Err(e) => {
                        spawn_error = Some(anyhow::anyhow!(
                            "start a run of the candidate {}: {e}",
                            plan.display()
                        ));
                        break;
                    }
                }
                last_log = Some(log);
            }
            if spawn_error.is_some() && !forwarded {
                // Passed on at the top of the next round.
                continue;
            }
            if running.is_empty() && (!wanted || out_of_budget) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Some(e) = spawn_error {
            return Err(e);
        }
        if started > 0 && verdicts == 0 && failed == 0 && !stop.is_set() {
            let log = last_log
                .map(|l| l.display().to_string())
                .unwrap_or_default();
            bail!(
                "no run of the candidate {} gave a verdict (see {log})",
                plan.display()
            );
        }
        let outcome = if failed > 0 {
            Outcome::Fails
        } else if started < self.runs || stop.is_set() {
            Outcome::OutOfBudget
        } else {
            Outcome::Passes
        };
        Ok(Tried {
            outcome,
            runs: started,
            failed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_runs_and_time() {
        let mut b = Budget {
            used: 0,
            max_runs: 2,
            deadline: None,
        };
        assert!(b.allows_a_run());
        b.used = 2;
        assert!(!b.allows_a_run());
        b.used = 0;
        b.deadline = Some(Instant::now());
        assert!(!b.allows_a_run());
        b.deadline = Some(Instant::now() + Duration::from_secs(60));
        assert!(b.allows_a_run());
    }

    #[test]
    fn a_candidate_no_budget_allows_is_not_known_and_starts_nothing() {
        let r = Runner {
            exe: "/nonexistent/squall".into(),
            extra: Vec::new(),
            runs: 3,
            parallel: 3,
        };
        let mut b = Budget {
            used: 5,
            max_runs: 5,
            deadline: None,
        };
        let dir = std::env::temp_dir().join(format!("sqtrial-{}", std::process::id()));
        let t = r
            .try_candidate(
                Path::new("/nonexistent/plan.jsonl"),
                &dir,
                &mut b,
                &Stop::new(),
            )
            .unwrap();
        assert_eq!(
            t,
            Tried {
                outcome: Outcome::OutOfBudget,
                runs: 0,
                failed: 0
            }
        );
        assert_eq!(b.used, 5);
        assert!(!dir.exists());
    }

    #[test]
    fn a_run_that_cannot_start_is_an_error_naming_the_candidate() {
        let r = Runner {
            exe: "squall".into(),
            extra: Vec::new(),
            runs: 3,
            parallel: 3,
        };
        let mut b = Budget {
            used: 0,
            max_runs: 10,
            deadline: None,
        };
        // A folder inside a file cannot be made.
        let e = r
            .try_candidate(
                Path::new("/x/plan.jsonl"),
                Path::new("/proc/version/c"),
                &mut b,
                &Stop::new(),
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("start a run of the candidate /x/plan.jsonl: "),
            "{e}"
        );
        assert_eq!(b.used, 1);
    }
}
