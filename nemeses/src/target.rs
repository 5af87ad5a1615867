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
    /// Remove every fault: unblock all, resume all, restart all killed nodes.
    fn heal_all(&self) -> Result<(), NemesisError>;
    /// Shape the packets of `p.links` as `p.behaviour` says, each packet's fate decided
    /// from `p.seed` (see [`crate::packet`]). The default: unsupported.
    fn shape(&self, p: &crate::PacketParams) -> Result<(), NemesisError> {
        let _ = p;
        Err(NemesisError::Unsupported("packet".into()))
    }
    /// Undo [`FaultTarget::shape`]: held packets are released.
    fn unshape(&self, p: &crate::PacketParams) -> Result<(), NemesisError> {
        let _ = p;
        Ok(())
    }
}
