//! The VM environment: each node is a VM (one VMM process per VM, any [`super::driver`]),
//! linked into the run's hub namespace by a TAP device: [`VmBackend`], a backend of
//! [`crate::env::hub_env::HubEnv`], which owns what every environment shares.
//!
//! ```text
//!            squall-<run>-hub  (ip_forward=1; clients, FIB-rule faults, the VMM processes)
//!   sq<run>t1 198.18.1.1/24    sq<run>t2 198.18.2.1/24   ...   (TAP devices)
//!        │ virtio-net               │ virtio-net
//!   eth0 198.18.1.2/24         eth0 198.18.2.2/24              (set by the guest's init
//!   VM n1                      VM n2                    ...     from the command line)
//! ```
//!
//! The network is the `local` environment's, with a TAP in place of each veth: the same
//! hub name, addresses, and partitions as FIB rules in the hub, so faults act alike in both
//! environments. The VMM processes run *inside* the hub, so that each opens its TAP by
//! name; they therefore also go when `squall clean` ([`crate::env::clean`]) kills what is
//! left in a crashed run's namespaces, and the TAPs go with the hub namespace.
//!
//! Files: the run directory `/tmp/squall-<run>/` (claimed with an owner file, as for every
//! environment, so `squall clean` knows it) holds `vm/` (mode 0700: the API sockets
//! `<name>.sock`) and the nodes' data disks `vm/<name>.img`. Each VMM's stdout and stderr
//! go to the node's log; the guest's serial console to `serial.log` next to it (earlier
//! boots' serial output is kept as `serial.log.<boot>`, since a VMM truncates the file
//! at each boot).
//!
//! Faults: partitions as in `local`; pause/resume → the VMM's pause/resume; kill → the
//! VMM process is SIGKILLed (the VM dies like a machine losing power; its data disk
//! stays), restart → a new VMM process defines and boots the same VM again; isolate and
//! bandwidth → the TAP down, or a `tbf` on it (the hub's link faults, as for veths). Readiness is the system's own check; when it
//! times out, [`Environment::not_ready_hint`] says which guests never printed their
//! readiness line and shows their last serial lines.

use super::driver::{Launch, VmSpec, VmState, Vmm, VmmDriver, VmmError};
use super::guest::{self, BootFiles};
use crate::env::hub::Hub;
use crate::env::hub_env::{HubEnv, HubLink, NodeBackend, NodeStatus};
use crate::env::names::{hub_addr, node_addr, tap_name};
use crate::env::run_dir::create_private_dir;
#[cfg(doc)]
use crate::env::Environment;
use crate::env::{netns, EnvError};
use crate::systems::NodeCommand;
use nemeses::{ClockChange, NemesisError};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How the VMs are made.
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// What every VM boots.
    pub boot: BootFiles,
    /// vCPUs per VM.
    pub cpus: u8,
    /// Memory per VM, MiB.
    pub memory_mb: u64,
    /// Size of each node's data disk, MiB (sparse).
    pub disk_mb: u64,
    /// How long a VMM may take to answer its API after it starts.
    pub api_timeout: Duration,
    /// How long a VMM may take to exit on request at teardown before it is killed.
    pub stop_grace: Duration,
}

/// The MAC address of node `node`'s NIC: locally administered, unique per node in a run.
pub fn mac(node: usize) -> String {
    format!("52:54:00:12:{:02x}:02", node + 1)
}

/// One node of the VM environment: its TAP, files, VM and VMM.
pub struct Node {
    index: usize,
    name: String,
    tap: String,
    log: PathBuf,
    serial: PathBuf,
    disk: PathBuf,
    /// The VM, once started; kept for restarts.
    spec: Option<VmSpec>,
    vmm: Option<Box<dyn Vmm>>,
    status: NodeStatus,
    /// Boots so far (the first is 1).
    boots: u32,
    /// The clock change in force (ms off the true time), if any.
    clock_ms: Option<i64>,
}

/// Nodes as VMs, one VMM process each, started in the hub, each VM on a TAP in the hub.
pub struct VmBackend {
    driver: Arc<dyn VmmDriver>,
    config: VmConfig,
    /// Each node's serial log ([`serial_paths`]).
    serials: Vec<PathBuf>,
}

/// The private directory of the VMMs' API sockets and the data disks: `<run dir>/vm`.
fn vm_dir(hub: &Hub) -> PathBuf {
    hub.dir().join("vm")
}

impl VmBackend {
    /// Starts node `n`'s VMM and boots its VM from its spec (also a restart).
    fn boot(&self, hub: &Hub, n: &mut Node) -> Result<(), EnvError> {
        let spec = n
            .spec
            .clone()
            .ok_or_else(|| EnvError::Invalid(format!("{} was never started", n.name)))?;
        // A VMM truncates the serial file at boot: keep the previous boot's output.
        if n.boots > 0 && n.serial.exists() {
            let old = PathBuf::from(format!("{}.{}", n.serial.display(), n.boots));
            let _ = fs::rename(&n.serial, old);
        }
        if let Some(mut old) = n.vmm.take() {
            old.kill().map_err(vmm_error)?;
        }
        let dir = vm_dir(hub);
        let mut vmm = hub.with_ns(&format!("start {}", n.name), |ns| {
            self.driver
                .start(&Launch {
                    name: &n.name,
                    dir: &dir,
                    netns: ns,
                    log: &n.log,
                    timeout: self.config.api_timeout,
                })
                .map_err(vmm_error)
        })?;
        vmm.create(&spec).map_err(vmm_error)?;
        vmm.boot().map_err(vmm_error)?;
        n.boots += 1;
        n.vmm = Some(vmm);
        n.status = NodeStatus::Running;
        tracing::info!(node = %n.name, boot = n.boots, "VM booted");
        Ok(())
    }

