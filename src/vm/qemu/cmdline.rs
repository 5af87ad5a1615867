//! The `qemu-system-x86_64` command line of one VM, and the accelerator it runs with.
//!
//! The VM is defined on the command line (QEMU has no "create" request), started frozen
//! (`-S`) so that the driver's *create* and *boot* stay two steps: the process starts at
//! create, `cont` boots. Nothing is taken from QEMU's defaults (`-nodefaults
//! -no-user-config`, no display, no monitor): a q35 machine, the spec's vCPUs and memory,
//! a direct kernel boot (`-kernel/-initrd/-append`), the serial console into the spec's
//! file (QEMU truncates it when the process starts, as CH does at boot), one virtio-net
//! NIC on the spec's TAP (opened by name; `script=no,downscript=no`: squall made it) with
//! the spec's MAC, each disk as a raw virtio-blk device (`vda`, `vdb`, ... in order), and
//! QMP on a Unix socket in the run's private directory. The process is named `qemu-<node>`
//! (what `ps` and `squall clean` show).
//!
//! The accelerator: KVM only where `/dev/kvm` boots a stock guest. A paravirtual nested
//! KVM (PVM) opens and answers, but boots only kernels built for it — the guest would
//! never print a byte — so there, and where there is no `/dev/kvm`, QEMU emulates the CPU
//! (TCG), about ten times slower: readiness deadlines are scaled by
//! [`Accel::readiness_factor`]. `SQUALL_QEMU_ACCEL=kvm|tcg` overrides the choice.

use crate::vm::driver::VmSpec;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::Path;

/// The variable that overrides [`Accel::detect`].
pub const ACCEL_VAR: &str = "SQUALL_QEMU_ACCEL";

/// How QEMU runs the guest's CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualisation through `/dev/kvm`.
    Kvm,
    /// Software emulation (the Tiny Code Generator).
    Tcg,
}

impl Accel {
    /// The `-accel` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }

    /// How much longer than under KVM (or in the `local` environment) a cluster of these
    /// VMs may take to become ready: boot plus the system's start, emulated.
    pub fn readiness_factor(self) -> u32 {
        match self {
            Accel::Kvm => 1,
            Accel::Tcg => 4,
        }
    }

    /// The accelerator for this host and why: [`ACCEL_VAR`] if set, else KVM where
    /// `/dev/kvm` answers and is not paravirtual ([`kvm_is_paravirtual`]), else TCG.
    pub fn detect() -> (Accel, String) {
        match std::env::var(ACCEL_VAR).as_deref() {
            Ok("kvm") => return (Accel::Kvm, format!("{ACCEL_VAR}=kvm")),
            Ok("tcg") => return (Accel::Tcg, format!("{ACCEL_VAR}=tcg")),
            _ => {}
        }
        const KVM_GET_API_VERSION: libc::c_ulong = 0xae00;
        let kvm = match OpenOptions::new().read(true).write(true).open("/dev/kvm") {
            Ok(f) => f,
            Err(e) => {
                return (
                    Accel::Tcg,
                    format!("software emulation: /dev/kvm: {}", crate::env::describe(&e)),
                )
            }
        };
        // SAFETY: KVM_GET_API_VERSION takes no argument.
        if unsafe { libc::ioctl(kvm.as_raw_fd(), KVM_GET_API_VERSION, 0) } != 12 {
            return (
                Accel::Tcg,
                "software emulation: /dev/kvm does not answer".into(),
            );
        }
        if kvm_is_paravirtual() {
            return (
                Accel::Tcg,
                "software emulation: /dev/kvm is a paravirtual nested KVM (PVM), which boots \
                 no stock guest kernel"
                    .into(),
            );
        }
        (Accel::Kvm, "/dev/kvm".into())
    }
}

impl std::fmt::Display for Accel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Accel::Kvm => "KVM",
            Accel::Tcg => "TCG",
        })
    }
}

/// Whether this host's KVM is paravirtual (PVM): a heuristic, as no interface states it —
/// the `kvm_pvm` module loaded, or `pvm` in the kernel release.
pub fn kvm_is_paravirtual() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    Path::new("/sys/module/kvm_pvm").exists() || release.contains("pvm")
}

/// A path as a value inside a QEMU option list, where a comma is written `,,`.
fn opt_path(path: &Path) -> String {
    path.display().to_string().replace(',', ",,")
}

