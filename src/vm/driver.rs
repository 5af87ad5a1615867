//! The VMM-driver seam: what the VM environment needs from a virtual machine monitor.
//!
//! Cloud Hypervisor ([`crate::vm::ch`], over its REST API) and QEMU ([`crate::vm::qemu`],
//! over QMP) implement these two traits. A driver only starts the VMM
//! process and drives its one VM through the lifecycle. Everything else stays in the
//! environment, identical for every driver: the guest image and its command line, the TAP
//! devices and the hub, readiness (the serial log), faults on the network, cleanup of
//! files and namespaces.
//!
//! One VMM process drives exactly one VM. Its lifecycle, as the environment uses it:
//!
//! ```text
//! start ─► create ─► boot ─► Running ⇄ pause/resume (Paused)
//!                              │ reboot (Running again)
//!                              │ shutdown ─► Created ─► boot ...
//!                              ▼
//!                    delete / kill (the process is gone; start again for a new one)
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// A VM's state, as a VMM reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmState {
    /// Defined (or powered off again), not running.
    Created,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Shut down.
    Shutdown,
}

impl std::fmt::Display for VmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VmState::Created => "Created",
            VmState::Running => "Running",
            VmState::Paused => "Paused",
            VmState::Shutdown => "Shutdown",
        })
    }
}

/// The VM to define: a direct kernel boot with one disk and one TAP-backed NIC. Paths are
/// absolute; the TAP exists in the namespace the VMM was started in.
#[derive(Clone, Debug, PartialEq)]
pub struct VmSpec {
    /// vCPUs.
    pub cpus: u8,
    /// Guest memory in MiB.
    pub memory_mb: u64,
    /// The guest kernel.
    pub kernel: PathBuf,
    /// The initramfs, if any.
    pub initramfs: Option<PathBuf>,
    /// The kernel command line.
    pub cmdline: String,
    /// Block devices, in order (the guest sees `vda`, `vdb`, ...).
    pub disks: Vec<PathBuf>,
    /// The TAP device the NIC uses, if any.
    pub tap: Option<String>,
    /// The NIC's MAC address.
    pub mac: String,
    /// Where the guest's serial console (`ttyS0`) is written; truncated at each boot.
    pub serial: PathBuf,
}

/// How to start a VMM process.
#[derive(Debug)]
pub struct Launch<'a> {
    /// The VM's name, for messages.
    pub name: &'a str,
    /// A private (0700) directory for the VMM's sockets.
    pub dir: &'a Path,
    /// The network namespace to start the process in (it opens the TAP there).
    pub netns: &'a File,
    /// The file the process's stdout and stderr are appended to.
    pub log: &'a Path,
    /// How long the VMM may take to answer its first request.
    pub timeout: Duration,
}

/// Why a VMM operation failed. Messages name the VM and the operation, and carry the
/// VMM's own words.
#[derive(Debug, Error)]
pub enum VmmError {
    /// Starting, signalling or reaping the VMM process failed.
    #[error("{what}: {cause}")]
    Process {
        /// What was being done, e.g. `start cloud-hypervisor for n1`.
        what: String,
        /// Why.
        cause: String,
    },
    /// The VMM refused or failed a request (its error text is in `cause`).
    #[error("{what}: {cause}")]
    Api {
        /// What was being done, e.g. `pause n1`.
        what: String,
        /// The VMM's answer.
        cause: String,
    },
    /// The host cannot snapshot a VM: e.g. a nested KVM that cannot save the guest's
    /// nested state (`GetNestedState: Invalid argument`).
    #[error("snapshot unsupported by this host's KVM ({0})")]
    SnapshotUnsupported(String),
    /// The VMM process is not running (never started, killed, or exited).
    #[error("{0}: the VMM is not running")]
    NotRunning(String),
}

/// One VMM process and its one VM.
///
/// Calls are synchronous and bounded by timeouts; a method on a VM that is already in the
/// wanted state fails with the VMM's answer (callers that want idempotence check
/// [`Vmm::state`] first).
pub trait Vmm: Send {
    /// The VMM's process id, while it runs.
    fn pid(&self) -> Option<u32>;
    /// Whether the process is alive (reaps it if it exited).
    fn alive(&mut self) -> bool;
    /// The VMM's version string, e.g. `v53.0`.
    fn version(&mut self) -> Result<String, VmmError>;
    /// Defines the VM.
    fn create(&mut self, spec: &VmSpec) -> Result<(), VmmError>;
    /// Boots the defined VM.
    fn boot(&mut self) -> Result<(), VmmError>;
    /// The VM's state.
    fn state(&mut self) -> Result<VmState, VmmError>;
    /// Freezes the VM's vCPUs.
    fn pause(&mut self) -> Result<(), VmmError>;
    /// Continues a paused VM.
    fn resume(&mut self) -> Result<(), VmmError>;
    /// Resets the VM (it boots again at once).
    fn reboot(&mut self) -> Result<(), VmmError>;
    /// Powers the VM off at once (no guest cooperation); it can be booted again.
    fn shutdown(&mut self) -> Result<(), VmmError>;
    /// Forgets the VM definition.
    fn delete(&mut self) -> Result<(), VmmError>;
    /// Snapshots the (paused) VM into `dir`, which exists.
    fn snapshot(&mut self, dir: &Path) -> Result<(), VmmError>;
    /// Asks the VMM to exit, waiting up to `grace`, then kills it; reaps the process and
    /// removes its sockets. Idempotent.
    fn stop(&mut self, grace: Duration) -> Result<(), VmmError>;
    /// Kills the VMM process at once (SIGKILL), reaps it and removes its sockets: the VM
    /// dies with it, like a power cut. Idempotent.
    fn kill(&mut self) -> Result<(), VmmError>;
}

/// A VMM implementation: starts VMM processes.
pub trait VmmDriver: Send + Sync {
    /// The driver's name, e.g. `cloud-hypervisor`.
    fn name(&self) -> &str;
    /// Starts one VMM process as `launch` says, and waits until it answers.
    fn start(&self, launch: &Launch<'_>) -> Result<Box<dyn Vmm>, VmmError>;
}
