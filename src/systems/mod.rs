//! System adapters: how to start a node of the system under test, when it is ready, how the
//! cluster is formed once every node is up, and how a client talks to it. Adding a system is
//! adding one file here and one line in [`builtin`].
//!
//! The lifecycle a run drives: [`System::node_command`] for each node (and again for a
//! restart), [`System::wait_ready`], then [`System::setup`] once (cluster formation: a
//! system whose nodes must be joined by hand does it here), whose result — any state the
//! clients need, such as a ticket or the endpoints — is handed to every
//! [`System::client`]. [`System::ops`] names the op vocabularies its clients speak;
//! [`System::image_binaries`] what a guest image must carry; [`System::doctor`] what
//! `squall doctor` checks on the host; [`System::primaries`], optional, which nodes lead
//! (for faults that target `primaries`).

pub mod aspen;
pub mod command;
pub mod etcd;

use crate::config::TestConfig;
use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use workloads::{BoxFuture, Client};

/// What a system needs to know about the cluster it runs on.
#[derive(Clone)]
pub struct ClusterInfo {
    /// Node names, `n1`, `n2`, ...
    pub names: Vec<String>,
    /// Each node's address (reachable from the hub, where clients run).
    pub addrs: Vec<Ipv4Addr>,
    /// What the nodes wrote in their data directories, read wherever they run (a system's
    /// readiness and setup steps read tickets, ids, ports a node writes there).
    pub files: Arc<dyn NodeFiles>,
}

impl ClusterInfo {
    /// Nodes `names` at `addrs` whose files are the host's ([`HostFiles`]: local nodes).
    pub fn new(names: Vec<String>, addrs: Vec<Ipv4Addr>) -> Self {
        ClusterInfo {
            names,
            addrs,
            files: Arc::new(HostFiles),
        }
    }
}

impl std::fmt::Debug for ClusterInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterInfo")
            .field("names", &self.names)
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

/// Reads what a node wrote under its data directory, wherever the node runs: the host's
/// file system for a local node ([`HostFiles`]), the guest's through its init's control for
/// a VM. Paths are the node's own, as [`System::node_command`] was given its data dir.
/// Each call may block for a moment (a VM's answer comes over the network): call it off the
/// async runtime's threads (`tokio::task::spawn_blocking`).
pub trait NodeFiles: Send + Sync {
    /// The contents of the file `path` of node `node`; `None` if there is none (yet).
    fn read(&self, node: usize, path: &Path) -> Result<Option<Vec<u8>>, String>;
    /// The names in the directory `path` of node `node`, in no particular order; `None` if
    /// there is no such directory (yet).
    fn list(&self, node: usize, path: &Path) -> Result<Option<Vec<String>>, String>;
}

/// The files of nodes that run on this host: its own file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostFiles;