    /// Snapshots node `n` (paused first) into `dir`; a line for the person.
    fn snapshot_node(n: &mut Node, dir: &Path) -> String {
        let name = n.name.clone();
        let Some(vmm) = n
            .vmm
            .as_mut()
            .filter(|_| matches!(n.status, NodeStatus::Running | NodeStatus::Paused))
        else {
            return format!("{name}: no snapshot (the VM is not running)");
        };
        if n.status == NodeStatus::Running {
            if let Err(e) = vmm.pause() {
                return format!("{name}: no snapshot: {e}");
            }
            n.status = NodeStatus::Paused;
        }
        if let Err(e) = fs::create_dir_all(dir) {
            return format!("{name}: no snapshot: create {}: {e}", dir.display());
        }
        match vmm.snapshot(dir) {
            Ok(()) => format!("{name}: snapshot in {}", dir.display()),
            Err(VmmError::SnapshotUnsupported(detail)) => {
                tracing::warn!(node = %name, %detail, "snapshot unsupported");
                let _ = fs::remove_dir(dir);
                format!("{name}: snapshot unsupported by this host's KVM")
            }
            Err(e) => format!("{name}: snapshot failed: {e}"),
        }
    }
}

/// The files of VM nodes: read in each guest by its init's control ([`guest::read_file`]),
/// over the node's link, from the hub.
struct GuestFiles {
    hub_ns: String,
    addrs: Vec<std::net::Ipv4Addr>,
}

impl GuestFiles {
    fn ask<T: Send>(
        &self,
        node: usize,
        f: impl FnOnce(std::net::Ipv4Addr) -> Result<T, String> + Send,
    ) -> Result<T, String> {
        let addr = *self
            .addrs
            .get(node)
            .ok_or_else(|| format!("no node {node}"))?;
        netns::run_in(&self.hub_ns, || Ok(f(addr)))
            .map_err(|e| e.to_string())
            .and_then(|r| r)
    }
}

impl crate::systems::NodeFiles for GuestFiles {
    fn read(&self, node: usize, path: &Path) -> Result<Option<Vec<u8>>, String> {
        self.ask(node, |addr| guest::read_file(addr, path))
    }

    fn list(&self, node: usize, path: &Path) -> Result<Option<Vec<String>>, String> {
        self.ask(node, |addr| guest::list_dir(addr, path))
    }
}

impl NodeBackend for VmBackend {
    type Node = Node;
    const KIND: &'static str = "VM";

    fn name(n: &Node) -> &str {
        &n.name
    }

    fn prepare(&self, hub: &Hub) -> Result<(), EnvError> {
        let dir = vm_dir(hub);
        create_private_dir(&dir).map_err(|e| EnvError::io(format!("create {}", dir.display()), e))
    }

    fn make_node(&self, hub: &Hub, i: usize, name: &str, log: PathBuf) -> Result<Node, EnvError> {
        Ok(Node {
            index: i,
            name: name.to_string(),
            tap: tap_name(hub.run_id(), i),
            log,
            serial: self.serials[i].clone(),
            disk: vm_dir(hub).join(format!("{name}.img")),
            spec: None,
            vmm: None,
            status: NodeStatus::NotStarted,
            boots: 0,
            clock_ms: None,
        })
    }

    fn hub_link(&self, _hub: &Hub, n: &Node) -> HubLink {
        let tap = n.tap.clone();
        HubLink {
            name: n.tap.clone(),
            make: Box::new(move |_| super::tap::create(&tap)),
        }
    }

    fn refresh(&self, n: &mut Node) {
        if matches!(n.status, NodeStatus::Running | NodeStatus::Paused) {
            if let Some(vmm) = &mut n.vmm {
                if !vmm.alive() {
                    tracing::warn!(node = %n.name, "VMM exited on its own");
                    n.status = NodeStatus::Exited(None);
                }
            }
        }
    }

    fn status(n: &Node) -> NodeStatus {
        n.status
    }

    /// Read in the guest, by its init's control.
    fn node_files(&self, hub: &Hub) -> Arc<dyn crate::systems::NodeFiles> {
        Arc::new(GuestFiles {
            hub_ns: hub.name().to_string(),
            addrs: (0..self.serials.len()).map(node_addr).collect(),
        })
    }

    /// Inside the guest: the data disk's mount point (the guest's init mounts it there).
    fn data_dir(&self, _hub: &Hub, name: &str) -> Result<PathBuf, EnvError> {
        Ok(Path::new(guest::DATA_MOUNT).join(name))
    }

    /// Makes node `n`'s data disk, then a VMM that boots the guest with `cmd` on its kernel
    /// command line.
    fn start(&self, hub: &Hub, n: &mut Node, cmd: &NodeCommand) -> Result<(), EnvError> {
        if matches!(n.status, NodeStatus::Running | NodeStatus::Paused) {
            return Err(EnvError::Invalid(format!(
                "start {}: already running",
                n.name
            )));
        }
        let i = n.index;
        guest::make_data_disk(&n.disk, self.config.disk_mb)?;
        // The guest control: clock faults, and a system's reads of what the node wrote.
        let cmdline = format!(
            "{} squall.control={}",
            guest::kernel_cmdline(&n.name, node_addr(i), 24, hub_addr(i), cmd)?,
            guest::CONTROL_PORT
        );
        n.spec = Some(VmSpec {
            cpus: self.config.cpus,
            memory_mb: self.config.memory_mb,
            kernel: self.config.boot.kernel.clone(),
            initramfs: self.config.boot.initramfs.clone(),
            cmdline,
            disks: vec![n.disk.clone()],
            tap: Some(n.tap.clone()),
            mac: mac(i),
            serial: n.serial.clone(),
        });
        let result = self.boot(hub, n);
        if result.is_err() {
            if let Some(mut vmm) = n.vmm.take() {
                let _ = vmm.kill();
            }
            n.status = NodeStatus::NotStarted;
        }
        result
    }

