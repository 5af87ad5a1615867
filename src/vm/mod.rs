//! Nodes as virtual machines: the `cloud-hypervisor` and `qemu` environments.
//!
//! Map of this module:
//! - [`driver`]: the VMM-driver seam ([`driver::VmmDriver`] starts VMM processes,
//!   [`driver::Vmm`] drives one VM through its lifecycle). One module per VMM:
//! - [`ch`]: Cloud Hypervisor — its process, its REST client ([`ch::api`]) and the API's
//!   JSON types ([`ch::types`]).
//! - [`qemu`]: QEMU — its command line and accelerator ([`qemu::cmdline`]) and a QMP
//!   client ([`qemu::qmp`]).
//! - [`env`]: [`env::VmBackend`], the VM backend of the one hub environment
//!   ([`crate::env::hub_env::HubEnv`]; [`env::VmEnv`] is the two together): a TAP and a
//!   VMM per node, their faults, readiness hints, post-mortem snapshots.
//! - [`tap`]: persistent TAP devices; [`guest`]: the seam to the guest image (command
//!   line, data disk, readiness line); [`stub_kernel`]: a halting PVH guest for lifecycle
//!   checks where no real kernel is at hand.
//!
//! [`create`] makes the environment `squall run --env cloud-hypervisor|qemu` uses over a
//! driver; [`locate_ch`] and [`locate_qemu`] find the binaries.

pub mod ch;
pub mod driver;
pub mod env;
pub mod guest;
pub mod qemu;
pub mod stub_kernel;
pub mod tap;

pub use env::VmEnv;
pub use guest::BootFiles;

use crate::env::{EnvError, Environment};
use anyhow::bail;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How `squall run --env cloud-hypervisor|qemu` makes its VMs.
#[derive(Clone, Debug)]
pub struct VmOptions {
    /// The guest kernel and initramfs (the image `squall image build` made).
    pub image: BootFiles,
    /// vCPUs per VM.
    pub cpus: u8,
    /// Memory per VM, MiB.
    pub memory_mb: u64,
    /// Each node's data disk, MiB (a sparse file).
    pub disk_mb: u64,
    /// How long a VMM may take to answer its API after it starts.
    pub api_timeout: Duration,
}

impl VmOptions {
    /// Defaults for `image`: 1 vCPU, 512 MiB, a 1 GiB data disk.
    pub fn new(image: BootFiles) -> Self {
        VmOptions {
            image,
            cpus: 1,
            memory_mb: 512,
            disk_mb: 1024,
            api_timeout: Duration::from_secs(5),
        }
    }
}

/// Creates the VM environment of run `run_id` (see [`env`]): one VM per name in `names`,
/// each run by its own process of `driver`, VMM output appended to `logs[i]`, serial
/// console beside it. No VM is started yet ([`Environment::start_node`] boots one).
pub fn create(
    run_id: &str,
    names: Vec<String>,
    logs: Vec<PathBuf>,
    driver: Arc<dyn driver::VmmDriver>,
    opts: &VmOptions,
) -> Result<Arc<dyn Environment>, EnvError> {
    for (what, path) in [
        ("kernel", Some(&opts.image.kernel)),
        ("initramfs", opts.image.initramfs.as_ref()),
    ] {
        if let Some(path) = path {
            if !path.is_file() {
                return Err(EnvError::Invalid(format!(
                    "guest {what} {} not found (run `squall image build`)",
                    path.display()
                )));
            }
        }
    }
    let config = env::VmConfig {
        boot: opts.image.clone(),
        cpus: opts.cpus,
        memory_mb: opts.memory_mb,
        disk_mb: opts.disk_mb,
        api_timeout: opts.api_timeout,
        stop_grace: Duration::from_secs(2),
    };
    Ok(Arc::new(VmEnv::create(
        run_id, names, logs, driver, config,
    )?))
}

/// The `cloud-hypervisor` binary: `explicit` if given (it must be an executable file),
/// else the first on `PATH`. The error is one line saying what to do.
pub fn locate_ch(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if is_executable(path) {
            return Ok(path.to_path_buf());
        }
        bail!(
            "cloud-hypervisor binary {} not found or not executable",
            path.display()
        );
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(ch::BINARY);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    bail!(
        "cloud-hypervisor not found on PATH: pass --cloud-hypervisor PATH (no package registry \
         carries it; build it from github.com/cloud-hypervisor/cloud-hypervisor)"
    )
}

/// The `qemu-system-x86_64` binary: `explicit` if given, else the first on `PATH`.
pub fn locate_qemu(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if is_executable(path) {
            return Ok(path.to_path_buf());
        }
        bail!("qemu binary {} not found or not executable", path.display());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(qemu::BINARY);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    bail!(
        "{} not found on PATH (apt-get install qemu-system-x86)",
        qemu::BINARY
    )
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// An I/O error's text without the `(os error N)` suffix.
pub(crate) fn describe_io(e: &std::io::Error) -> String {
    crate::env::describe(e)
}
