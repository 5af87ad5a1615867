//! Named network namespaces, made the way `ip netns add` makes them, so that `ip netns
//! list`, `ip netns exec` and `ip -n NAME ...` work on squall's namespaces for debugging.
//!
//! A network namespace lives as long as something refers to it: a process (or thread) in
//! it, an open file descriptor of it, or a bind mount of its `/proc/.../ns/net` file. A
//! *named* namespace is the last kind: the file `/run/netns/<name>` with the namespace
//! bind-mounted onto it. Creating one takes a thread that leaves its namespace
//! (`unshare(CLONE_NEWNET)` affects only the calling thread), bind-mounts its own
//! `/proc/thread-self/ns/net` onto the file, and ends; deleting one is unmounting and
//! unlinking the file — the namespace, its links and its rules disappear once no process
//! is left in it.
//!
//! Like iproute2, [`create`] makes `/run/netns` a mount point with shared propagation
//! first, so that an unmount in one mount namespace propagates to the others and a
//! namespace is not kept alive by a forgotten copy of its mount.
//!
//! Namespace membership is per thread. [`run_in`] runs a closure on a fresh thread that
//! joined the namespace (for opening netlink sockets or writing `/proc/sys/net/...` there);
//! [`enter`] moves the calling thread for good (the runner's main thread, before it builds
//! its tokio runtime, so that all its client sockets live in the hub). Nothing here ever
//! changes the namespace of a thread that did not ask for it.

