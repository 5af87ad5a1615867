//! One environment over node backends: [`HubEnv`] is everything a run's cluster has in
//! common whatever runs its nodes — the run directory's claim, the hub namespace and a link
//! per node into it with the hub's address on it, partitions, the shape of every fault,
//! the link faults (down, rate limit), heal-all, teardown — and a [`NodeBackend`] is what
//! differs: how a node's link is made
//! and how a node is started, paused, resumed, killed, restarted and stopped. `local`
//! ([`super::local::ProcessBackend`]: a process in a namespace, a veth) and
//! `cloud-hypervisor` ([`crate::vm::env::VmBackend`]: a VMM in the hub, a TAP) are the two.
//!
//! ```text
//!            squall-<run>-hub  (ip_forward=1; clients and FIB-rule faults live here)
//!   <link 1> 198.18.1.1/24    <link 2> 198.18.2.1/24   ...   (a veth or a TAP per node)
//!   node 1   198.18.1.2/24    node 2   198.18.2.2/24   ...   (its namespace, or a VM)
//! ```

use super::hub::{failed, lock, Hub};
use super::names::{check_names, hub_addr, node_addr, validate_run_id, NAME_PREFIX};
use super::netlink::Netlink;
use super::run_dir::{claim_run_dir, remove_run_dir};
use super::shaper::Shapers;
use super::{netns, EnvError, Environment};
use crate::systems::NodeCommand;
use nemeses::{ClockChange, FaultTarget, NemesisError};
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Asked between the steps of making an environment: whether to give up (a Ctrl-C).
pub type Stopped<'a> = &'a (dyn Fn() -> bool + Sync);

/// What a node is doing, as far as the environment knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    /// [`HubEnv::start_node`] was never called (or failed).
    NotStarted,
    /// Running (a process: or stopped by a signal someone else sent).
    Running,
    /// Paused by [`FaultTarget::pause`].
    Paused,
    /// Killed by [`FaultTarget::kill`]; [`FaultTarget::restart`] brings it back.
    Killed,
    /// Stopped for good (a graceful stop, or teardown); heal-all leaves it stopped.
    Stopped,
    /// Stopped on its own (a crash of the system under test, a bad command, a VMM that
    /// died), with the process's exit status where there is one.
    Exited(Option<ExitStatus>),
}

/// Makes one link inside the hub, with the hub's netlink socket.
pub type MakeLink = Box<dyn FnOnce(&mut Netlink) -> Result<(), EnvError> + Send>;

/// The hub side of a node's link: its name, and how it is made inside the hub (on a thread
/// in the hub namespace, with the hub's netlink socket). The hub then gives it the hub's
/// address and brings it up.
pub struct HubLink {
    /// The hub-side interface name.
    pub name: String,
    /// Makes the interface.
    pub make: MakeLink,
}