    fn pause(&self, n: &mut Node) -> Result<(), EnvError> {
        if n.status == NodeStatus::Running {
            if let Some(vmm) = &mut n.vmm {
                vmm.pause().map_err(vmm_error)?;
            }
            n.status = NodeStatus::Paused;
        }
        Ok(())
    }

    fn resume(&self, n: &mut Node) -> Result<(), EnvError> {
        if n.status == NodeStatus::Paused {
            if let Some(vmm) = &mut n.vmm {
                vmm.resume().map_err(vmm_error)?;
            }
            n.status = NodeStatus::Running;
        }
        Ok(())
    }

    /// Kills node `n`'s VMM if it runs (or exited): the VM is gone, its disk stays.
    fn kill(&self, n: &mut Node) -> Result<(), EnvError> {
        if matches!(
            n.status,
            NodeStatus::Running | NodeStatus::Paused | NodeStatus::Exited(_)
        ) {
            if let Some(vmm) = &mut n.vmm {
                vmm.kill().map_err(vmm_error)?;
            }
            n.status = NodeStatus::Killed;
        }
        Ok(())
    }

    fn restart(&self, hub: &Hub, n: &mut Node) -> Result<(), EnvError> {
        match n.status {
            NodeStatus::Killed | NodeStatus::Exited(_) => self.boot(hub, n),
            _ => Ok(()),
        }
    }

    fn revive(&self, hub: &Hub, n: &mut Node) -> Result<(), EnvError> {
        self.restart(hub, n)
    }

    fn exited(&self, n: &Node) -> Option<String> {
        matches!(n.status, NodeStatus::Exited(_)).then(|| {
            format!(
                "the VMM of node {} exited; see {} and {}",
                n.name,
                n.log.display(),
                n.serial.display()
            )
        })
    }

    fn not_ready(&self, n: &Node) -> Option<String> {
        if n.status == NodeStatus::NotStarted {
            return None;
        }
        guest_hint(&n.name, &n.serial)
    }

    fn post_mortem(&self, n: &mut Node, dir: &Path) -> Option<String> {
        let target = dir.join("nodes").join(&n.name).join("snapshot");
        Some(Self::snapshot_node(n, &target))
    }

    /// Stops the VMM (asking first, then SIGKILL), reaps it and removes its socket.
    /// A bump of the guest's own clock, set by its init on a command from the hub
    /// ([`guest::set_clock`]): whole seconds, sent at the instant they are due. A strobe
    /// (flips every 8 ms to 1 s) cannot be made of such commands, and is refused. A VM
    /// killed and booted again reads the true time from its RTC: the change is gone.
    fn set_clock(&self, hub: &Hub, n: &mut Node, change: &ClockChange) -> Result<(), NemesisError> {
        let what = format!("clock of {}", n.name);
        let fail = |cause: String| NemesisError::Failed {
            what: what.clone(),
            cause,
        };
        let delta_ms = match *change {
            ClockChange::Bump { delta_ms } => delta_ms,
            ClockChange::Strobe { .. } => {
                return Err(NemesisError::Unsupported(format!(
                    "{what}: a strobe in a VM (the guest sets whole seconds; choose \
                     `[clock] modes = [\"bump\"]`)"
                )))
            }
        };
        let addr = node_addr(n.index);
        let answer = netns::run_in(hub.name(), || Ok(guest::set_clock(addr, delta_ms)))
            .map_err(|e| fail(e.to_string()))?
            .map_err(fail)?;
        tracing::info!(node = %n.name, delta_ms, %answer, "guest clock set");
        n.clock_ms = Some(delta_ms);
        Ok(())
    }

    fn reset_clock(&self, hub: &Hub, n: &mut Node) -> Result<(), NemesisError> {
        if n.clock_ms.is_none() || n.status != NodeStatus::Running {
            // Nothing in force, or a VM that will read the true time when it boots.
            n.clock_ms = None;
            return Ok(());
        }
        let addr = node_addr(n.index);
        netns::run_in(hub.name(), || Ok(guest::set_clock(addr, 0)))
            .map_err(|e| e.to_string())
            .and_then(|r| r)
            .map_err(|cause| NemesisError::Failed {
                what: format!("reset the clock of {}", n.name),
                cause,
            })?;
        n.clock_ms = None;
        Ok(())
    }

    fn stop(&self, n: &mut Node) -> Result<(), EnvError> {
        let mut result = Ok(());
        if let Some(mut vmm) = n.vmm.take() {
            result = vmm.stop(self.config.stop_grace).map_err(vmm_error);
        }
        if n.status != NodeStatus::NotStarted {
            n.status = NodeStatus::Killed;
        }
        result
    }
}

/// The VM environment of one run. Dropping it tears it down.
pub type VmEnv = HubEnv<VmBackend>;

