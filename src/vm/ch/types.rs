//! The JSON bodies of Cloud Hypervisor's REST API: serde types mirroring the schemas of
//! `vmm/src/api/openapi/cloud-hypervisor.yaml` (checked against v53.0).
//!
//! Only the fields squall uses are modelled. Optional fields are left out of requests
//! when `None` (CH then applies its own defaults), and answers may carry many more fields
//! than these (`vm.info` returns the whole effective configuration): serde ignores the
//! unknown ones, so a newer CH does not break the client.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `VmConfig`: the body of `vm.create`, and the `config` of `vm.info`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VmConfig {
    /// Virtual CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<CpusConfig>,
    /// Guest memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryConfig>,
    /// What to boot (required by CH).
    pub payload: PayloadConfig,
    /// Block devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<DiskConfig>>,
    /// Network devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<Vec<NetConfig>>,
    /// A virtio-vsock device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vsock: Option<VsockConfig>,
    /// The legacy serial port (the guest's `ttyS0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<ConsoleConfig>,
    /// The virtio console (the guest's `hvc0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<ConsoleConfig>,
}

/// `CpusConfig`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpusConfig {
    /// vCPUs at boot (at least 1).
    pub boot_vcpus: u8,
    /// vCPUs the VM can grow to with `vm.resize`.
    pub max_vcpus: u8,
}

/// `MemoryConfig`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryConfig {
    /// Bytes of guest memory.
    pub size: u64,
}

/// `PayloadConfig`: a direct kernel boot (or firmware).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PayloadConfig {
    /// The guest kernel (bzImage, or an ELF vmlinux with a PVH note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<PathBuf>,
    /// The initramfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initramfs: Option<PathBuf>,
    /// The kernel command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
    /// Firmware to boot instead of a kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<PathBuf>,
}

/// `DiskConfig`: a virtio-blk device backed by a file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskConfig {
    /// The backing file.
    pub path: PathBuf,
    /// Read-only to the guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly: Option<bool>,
    /// The device id (for `vm.remove-device`); CH picks one if `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `NetConfig`: a virtio-net device on a TAP.
///
/// `ip`/`mask` are what CH assigns to a TAP *it* creates; squall creates its TAPs itself
/// (addressed in the hub), so it leaves them `None` and CH does not touch the address.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// The TAP device's name (opened by name in CH's network namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tap: Option<String>,
    /// The guest's MAC address, `52:54:00:..`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The host side's IPv4 address, for a TAP CH creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The host side's netmask, for a TAP CH creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<String>,
    /// Queues (2 = one RX/TX pair; more opens the TAP multi-queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_queues: Option<u32>,
    /// The device id (for `vm.remove-device`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `VsockConfig`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VsockConfig {
    /// The guest's context id (3 or more).
    pub cid: u64,
    /// The host-side Unix socket.
    pub socket: PathBuf,
}

/// `ConsoleMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsoleMode {
    /// No device.
    Off,
    /// A pseudo-terminal.
    Pty,
    /// CH's own standard output.
    Tty,
    /// Written to `file` (truncated when the VM boots).
    File,
    /// A Unix socket.
    Socket,
    /// A device whose output is discarded.
    Null,
}

/// `SerialConfig` / `ConsoleConfig` (the fields both share).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsoleConfig {
    /// Where the output goes.
    pub mode: ConsoleMode,
    /// The file, for [`ConsoleMode::File`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

/// `VmState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VmState {
    /// Created (or shut down again), not running.
    Created,
    /// Booted and running.
    Running,
    /// Shut down (CH reports this only transiently; a shut-down VM is `Created`).
    Shutdown,
    /// Paused by `vm.pause`.
    Paused,
}

/// `VmInfo`: the answer of `vm.info`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmInfo {
    /// The effective configuration (with CH's defaults filled in).
    pub config: VmConfig,
    /// The VM's state.
    pub state: VmState,
    /// Guest memory actually in use, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_actual_size: Option<u64>,
}

/// `VmmPingResponse`: the answer of `vmm.ping`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmmPing {
    /// The release, e.g. `v53.0`.
    pub version: String,
    /// The build's version string (git describe).
    #[serde(default)]
    pub build_version: Option<String>,
    /// The VMM's process id.
    #[serde(default)]
    pub pid: Option<i64>,
    /// Compiled-in features (`kvm`, `io_uring`, ...).
    #[serde(default)]
    pub features: Vec<String>,
}

/// `VmCounters`: per device, per counter.
pub type VmCounters = BTreeMap<String, BTreeMap<String, u64>>;

/// `PciDeviceInfo`: the answer to a hot-plug.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PciDeviceInfo {
    /// The device id.
    pub id: String,
    /// Its PCI address.
    pub bdf: String,
}

/// `VmResize`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VmResize {
    /// vCPUs wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_vcpus: Option<u8>,
    /// Bytes of memory wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_ram: Option<u64>,
    /// Bytes the balloon should hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_balloon: Option<u64>,
}

/// `VmRemoveDevice`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmRemoveDevice {
    /// The device id.
    pub id: String,
}

/// `VmSnapshotConfig`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmSnapshotConfig {
    /// `file:///absolute/dir` (the directory must exist).
    pub destination_url: String,
}

/// `RestoreConfig`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestoreConfig {
    /// `file:///absolute/dir` of a snapshot.
    pub source_url: String,
    /// Fault in all guest memory at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefault: Option<bool>,
    /// Resume the VM after restoring (otherwise it stays paused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<bool>,
}

/// A `file://` URL for an absolute directory, as snapshot and restore want it.
pub fn file_url(dir: &std::path::Path) -> String {
    format!("file://{}", dir.display())
}