/// How one kind of node is run. Every method that acts on a node is called with the
/// environment's node lock held, after [`NodeBackend::refresh`].
pub trait NodeBackend: Send + Sync + 'static {
    /// One node's state.
    type Node: Send;
    /// The environment's name in logs: `local`, `VM`.
    const KIND: &'static str;

    /// The node's name.
    fn name(n: &Self::Node) -> &str;
    /// Before the nodes are made: the backend's own files in the run directory.
    fn prepare(&self, _hub: &Hub) -> Result<(), EnvError> {
        Ok(())
    }
    /// Makes node `i`'s state, and whatever it needs before its link (e.g. its namespace).
    fn make_node(
        &self,
        hub: &Hub,
        i: usize,
        name: &str,
        log: PathBuf,
    ) -> Result<Self::Node, EnvError>;
    /// Node `n`'s link into the hub.
    fn hub_link(&self, hub: &Hub, n: &Self::Node) -> HubLink;
    /// After the hub's side of every link is up: the node's side (e.g. its address).
    fn finish_node(&self, _hub: &Hub, _n: &Self::Node) -> Result<(), EnvError> {
        Ok(())
    }
    /// The namespace the backend made for node `n`, if any, deleted at teardown.
    fn namespace(_n: &Self::Node) -> Option<&str> {
        None
    }

    /// Notices a node that stopped on its own.
    fn refresh(&self, n: &mut Self::Node);
    /// What node `n` is doing (refreshed).
    fn status(n: &Self::Node) -> NodeStatus;
    /// The directory node `name` keeps its state in, as the node sees it.
    fn data_dir(&self, hub: &Hub, name: &str) -> Result<PathBuf, EnvError>;
    /// Starts node `n` with `cmd` (remembered for restarts); fails if it runs.
    fn start(&self, hub: &Hub, n: &mut Self::Node, cmd: &NodeCommand) -> Result<(), EnvError>;
    /// Freezes node `n` (idempotent).
    fn pause(&self, n: &mut Self::Node) -> Result<(), EnvError>;
    /// Undoes [`NodeBackend::pause`] (idempotent).
    fn resume(&self, n: &mut Self::Node) -> Result<(), EnvError>;
    /// Kills node `n` at once; its data stays (idempotent).
    fn kill(&self, n: &mut Self::Node) -> Result<(), EnvError>;
    /// The `restart` fault: starts node `n` again on its command unless it runs.
    fn restart(&self, hub: &Hub, n: &mut Self::Node) -> Result<(), EnvError>;
    /// Heal-all's restart: starts node `n` again if it was killed or exited on its own.
    fn revive(&self, hub: &Hub, n: &mut Self::Node) -> Result<(), EnvError>;
    /// Node `n`, if it stopped on its own, described for a person with where to look.
    fn exited(&self, n: &Self::Node) -> Option<String>;
    /// Why node `n` may not be ready, when readiness times out.
    fn not_ready(&self, _n: &Self::Node) -> Option<String> {
        None
    }
    /// What helps a post-mortem of node `n`, kept in the store folder `dir`: a line to
    /// tell the person.
    fn post_mortem(&self, _n: &mut Self::Node, _dir: &Path) -> Option<String> {
        None
    }
    /// At teardown: stops node `n` for good and reaps it (every step attempted).
    fn stop(&self, n: &mut Self::Node) -> Result<(), EnvError>;
    /// How a system reads what the nodes wrote in their data directories
    /// ([`crate::env::Environment::node_files`]): the host's files by default.
    fn node_files(&self, _hub: &Hub) -> std::sync::Arc<dyn crate::systems::NodeFiles> {
        std::sync::Arc::new(crate::systems::HostFiles)
    }

    /// The `clock` fault: changes node `n`'s wall clock (see [`nemeses::clock`]). The
    /// default: unsupported in this environment.
    fn set_clock(
        &self,
        hub: &Hub,
        n: &mut Self::Node,
        change: &ClockChange,
    ) -> Result<(), NemesisError> {
        let _ = (hub, change);
        Err(NemesisError::Unsupported(format!(
            "clock of {} in the {} environment",
            Self::name(n),
            Self::KIND
        )))
    }
    /// Undoes [`NodeBackend::set_clock`] (idempotent). The default does nothing.
    fn reset_clock(&self, _hub: &Hub, _n: &mut Self::Node) -> Result<(), NemesisError> {
        Ok(())
    }
}

/// An environment of one run: the hub and its nodes, run by backend `B`. Dropping it tears
/// it down (see [`HubEnv::teardown`]).
pub struct HubEnv<B: NodeBackend> {
    pub(crate) hub: Hub,
    pub(crate) backend: B,
    nodes: Mutex<Vec<B::Node>>,
    torn_down: AtomicBool,
    packet: Shapers,
}

impl<B: NodeBackend> HubEnv<B> {
    /// Makes run `run_id`'s environment for nodes named `names`: claims the run directory
    /// (exclusively: a clash never touches another run's namespaces), makes the hub, each
    /// node and its link into the hub (see the module docs). `logs[i]` receives node `i`'s
    /// output. No node is started yet. `stopped` is asked before each namespace and link,
    /// so a Ctrl-C while a large cluster is being made does not wait for the rest of it
    /// ([`EnvError::Interrupted`]). On error, whatever was made is removed again.
    pub fn with_backend(
        run_id: &str,
        names: Vec<String>,
        logs: Vec<PathBuf>,
        backend: B,
        stopped: Stopped<'_>,
    ) -> Result<Self, EnvError> {
        validate_run_id(run_id)?;
        check_names(&names, &logs)?;
        let dir = claim_run_dir(run_id)?;
        let env = HubEnv {
            hub: Hub::new(run_id, dir, names),
            backend,
            nodes: Mutex::new(Vec::new()),
            torn_down: AtomicBool::new(false),
            packet: Shapers::default(),
        };
        // On error `env` is dropped here, which tears down what was built.
        env.build(logs, stopped)?;
        tracing::info!(
            run = run_id,
            nodes = env.hub.names().len(),
            "{} environment ready",
            B::KIND
        );
        Ok(env)
    }