/// The arguments (after the binary) that run the VM `spec` as `name`, with QMP on `qmp`.
pub fn args(name: &str, spec: &VmSpec, accel: Accel, qmp: &Path) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(s.into());
    push("-name");
    push(&format!(
        "{},process=qemu-{}",
        name.replace(',', ",,"),
        name
    ));
    push("-machine");
    push("q35");
    push("-accel");
    push(accel.as_str());
    if accel == Accel::Kvm {
        push("-cpu");
        push("host");
    }
    push("-smp");
    push(&spec.cpus.to_string());
    push("-m");
    push(&spec.memory_mb.to_string());
    for arg in ["-nodefaults", "-no-user-config", "-display", "none"] {
        push(arg);
    }
    push("-monitor");
    push("none");
    push("-S");
    push("-qmp");
    push(&format!("unix:{},server=on,wait=off", opt_path(qmp)));
    push("-serial");
    push(&format!("file:{}", spec.serial.display()));
    a.push("-kernel".into());
    a.push(spec.kernel.clone().into());
    if let Some(initrd) = &spec.initramfs {
        a.push("-initrd".into());
        a.push(initrd.clone().into());
    }
    a.push("-append".into());
    a.push(spec.cmdline.clone().into());
    if let Some(tap) = &spec.tap {
        a.push("-netdev".into());
        a.push(format!("tap,id=n0,ifname={tap},script=no,downscript=no").into());
        a.push("-device".into());
        a.push(format!("virtio-net-pci,netdev=n0,mac={}", spec.mac).into());
    }
    for (i, disk) in spec.disks.iter().enumerate() {
        a.push("-drive".into());
        a.push(format!("file={},if=none,id=d{i},format=raw", opt_path(disk)).into());
        a.push("-device".into());
        a.push(format!("virtio-blk-pci,drive=d{i}").into());
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn spec() -> VmSpec {
        VmSpec {
            cpus: 2,
            memory_mb: 512,
            kernel: "/cache/k/vmlinuz".into(),
            initramfs: Some("/cache/k/initrd.img".into()),
            cmdline: "console=ttyS0 squall.name=n1 squall.cmd=a,b".into(),
            disks: vec!["/tmp/squall-ab/vm/n1.img".into(), "/tmp/x,y.img".into()],
            tap: Some("sqabt1".into()),
            mac: "52:54:00:12:01:02".into(),
            serial: "/store/nodes/n1/serial.log".into(),
        }
    }

    fn strings(a: &[OsString]) -> Vec<String> {
        a.iter().map(|s| s.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn the_whole_command_line_under_tcg() {
        let a = strings(&args(
            "n1",
            &spec(),
            Accel::Tcg,
            &PathBuf::from("/tmp/squall-ab/vm/n1.qmp"),
        ));
        assert_eq!(
            a.join(" "),
            "-name n1,process=qemu-n1 -machine q35 -accel tcg -smp 2 -m 512 -nodefaults \
             -no-user-config -display none -monitor none -S \
             -qmp unix:/tmp/squall-ab/vm/n1.qmp,server=on,wait=off \
             -serial file:/store/nodes/n1/serial.log \
             -kernel /cache/k/vmlinuz -initrd /cache/k/initrd.img \
             -append console=ttyS0 squall.name=n1 squall.cmd=a,b \
             -netdev tap,id=n0,ifname=sqabt1,script=no,downscript=no \
             -device virtio-net-pci,netdev=n0,mac=52:54:00:12:01:02 \
             -drive file=/tmp/squall-ab/vm/n1.img,if=none,id=d0,format=raw \
             -device virtio-blk-pci,drive=d0 \
             -drive file=/tmp/x,,y.img,if=none,id=d1,format=raw \
             -device virtio-blk-pci,drive=d1"
        );
        // The kernel command line is one argument, its commas untouched.
        assert!(a.contains(&"console=ttyS0 squall.name=n1 squall.cmd=a,b".to_string()));
    }

    #[test]
    fn kvm_takes_the_host_cpu_and_optional_parts_go() {
        let mut s = spec();
        s.initramfs = None;
        s.tap = None;
        s.disks.clear();
        let a = strings(&args("n2", &s, Accel::Kvm, Path::new("/d/n2.qmp")));
        let line = a.join(" ");
        assert!(line.contains("-accel kvm -cpu host -smp 2"), "{line}");
        for gone in ["-initrd", "-netdev", "-drive", "virtio-net"] {
            assert!(!line.contains(gone), "{gone} in {line}");
        }
        assert_eq!(Accel::Tcg.readiness_factor(), 4);
        assert_eq!(Accel::Kvm.readiness_factor(), 1);
        assert_eq!(Accel::Tcg.to_string(), "TCG");
    }
}
