//! The seam to the guest image ([`crate::image`] builds it): what a VM boots, the kernel
//! command line that tells its init who it is and what to run, its data disk, and the
//! readiness line the init prints on the serial console.

use crate::env::EnvError;
use crate::image::{self, cmdline::MAX_CMDLINE, GuestImage};
use crate::systems::NodeCommand;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The guest's block device the data disk appears as (the VM's first and only disk).
pub const DATA_DEVICE: &str = "/dev/vda";
/// Where the init mounts the data disk; node data directories live there.
pub const DATA_MOUNT: &str = "/data";

/// What a VM boots: a direct-boot kernel and an initramfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootFiles {
    /// The kernel (bzImage or PVH ELF).
    pub kernel: PathBuf,
    /// The initramfs, if any.
    pub initramfs: Option<PathBuf>,
}

impl From<&GuestImage> for BootFiles {
    fn from(image: &GuestImage) -> Self {
        BootFiles {
            kernel: image.kernel.clone(),
            initramfs: Some(image.initramfs.clone()),
        }
    }
}

/// The line the init prints on the serial console when node `name` has started:
/// `squall: ready <name>`.
pub fn readiness_line(name: &str) -> String {
    format!("squall: ready {name}")
}

/// The kernel command line of node `name` at `ip/prefix` behind gateway `gw`, running
/// `cmd`, with its data disk at [`DATA_DEVICE`] ([`image::kernel_cmdline`] plus
/// `squall.data`). Fails if it is longer than the kernel takes.
pub fn kernel_cmdline(
    name: &str,
    ip: Ipv4Addr,
    prefix: u8,
    gw: Ipv4Addr,
    cmd: &NodeCommand,
) -> Result<String, EnvError> {
    let line = format!(
        "{} squall.data={DATA_DEVICE}",
        image::kernel_cmdline(name, ip, prefix, gw, cmd)
    );
    if line.len() >= MAX_CMDLINE {
        return Err(EnvError::Invalid(format!(
            "{name}: kernel command line of {} bytes exceeds the kernel's {} (node command too long)",
            line.len(),
            MAX_CMDLINE - 1
        )));
    }
    Ok(line)
}

/// Makes node data disk `path` ([`image::make_data_disk`]: a sparse file of `size_mb` MiB
/// with an empty ext4 file system), unless it exists already: a restarted node keeps its
/// data.
pub fn make_data_disk(path: &Path, size_mb: u64) -> Result<(), EnvError> {
    if path.exists() {
        return Ok(());
    }
    image::make_data_disk(path, size_mb).map_err(|e| {
        let _ = std::fs::remove_file(path);
        EnvError::Invalid(format!("make data disk {}: {e:#}", path.display()))
    })
}
