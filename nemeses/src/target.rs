//! The seam between faults and environments.
//!
//! An environment (local processes in network namespaces, Cloud Hypervisor VMs, ...)
//! implements [`FaultTarget`]; a [`Fault`](crate::Fault) is applied to and healed on any
//! target through these few primitive operations. Nodes are numbered from 0.

use thiserror::Error;

/// Why a fault could not be applied or healed.
#[derive(Debug, Error)]
pub enum NemesisError {
    /// This host or environment cannot do it (e.g. netem without `sch_netem`).
    #[error("{0}: unsupported on this host")]
    Unsupported(String),
    /// No nemesis has this name.
    #[error("unknown nemesis {0:?}")]
    Unknown(String),
    /// A fault's parameters, as read back from a plan, are malformed.
    #[error("{nemesis} parameters: {cause}")]
    Params {
        /// The nemesis whose parameters they are.
        nemesis: String,
        /// What is wrong, e.g. "missing field `nodes`".
        cause: String,
    },
    /// A nemesis's options (its `[name]` table in the test file) are wrong.
    #[error("[{nemesis}]: {cause}")]
    Options {
        /// The nemesis.
        nemesis: String,
        /// What is wrong, e.g. "unknown field `shape`".
        cause: String,
    },
    /// The operation was attempted and failed.
    #[error("{what}: {cause}")]
    Failed {
        /// What was being done, e.g. "block n1 -> n2".
        what: String,
        /// The underlying error, as text.
        cause: String,
    },
}

/// What an environment offers the nemeses. All operations are synchronous and quick
/// (a netlink request, a signal, a spawn); each must be idempotent, so that healing twice or
/// healing what was never applied is harmless.
pub trait FaultTarget: Send + Sync {
    /// Number of nodes.
    fn node_count(&self) -> usize;
    /// The node's name, e.g. `n1`.
    fn node_name(&self, node: usize) -> String;
    /// Drop every packet from `from` to `to` (one direction).
    fn block(&self, from: usize, to: usize) -> Result<(), NemesisError>;
    /// Undo [`FaultTarget::block`].
    fn unblock(&self, from: usize, to: usize) -> Result<(), NemesisError>;
    /// Freeze the node (SIGSTOP, `vm.pause`).
    fn pause(&self, node: usize) -> Result<(), NemesisError>;
    /// Undo [`FaultTarget::pause`].
    fn resume(&self, node: usize) -> Result<(), NemesisError>;
    /// Crash the node (SIGKILL, VM power-off); its data stays.
    fn kill(&self, node: usize) -> Result<(), NemesisError>;
    /// Start a killed node again on the same data; a no-op if it is running.
    fn restart(&self, node: usize) -> Result<(), NemesisError>;
    /// Remove every fault: unblock all, resume all, restart all killed nodes, every link
    /// up and unshaped.
    fn heal_all(&self) -> Result<(), NemesisError>;

    /// Take the node's link down (the hub side of its veth or TAP): the node is cut off
    /// from everyone, clients included. The default: unsupported.
    fn link_down(&self, node: usize) -> Result<(), NemesisError> {
        Err(NemesisError::Unsupported(format!(
            "link down of {}",
            self.node_name(node)
        )))
    }
    /// Undo [`FaultTarget::link_down`]. The default does nothing (nothing went down).
    fn link_up(&self, _node: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    /// Limit the rate of what the node's link carries towards the node (a `tbf` qdisc on
    /// the hub side). The default: unsupported.
    fn rate_limit(&self, node: usize, _limit: &RateLimit) -> Result<(), NemesisError> {
        Err(NemesisError::Unsupported(format!(
            "rate limit on {}",
            self.node_name(node)
        )))
    }
    /// Undo [`FaultTarget::rate_limit`]. The default does nothing.
    fn unlimit(&self, _node: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    /// The nodes that lead right now, as the system under test says (its leader hook),
    /// for faults that target `primaries`. The default: the system has no such hook.
    fn primaries(&self) -> Result<Vec<usize>, NemesisError> {
        Err(NemesisError::Unsupported("naming the primaries".into()))
    }
    /// Shape the packets of `p.links` as `p.behaviour` says, each packet's fate decided
    /// from `p.seed` (see [`crate::packet`]). The default: unsupported.
    fn shape(&self, p: &crate::PacketParams) -> Result<(), NemesisError> {
        let _ = p;
        Err(NemesisError::Unsupported("packet".into()))
    }
    /// Change node `node`'s wall clock as `change` says (see [`crate::clock`]), replacing
    /// any change in force on it. The default: unsupported.
    fn set_clock(&self, node: usize, change: &crate::ClockChange) -> Result<(), NemesisError> {
        let _ = change;
        Err(NemesisError::Unsupported(format!(
            "clock of {}",
            self.node_name(node)
        )))
    }
    /// Undo [`FaultTarget::set_clock`]: the node's clock is the true time again. The
    /// default does nothing.
    fn reset_clock(&self, _node: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    /// Undo [`FaultTarget::shape`]: held packets are released.
    fn unshape(&self, p: &crate::PacketParams) -> Result<(), NemesisError> {
        let _ = p;
        Ok(())
    }
}

/// A rate limit on a link, as `tc ... tbf rate R burst B latency L` gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Bits per second.
    pub rate_bits: u64,
    /// The bucket, in bytes: how much may pass at once.
    pub burst_bytes: u32,
    /// How long a packet may wait in the queue before it is dropped, in microseconds.
    pub latency_us: u64,
}

impl RateLimit {
    /// The rate in bytes per second.
    pub fn rate_bytes(&self) -> u64 {
        self.rate_bits / 8
    }

    /// The queue behind the bucket, in bytes, as `tc` computes it from the latency:
    /// `rate × latency + burst`.
    pub fn limit_bytes(&self) -> u32 {
        let queued = u128::from(self.rate_bytes()) * u128::from(self.latency_us) / 1_000_000;
        u32::try_from(queued + u128::from(self.burst_bytes)).unwrap_or(u32::MAX)
    }
}

/// What a nemesis needs of an environment, for `squall doctor` to check and name the
/// backend that provides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// FIB `blackhole` rules in the hub.
    FibRules,
    /// Freezing and thawing a node (SIGSTOP/SIGCONT, `vm.pause`/`vm.resume`).
    Freeze,
    /// Killing and restarting a node (SIGKILL and respawn, a VMM killed and booted again).
    Crash,
    /// Taking a node's link (its veth or TAP in the hub) down and up.
    LinkState,
    /// A queueing discipline of this kind on a node's link in the hub (`tbf`, `netem`).
    Qdisc(&'static str),
    /// Shaping node-to-node packets in the hub: `netem`, or the userspace shaper (NFQUEUE).
    PacketShaping,
    /// Changing a node's wall clock without the host's: libfaketime preloaded into a local
    /// node's process, or the guest's own clock in a VM.
    Clock,
}
