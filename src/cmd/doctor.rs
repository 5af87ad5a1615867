//! `squall doctor`: what this host supports, one ✓/✗ line per check, and for
//! `--env cloud-hypervisor` or `--env qemu` the lifecycle of a throwaway VM, step by step
//! with timings.
//!
//! Checks and why they matter:
//! - root, network namespaces and veth links: every run builds its hub with them.
//! - KVM: `/dev/kvm` answering `KVM_GET_API_VERSION`. Whether it is a *paravirtual nested*
//!   KVM is a heuristic, as no interface states it: the `kvm_pvm` module loaded
//!   (`/sys/module/kvm_pvm`, PVM's hypervisor) or `pvm` in the kernel release marks PVM,
//!   which boots only guest kernels built for it (a stock kernel never prints a byte); the
//!   CPUID `hypervisor` flag in `/proc/cpuinfo` marks a host that is itself a VM (KVM here
//!   is then nested).
//! - the `cloud-hypervisor` binary and its version; `qemu-system-x86_64` and its version,
//!   and the accelerator QEMU would use (KVM where `/dev/kvm` boots stock guests, TCG —
//!   software emulation — otherwise: [`crate::vm::qemu::Accel::detect`]); TAP devices
//!   (made in a throwaway namespace). With `--env qemu` KVM is not required.
//! - qdiscs: `tbf` (bandwidth) and `netem` (delay, loss, ...), probed in a throwaway
//!   namespace (see [`Netlink::qdisc_supported`]); netem is optional, since many kernels
//!   lack `sch_netem`.
//! - etcd, the reference system.
//! - each nemesis: whether it can run here, and through which backend ([`nemeses`]).
//! - `--env cloud-hypervisor|qemu`: a throwaway VM through create → boot → info Running →
//!   pause → info Paused (→ snapshot to a file, QEMU) → resume → reboot → shutdown (info
//!   Created) → delete. Any kernel serves
//!   for the lifecycle: the built guest image if there is one, else the host's
//!   `/boot/vmlinuz-*`, else a stub kernel ([`crate::vm::stub_kernel`]).
//!
//! Exit 0 when every required check passes, 1 otherwise. Everything it makes (a run
//! directory and a `squall-<run>-hub` namespace, so `squall clean` finds them after a
//! crash) is removed before it returns.

use crate::env::names;
use crate::env::netlink::Netlink;
use crate::env::{netns, EnvError};
use crate::vm::ch::CloudHypervisor;
use crate::vm::driver::{Launch, VmSpec, VmState, Vmm, VmmDriver};
use crate::vm::qemu::{Accel, Qemu};
use crate::vm::{self, stub_kernel, BootFiles};
use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod nemeses;

/// Options of `squall doctor`.
#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// The environment to check for: local, cloud-hypervisor or qemu.
    #[arg(long, default_value = "local")]
    pub env: String,
    /// The cloud-hypervisor binary (default: `cloud-hypervisor` on PATH).
    #[arg(long)]
    pub cloud_hypervisor: Option<PathBuf>,
    /// The systems' options: which binaries to check.
    #[command(flatten)]
    pub plugins: crate::cmd::test_args::PluginArgs,
}

/// One check's outcome.
struct Check {
    ok: bool,
    /// Nothing to check on this host yet (shown as `·`, neither passed nor failed).
    info: bool,
    required: bool,
    label: String,
    detail: String,
}

impl Check {
    fn print(&self) {
        // Lifecycle steps are indented under their heading: the indent goes before the mark.
        let indent = &self.label[..self.label.len() - self.label.trim_start().len()];
        let label = self.label.trim_start();
        let mark = if self.info {
            '·'
        } else if self.ok {
            '✓'
        } else {
            '✗'
        };
        let optional = if !self.ok && !self.required && !self.info {
            " (not required)"
        } else {
            ""
        };
        if self.detail.is_empty() {
            println!("{indent}{mark} {label}{optional}");
        } else {
            println!("{indent}{mark} {label}: {}{optional}", self.detail);
        }
    }
}

