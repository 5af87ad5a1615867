//! TAP devices for VMs, made the way `ip tuntap add NAME mode tap` makes them: open
//! `/dev/net/tun`, `TUNSETIFF` with `IFF_TAP | IFF_NO_PI`, `TUNSETPERSIST`, close.
//!
//! The device is created in the calling thread's network namespace (callers run this
//! inside the hub through [`crate::env::netns::run_in`]) and, being persistent, outlives
//! the descriptor: the VMM, started in the same namespace, opens it again by name. It is
//! owned by root, like everything squall runs. It goes away with its namespace (tun
//! devices are unregistered, not moved to the host, when their namespace is deleted), so
//! tearing the hub down removes every TAP of the run.

use crate::env::EnvError;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;

/// `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// `_IOW('T', 203, int)`.
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` with the `ifr_flags` member of its union (40 bytes on 64-bit Linux).
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Creates the persistent TAP device `name` (at most 15 bytes) in the calling thread's
/// namespace. Attaching to an existing TAP of that name succeeds too.
pub fn create(name: &str) -> Result<(), EnvError> {
    let what = || format!("create TAP {name}");
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('\0') {
        return Err(EnvError::Invalid(format!("{}: bad interface name", what())));
    }
    let tun = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| EnvError::io(format!("{}: open /dev/net/tun", what()), e))?;
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: IFF_TAP | IFF_NO_PI,
        _pad: [0; 22],
    };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: TUNSETIFF reads and writes a `struct ifreq`, which `req` is laid out as.
    if unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETIFF, &mut req as *mut IfReq) } < 0 {
        let e = io::Error::last_os_error();
        // EBUSY: a TAP of that name exists and a queue is still attached to it (a VMM, or
        // the descriptor of a creation whose release the kernel has not finished). It
        // exists and is persistent already, which is what was asked.
        if e.raw_os_error() == Some(libc::EBUSY) {
            return Ok(());
        }
        return Err(EnvError::io(what(), e));
    }
    // SAFETY: TUNSETPERSIST takes an integer argument.
    if unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETPERSIST, 1 as libc::c_ulong) } < 0 {
        return Err(EnvError::io(
            format!("{}: make persistent", what()),
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::names::{new_run_id, NAME_PREFIX};
    use crate::env::netlink::Netlink;
    use crate::env::netns;

    #[test]
    fn ifreq_has_the_kernels_size() {
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
    }

    #[test]
    fn a_tap_lives_and_dies_with_its_namespace() {
        // SAFETY: geteuid(2) cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root (creates a network namespace)");
            return;
        }
        let ns = format!("{NAME_PREFIX}{}-hub", new_run_id());
        netns::create(&ns).unwrap();
        let found = netns::run_in(&ns, || {
            create("sqtestt1")?;
            create("sqtestt1")?; // idempotent
            let mut nl = Netlink::open(&ns)?;
            nl.set_up("sqtestt1")?;
            Ok(nl.links()?.into_iter().any(|(_, n)| n == "sqtestt1"))
        });
        netns::delete(&ns).unwrap();
        assert!(found.unwrap(), "TAP not in {ns}");
        assert!(create("").is_err());
        assert!(create("sixteen-bytes-xx").is_err());
    }
}