use super::EnvError;
use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where named network namespaces live (iproute2's `NETNS_RUN_DIR`).
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// Serialises the one-time setup of [`NETNS_RUN_DIR`] within this process, so that
/// concurrent creations do not stack two bind mounts of it on itself.
static RUN_DIR_SETUP: Mutex<()> = Mutex::new(());

/// The path of namespace `name`: `/run/netns/<name>`.
pub fn path(name: &str) -> PathBuf {
    Path::new(NETNS_RUN_DIR).join(name)
}

fn cstring(path: &Path) -> CString {
    // Paths built here never contain NUL bytes.
    CString::new(path.as_os_str().as_bytes()).expect("path without NUL")
}

/// Makes [`NETNS_RUN_DIR`] exist and be a mount point with shared propagation, exactly as
/// `ip netns add` does.
fn prepare_run_dir() -> io::Result<()> {
    let _guard = RUN_DIR_SETUP.lock().unwrap_or_else(|e| e.into_inner());
    match fs::create_dir(NETNS_RUN_DIR) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let dir = cstring(Path::new(NETNS_RUN_DIR));
    let none = c"none";
    let mut made_mount = false;
    loop {
        // SAFETY: plain mount(2) with valid NUL-terminated strings.
        let rc = unsafe {
            libc::mount(
                c"".as_ptr(),
                dir.as_ptr(),
                none.as_ptr(),
                libc::MS_SHARED | libc::MS_REC,
                std::ptr::null(),
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        // EINVAL: not a mount point yet. Make it one by bind-mounting it onto itself.
        if err.raw_os_error() != Some(libc::EINVAL) || made_mount {
            return Err(err);
        }
        // SAFETY: as above.
        let rc = unsafe {
            libc::mount(
                dir.as_ptr(),
                dir.as_ptr(),
                none.as_ptr(),
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        made_mount = true;
    }
}

/// Creates the named network namespace `name` (`ip netns add NAME`). Fails with `EEXIST`
/// if it exists. The namespace starts with only `lo`, which is down.
pub fn create(name: &str) -> Result<(), EnvError> {
    let what = || format!("create namespace {name}");
    prepare_run_dir().map_err(|e| EnvError::io(format!("{}: {NETNS_RUN_DIR}", what()), e))?;
    let target = path(name);
    // The mount point: an empty file, created exclusively so that two runs can never share
    // a namespace.
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o000)
        .open(&target)
        .map_err(|e| EnvError::io(what(), e))?;
    let target_c = cstring(&target);
    let result = std::thread::scope(|s| {
        s.spawn(|| -> io::Result<()> {
            // SAFETY: unshare(2) affects only this thread, which ends right after.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: plain mount(2) with valid NUL-terminated strings.
            let rc = unsafe {
                libc::mount(
                    c"/proc/thread-self/ns/net".as_ptr(),
                    target_c.as_ptr(),
                    c"none".as_ptr(),
                    libc::MS_BIND,
                    std::ptr::null(),
                )
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
    });
    if let Err(e) = result {
        let _ = fs::remove_file(&target);
        return Err(EnvError::io(what(), e));
    }
    Ok(())
}

/// Deletes the named namespace `name` (`ip netns delete NAME`): unmounts and removes its
/// file. The namespace itself disappears once no process is left in it. Returns whether
/// there was anything to delete; deleting a missing namespace is not an error.
pub fn delete(name: &str) -> Result<bool, EnvError> {
    let target = path(name);
    let target_c = cstring(&target);
    // SAFETY: umount2(2) with a valid NUL-terminated path.
    if unsafe { libc::umount2(target_c.as_ptr(), libc::MNT_DETACH) } != 0 {
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            // ENOENT: no such file; EINVAL: a file left without its mount (a creation that
            // was interrupted). Either way, removing the file is all that is left to do.
            Some(libc::ENOENT) | Some(libc::EINVAL) => {}
            _ => return Err(EnvError::io(format!("delete namespace {name}"), err)),
        }
    }
    match fs::remove_file(&target) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(EnvError::io(format!("delete namespace {name}"), e)),
    }
}

/// The names of all named namespaces (`ip netns list`), sorted.
pub fn list() -> Result<Vec<String>, EnvError> {
    let entries = match fs::read_dir(NETNS_RUN_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EnvError::io(format!("list {NETNS_RUN_DIR}"), e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// Opens namespace `name`, for `setns(2)` or `IFLA_NET_NS_FD`. The descriptor keeps the
/// namespace alive while it is open, and is close-on-exec.
pub fn open(name: &str) -> Result<File, EnvError> {
    File::open(path(name)).map_err(|e| EnvError::io(format!("open namespace {name}"), e))
}

/// A namespace's identity: device and inode of its nsfs file, the same for
/// `/run/netns/<name>`, an open descriptor of it and `/proc/<pid>/ns/net` of every process
/// inside (where `ip` shows the inode as `net:[<inode>]`).
pub type NsId = (u64, u64);

/// The identity of namespace `name`.
pub fn id(name: &str) -> Result<NsId, EnvError> {
    fs::metadata(path(name))
        .map(|m| (m.dev(), m.ino()))
        .map_err(|e| EnvError::io(format!("stat namespace {name}"), e))
}

/// The identity of an open namespace (see [`open`]).
pub fn id_of(ns: &File) -> io::Result<NsId> {
    ns.metadata().map(|m| (m.dev(), m.ino()))
}

/// Every process (other than this one) whose network namespace is one of `ids` (device
/// and inode of the namespace file), with that namespace. Zombies have left their
/// namespaces and are not listed.
pub fn processes_in(ids: &[NsId]) -> Vec<(u32, NsId)> {
    let mut found = Vec::new();
    if ids.is_empty() {
        return found;
    }
    let wanted: BTreeSet<NsId> = ids.iter().copied().collect();
    let me = std::process::id();
    let Ok(proc_dir) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in proc_dir.filter_map(|e| e.ok()) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(m) = fs::metadata(format!("/proc/{pid}/ns/net")) {
            if wanted.contains(&(m.dev(), m.ino())) {
                found.push((pid, (m.dev(), m.ino())));
            }
        }
    }
    found
}

/// SIGKILLs every process [`processes_in`] finds, and returns them.
pub fn kill_processes_in(ids: &[NsId]) -> Vec<(u32, NsId)> {
    let found = processes_in(ids);
    for (pid, _) in &found {
        // SAFETY: kill(2) with a pid read from /proc.
        unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
    }
    // SIGKILL is asynchronous: wait (briefly) until they are gone, so that whoever looks
    // right after `squall clean` finds nothing. A zombie has left its namespace already.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !processes_in(ids).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    found
}

fn setns(ns: &File, name: &str) -> Result<(), EnvError> {
    // SAFETY: setns(2) on an open namespace descriptor; affects only the calling thread.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(EnvError::last_os_error(format!("enter namespace {name}")));
    }
    Ok(())
}

/// Moves the calling thread into namespace `name`, for the rest of its life. Threads it
/// spawns afterwards start there too.
pub fn enter(name: &str) -> Result<(), EnvError> {
    let ns = open(name)?;
    setns(&ns, name)
}

/// Runs `f` on a fresh thread inside namespace `name` and returns its result; the calling
/// thread stays where it is. A panic in `f` is propagated.
pub fn run_in<T, F>(name: &str, f: F) -> Result<T, EnvError>
where
    T: Send,
    F: FnOnce() -> Result<T, EnvError> + Send,
{
    let ns = open(name)?;
    std::thread::scope(|s| {
        let handle = s.spawn(|| {
            setns(&ns, name)?;
            f()
        });
        match handle.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
