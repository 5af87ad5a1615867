//! Finding and removing what crashed runs left: `squall clean`.
//!
//! Every run directory `/tmp/squall-<run>/` holds an owner file with the pid and start time
//! of the process that made it (see [`super::run_dir`]). `clean` removes a run only if that
//! process is gone (a pid that was reused has another start time), so it never breaks a
//! run in progress.

use super::names::{parse_ns_name, run_dir, validate_run_id, NAME_PREFIX, RUN_PARENT};
use super::netns;
use super::run_dir::{live_owner, remove_run_dir, OWNER_FILE};
use super::EnvError;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::PathBuf;

/// What [`clean`] found and removed.
#[derive(Debug, Default)]
pub struct CleanReport {
    /// Processes killed: pid, command name, the namespace they were in.
    pub processes: Vec<(u32, String, String)>,
    /// Namespaces deleted.
    pub namespaces: Vec<String>,
    /// Run directories removed.
    pub dirs: Vec<PathBuf>,
    /// Runs left alone because the process that made them is alive: run id and its pid.
    pub skipped_live: Vec<(String, u32)>,
}

impl CleanReport {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
            && self.namespaces.is_empty()
            && self.dirs.is_empty()
            && self.skipped_live.is_empty()
    }
}

impl fmt::Display for CleanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "nothing to clean");
        }
        for (pid, comm, ns) in &self.processes {
            writeln!(f, "killed process {pid} ({comm}) in {ns}")?;
        }
        for ns in &self.namespaces {
            writeln!(f, "deleted namespace {ns}")?;
        }
        for dir in &self.dirs {
            writeln!(f, "removed {}", dir.display())?;
        }
        for (run, pid) in &self.skipped_live {
            writeln!(f, "left run {run} alone: its process {pid} is alive")?;
        }
        Ok(())
    }
}

/// Removes everything crashed runs left: for each run found (a namespace
/// `/run/netns/squall-<run>-*` or a directory `/tmp/squall-<run>/` with an owner file)
/// whose owner process is gone, SIGKILLs every process inside its namespaces (node
/// processes), deletes the namespaces (their links and rules go with them) and removes
/// the run directory. Runs whose owner is alive are reported, not touched. Nothing without
/// squall's names is ever touched.
pub fn clean() -> Result<CleanReport, EnvError> {
    let mut runs: BTreeMap<String, (Vec<String>, Option<PathBuf>)> = BTreeMap::new();
    for name in netns::list()? {
        if let Some(run) = parse_ns_name(&name) {
            runs.entry(run.to_string()).or_default().0.push(name);
        }
    }
    let tmp =
        fs::read_dir(RUN_PARENT).map_err(|e| EnvError::io(format!("list {RUN_PARENT}"), e))?;
    for entry in tmp.filter_map(|e| e.ok()) {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some(run) = name.strip_prefix(NAME_PREFIX) else {
            continue;
        };
        // Only directories squall made: a valid run id and an owner file.
        if validate_run_id(run).is_ok() && entry.path().join(OWNER_FILE).is_file() {
            runs.entry(run.to_string()).or_default().1 = Some(entry.path());
        }
    }

    let mut report = CleanReport::default();
    let mut result = Ok(());
    for (run, (namespaces, dir)) in runs {
        let owner = fs::read_to_string(run_dir(&run).join(OWNER_FILE)).ok();
        if let Some(pid) = owner.as_deref().and_then(live_owner) {
            report.skipped_live.push((run, pid));
            continue;
        }
        let mut ids = Vec::new();
        for ns in &namespaces {
            if let Ok(id) = netns::id(ns) {
                ids.push((id, ns.clone()));
            }
        }
        let id_list: Vec<_> = ids.iter().map(|(id, _)| *id).collect();
        for (pid, id) in netns::kill_processes_in(&id_list) {
            let ns = ids.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone());
            report
                .processes
                .push((pid, comm(pid), ns.unwrap_or_default()));
        }
        for ns in namespaces {
            match netns::delete(&ns) {
                Ok(_) => report.namespaces.push(ns),
                Err(e) => result = result.and(Err(e)),
            }
        }
        if let Some(dir) = dir {
            match remove_run_dir(&dir) {
                Ok(()) => report.dirs.push(dir),
                Err(e) => result = result.and(Err(e)),
            }
        }
    }
    result.map(|()| report)
}

/// The command name of `pid`, or `?`.
fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}
