//! Finding and removing what crashed runs left: `squall clean`, and the run directories
//! whose owner file tells a live run from a dead one.
//!
//! Every run directory `/tmp/squall-<run>/` holds an owner file with the pid and start time
//! of the process that made it. `clean` removes a run only if that process is gone (a pid
//! that was reused has another start time), so it never breaks a run in progress.

use super::local::{run_dir, validate_run_id, NAME_PREFIX, RUN_PARENT};
use super::netns;
use super::EnvError;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

/// The owner file in a run directory: `<pid> <start time>` of the process that made it.
pub(crate) const OWNER_FILE: &str = ".squall-owner";

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

/// The run id in a squall namespace name `squall-<run>-hub` or `squall-<run>-n<i>`.
pub(crate) fn parse_ns_name(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let (run, suffix) = rest.split_once('-')?;
    validate_run_id(run).ok()?;
    let node = suffix
        .strip_prefix('n')
        .map(|d| !d.is_empty() && d.len() <= 2 && d.bytes().all(|b| b.is_ascii_digit()));
    (suffix == "hub" || node == Some(true)).then_some(run)
}

/// Removes a run directory, its owner file last, so that an interrupted removal still
/// leaves something [`clean`] recognises.
pub(crate) fn remove_run_dir(dir: &Path) -> Result<(), EnvError> {
    let what = || format!("remove {}", dir.display());
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(EnvError::io(what(), e)),
    };
    for entry in entries.filter_map(|e| e.ok()) {
        if entry.file_name() == OWNER_FILE {
            continue;
        }
        let path = entry.path();
        let r = match entry.file_type() {
            Ok(t) if t.is_dir() => fs::remove_dir_all(&path),
            _ => fs::remove_file(&path),
        };
        r.map_err(|e| EnvError::io(format!("remove {}", path.display()), e))?;
    }
    match fs::remove_file(dir.join(OWNER_FILE)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(EnvError::io(what(), e)),
        _ => {}
    }
    fs::remove_dir(dir).map_err(|e| EnvError::io(what(), e))
}

/// Claims run id `run_id`: creates the run directory `/tmp/squall-<run>/` exclusively and
/// private (see [`create_private_dir`]), with its owner file, so that [`clean`] leaves the
/// run alone while this process lives and removes it after. An existing path of that name
/// (a directory, a file, a symlink another user planted) is refused, never reused.
pub fn claim_run_dir(run_id: &str) -> Result<PathBuf, EnvError> {
    validate_run_id(run_id)?;
    let dir = run_dir(run_id);
    create_private_dir(&dir)
        .map_err(|e| EnvError::io(format!("create run directory {}", dir.display()), e))?;
    let owner = dir.join(OWNER_FILE);
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&owner)
        .and_then(|mut f| writeln!(f, "{}", owner_tag(std::process::id())));
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&dir);
        return Err(EnvError::io(format!("write {}", owner.display()), e));
    }
    Ok(dir)
}

/// Creates directory `path` readable by its owner (root) only, mode 0700, in one
/// `mkdir(2)`: there is no moment at which it is open to others. Fails with `EEXIST` if
/// anything is at `path` already, a symlink included (`mkdir` never follows one), so a
/// path prepared by another user is refused rather than used.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(0o700).create(path)?;
    // A umask can only take bits away; put back any the owner lost.
    let meta = fs::symlink_metadata(path)?;
    if meta.permissions().mode() & 0o777 != 0o700 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Like [`create_private_dir`], but an existing directory is fine if it is a real
/// directory (not a symlink) of this user with mode 0700 — a node's data directory asked
/// for again. Anything else at `path` is refused with a message saying what it is.
pub fn ensure_private_dir(path: &Path) -> io::Result<()> {
    match create_private_dir(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta = fs::symlink_metadata(path)?;
            // SAFETY: geteuid has no preconditions.
            let me = unsafe { libc::geteuid() };
            if meta.file_type().is_symlink() {
                Err(io::Error::other("exists and is a symlink"))
            } else if !meta.is_dir() {
                Err(io::Error::other("exists and is not a directory"))
            } else if meta.uid() != me || meta.permissions().mode() & 0o777 != 0o700 {
                Err(io::Error::other(format!(
                    "exists with owner {} and mode {:o}, not a private directory of squall's",
                    meta.uid(),
                    meta.permissions().mode() & 0o777
                )))
            } else {
                Ok(())
            }
        }
        r => r,
    }
}

/// Removes a run directory made by [`claim_run_dir`] (its owner file last).
pub fn release_run_dir(dir: &Path) -> Result<(), EnvError> {
    remove_run_dir(dir)
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`, in clock ticks since
/// boot): with the pid, it identifies a process even after its pid is reused. `None` if
/// there is no such process or it has already died (a zombie waiting for its parent).
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses; fields after it are
    // plain: state (field 3) first.
    let mut fields = stat[stat.rfind(')')? + 2..].split(' ');
    if matches!(fields.next()?, "Z" | "X" | "x") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// `<pid> <start time>` of process `pid`, as written to the owner file.
pub(crate) fn owner_tag(pid: u32) -> String {
    format!("{pid} {}", start_time(pid).unwrap_or(0))
}

/// The owner's pid if the process named in an owner file is alive: same pid, same start
/// time, not a zombie.
pub(crate) fn live_owner(tag: &str) -> Option<u32> {
    let pid: u32 = tag.split_whitespace().next()?.parse().ok()?;
    let started = start_time(pid)?;
    (format!("{pid} {started}") == tag.trim()).then_some(pid)
}

/// The command name of `pid`, or `?`.
fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}