impl VmEnv {
    /// Creates run `run_id`'s network for VMs named `names`: the run directory, the hub,
    /// a TAP per node with the hub's address on it. `logs[i]` receives node `i`'s VMM
    /// output; its serial console goes next to it. No VMM runs yet. On error, whatever was
    /// made is removed again.
    pub fn create(
        run_id: &str,
        names: Vec<String>,
        logs: Vec<PathBuf>,
        driver: Arc<dyn VmmDriver>,
        config: VmConfig,
    ) -> Result<VmEnv, EnvError> {
        let vmm = driver.name().to_string();
        let backend = VmBackend {
            serials: serial_paths(&names, &logs),
            driver,
            config,
        };
        let env = HubEnv::with_backend(run_id, names, logs, backend, &|| false)?;
        tracing::info!(run = run_id, %vmm, "VMs run by {vmm}");
        Ok(env)
    }

    /// The private directory of the VMMs' API sockets.
    #[allow(dead_code, reason = "API for runners and debugging; used by the tests")]
    pub fn socket_dir(&self) -> PathBuf {
        vm_dir(&self.hub)
    }

    /// Node `node`'s TAP device (in the hub).
    #[allow(dead_code, reason = "API for runners and debugging; used by the tests")]
    pub fn tap(&self, node: usize) -> String {
        tap_name(self.hub.run_id(), node)
    }

    /// Node `node`'s serial log.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn serial_log(&self, node: usize) -> Option<PathBuf> {
        self.backend.serials.get(node).cloned()
    }

    /// The state node `node`'s VMM reports for its VM.
    #[allow(dead_code, reason = "API for runners and reports; used by the tests")]
    pub fn vm_state(&self, node: usize) -> Result<VmState, EnvError> {
        self.on_node(node, |n| match &mut n.vmm {
            Some(vmm) => vmm.state().map_err(vmm_error),
            None => Err(EnvError::Invalid(format!("{}: no VM", n.name))),
        })?
    }

    /// The pid of node `node`'s VMM process, while it runs.
    #[allow(dead_code, reason = "API for runners and reports; used by the tests")]
    pub fn vmm_pid(&self, node: usize) -> Option<u32> {
        self.on_node(node, |n| {
            let vmm = n.vmm.as_mut()?;
            if vmm.alive() {
                vmm.pid()
            } else {
                None
            }
        })
        .ok()
        .flatten()
    }
}

/// Each node's serial log: `serial.log` beside its log when every node has a folder of
/// its own (the store's `nodes/<name>/log`), else `<name>.serial.log` beside it.
fn serial_paths(names: &[String], logs: &[PathBuf]) -> Vec<PathBuf> {
    let parent = |log: &PathBuf| log.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut parents: Vec<PathBuf> = logs.iter().map(parent).collect();
    parents.sort();
    parents.dedup();
    let own_folders = parents.len() == logs.len();
    names
        .iter()
        .zip(logs)
        .map(|(name, log)| {
            if own_folders {
                parent(log).join("serial.log")
            } else {
                parent(log).join(format!("{name}.serial.log"))
            }
        })
        .collect()
}

/// The last `count` non-empty lines of `text`.
fn last_lines(text: &str, count: usize) -> Vec<&str> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..].to_vec()
}

/// Why guest `name` is not ready, from its serial log at `serial`; `None` if it printed
/// its readiness line.
pub fn guest_hint(name: &str, serial: &Path) -> Option<String> {
    let text = match fs::read(serial) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Some(format!(
                "guest {name}: serial log {} unreadable: {e}",
                serial.display()
            ))
        }
    };
    let ready = guest::readiness_line(name);
    if text.lines().any(|l| l.trim_end() == ready) {
        return None;
    }
    let tail = last_lines(&text, 5);
    Some(if tail.is_empty() {
        format!(
            "guest {name} never printed its readiness line ({ready:?}): no output from the guest (serial log {} is empty)",
            serial.display()
        )
    } else {
        format!(
            "guest {name} never printed its readiness line ({ready:?}); last serial lines: {}; serial log: {}",
            tail.join(" | "),
            serial.display()
        )
    })
}

fn vmm_error(e: VmmError) -> EnvError {
    EnvError::Invalid(e.to_string())
}

#[cfg(test)]
mod tests {
    //! The environment end to end against a real `cloud-hypervisor` (skipped, saying why,
    //! where there is none): the guests are stub kernels, so they never become ready —
    //! which is also what happens on these hosts with a real image.

    use super::*;
    use crate::env::names::{hub_ns_name, new_run_id, run_dir, RULE_PRIORITY};
    use crate::env::netlink::Netlink;
    use crate::env::testing::{dead, run_helper, test_path, wait_dead};
    use crate::env::{netns, Environment as _};
    use crate::vm::ch::tests::{ch_binary, Scratch};
    use crate::vm::ch::CloudHypervisor;
    use crate::vm::stub_kernel;
    use nemeses::FaultTarget;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    use std::time::Instant;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    /// Logs as the store lays them out: `nodes/<name>/log`.
    fn store_logs(store: &Path, n: usize) -> Vec<PathBuf> {
        names(n)
            .iter()
            .map(|name| {
                let dir = store.join("nodes").join(name);
                fs::create_dir_all(&dir).unwrap();
                dir.join("log")
            })
            .collect()
    }

    fn config(scratch: &Path) -> VmConfig {
        let kernel = scratch.join("stub-kernel");
        stub_kernel::write(&kernel).unwrap();
        VmConfig {
            boot: BootFiles {
                kernel,
                initramfs: None,
            },
            cpus: 1,
            memory_mb: 64,
            disk_mb: 16,
            api_timeout: Duration::from_secs(5),
            stop_grace: Duration::from_secs(2),
        }
    }

