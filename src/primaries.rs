//! The fault target a run hands its nemeses: the environment, with the system's leader
//! hook behind [`FaultTarget::primaries`] — how a fault that targets `primaries` learns,
//! when it starts, which nodes lead ([`crate::systems::System::primaries`]; etcd asks each
//! member's status).
//!
//! Faults start on tokio's blocking pool (environments are synchronous), so the hook, an
//! async call, is driven there with the run's runtime handle. A cluster in the middle of
//! an election has no leader (say, the leader was just isolated by another fault): the
//! hook is asked again every 100 ms until someone leads, for up to [`LEADER_WAIT`] times
//! the op timeout — the fault starts that much later (its delay is in the run's figures) —
//! and the fault fails to start, saying so, if no one does.
//! Whether the system has a hook at all is checked before the run starts
//! ([`check`]): a test whose faults target `primaries` on a system without one is refused.

use crate::systems::{ClusterInfo, System};
use nemeses::{FaultTarget, NemesisError, RateLimit};
use std::sync::Arc;
use std::time::Duration;

/// How many op timeouts a fault waits for the system to name a leader.
pub const LEADER_WAIT: u32 = 5;

/// Refuses `nemeses` that target `primaries` (by name) on a `system` without a leader hook.
pub fn check(nemeses: &[&str], system: &dyn System) -> anyhow::Result<()> {
    if nemeses.is_empty() || system.has_leader_hook() {
        return Ok(());
    }
    anyhow::bail!(
        "[{}] targets = [\"primaries\"]: system {} has no leader hook to name its primaries \
         (choose other targets: one, minority, majority, all)",
        nemeses.join("], ["),
        system.name()
    )
}

/// The environment `env`, whose primaries are the ones `system` names.
pub struct WithPrimaries {
    /// The environment.
    pub env: Arc<dyn FaultTarget>,
    /// The system under test.
    pub system: Arc<dyn System>,
    /// Its cluster.
    pub cluster: ClusterInfo,
    /// What its setup returned.
    pub state: serde_json::Value,
    /// The run's runtime.
    pub runtime: tokio::runtime::Handle,
    /// How long the hook may take.
    pub timeout: Duration,
}

impl FaultTarget for WithPrimaries {
    fn node_count(&self) -> usize {
        self.env.node_count()
    }
    fn node_name(&self, node: usize) -> String {
        self.env.node_name(node)
    }
    fn block(&self, from: usize, to: usize) -> Result<(), NemesisError> {
        self.env.block(from, to)
    }
    fn unblock(&self, from: usize, to: usize) -> Result<(), NemesisError> {
        self.env.unblock(from, to)
    }
    fn pause(&self, node: usize) -> Result<(), NemesisError> {
        self.env.pause(node)
    }
    fn resume(&self, node: usize) -> Result<(), NemesisError> {
        self.env.resume(node)
    }
    fn kill(&self, node: usize) -> Result<(), NemesisError> {
        self.env.kill(node)
    }
    fn restart(&self, node: usize) -> Result<(), NemesisError> {
        self.env.restart(node)
    }
    fn heal_all(&self) -> Result<(), NemesisError> {
        self.env.heal_all()
    }
    fn link_down(&self, node: usize) -> Result<(), NemesisError> {
        self.env.link_down(node)
    }
    fn link_up(&self, node: usize) -> Result<(), NemesisError> {
        self.env.link_up(node)
    }
    fn rate_limit(&self, node: usize, limit: &RateLimit) -> Result<(), NemesisError> {
        self.env.rate_limit(node, limit)
    }
    fn unlimit(&self, node: usize) -> Result<(), NemesisError> {
        self.env.unlimit(node)
    }
    fn shape(&self, p: &nemeses::PacketParams) -> Result<(), NemesisError> {
        self.env.shape(p)
    }
    fn unshape(&self, p: &nemeses::PacketParams) -> Result<(), NemesisError> {
        self.env.unshape(p)
    }
    fn set_clock(&self, node: usize, change: &nemeses::ClockChange) -> Result<(), NemesisError> {
        self.env.set_clock(node, change)
    }
    fn reset_clock(&self, node: usize) -> Result<(), NemesisError> {
        self.env.reset_clock(node)
    }

    fn primaries(&self) -> Result<Vec<usize>, NemesisError> {
        let failed = |cause: String| NemesisError::Failed {
            what: format!("ask {} for its primaries", self.system.name()),
            cause,
        };
        let wait = self.timeout * LEADER_WAIT;
        let deadline = std::time::Instant::now() + wait;
        self.runtime.block_on(async {
            loop {
                let ask = self
                    .system
                    .primaries(&self.cluster, &self.state, self.timeout);
                let last = match tokio::time::timeout(self.timeout * 2, ask).await {
                    Err(_) => format!("no answer within {:?}", self.timeout * 2),
                    Ok(Err(e)) => format!("{e:#}"),
                    Ok(Ok(nodes)) if !nodes.is_empty() => return Ok(nodes),
                    Ok(Ok(_)) => format!("no node led within {wait:?}"),
                };
                if std::time::Instant::now() >= deadline {
                    return Err(failed(last));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    }
}