/// Runs the checks for `args.env`, prints them, and returns the exit code.
pub fn doctor(args: &DoctorArgs) -> anyhow::Result<i32> {
    let (ch_env, qemu_env) = match args.env.as_str() {
        "local" => (false, false),
        "cloud-hypervisor" => (true, false),
        "qemu" => (false, true),
        other => {
            anyhow::bail!("unknown environment {other:?}: want local, cloud-hypervisor or qemu")
        }
    };
    let vm_env = ch_env || qemu_env;
    println!("squall doctor --env {}", args.env);
    let mut checks = Vec::new();
    let mut add = |c: Check| {
        c.print();
        checks.push((c.ok, c.required));
    };

    // SAFETY: geteuid(2) cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    add(Check {
        ok: root,
        info: false,
        required: true,
        label: "root".into(),
        detail: if root {
            String::new()
        } else {
            "squall creates network namespaces: run it as root".into()
        },
    });
    add(kvm_check(ch_env));
    let ch = vm::locate_ch(args.cloud_hypervisor.as_deref());
    add(match &ch {
        Ok(path) => match CloudHypervisor::new(path).binary_version() {
            Ok(version) => {
                let version = version.lines().next().unwrap_or_default().to_string();
                ok(
                    ch_env,
                    "cloud-hypervisor",
                    format!("{} ({version})", path.display()),
                )
            }
            Err(e) => bad(ch_env, "cloud-hypervisor", e.to_string()),
        },
        Err(e) => bad(ch_env, "cloud-hypervisor", e.to_string()),
    });
    let (accel, accel_why) = Accel::detect();
    let qemu = vm::locate_qemu(None)
        .map_err(|e| e.to_string())
        .and_then(|path| {
            let version = Qemu::new(&path, accel)
                .binary_version()
                .map_err(|e| e.to_string())?;
            add(ok(
                qemu_env,
                vm::qemu::BINARY,
                format!("{} ({version})", path.display()),
            ));
            add(ok(
                qemu_env,
                "QEMU accelerator",
                format!("{accel}: {accel_why}"),
            ));
            Ok(Qemu::new(path, accel))
        });
    if let Err(e) = &qemu {
        add(bad(qemu_env, vm::qemu::BINARY, e.clone()));
    }

    // Network checks, in a throwaway namespace.
    let scratch = if root { Scratch::new().ok() } else { None };
    match &scratch {
        Some(s) => {
            add(match s.veth() {
                Ok(()) => ok(true, "network namespaces and veth links", String::new()),
                Err(e) => bad(true, "network namespaces and veth links", e.to_string()),
            });
            add(match s.tap() {
                Ok(()) => ok(vm_env, "TAP devices", String::new()),
                Err(e) => bad(vm_env, "TAP devices", e.to_string()),
            });
            for (kind, required, what) in
                [("tbf", true, "bandwidth"), ("netem", false, "delay, loss")]
            {
                let label = format!("{kind} qdisc ({what})");
                add(match s.qdisc(kind) {
                    Ok(true) => ok(required, &label, String::new()),
                    Ok(false) => bad(required, &label, "unsupported on this kernel".into()),
                    Err(e) => bad(required, &label, e.to_string()),
                });
            }
        }
        None => add(bad(
            true,
            "network namespaces",
            "cannot create one (needs root)".into(),
        )),
    }
    // Each system's own checks; etcd, the default system, is required.
    let registry = crate::registry::get();
    for name in registry.systems() {
        let required = name == crate::config::TestConfig::default().system;
        match args
            .plugins
            .config(name)
            .and_then(|cfg| registry.system_of(&cfg))
        {
            Ok(system) => {
                for (label, finding) in system.doctor() {
                    add(match finding {
                        Ok(detail) => ok(required, &label, detail),
                        Err(problem) => bad(required, &label, problem),
                    });
                }
            }
            Err(e) => match e.downcast_ref::<crate::systems::DefinedByTestFile>() {
                Some(d) => add(Check {
                    info: true,
                    ..ok(false, name, format!("{d}: checked when a test uses it"))
                }),
                None => add(bad(required, name, format!("{e:#}"))),
            },
        }
    }

    println!("nemeses (--env {}):", args.env);
    let vmm = if ch_env {
        Some(("cloud-hypervisor", ch.is_ok()))
    } else if qemu_env {
        Some((vm::qemu::BINARY, qemu.is_ok()))
    } else {
        None
    };
    for c in nemeses::checks(scratch.as_ref(), vmm) {
        add(c);
    }

    if ch_env {
        match (&ch, &scratch) {
            (Ok(binary), Some(s)) => lifecycle(&CloudHypervisor::new(binary), s, &mut add),
            _ => add(bad(
                true,
                "VM lifecycle",
                "skipped: needs the cloud-hypervisor binary and root".into(),
            )),
        }
    }
    if qemu_env {
        match (&qemu, &scratch) {
            (Ok(driver), Some(s)) => lifecycle(driver, s, &mut add),
            _ => add(bad(
                true,
                "VM lifecycle",
                format!("skipped: needs {} and root", vm::qemu::BINARY),
            )),
        }
    }
    drop(scratch);

    let failed = checks.iter().filter(|(ok, req)| *req && !*ok).count();
    if failed == 0 {
        println!("every required check passed");
        Ok(0)
    } else {
        println!("{failed} required check(s) failed");
        Ok(1)
    }
}