    fn build(&self, logs: Vec<PathBuf>, stopped: Stopped<'_>) -> Result<(), EnvError> {
        let check = || {
            if stopped() {
                Err(EnvError::Interrupted)
            } else {
                Ok(())
            }
        };
        let hub = &self.hub;
        check()?;
        self.backend.prepare(hub)?;
        netns::create(hub.name())?;
        hub.hold_ns(netns::open(hub.name())?);
        for ((i, name), log) in hub.names().iter().enumerate().zip(logs) {
            check()?;
            // Into the environment at once: a failure below tears it down too.
            let n = self.backend.make_node(hub, i, name, log)?;
            self.lock_nodes().push(n);
        }
        let links: Vec<HubLink> = self
            .lock_nodes()
            .iter()
            .map(|n| self.backend.hub_link(hub, n))
            .collect();
        hub.set_links(links.iter().map(|l| l.name.clone()).collect());

        check()?;
        let name = hub.name();
        let nl = netns::run_in(name, || {
            fs::write("/proc/sys/net/ipv4/ip_forward", "1")
                .map_err(|e| EnvError::io(format!("enable ip_forward in {name}"), e))?;
            let mut nl = Netlink::open(name)?;
            nl.set_up("lo")?;
            for (i, link) in links.into_iter().enumerate() {
                check()?;
                (link.make)(&mut nl)?;
                nl.add_address(&link.name, hub_addr(i), 24)?;
                nl.set_up(&link.name)?;
            }
            Ok(nl)
        })?;
        hub.attach(nl);

        for n in self.lock_nodes().iter() {
            check()?;
            self.backend.finish_node(hub, n)?;
        }
        Ok(())
    }

    /// The node names, in node order.
    pub fn names(&self) -> &[String] {
        self.hub.names()
    }

    /// How this hub shapes packets (the `packet` nemesis's backend).
    pub fn packet_backend(&self) -> super::shaper::netem::Backend {
        self.packet.backend(&self.hub)
    }

    /// The hub-side link of each node, in node order.
    fn hub_links(&self) -> Vec<String> {
        self.lock_nodes()
            .iter()
            .map(|n| self.backend.hub_link(&self.hub, n).name)
            .collect()
    }

    /// The address of node `node`, reachable from the hub and from the other nodes.
    pub fn node_addr(&self, node: usize) -> Ipv4Addr {
        node_addr(node)
    }

    /// The hub namespace's name (its path is [`netns::path`] of it). Clients must run in
    /// it: the runner calls [`netns::enter`] with it on the thread that then builds its
    /// runtime.
    pub fn hub_ns(&self) -> &str {
        self.hub.name()
    }

    /// The run directory, `/tmp/squall-<run>/`.
    pub fn run_dir(&self) -> &Path {
        self.hub.dir()
    }

    /// The directory node `node` keeps its state in, as the node sees it.
    pub fn data_dir(&self, node: usize) -> Result<PathBuf, EnvError> {
        let name = self.names().get(node).ok_or_else(|| no_node(node))?;
        self.backend.data_dir(&self.hub, name)
    }

