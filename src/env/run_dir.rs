//! A run's directory `/tmp/squall-<run>/`: claimed exclusively and private, with an owner
//! file (the pid and start time of the process that made it) that tells a live run from a
//! dead one, and removed with its owner file last. Every environment claims one; `squall
//! clean` reads the owner file before it touches a run.

use super::names::{run_dir, validate_run_id};
use super::EnvError;
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

/// The owner file in a run directory: `<pid> <start time>` of the process that made it.
pub const OWNER_FILE: &str = ".squall-owner";

/// Removes a run directory, its owner file last, so that an interrupted removal still
/// leaves something `squall clean` recognises.
pub fn remove_run_dir(dir: &Path) -> Result<(), EnvError> {
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
/// private (see [`create_private_dir`]), with its owner file, so that `squall clean` leaves the
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::{Duration, Instant};

    #[test]
    fn owner_tags_tell_live_from_dead() {
        let me = std::process::id();
        assert_eq!(live_owner(&owner_tag(me)), Some(me));
        assert_eq!(live_owner(&format!("{me} 1")), None);
        // A dead owner not yet reaped (a zombie) is dead.
        let mut child = Command::new("true").spawn().unwrap();
        let tag = owner_tag(child.id());
        let deadline = Instant::now() + Duration::from_secs(5);
        while live_owner(&tag).is_some() {
            assert!(Instant::now() < deadline, "zombie {tag} counted as alive");
            std::thread::sleep(Duration::from_millis(10));
        }
        child.wait().unwrap();
    }
}