fn ok(required: bool, label: &str, detail: String) -> Check {
    Check {
        ok: true,
        info: false,
        required,
        label: label.into(),
        detail,
    }
}

fn bad(required: bool, label: &str, detail: String) -> Check {
    Check {
        ok: false,
        info: false,
        required,
        label: label.into(),
        detail,
    }
}

/// `/dev/kvm`, whether it answers, and the paravirtual/nested heuristic (module docs).
fn kvm_check(required: bool) -> Check {
    const KVM_GET_API_VERSION: libc::c_ulong = 0xae00;
    let file = match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        Ok(f) => f,
        Err(e) => {
            return bad(
                required,
                "KVM",
                format!("/dev/kvm: {}", vm::describe_io(&e)),
            )
        }
    };
    // SAFETY: KVM_GET_API_VERSION takes no argument.
    let version = unsafe { libc::ioctl(file.as_raw_fd(), KVM_GET_API_VERSION, 0) };
    if version != 12 {
        return bad(
            required,
            "KVM",
            format!("/dev/kvm answers API version {version}, not 12"),
        );
    }
    let pvm = crate::vm::qemu::cmdline::kvm_is_paravirtual();
    let nested = fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| {
        c.lines()
            .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor"))
    });
    let detail = match (pvm, nested) {
        (true, _) => "/dev/kvm is a paravirtual nested KVM (PVM, kvm_pvm loaded): it boots only \
                      guest kernels built for PVM; VMs are created, run, pause and shut down, but a \
                      stock guest kernel prints nothing"
            .to_string(),
        (false, true) => "/dev/kvm present; this host is itself a VM (nested KVM)".to_string(),
        (false, false) => "/dev/kvm present (bare metal)".to_string(),
    };
    ok(required, "KVM", detail)
}

/// A throwaway run: its run directory (with an owner file) and hub namespace, removed on
/// drop.
struct Scratch {
    dir: PathBuf,
    ns: String,
}

impl Scratch {
    fn new() -> Result<Self, EnvError> {
        let run = names::new_run_id();
        let dir = crate::env::run_dir::claim_run_dir(&run)?;
        let ns = names::hub_ns_name(&run);
        let scratch = Scratch { dir, ns };
        netns::create(&scratch.ns)?;
        Ok(scratch)
    }

    fn tap(&self) -> Result<(), EnvError> {
        let ns = &self.ns;
        netns::run_in(ns, || {
            vm::tap::create("sqdoctort1")?;
            let mut nl = Netlink::open(ns)?;
            nl.set_up("sqdoctort1")?;
            nl.link_index("sqdoctort1").map(drop)
        })
    }

    fn veth(&self) -> Result<(), EnvError> {
        let ns = &self.ns;
        let fd = netns::open(ns)?;
        netns::run_in(ns, || {
            let mut nl = Netlink::open(ns)?;
            nl.add_veth("sqdoctorv1", "sqdoctorv2", fd.as_raw_fd())?;
            nl.set_up("sqdoctorv1")
        })
    }