    pub(crate) fn lock_nodes(&self) -> MutexGuard<'_, Vec<B::Node>> {
        lock(&self.nodes)
    }

    /// Runs `f` on node `node` (refreshed first), with the node lock held.
    pub(crate) fn on_node<R>(
        &self,
        node: usize,
        f: impl FnOnce(&mut B::Node) -> R,
    ) -> Result<R, EnvError> {
        let mut nodes = self.lock_nodes();
        let n = nodes.get_mut(node).ok_or_else(|| no_node(node))?;
        self.backend.refresh(n);
        Ok(f(n))
    }

    /// What node `node` is doing.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn node_status(&self, node: usize) -> Result<NodeStatus, EnvError> {
        self.on_node(node, |n| B::status(n))
    }

    /// Starts node `node` with `cmd`, and remembers `cmd` for restarts. Fails if the node
    /// runs.
    pub fn start_node(&self, node: usize, cmd: &NodeCommand) -> Result<(), EnvError> {
        self.on_node(node, |n| self.backend.start(&self.hub, n, cmd))?
    }

    /// Tears the run down: stops and reaps every node (see the backend), kills anything
    /// left in the hub, deletes the run's namespaces (their links and rules go with them)
    /// and removes the run directory. Idempotent; also called on drop, so a panic
    /// unwinding through the owner cleans up. Every step is attempted; the first error is
    /// returned.
    pub fn teardown(&self) -> Result<(), EnvError> {
        // Holding the node lock for the whole teardown keeps a concurrent fault (say, a
        // restart) from starting a node into a namespace being deleted.
        let mut nodes = self.lock_nodes();
        if self.torn_down.load(Ordering::SeqCst) {
            return Ok(());
        }
        // Packet shapers stop (their held packets released) while the hub still exists.
        let mut result = self
            .packet
            .heal_all(&self.hub)
            .map_err(|e| EnvError::Invalid(e.to_string()));
        for n in nodes.iter_mut() {
            result = result.and(self.backend.stop(n));
        }
        self.hub.detach();
        // Anything still in the hub (nothing should be) dies before the namespace goes.
        if let Some(ns) = self.hub.release_ns() {
            if let Ok(id) = netns::id_of(&ns) {
                netns::kill_processes_in(&[id]);
            }
        }
        let mut names = vec![self.hub.name().to_string()];
        names.extend(
            nodes
                .iter()
                .filter_map(|n| B::namespace(n).map(str::to_string)),
        );
        // Also any other namespace of this run (a node's whose making failed half-way).
        let prefix = format!("{NAME_PREFIX}{}-", self.hub.run_id());
        if let Ok(all) = netns::list() {
            let extra: Vec<String> = all
                .into_iter()
                .filter(|n| n.starts_with(&prefix) && !names.contains(n))
                .collect();
            names.extend(extra);
        }
        for name in &names {
            result = result.and(netns::delete(name).map(|_| ()));
        }
        result = result.and(remove_run_dir(self.hub.dir()));
        self.torn_down.store(true, Ordering::SeqCst);
        tracing::info!(run = %self.hub.run_id(), "{} environment torn down", B::KIND);
        result
    }

    /// Runs backend fault `f` on node `node`; its error names the fault and the node.
    fn fault(
        &self,
        node: usize,
        what: &str,
        f: impl FnOnce(&B, &mut B::Node) -> Result<(), EnvError>,
    ) -> Result<(), NemesisError> {
        let mut nodes = self.lock_nodes();
        let n = nodes
            .get_mut(node)
            .ok_or_else(|| failed(format!("{what} node {node}"), no_node(node)))?;
        let what = format!("{what} {}", B::name(n));
        self.backend.refresh(n);
        f(&self.backend, n).map_err(|e| failed(what, e))
    }

    /// Runs backend fault `f` on node `node`, which says its own errors.
    fn clock_fault(
        &self,
        node: usize,
        f: impl FnOnce(&B, &mut B::Node) -> Result<(), NemesisError>,
    ) -> Result<(), NemesisError> {
        let mut nodes = self.lock_nodes();
        let n = nodes
            .get_mut(node)
            .ok_or_else(|| failed(format!("clock of node {node}"), no_node(node)))?;
        self.backend.refresh(n);
        f(&self.backend, n)
    }
}

impl<B: NodeBackend> Drop for HubEnv<B> {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            tracing::warn!(run = %self.hub.run_id(), error = %e, "teardown incomplete; `squall clean` removes the rest");
        }
    }
}

pub(crate) fn no_node(node: usize) -> EnvError {
    EnvError::Invalid(format!("no node {node}"))
}

impl<B: NodeBackend> Environment for HubEnv<B> {
    fn node_addr(&self, node: usize) -> Ipv4Addr {
        node_addr(node)
    }

    fn hub_ns(&self) -> &str {
        self.hub.name()
    }