    fn node_cmd() -> NodeCommand {
        NodeCommand {
            program: "/usr/bin/etcd".into(),
            args: vec![
                "--name".into(),
                "n1".into(),
                "--data-dir".into(),
                "/data/n1".into(),
            ],
            env: vec![],
            clear_env: false,
        }
    }

    fn hub_links(env: &VmEnv) -> Vec<String> {
        let hub = env.hub_ns().to_string();
        netns::run_in(&hub, || Netlink::open(&hub)?.links())
            .unwrap()
            .into_iter()
            .map(|(_, n)| n)
            .collect()
    }

    #[test]
    fn names_and_paths() {
        assert_eq!(tap_name("ab12cd", 0), "sqab12cdt1");
        assert_eq!(mac(9), "52:54:00:12:0a:02");
        let logs = vec![
            PathBuf::from("/s/nodes/n1/log"),
            PathBuf::from("/s/nodes/n2/log"),
        ];
        assert_eq!(
            serial_paths(&names(2), &logs),
            vec![
                PathBuf::from("/s/nodes/n1/serial.log"),
                PathBuf::from("/s/nodes/n2/serial.log")
            ]
        );
        let shared = vec![PathBuf::from("/l/n1.log"), PathBuf::from("/l/n2.log")];
        assert_eq!(
            serial_paths(&names(2), &shared)[1],
            PathBuf::from("/l/n2.serial.log")
        );
    }

    #[test]
    fn readiness_hints_from_the_serial_log() {
        let dir = Scratch::new("hints");
        let serial = dir.0.join("serial.log");
        assert_eq!(
            guest_hint("n1", &serial).unwrap(),
            format!(
                "guest n1 never printed its readiness line (\"squall: ready n1\"): no output \
                 from the guest (serial log {} is empty)",
                serial.display()
            )
        );
        fs::write(&serial, "").unwrap();
        assert!(guest_hint("n1", &serial).unwrap().contains("is empty"));
        let lines: String = (1..=8).map(|i| format!("line {i}\n")).collect();
        fs::write(
            &serial,
            format!("{lines}squall: error no eth0 after 10 s\n\n"),
        )
        .unwrap();
        assert_eq!(
            guest_hint("n1", &serial).unwrap(),
            format!(
                "guest n1 never printed its readiness line (\"squall: ready n1\"); last serial \
                 lines: line 5 | line 6 | line 7 | line 8 | squall: error no eth0 after 10 s; \
                 serial log: {}",
                serial.display()
            )
        );
        fs::write(&serial, "boot\nsquall: ready n1\r\netcd says hi\n").unwrap();
        assert_eq!(guest_hint("n1", &serial), None);
        // Another node's line does not count.
        assert!(guest_hint("n11", &serial).is_some());
    }

    /// A VMM without a process, for the environment's own logic where no
    /// `cloud-hypervisor` is at hand: it keeps the VM's state and logs every call.
    #[derive(Default)]
    struct FakeDriver {
        calls: Arc<std::sync::Mutex<Vec<String>>>,
        /// Set to make every VMM report its process gone.
        dead: Arc<std::sync::atomic::AtomicBool>,
    }

    struct FakeVmm {
        name: String,
        state: VmState,
        calls: Arc<std::sync::Mutex<Vec<String>>>,
        dead: Arc<std::sync::atomic::AtomicBool>,
        killed: bool,
    }