    fn qdisc(&self, kind: &str) -> Result<bool, EnvError> {
        let ns = &self.ns;
        netns::run_in(ns, || {
            let mut nl = Netlink::open(ns)?;
            nl.set_up("lo")?;
            nl.qdisc_supported("lo", kind)
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(id) = netns::id(&self.ns) {
            netns::kill_processes_in(&[id]);
        }
        let _ = netns::delete(&self.ns);
        let _ = crate::env::run_dir::remove_run_dir(&self.dir);
    }
}

/// What the throwaway VM boots, and how to describe it.
fn lifecycle_kernel(dir: &Path) -> Result<(BootFiles, String), String> {
    let cache = Path::new(crate::image::DEFAULT_CACHE);
    if let Some(image) = crate::registry::get()
        .systems()
        .find_map(|name| crate::image::find(name, cache))
    {
        return Ok((
            BootFiles::from(&image),
            format!("the {} guest image {}", image.system, image.hash),
        ));
    }
    let mut host: Vec<PathBuf> = fs::read_dir("/boot")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .collect();
    host.sort();
    if let Some(kernel) = host.pop() {
        let label = kernel.display().to_string();
        return Ok((
            BootFiles {
                kernel,
                initramfs: None,
            },
            label,
        ));
    }
    stub_lifecycle_kernel(dir).map(|(boot, label)| {
        (
            boot,
            format!("{label} (no guest image, no /boot/vmlinuz-*)"),
        )
    })
}

/// The stub PVH kernel, written into `dir`.
fn stub_lifecycle_kernel(dir: &Path) -> Result<(BootFiles, String), String> {
    let kernel = dir.join("stub-kernel");
    stub_kernel::write(&kernel).map_err(|e| format!("write {}: {e}", kernel.display()))?;
    Ok((
        BootFiles {
            kernel,
            initramfs: None,
        },
        "a stub PVH kernel".into(),
    ))
}

/// The lifecycle of a throwaway VM, one check per step, each handed to `add` as soon as
/// it is done (so a hanging step shows where).
fn lifecycle(driver: &dyn VmmDriver, scratch: &Scratch, add: &mut dyn FnMut(Check)) {
    // QEMU really runs the guest (under TCG too): the stub kernel halts and stays put,
    // where a real image's init, given no node to start, could power the VM off midway.
    let kernel = if driver.name() == "qemu" {
        stub_lifecycle_kernel(&scratch.dir)
    } else {
        lifecycle_kernel(&scratch.dir)
    };
    let (boot, label) = match kernel {
        Ok(k) => k,
        Err(e) => return add(bad(true, "VM lifecycle", e)),
    };
    println!("VM lifecycle (kernel: {label}):");
    let ns = match netns::open(&scratch.ns) {
        Ok(ns) => ns,
        Err(e) => return add(bad(true, "VM lifecycle", e.to_string())),
    };
    let log = scratch.dir.join("doctor-vm.log");
    let spec = VmSpec {
        cpus: 1,
        memory_mb: 128,
        kernel: boot.kernel,
        initramfs: boot.initramfs,
        cmdline: "console=ttyS0".into(),
        disks: Vec::new(),
        tap: None,
        mac: vm::env::mac(0),
        serial: scratch.dir.join("doctor-serial.log"),
    };
    let t = Instant::now();
    let started = driver.start(&Launch {
        name: "doctor",
        dir: &scratch.dir,
        netns: &ns,
        log: &log,
        timeout: Duration::from_secs(10),
    });
    let mut vmm: Box<dyn Vmm> = match started {
        Ok(mut v) => {
            let mut c = step("start the VMM", t, Ok(()));
            c.detail = v
                .version()
                .map_or_else(|e| e.to_string(), |v| format!("version {v}"));
            add(c);
            v
        }
        Err(e) => {
            let why = format!("{e}; log: {}", log.display());
            return add(step("start the VMM", t, Err(why)));
        }
    };
    type Step = (
        &'static str,
        fn(&mut dyn Vmm, &VmSpec) -> Result<(), String>,
    );
    let steps: [Step; 12] = [
        ("create", |v, s| v.create(s).map_err(|e| e.to_string())),
        ("boot", |v, _| v.boot().map_err(|e| e.to_string())),
        ("info: Running", |v, _| expect(v, VmState::Running)),
        ("pause", |v, _| v.pause().map_err(|e| e.to_string())),
        ("info: Paused", |v, _| expect(v, VmState::Paused)),
        ("resume", |v, _| v.resume().map_err(|e| e.to_string())),
        ("info: Running", |v, _| expect(v, VmState::Running)),
        ("reboot", |v, _| v.reboot().map_err(|e| e.to_string())),
        ("info: Running", |v, _| expect(v, VmState::Running)),
        ("shutdown", |v, _| v.shutdown().map_err(|e| e.to_string())),
        ("info: Created", |v, _| expect(v, VmState::Created)),
        ("delete", |v, _| v.delete().map_err(|e| e.to_string())),
    ];
    let snapshot_dir = scratch.dir.join("doctor-snapshot");
    for (i, (label, f)) in steps.into_iter().enumerate() {
        let t = Instant::now();
        let c = step(label, t, f(vmm.as_mut(), &spec));
        let failed = !c.ok;
        add(c);
        if failed {
            break;
        }
        // QEMU snapshots a paused VM into a file (CH cannot inside this host's KVM).
        if i == 4 && driver.name() == "qemu" {
            let t = Instant::now();
            let made = fs::create_dir_all(&snapshot_dir)
                .map_err(|e| e.to_string())
                .and_then(|()| vmm.snapshot(&snapshot_dir).map_err(|e| e.to_string()));
            let mut c = step("snapshot (migrate to a file)", t, made);
            if let Ok(m) = fs::metadata(snapshot_dir.join("vm.state")) {
                c.detail = format!("{} KiB", m.len() / 1024);
            }
            add(c);
        }
    }
    let t = Instant::now();
    let stopped = vmm.stop(Duration::from_secs(2)).map_err(|e| e.to_string());
    add(step("stop the VMM", t, stopped));
}

fn expect(vmm: &mut dyn Vmm, want: VmState) -> Result<(), String> {
    match vmm.state() {
        Ok(state) if state == want => Ok(()),
        Ok(state) => Err(format!("state {state}, want {want}")),
        Err(e) => Err(e.to_string()),
    }
}

fn step(label: &str, started: Instant, result: Result<(), String>) -> Check {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let label = format!("  {label} ({ms:.0} ms)");
    match result {
        Ok(()) => ok(true, &label, String::new()),
        Err(e) => bad(true, &label, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_an_unknown_environment() {
        let args = DoctorArgs {
            env: "xen".into(),
            cloud_hypervisor: None,
            plugins: Default::default(),
        };
        let e = doctor(&args).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown environment \"xen\": want local, cloud-hypervisor or qemu"
        );
    }

    #[test]
    fn qemu_lifecycle_passes_where_qemu_is_installed() {
        if crate::vm::qemu::tests::qemu_binary().is_none() {
            return;
        }
        let args = DoctorArgs {
            env: "qemu".into(),
            cloud_hypervisor: None,
            plugins: Default::default(),
        };
        assert_eq!(doctor(&args).unwrap(), 0);
    }

    #[test]
    fn cloud_hypervisor_lifecycle_passes_where_ch_is_installed() {
        let Some(binary) = crate::vm::ch::tests::ch_binary() else {
            return;
        };
        let before = netns::list().unwrap();
        let args = DoctorArgs {
            env: "cloud-hypervisor".into(),
            cloud_hypervisor: Some(binary),
            plugins: Default::default(),
        };
        assert_eq!(doctor(&args).unwrap(), 0);
        // It cleaned up after itself: no namespace of its throwaway run is left (other
        // tests' runs come and go meanwhile; the doctor's has its VM log in its run dir).
        for ns in netns::list().unwrap() {
            if before.contains(&ns) {
                continue;
            }
            if let Some(run) = ns
                .strip_prefix("squall-")
                .and_then(|r| r.strip_suffix("-hub"))
            {
                assert!(
                    !names::run_dir(run).join("doctor-vm.log").exists(),
                    "doctor left {ns}"
                );
            }
        }
    }
}
