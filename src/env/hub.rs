//! The hub of one run, shared by every environment: its name and run directory, its
//! namespace (held open: processes that must run in it `setns` into it), the netlink
//! socket opened inside it, the hub side of each node's link (for the link faults of
//! [`super::links`]), and the partition rules.
//!
//! Whatever runs the nodes (processes, VMs), node-to-node traffic crosses the run's hub
//! namespace, so a partition is the same thing everywhere: a FIB rule `from A to B
//! blackhole` at priority [`RULE_PRIORITY`] in the hub. [`Hub`] makes, removes and sweeps
//! those rules.

use super::names::{hub_ns_name, node_addr, RULE_PRIORITY};
use super::netlink::Netlink;
use super::EnvError;
use nemeses::NemesisError;
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The hub of one run.
pub struct Hub {
    run_id: String,
    name: String,
    dir: PathBuf,
    names: Vec<String>,
    /// The hub namespace, open. `None` before it is made and after teardown.
    ns: Mutex<Option<File>>,
    nl: Mutex<Option<Netlink>>,
    /// The hub side of each node's link (a veth or a TAP), in node order, once made.
    links: Mutex<Vec<String>>,
}

impl Hub {
    /// The hub of run `run_id` (run directory `dir`, already claimed) whose nodes are
    /// `names`; no namespace or socket yet.
    pub fn new(run_id: &str, dir: PathBuf, names: Vec<String>) -> Hub {
        Hub {
            run_id: run_id.to_string(),
            name: hub_ns_name(run_id),
            dir,
            names,
            ns: Mutex::new(None),
            nl: Mutex::new(None),
            links: Mutex::new(Vec::new()),
        }
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The hub namespace's name, `squall-<run>-hub`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The run directory, `/tmp/squall-<run>/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The node names, in node order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Keeps the hub namespace open (for [`Hub::with_ns`]).
    pub fn hold_ns(&self, ns: File) {
        *lock(&self.ns) = Some(ns);
    }

    /// Closes the hub namespace (at teardown) and returns it for a last look.
    pub fn release_ns(&self) -> Option<File> {
        lock(&self.ns).take()
    }

    /// Runs `f` with the open hub namespace; fails with `<what>: torn down` without one.
    pub fn with_ns<R>(
        &self,
        what: &str,
        f: impl FnOnce(&File) -> Result<R, EnvError>,
    ) -> Result<R, EnvError> {
        match lock(&self.ns).as_ref() {
            Some(ns) => f(ns),
            None => Err(EnvError::Invalid(format!("{what}: torn down"))),
        }
    }

    /// Records the hub side of each node's link, in node order.
    pub fn set_links(&self, links: Vec<String>) {
        *lock(&self.links) = links;
    }

    /// The hub side of node `node`'s link, and the node's name.
    pub fn link(&self, node: usize, what: &str) -> Result<(String, String), NemesisError> {
        let name = self.names.get(node).cloned();
        let link = lock(&self.links).get(node).cloned();
        match (name, link) {
            (Some(n), Some(l)) => Ok((l, n)),
            _ => Err(failed(
                format!("{what} node {node}"),
                EnvError::Invalid(format!("no node {node}")),
            )),
        }
    }

    /// The hub side of every node's link.
    pub fn links(&self) -> Vec<String> {
        lock(&self.links).clone()
    }

    /// Gives the hub its netlink socket (opened inside the hub namespace).
    pub fn attach(&self, nl: Netlink) {
        *self.lock() = Some(nl);
    }

    /// Drops the socket (at teardown); later requests fail with "torn down".
    pub fn detach(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> MutexGuard<'_, Option<Netlink>> {
        lock(&self.nl)
    }

    /// Runs `f` with the hub's socket.
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut Netlink) -> Result<R, EnvError>,
    ) -> Result<R, EnvError> {
        match self.lock().as_mut() {
            Some(nl) => f(nl),
            None => Err(EnvError::Invalid("torn down".into())),
        }
    }

    /// Drops packets from node `from` to node `to` (idempotent).
    pub fn block(&self, from: usize, to: usize) -> Result<(), NemesisError> {
        let (a, b, what) = self.pair(from, to, "block")?;
        self.with(|nl| match nl.add_blackhole_rule(RULE_PRIORITY, a, b) {
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(()),
            r => r,
        })
        .map_err(|e| failed(what, e))
    }

    /// Undoes [`Hub::block`] (idempotent).
    pub fn unblock(&self, from: usize, to: usize) -> Result<(), NemesisError> {
        let (a, b, what) = self.pair(from, to, "unblock")?;
        self.with(|nl| match nl.del_blackhole_rule(RULE_PRIORITY, a, b) {
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
            r => r,
        })
        .map_err(|e| failed(what, e))
    }

    /// Removes every partition rule in the hub, including ones no guard knows about.
    pub fn unblock_all(&self) -> Result<(), NemesisError> {
        self.with(|nl| {
            for rule in nl.rules()? {
                if rule.priority == RULE_PRIORITY && rule.blackhole {
                    match nl.del_rule(&rule) {
                        Err(e) if e.errno() == Some(libc::ENOENT) => {}
                        r => r?,
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| failed("heal partitions".into(), e))
    }

    fn pair(
        &self,
        from: usize,
        to: usize,
        what: &str,
    ) -> Result<(Ipv4Addr, Ipv4Addr, String), NemesisError> {
        let name = |i: usize| {
            self.names.get(i).ok_or_else(|| {
                failed(
                    format!("{what} {from} -> {to}"),
                    EnvError::Invalid(format!("no node {i}")),
                )
            })
        };
        let label = format!("{what} {} -> {}", name(from)?, name(to)?);
        Ok((node_addr(from), node_addr(to), label))
    }
}

/// A lock whose holder panicked is still good: what it guards is kept consistent step by
/// step, so keep going.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fault that failed: `what` was being done, `e` is why.
pub(crate) fn failed(what: String, e: EnvError) -> NemesisError {
    NemesisError::Failed {
        what,
        cause: e.to_string(),
    }
}
