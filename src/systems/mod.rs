//! System adapters: how to start a node of the system under test, when it is ready, and how
//! a client talks to it. Adding a system is adding one file here and one line in [`by_name`].

pub mod etcd;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use workloads::{BoxFuture, Client};

/// What a system needs to know about the cluster it runs on.
#[derive(Clone, Debug)]
pub struct ClusterInfo {
    /// Node names, `n1`, `n2`, ...
    pub names: Vec<String>,
    /// Each node's address (reachable from the hub, where clients run).
    pub addrs: Vec<Ipv4Addr>,
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
    /// A client bound to `node`, whose ops time out after `timeout` (→ `info`).
    fn client(&self, cluster: &ClusterInfo, node: usize, timeout: Duration) -> Arc<dyn Client>;
}
