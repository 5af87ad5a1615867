//! Environments: where the nodes run. `local` (processes in network namespaces) is the
//! default; each environment implements [`nemeses::FaultTarget`].
//!
//! Map of this module:
//! - [`netns`]: named network namespaces (create, delete, enter, run a closure inside one),
//!   the same bind-mount convention as `ip netns`, so `ip netns list` shows squall's.
//! - [`netlink`]: a small synchronous route-netlink client (links, addresses, routes, FIB
//!   rules), one request at a time, every kernel error turned into an [`EnvError`] naming the
//!   operation.
//! - [`names`]: a leaf — the names and addresses of a run's namespaces, links, nodes and
//!   run directory; run ids.
//! - [`run_dir`]: the run directory's exclusive claim, its owner file, private folders.
//! - [`spawn`]: starting a process inside a namespace (new session, signals reset, output
//!   to a log), for node processes and VMMs alike.
//! - [`hub`]: the hub of a run (namespace, netlink socket, partition rules).
//! - [`shaper`]: packet faults in the hub (the `packet` nemesis): netem where the kernel
//!   has it, else NFQUEUE rules feeding a seeded userspace verdict loop.
//! - [`hub_env`]: [`hub_env::HubEnv`], the one environment over [`hub_env::NodeBackend`]s:
//!   run directory, hub, a link per node, faults, heal-all, teardown; implements
//!   [`Environment`] and [`FaultTarget`] once.
//! - [`local`]: the `local` backend — one namespace, veth and process per node.
//!   (`cloud-hypervisor` is [`crate::vm::env`]'s backend: a VMM and a TAP per node.)
//! - [`clean`]: `squall clean`, which removes what a crashed run left behind.
//! - [`clock`]: clock faults on local nodes: libfaketime and a control file per node.
//! - [`archive`]: a directory as one `.tar.gz` (a local node's data, kept for a post-mortem).
//!
//! Every name an environment creates on the host carries the `squall-` prefix (or `sq` where
//! the kernel allows only 15 bytes) and the run id, which is what makes cleanup safe.
//! Imports go one way: `names` ← `run_dir` ← `hub` ← `hub_env` ← `local`; `clean` uses
//! `names`, `run_dir` and `netns` only.

pub mod archive;
pub mod clean;
pub mod clock;
pub mod hub;
pub mod hub_env;
pub mod links;
pub mod local;
pub mod names;
pub mod netlink;
pub mod netns;
pub mod run_dir;
pub mod shaper;
pub mod spawn;
#[cfg(test)]
pub(crate) mod testing;

use crate::systems::NodeCommand;
use nemeses::FaultTarget;
use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use thiserror::Error;

/// Where a run's nodes live: the seam between `squall run` and an environment (`local`
/// processes in namespaces, Cloud Hypervisor VMs, ...). Faults come through the
/// [`FaultTarget`] supertrait. Every environment routes its nodes through the run's hub
/// namespace, where squall's clients run.
pub trait Environment: FaultTarget {
    /// Node `node`'s address, reachable from the hub.
    fn node_addr(&self, node: usize) -> Ipv4Addr;
    /// The name of the run's hub network namespace (squall's clients run there).
    fn hub_ns(&self) -> &str;
    /// The directory node `node` keeps its state in, as the node sees it (created if needed).
    fn data_dir(&self, node: usize) -> Result<PathBuf, EnvError>;
    /// Starts node `node` with `cmd`; restarts after a kill run the same command.
    fn start_node(&self, node: usize, cmd: &NodeCommand) -> Result<(), EnvError>;
    /// A node that stopped on its own (e.g. during startup), described for a person with
    /// where to look (its log), or `None`.
    fn exited_node(&self) -> Option<String>;
    /// Why the cluster may not be ready, for the error when readiness times out (e.g. which
    /// guest never printed its readiness line, and its last serial lines); `None` if nothing
    /// is known.
    fn not_ready_hint(&self) -> Option<String> {
        None
    }
    /// Called when a run is invalid (or `--post-mortem`), before teardown: preserve what
    /// helps a post-mortem (VM snapshots, local nodes' data directories) into `dir`.
    /// Returns lines to tell the person. The nodes may be stopped by it.
    fn post_mortem(&self, _dir: &std::path::Path) -> Vec<String> {
        Vec::new()
    }
    /// Removes everything the environment made: processes or VMs, namespaces, links, files.
    /// Idempotent.
    fn teardown(&self) -> Result<(), EnvError>;
    /// What the nodes wrote in their data directories, as a system's setup reads it: the
    /// host's files (the default), or a VM guest's, through its init.
    fn node_files(&self) -> std::sync::Arc<dyn crate::systems::NodeFiles> {
        std::sync::Arc::new(crate::systems::HostFiles)
    }
}

/// Why an environment could not be set up, changed or torn down.
///
/// Messages are short and name the thing at fault, e.g.
/// `create namespace squall-ab12cd-n2: Operation not permitted` or
/// `start n2 (/usr/bin/etcd): No such file or directory`.
#[derive(Debug, Error)]
pub enum EnvError {
    /// A system call or netlink request failed. `what` names the operation and its object;
    /// `cause` is the kernel's answer (kept as an [`io::Error`] so callers can test its
    /// errno). The cause is part of the message rather than a `source`, so printing the
    /// error chain does not repeat it.
    #[error("{what}: {}", describe(cause))]
    Io {
        /// The operation and what it acted on, e.g. `create namespace squall-ab12cd-n2`.
        what: String,
        /// The error the kernel (or the filesystem) returned.
        cause: io::Error,
    },
    /// A run id must be 1 to 8 characters of `[0-9a-z]`: it is part of interface names,
    /// which the kernel limits to 15 bytes.
    #[error("invalid run id {0:?}: want 1 to 8 characters of [0-9a-z]")]
    InvalidRunId(String),
    /// The environment was asked for something it cannot do, e.g. 200 nodes or node 7 of 3.
    #[error("{0}")]
    Invalid(String),
    /// The run was stopped (Ctrl-C) while the environment was being made; what was made is
    /// removed again.
    #[error("interrupted")]
    Interrupted,
}

/// An I/O error's text without the `(os error N)` suffix the standard library adds:
/// `No such file or directory`, as `strerror` and the `ip` tool say it.
pub(crate) fn describe(cause: &io::Error) -> String {
    let text = cause.to_string();
    match cause.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .map_or(text.clone(), str::to_string),
        None => text,
    }
}

impl EnvError {
    /// An [`EnvError::Io`] for operation `what`.
    pub fn io(what: impl Into<String>, cause: io::Error) -> Self {
        EnvError::Io {
            what: what.into(),
            cause,
        }
    }

    /// An [`EnvError::Io`] for operation `what` from the current `errno`.
    pub fn last_os_error(what: impl Into<String>) -> Self {
        Self::io(what, io::Error::last_os_error())
    }

    /// The errno behind this error, if it came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        match self {
            EnvError::Io { cause, .. } => cause.raw_os_error(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_operation_and_the_kernels_answer() {
        let e = EnvError::io(
            "create namespace squall-ab12cd-n2",
            io::Error::from_raw_os_error(libc::EPERM),
        );
        assert_eq!(
            e.to_string(),
            "create namespace squall-ab12cd-n2: Operation not permitted"
        );
        assert_eq!(e.errno(), Some(libc::EPERM));
        let e = EnvError::io("read", io::Error::other("short read"));
        assert_eq!(e.to_string(), "read: short read");
        assert_eq!(e.errno(), None);
    }
}