    impl FakeVmm {
        fn call(&mut self, what: &str) -> Result<(), VmmError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("{what} {}", self.name));
            if self.killed {
                return Err(VmmError::NotRunning(format!("{what} {}", self.name)));
            }
            Ok(())
        }
    }

    impl VmmDriver for FakeDriver {
        fn name(&self) -> &str {
            "fake"
        }

        fn start(&self, launch: &Launch<'_>) -> Result<Box<dyn Vmm>, VmmError> {
            assert!(launch.dir.is_dir(), "socket dir {}", launch.dir.display());
            let mut vmm = FakeVmm {
                name: launch.name.to_string(),
                state: VmState::Created,
                calls: self.calls.clone(),
                dead: self.dead.clone(),
                killed: false,
            };
            vmm.call("start")?;
            Ok(Box::new(vmm))
        }
    }

    impl Vmm for FakeVmm {
        fn pid(&self) -> Option<u32> {
            (!self.killed).then_some(1)
        }
        fn alive(&mut self) -> bool {
            !self.killed && !self.dead.load(std::sync::atomic::Ordering::SeqCst)
        }
        fn version(&mut self) -> Result<String, VmmError> {
            Ok("v0".into())
        }
        fn create(&mut self, spec: &VmSpec) -> Result<(), VmmError> {
            assert!(spec.tap.as_deref().is_some_and(|t| t.starts_with("sq")));
            self.call("create")
        }
        fn boot(&mut self) -> Result<(), VmmError> {
            self.state = VmState::Running;
            self.call("boot")
        }
        fn state(&mut self) -> Result<VmState, VmmError> {
            Ok(self.state)
        }
        fn pause(&mut self) -> Result<(), VmmError> {
            self.state = VmState::Paused;
            self.call("pause")
        }
        fn resume(&mut self) -> Result<(), VmmError> {
            self.state = VmState::Running;
            self.call("resume")
        }
        fn reboot(&mut self) -> Result<(), VmmError> {
            self.call("reboot")
        }
        fn shutdown(&mut self) -> Result<(), VmmError> {
            self.call("shutdown")
        }
        fn delete(&mut self) -> Result<(), VmmError> {
            self.call("delete")
        }
        fn snapshot(&mut self, _dir: &Path) -> Result<(), VmmError> {
            self.call("snapshot")?;
            Err(VmmError::SnapshotUnsupported("fake".into()))
        }
        fn stop(&mut self, _grace: Duration) -> Result<(), VmmError> {
            self.call("stop")?;
            self.kill()
        }
        fn kill(&mut self) -> Result<(), VmmError> {
            if !self.killed {
                self.call("kill")?;
            }
            self.killed = true;
            Ok(())
        }
    }

    #[test]
    fn faults_heal_and_teardown_with_a_fake_vmm() {
        // SAFETY: geteuid(2) cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root (creates the hub namespace and TAPs)");
            return;
        }
        let scratch = Scratch::new("vmfake");
        let store = scratch.0.join("store");
        let run = new_run_id();
        let driver = Arc::new(FakeDriver::default());
        let calls = driver.calls.clone();
        let take = || std::mem::take(&mut *calls.lock().unwrap());
        let env = VmEnv::create(
            &run,
            names(2),
            store_logs(&store, 2),
            driver.clone(),
            config(&scratch.0),
        )
        .unwrap();
        let links = hub_links(&env);
        assert!(
            links.contains(&env.tap(0)) && links.contains(&env.tap(1)),
            "{links:?}"
        );
        assert_eq!(env.data_dir(1).unwrap(), PathBuf::from("/data/n2"));
        assert_eq!(env.node_status(0).unwrap(), NodeStatus::NotStarted);
        assert_eq!(
            env.not_ready_hint(),
            None,
            "nothing started, nothing to say"
        );

        for i in 0..2 {
            env.start_node(i, &node_cmd()).unwrap();
        }
        assert_eq!(
            take(),
            [
                "start n1",
                "create n1",
                "boot n1",
                "start n2",
                "create n2",
                "boot n2"
            ]
        );
        assert!(env.start_node(0, &node_cmd()).is_err(), "already running");
        assert!(run_dir(&run).join("vm/n1.img").is_file(), "data disk");

        // Pause and resume are idempotent: the VMM is asked once each.
        env.pause(1).unwrap();
        env.pause(1).unwrap();
        assert_eq!(env.node_status(1).unwrap(), NodeStatus::Paused);
        env.resume(1).unwrap();
        env.resume(1).unwrap();
        assert_eq!(take(), ["pause n2", "resume n2"]);

        // Kill, restart: a new VMM boots the same VM; the first boot's serial log is kept.
        fs::write(env.serial_log(0).unwrap(), "boot 1\n").unwrap();
        env.kill(0).unwrap();
        env.kill(0).unwrap();
        assert_eq!(env.node_status(0).unwrap(), NodeStatus::Killed);
        assert_eq!(env.vmm_pid(0), None);
        env.restart(0).unwrap();
        env.restart(0).unwrap();
        assert_eq!(take(), ["kill n1", "start n1", "create n1", "boot n1"]);
        let serial = env.serial_log(0).unwrap();
        assert_eq!(serial, store.join("nodes/n1/serial.log"));
        assert!(PathBuf::from(format!("{}.1", serial.display())).exists());

        // Partitions are the hub's rules; isolation is the TAP.
        let hub = env.hub_ns().to_string();
        let rules = || netns::run_in(&hub, || Netlink::open(&hub)?.rules()).unwrap();
        env.block(0, 1).unwrap();
        env.block(0, 1).unwrap();
        assert_eq!(
            rules()
                .iter()
                .filter(|r| r.priority == RULE_PRIORITY)
                .count(),
            1
        );
        // Isolate and bandwidth act on the TAP, in the hub, as on a veth.
        let tap = env.tap(1);
        let ip = |args: &[&str]| {
            let o = std::process::Command::new("ip")
                .args(["netns", "exec", &hub])
                .args(args)
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        // Admin state: `UP` among the flags (a TAP no VMM holds has no carrier anyway).
        let admin_up = || ip(&["ip", "-o", "link", "show", &tap]).contains(",UP");
        assert!(admin_up());
        env.link_down(1).unwrap();
        env.link_down(1).unwrap();
        assert!(!admin_up(), "{}", ip(&["ip", "link", "show", &tap]));
        assert!(env.link_down(7).is_err());
        let limit = nemeses::RateLimit {
            rate_bits: 10_000_000,
            burst_bytes: 4096,
            latency_us: 400_000,
        };
        env.rate_limit(1, &limit).unwrap();
        let q = ip(&["tc", "qdisc", "show", "dev", &tap]);
        assert!(q.contains("tbf") && q.contains("rate 10Mbit"), "{q}");

        // heal_all undoes partitions, isolation, rate limits, pauses and kills at once.
        env.pause(0).unwrap();
        env.kill(1).unwrap();
        take();
        env.heal_all().unwrap();
        assert_eq!(take(), ["resume n1", "start n2", "create n2", "boot n2"]);
        assert!(rules().iter().all(|r| r.priority != RULE_PRIORITY));
        assert!(admin_up(), "{}", ip(&["ip", "link", "show", &tap]));
        assert!(!ip(&["tc", "qdisc", "show", "dev", &tap]).contains("tbf"));
        for i in 0..2 {
            assert_eq!(env.vm_state(i).unwrap(), VmState::Running);
        }

        // Readiness hints and post-mortems come from the backend, one per node.
        let hint = env.not_ready_hint().unwrap();
        assert_eq!(
            hint.matches("never printed its readiness line").count(),
            2,
            "{hint}"
        );
        assert_eq!(
            env.post_mortem(&store),
            [
                "n1: snapshot unsupported by this host's KVM",
                "n2: snapshot unsupported by this host's KVM"
            ]
        );
        take();

        // A VMM that dies on its own is noticed, and heal_all boots it again.
        assert_eq!(env.exited_node(), None);
        driver.dead.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(env
            .exited_node()
            .unwrap()
            .starts_with("the VMM of node n1 exited; see "));
        driver
            .dead
            .store(false, std::sync::atomic::Ordering::SeqCst);
        env.heal_all().unwrap();
        assert_eq!(env.exited_node(), None);
        take();

        // Teardown stops every VMM and leaves no namespace or run directory; idempotent.
        env.teardown().unwrap();
        env.teardown().unwrap();
        assert_eq!(take(), ["stop n1", "kill n1", "stop n2", "kill n2"]);
        assert!(!netns::list().unwrap().contains(&hub_ns_name(&run)));
        assert!(!run_dir(&run).exists());
        assert!(env.block(0, 1).is_err(), "faults after teardown");
        assert!(
            env.start_node(0, &node_cmd()).is_err(),
            "start after teardown"
        );
        assert!(
            store.join("nodes/n1/serial.log.1").exists(),
            "serial logs stay in the store"
        );
    }

    #[test]
    fn three_vms_end_to_end() {
        let Some(binary) = ch_binary() else { return };
        let scratch = Scratch::new("vmenv");
        let store = scratch.0.join("store");
        let run = new_run_id();
        let t = Instant::now();
        let env = VmEnv::create(
            &run,
            names(3),
            store_logs(&store, 3),
            Arc::new(CloudHypervisor::new(&binary)),
            config(&scratch.0),
        )
        .unwrap();
        println!("create: {:?}", t.elapsed());
        let links = hub_links(&env);
        for i in 0..3 {
            assert!(
                links.contains(&env.tap(i)),
                "{} not in {links:?}",
                env.tap(i)
            );
        }
        let mode = fs::metadata(env.socket_dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(env.data_dir(1).unwrap(), PathBuf::from("/data/n2"));

        let t = Instant::now();
        for i in 0..3 {
            env.start_node(i, &node_cmd()).unwrap();
        }
        println!("start 3 VMs: {:?}", t.elapsed());
        assert!(env.start_node(0, &node_cmd()).is_err(), "already running");
        for i in 0..3 {
            assert_eq!(env.vm_state(i).unwrap(), VmState::Running);
            assert_eq!(env.node_status(i).unwrap(), NodeStatus::Running);
        }
        let sockets: Vec<PathBuf> = names(3)
            .iter()
            .map(|n| env.socket_dir().join(format!("{n}.sock")))
            .collect();
        assert!(sockets.iter().all(|s| s.exists()));
        // The VMMs run inside the hub.
        let hub_id = netns::id(env.hub_ns()).unwrap();
        let mut pids: Vec<u32> = (0..3).filter_map(|i| env.vmm_pid(i)).collect();
        let mut in_hub: Vec<u32> = netns::processes_in(&[hub_id])
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        pids.sort();
        in_hub.sort();
        assert_eq!(pids, in_hub);

        // Pause and resume, idempotent.
        for _ in 0..2 {
            env.pause(1).unwrap();
        }
        assert_eq!(env.vm_state(1).unwrap(), VmState::Paused);
        assert_eq!(env.node_status(1).unwrap(), NodeStatus::Paused);
        for _ in 0..2 {
            env.resume(1).unwrap();
        }
        assert_eq!(env.vm_state(1).unwrap(), VmState::Running);

        // Partitions are the hub's rules.
        env.block(0, 2).unwrap();
        env.block(0, 2).unwrap();
        let hub = env.hub_ns().to_string();
        let rules = || netns::run_in(&hub, || Netlink::open(&hub)?.rules()).unwrap();
        assert_eq!(
            rules()
                .iter()
                .filter(|r| r.priority == RULE_PRIORITY)
                .count(),
            1
        );
        env.unblock(0, 2).unwrap();
        env.unblock(0, 2).unwrap();
        assert!(rules().iter().all(|r| r.priority != RULE_PRIORITY));

        // Isolate: the TAP goes down and comes back.
        env.link_down(2).unwrap();
        env.link_up(2).unwrap();

        // Kill and restart: a new VMM boots the same VM; the old serial log is kept.
        let pid = env.vmm_pid(2).unwrap();
        env.kill(2).unwrap();
        env.kill(2).unwrap();
        assert!(dead(pid));
        assert_eq!(env.node_status(2).unwrap(), NodeStatus::Killed);
        assert!(!sockets[2].exists());
        env.restart(2).unwrap();
        assert_eq!(env.vm_state(2).unwrap(), VmState::Running);
        let pid2 = env.vmm_pid(2).unwrap();
        assert_ne!(pid, pid2);
        env.restart(2).unwrap();
        assert_eq!(env.vmm_pid(2), Some(pid2), "restart of a running node");
        let serial = env.serial_log(2).unwrap();
        assert_eq!(serial, store.join("nodes/n3/serial.log"));
        assert!(PathBuf::from(format!("{}.1", serial.display())).exists());

        // heal_all undoes pause, kill and partitions at once.
        env.pause(0).unwrap();
        env.kill(1).unwrap();
        env.block(2, 0).unwrap();
        env.heal_all().unwrap();
        for i in 0..3 {
            assert_eq!(env.vm_state(i).unwrap(), VmState::Running, "node {i}");
        }
        assert!(rules().iter().all(|r| r.priority != RULE_PRIORITY));
        assert_eq!(env.exited_node(), None);

        // The stub guests print nothing: the hint names each and its serial log.
        let hint = env.not_ready_hint().unwrap();
        println!("{hint}");
        assert_eq!(
            hint.matches("never printed its readiness line").count(),
            3,
            "{hint}"
        );
        assert!(!hint.contains('\n'), "{hint}");
        assert!(
            hint.starts_with("guest n1 never printed its readiness line"),
            "{hint}"
        );
        assert!(
            hint.contains(&format!(
                "(serial log {} is empty)",
                store.join("nodes/n1/serial.log").display()
            )),
            "{hint}"
        );

        // Post-mortem: a snapshot per VM, or the host's limit said plainly.
        let t = Instant::now();
        let lines = env.post_mortem(&store);
        println!("post-mortem ({:?}): {lines:?}", t.elapsed());
        assert_eq!(lines.len(), 3);
        for (i, line) in lines.iter().enumerate() {
            let name = format!("n{}", i + 1);
            assert!(
                *line == format!("{name}: snapshot unsupported by this host's KVM")
                    || *line
                        == format!(
                            "{name}: snapshot in {}",
                            store.join("nodes").join(&name).join("snapshot").display()
                        ),
                "{line}"
            );
        }

        // A VMM dying on its own is noticed.
        let pid = env.vmm_pid(0).unwrap();
        // SAFETY: kill(2) on the VMM this test started.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while env.exited_node().is_none() {
            assert!(Instant::now() < deadline, "exit not noticed");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(env
            .exited_node()
            .unwrap()
            .starts_with("the VMM of node n1 exited"));

        // Teardown leaves no VMM, socket, TAP, namespace or run directory.
        let pids: Vec<u32> = (1..3).filter_map(|i| env.vmm_pid(i)).collect();
        assert_eq!(pids.len(), 2);
        let t = Instant::now();
        env.teardown().unwrap();
        println!("teardown: {:?}", t.elapsed());
        env.teardown().unwrap();
        assert!(pids.iter().all(|p| dead(*p)));
        assert!(sockets.iter().all(|s| !s.exists()));
        assert!(!netns::list().unwrap().contains(&hub_ns_name(&run)));
        assert!(!run_dir(&run).exists());
        let host = Command::new("ip").args(["-o", "link"]).output().unwrap();
        assert!(!String::from_utf8_lossy(&host.stdout).contains(&format!("sq{run}t")));
        assert!(env.block(0, 1).is_err(), "faults after teardown");
        assert!(
            env.start_node(0, &node_cmd()).is_err(),
            "start after teardown"
        );
        // The serial logs stay in the store.
        assert!(store.join("nodes/n1/serial.log").exists());
    }

    /// Not a test on its own: [`clean_removes_a_crashed_vm_run`] runs it in a child
    /// process, which makes a VM run and dies without tearing it down.
    #[test]
    #[ignore = "helper of clean_removes_a_crashed_vm_run"]
    fn crash_helper() {
        let (Ok(run), Ok(dir), Ok(binary)) = (
            std::env::var("SQUALL_TEST_CRASH_RUN"),
            std::env::var("SQUALL_TEST_CRASH_DIR"),
            std::env::var("SQUALL_TEST_CRASH_CH"),
        ) else {
            return;
        };
        let dir = PathBuf::from(dir);
        let env = VmEnv::create(
            &run,
            names(2),
            store_logs(&dir, 2),
            Arc::new(CloudHypervisor::new(binary)),
            config(&dir),
        )
        .unwrap();
        env.start_node(0, &node_cmd()).unwrap();
        env.start_node(1, &node_cmd()).unwrap();
        env.pause(1).unwrap();
        std::mem::forget(env);
        // SAFETY: ends the process at once: no destructors, no teardown.
        unsafe { libc::_exit(0) };
    }

    #[test]
    fn clean_removes_a_crashed_vm_run() {
        let Some(binary) = ch_binary() else { return };
        let scratch = Scratch::new("vmcrash");
        let run = new_run_id();
        run_helper(
            &test_path(module_path!(), "crash_helper"),
            &[
                ("SQUALL_TEST_CRASH_RUN", run.as_ref()),
                ("SQUALL_TEST_CRASH_DIR", scratch.0.as_ref()),
                ("SQUALL_TEST_CRASH_CH", binary.as_ref()),
            ],
        );
        let hub = hub_ns_name(&run);
        let id = netns::id(&hub).unwrap();
        let left: Vec<u32> = netns::processes_in(&[id])
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(left.len(), 2, "VMMs left in the hub");
        assert!(run_dir(&run).join("vm/n1.sock").exists());

        let report = crate::env::clean::clean().unwrap();
        let mut killed: Vec<u32> = report
            .processes
            .iter()
            .filter(|(_, comm, ns)| *ns == hub && comm.starts_with("cloud-hyper"))
            .map(|(p, _, _)| *p)
            .collect();
        killed.sort();
        let mut expected = left.clone();
        expected.sort();
        assert_eq!(killed, expected, "{report}");
        assert!(report.namespaces.contains(&hub));
        assert!(report.dirs.contains(&run_dir(&run)));
        wait_dead(&left);
        assert!(!run_dir(&run).exists());
    }
}