    fn data_dir(&self, node: usize) -> Result<PathBuf, EnvError> {
        HubEnv::data_dir(self, node)
    }

    fn start_node(&self, node: usize, cmd: &NodeCommand) -> Result<(), EnvError> {
        HubEnv::start_node(self, node, cmd)
    }

    fn exited_node(&self) -> Option<String> {
        let mut nodes = self.lock_nodes();
        nodes.iter_mut().find_map(|n| {
            self.backend.refresh(n);
            self.backend.exited(n)
        })
    }

    fn not_ready_hint(&self) -> Option<String> {
        let nodes = self.lock_nodes();
        let hints: Vec<String> = nodes
            .iter()
            .filter_map(|n| self.backend.not_ready(n))
            .collect();
        // One line (the run prints its error chain on one line): nodes separated by `; `.
        (!hints.is_empty()).then(|| hints.join("; "))
    }

    fn post_mortem(&self, dir: &Path) -> Vec<String> {
        let mut nodes = self.lock_nodes();
        nodes
            .iter_mut()
            .filter_map(|n| self.backend.post_mortem(n, dir))
            .collect()
    }

    fn node_files(&self) -> std::sync::Arc<dyn crate::systems::NodeFiles> {
        self.backend.node_files(&self.hub)
    }

    fn teardown(&self) -> Result<(), EnvError> {
        HubEnv::teardown(self)
    }
}

impl<B: NodeBackend> FaultTarget for HubEnv<B> {
    fn node_count(&self) -> usize {
        self.names().len()
    }

    fn node_name(&self, node: usize) -> String {
        self.names()
            .get(node)
            .cloned()
            .unwrap_or_else(|| format!("node{node}"))
    }

    fn block(&self, from: usize, to: usize) -> Result<(), NemesisError> {
        self.hub.block(from, to)
    }

    fn unblock(&self, from: usize, to: usize) -> Result<(), NemesisError> {
        self.hub.unblock(from, to)
    }

    fn pause(&self, node: usize) -> Result<(), NemesisError> {
        self.fault(node, "pause", |b, n| b.pause(n))
    }

    fn resume(&self, node: usize) -> Result<(), NemesisError> {
        self.fault(node, "resume", |b, n| b.resume(n))
    }

    fn kill(&self, node: usize) -> Result<(), NemesisError> {
        self.fault(node, "kill", |b, n| b.kill(n))
    }

    fn restart(&self, node: usize) -> Result<(), NemesisError> {
        self.fault(node, "restart", |b, n| b.restart(&self.hub, n))
    }

    fn link_down(&self, node: usize) -> Result<(), NemesisError> {
        self.hub.link_state(node, false)
    }

    fn link_up(&self, node: usize) -> Result<(), NemesisError> {
        self.hub.link_state(node, true)
    }

    fn rate_limit(&self, node: usize, limit: &nemeses::RateLimit) -> Result<(), NemesisError> {
        self.hub.rate_limit(node, limit)
    }

    fn unlimit(&self, node: usize) -> Result<(), NemesisError> {
        self.hub.unlimit(node)
    }

    fn heal_all(&self) -> Result<(), NemesisError> {
        let mut result = self.hub.unblock_all();
        result = result.and(self.hub.heal_links());
        result = result.and(self.packet.heal_all(&self.hub));
        for node in 0..self.names().len() {
            result = result.and(self.resume(node));
            result = result.and(self.clock_fault(node, |b, n| b.reset_clock(&self.hub, n)));
            result = result.and(self.fault(node, "restart", |b, n| b.revive(&self.hub, n)));
        }
        result
    }

    fn shape(&self, p: &nemeses::PacketParams) -> Result<(), NemesisError> {
        let links = self.hub_links();
        self.packet.shape(&self.hub, &links, p)
    }

    fn unshape(&self, p: &nemeses::PacketParams) -> Result<(), NemesisError> {
        self.packet.unshape(&self.hub, p)
    }

    fn set_clock(&self, node: usize, change: &ClockChange) -> Result<(), NemesisError> {
        self.clock_fault(node, |b, n| b.set_clock(&self.hub, n, change))
    }

    fn reset_clock(&self, node: usize) -> Result<(), NemesisError> {
        self.clock_fault(node, |b, n| b.reset_clock(&self.hub, n))
    }
}
