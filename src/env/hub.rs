//! The hub's partition rules, shared by every environment.
//!
//! Whatever runs the nodes (processes, VMs), node-to-node traffic crosses the run's hub
//! namespace, so a partition is the same thing everywhere: a FIB rule `from A to B
//! blackhole` at priority [`RULE_PRIORITY`] in the hub. [`Hub`] holds the netlink socket
//! opened inside the hub and makes, removes and sweeps those rules.

use super::local::{node_addr, RULE_PRIORITY};
use super::netlink::Netlink;
use super::EnvError;
use nemeses::NemesisError;
use std::net::Ipv4Addr;
use std::sync::{Mutex, MutexGuard};

/// The hub of one run, as far as faults are concerned.
pub struct Hub {
    names: Vec<String>,
    nl: Mutex<Option<Netlink>>,
}

impl Hub {
    /// The hub of a run whose nodes are `names`; no socket yet.
    pub fn new(names: Vec<String>) -> Hub {
        Hub {
            names,
            nl: Mutex::new(None),
        }
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
        self.nl.lock().unwrap_or_else(|e| e.into_inner())
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

fn failed(what: String, e: EnvError) -> NemesisError {
    NemesisError::Failed {
        what,
        cause: e.to_string(),
    }
}
