//! The seeds' runs: each a `squall run` child process of the current executable (the same
//! test options, `--seed S`, the seed's own `--store`), up to N at once. A shrink's
//! candidate runs are such children too (`squall run --plan CANDIDATE`, [`Running::spawn`]).
//!
//! A run as a process of its own owns its namespaces, its signal handling and its cleanup
//! exactly as a run started by hand does; nothing is shared between runs but the host. The
//! children are in process groups of their own, so a Ctrl-C at the terminal reaches the
//! soak alone, which passes it on to each running child and waits for all of them to heal
//! their faults and tear their clusters down: the soak itself handles INT, TERM and HUP
//! from its first instant (as `squall run` does, [`crate::interrupt`]) and never ends
//! before its children. A child inherits the soak's blocked signals, so one passed on
//! before the child took over its own handling waits for it rather than killing it.
//!
//! Names on the host never collide between runs at once: each run draws its own run id for
//! its namespaces and links (`squall-<run>-*`), and claims `/tmp/squall-<run>/`
//! exclusively before it makes anything (see [`crate::env::names`]).

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A seed's run in progress.
pub struct Running {
    /// The seed (a shrink's run: its number).
    pub seed: u64,
    /// When it started.
    pub started: std::time::Instant,
    child: Child,
}

impl Running {
    /// Starts `exe run ARGS --seed SEED --store STORE`, its output to `log`.
    pub fn start(
        exe: &Path,
        test_args: &[String],
        seed: u64,
        store: &Path,
        log: &Path,
    ) -> std::io::Result<Running> {
        std::fs::create_dir_all(store)?;
        let mut words: Vec<std::ffi::OsString> = vec!["run".into()];
        words.extend(test_args.iter().map(Into::into));
        words.extend(["--seed".into(), seed.to_string().into(), "--store".into()]);
        words.push(store.into());
        Running::spawn(exe, &words, seed, log)
    }

    /// Starts `exe WORDS` (a `squall` command line), its output to `log`, as the run
    /// numbered `seed`.
    pub fn spawn(
        exe: &Path,
        words: &[std::ffi::OsString],
        seed: u64,
        log: &Path,
    ) -> std::io::Result<Running> {
        let out = File::create(log)?;
        let err = out.try_clone()?;
        // /proc/self/exe, opened by the child between fork and exec, is the soak's own
        // binary even if its file was replaced since (an upgrade during a nightly soak):
        // every seed runs the same squall. `exe` is only its name.
        let mut cmd = Command::new("/proc/self/exe");
        cmd.arg0(exe)
            .args(words)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: setpgid(2) is async-signal-safe; between fork and exec it only moves the
        // child into a process group of its own.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setpgid(0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(Running {
            seed,
            started: std::time::Instant::now(),
            child: cmd.spawn()?,
        })
    }

    /// Whether the run has ended (and is reaped).
    pub fn ended(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The run's exit code once it has ended (and is reaped); a run ended by a signal, or
    /// one that cannot be waited for, is [`crate::exit::ERROR`].
    pub fn exit_code(&mut self) -> Option<i32> {
        match self.child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(status.code().unwrap_or(crate::exit::ERROR)),
            Err(_) => Some(crate::exit::ERROR),
        }
    }

    /// Passes signal `sig` on to the run.
    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on the child's pid, which is ours and not yet reaped (so not
        // reused).
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, sig);
        }
    }
}

/// The test options of a `squall soak` command line, for its runs: `args` (the words after
/// `soak`) without the soak's own options and without `--seed` and `--store` (each run gets
/// its own). `own` lists the soak's options by long name, with whether each takes a value.
pub fn test_args(args: &[String], own: &[(String, bool)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = args.iter();
    while let Some(w) = words.next() {
        let name = w
            .strip_prefix("--")
            .map(|n| n.split_once('=').map_or(n, |(n, _)| n));
        match name.and_then(|n| own.iter().find(|(o, _)| o == n)) {
            Some((_, takes_value)) => {
                if *takes_value && !w.contains('=') {
                    words.next();
                }
            }
            None => out.push(w.clone()),
        }
    }
    out
}

/// The signal a stop's reason names (`interrupted by SIGTERM`), SIGTERM if none.
pub fn signal_of(reason: &str) -> libc::c_int {
    crate::interrupt::SIGNALS
        .into_iter()
        .find(|s| reason.ends_with(&crate::interrupt::signal_name(*s)))
        .unwrap_or(libc::SIGTERM)
}

/// The executable to run seeds with: this one.
pub fn current_exe() -> anyhow::Result<PathBuf> {
    use anyhow::Context as _;
    std::env::current_exe().context("find squall's own executable to run the seeds with")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soaks_own_options_are_not_passed_on() {
        let own: Vec<(String, bool)> = [
            ("seeds", true),
            ("parallel", true),
            ("seed", true),
            ("store", true),
            ("resume-only", false),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
        let words: Vec<String> = [
            "--seeds",
            "1..12",
            "--read-mode",
            "serializable",
            "--parallel=3",
            "--seed",
            "9",
            "--resume-only",
            "--nemesis",
            "partition",
            "--store",
            "/s",
            "--post-mortem",
            "--seedsx",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            test_args(&words, &own),
            [
                "--read-mode",
                "serializable",
                "--nemesis",
                "partition",
                "--post-mortem",
                "--seedsx",
                "1"
            ]
        );
    }

    #[test]
    fn a_stop_passes_on_its_signal() {
        assert_eq!(signal_of("interrupted by SIGINT"), libc::SIGINT);
        assert_eq!(signal_of("interrupted by SIGHUP"), libc::SIGHUP);
        assert_eq!(signal_of("something else"), libc::SIGTERM);
    }
}