impl NodeFiles for HostFiles {
    fn read(&self, _node: usize, path: &Path) -> Result<Option<Vec<u8>>, String> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    fn list(&self, _node: usize, path: &Path) -> Result<Option<Vec<String>>, String> {
        match std::fs::read_dir(path) {
            Ok(entries) => Ok(Some(
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect(),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

/// How to start one node: a program with arguments, run in the node's environment.
#[derive(Clone, Debug)]
pub struct NodeCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Start from an empty environment (only `env`) instead of squall's own: for a program
    /// that reads its configuration from variables (Aspen's `ASPEN_*`), so nothing in the
    /// shell that started squall changes what is tested. A guest's init starts every node
    /// from a clean environment anyway.
    pub clear_env: bool,
}

/// A system under test.
pub trait System: Send + Sync {
    /// Its name, e.g. `etcd`.
    fn name(&self) -> &'static str;
    /// The command that starts node `node`, keeping its state in `data_dir` (which exists).
    /// Restarting a killed node runs the same command on the same directory.
    fn node_command(&self, node: usize, cluster: &ClusterInfo, data_dir: &Path) -> NodeCommand;
    /// Resolves once the whole cluster serves requests, or fails after `timeout` naming the
    /// node that is not ready.
    fn wait_ready<'a>(
        &'a self,
        cluster: &'a ClusterInfo,
        timeout: Duration,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Runs once every node is ready, before any client op: forms the cluster where its
    /// nodes do not find each other (init, add members, change membership), within
    /// `timeout`. Returns what the clients need to know (handed to [`System::client`]); the
    /// default does nothing and returns `null`.
    fn setup<'a>(
        &'a self,
        _cluster: &'a ClusterInfo,
        _timeout: Duration,
    ) -> BoxFuture<'a, anyhow::Result<Value>> {
        Box::pin(async { Ok(Value::Null) })
    }
    /// A client bound to `node`, whose ops time out after `timeout` (→ `info`); `state` is
    /// what [`System::setup`] returned.
    fn client(
        &self,
        cluster: &ClusterInfo,
        node: usize,
        timeout: Duration,
        state: &Value,
    ) -> Arc<dyn Client>;
    /// The op vocabularies its clients speak ([`workloads::Workload::ops`]: `register`,
    /// `set`, `bank`, ...).
    fn ops(&self) -> &'static [&'static str];
    /// The host binaries a guest image of this system carries, at the same paths in the
    /// guest (the node's program first).
    fn image_binaries(&self) -> anyhow::Result<Vec<PathBuf>>;
    /// What `squall doctor` checks on the host for this system: a label and the finding
    /// (`Ok` with a detail such as the version, or `Err` saying what is wrong).
    fn doctor(&self) -> Vec<(String, Result<String, String>)>;

    /// Whether [`System::primaries`] can name the leader: faults that target `primaries`
    /// need it, and are refused before a run starts on a system without it.
    fn has_leader_hook(&self) -> bool {
        false
    }
    /// The leader hook: the nodes that lead right now (for Raft, those that believe they
    /// are leader; there may briefly be two), asked when a fault targeting `primaries`
    /// starts, within `timeout`. `state` is what [`System::setup`] returned. Nodes that do
    /// not answer are not primaries.
    fn primaries<'a>(
        &'a self,
        _cluster: &'a ClusterInfo,
        _state: &'a Value,
        _timeout: Duration,
    ) -> BoxFuture<'a, anyhow::Result<Vec<usize>>> {
        let name = self.name();
        Box::pin(async move { anyhow::bail!("system {name} has no leader hook") })
    }
}

/// The error of a system that is defined by a test file (the `command` system's `[command]`
/// table) and so cannot be made without one: `squall doctor` shows it as nothing to check
/// on the host yet, rather than as a failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DefinedByTestFile(pub String);

/// Makes a system from a test's configuration (its binaries located, its options read), for a
/// workload whose ops are of the vocabulary given (`register`, `set`, ...).
pub type SystemMaker =
    Arc<dyn Fn(&TestConfig, &str) -> anyhow::Result<Arc<dyn System>> + Send + Sync>;

/// The defaults squall's own systems give other plug-ins' options, as `(system, plug-in,
/// table)` ([`crate::registry::Registry::system_defaults`]).
pub fn builtin_defaults() -> Vec<(&'static str, &'static str, Value)> {
    aspen::plugin_defaults()
        .into_iter()
        .map(|(plugin, table)| ("aspen", plugin, table))
        .collect()
}

/// squall's own systems, as the [registry](crate::registry) starts with them. Adding a system
/// is one file here and one line in this list (or, from a user's crate,
/// [`crate::registry::Registry::system`]).
pub fn builtin() -> Vec<(&'static str, SystemMaker)> {
    vec![
        (
            "etcd",
            Arc::new(
                |cfg: &TestConfig, ops: &str| -> anyhow::Result<Arc<dyn System>> {
                    Ok(Arc::new(etcd::Etcd::from_config(cfg, ops)?))
                },
            ),
        ),
        (
            "aspen",
            Arc::new(
                |cfg: &TestConfig, ops: &str| -> anyhow::Result<Arc<dyn System>> {
                    Ok(Arc::new(aspen::Aspen::from_config(cfg, ops)?))
                },
            ),
        ),
        (
            "command",
            Arc::new(
                |cfg: &TestConfig, _ops: &str| -> anyhow::Result<Arc<dyn System>> {
                    Ok(Arc::new(command::Command::from_config(cfg)?))
                },
            ),
        ),
    ]
}
