//! Starting a process inside a network namespace, the one way every environment does it:
//! a node's program (`local`) and a VMM (`cloud-hypervisor`, in the hub) alike.
//!
//! The child enters the namespace through `setns(2)` between fork and exec, in a new
//! session (`setsid`, so a Ctrl-C at the terminal reaches squall only, which then tears
//! down in order, and its pid is its process group), with an empty signal mask and the
//! default dispositions (squall's threads block INT, TERM and HUP, which a child would
//! inherit across exec). Its stdout and stderr are appended to a log, after a header line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Why [`spawn_in`] failed: at the log (`log` is set) or at the start itself.
#[derive(Debug)]
pub struct SpawnError {
    /// The log that could not be opened, if that was the failure.
    pub log: Option<PathBuf>,
    /// The kernel's answer.
    pub cause: io::Error,
}

impl SpawnError {
    /// `what`, with the log named when the failure was there: `start n2 (/usr/bin/etcd)`
    /// or `start n2 (/usr/bin/etcd): log /tmp/x/n2.log`.
    pub fn what(&self, what: &str) -> String {
        match &self.log {
            Some(log) => format!("{what}: log {}", log.display()),
            None => what.to_string(),
        }
    }
}

fn at_start(cause: io::Error) -> SpawnError {
    SpawnError { log: None, cause }
}

/// Starts `command` in the network namespace `netns` (see the module docs), with stdin
/// from `/dev/null` and stdout and stderr appended to `log` (its folder made if missing)
/// after the line `header`.
pub fn spawn_in(
    mut command: Command,
    netns: &File,
    log: &Path,
    header: &str,
) -> Result<Child, SpawnError> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir).map_err(at_start)?;
    }
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|cause| SpawnError {
            log: Some(log.to_path_buf()),
            cause,
        })?;
    let _ = writeln!(out, "{header}");
    let err = out.try_clone().map_err(at_start)?;
    command.stdin(Stdio::null()).stdout(out).stderr(err);
    let ns_fd = netns.as_raw_fd();
    // SAFETY: between fork and exec only async-signal-safe system calls run: the signal
    // mask and dispositions, setsid(2) and setns(2) on a descriptor opened before the fork
    // (close-on-exec, so the child does not inherit it).
    unsafe {
        command.pre_exec(move || {
            crate::interrupt::reset_in_child()?;
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::setns(ns_fd, libc::CLONE_NEWNET) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn().map_err(at_start)
}
