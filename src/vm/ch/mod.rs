//! The Cloud Hypervisor driver: one `cloud-hypervisor --api-socket path=SOCK` process per
//! VM, driven through its REST API ([`api`], bodies in [`types`]).
//!
//! The process starts in the namespace the environment gives it (the run's hub), so that
//! it can open the node's TAP by name, the way every environment starts its processes
//! ([`crate::env::spawn::spawn_in`]: a new session, so that a Ctrl-C at the terminal
//! reaches squall only). Its stdout and stderr are appended to the node's log.

#[allow(
    dead_code,
    reason = "the whole documented API is modelled; squall uses part of it"
)]
pub mod api;
#[allow(
    dead_code,
    reason = "the whole documented API is modelled; squall uses part of it"
)]
pub mod types;

use super::driver::{Launch, VmSpec, VmState, Vmm, VmmDriver, VmmError};
use crate::env::spawn::spawn_in;
use api::{block_on, ApiError, ChClient};
use std::fs;
#[cfg(test)]
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use types::{ConsoleConfig, ConsoleMode, CpusConfig, DiskConfig, MemoryConfig, NetConfig};
use types::{PayloadConfig, VmConfig};

/// The name CH's binary has on `PATH`.
pub const BINARY: &str = "cloud-hypervisor";

/// The Cloud Hypervisor driver: which binary to run.
#[derive(Clone, Debug)]
pub struct CloudHypervisor {
    binary: PathBuf,
}

impl CloudHypervisor {
    /// A driver running `binary`.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        CloudHypervisor {
            binary: binary.into(),
        }
    }

    /// The binary's version (`cloud-hypervisor --version`, e.g. `cloud-hypervisor v53.0`).
    pub fn binary_version(&self) -> Result<String, VmmError> {
        let what = || format!("run {} --version", self.binary.display());
        let out = Command::new(&self.binary)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| process_error(what(), e))?;
        if !out.status.success() {
            return Err(VmmError::Process {
                what: what(),
                cause: format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl VmmDriver for CloudHypervisor {
    fn name(&self) -> &str {
        BINARY
    }

    fn start(&self, launch: &Launch<'_>) -> Result<Box<dyn Vmm>, VmmError> {
        let what = format!("start {} for {}", self.binary.display(), launch.name);
        let socket = launch.dir.join(format!("{}.sock", launch.name));
        // A socket left by an earlier process would make CH fail to bind.
        match fs::remove_file(&socket) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(process_error(
                    format!("{what}: remove {}", socket.display()),
                    e,
                ))
            }
            _ => {}
        }
        let header = format!(
            "=== squall: starting {} for {}: --api-socket path={}",
            self.binary.display(),
            launch.name,
            socket.display()
        );
        let mut command = Command::new(&self.binary);
        command
            .arg("--api-socket")
            .arg(format!("path={}", socket.display()));
        let child = spawn_in(command, launch.netns, launch.log, &header)
            .map_err(|e| process_error(e.what(&what), e.cause))?;
        tracing::info!(vm = launch.name, pid = child.id(), socket = %socket.display(), "cloud-hypervisor started");
        let mut vmm = ChVmm {
            name: launch.name.to_string(),
            child: Some(child),
            client: ChClient::new(&socket),
            socket,
            log: launch.log.to_path_buf(),
        };
        vmm.wait_api(launch.timeout).inspect_err(|_| {
            let _ = vmm.kill();
        })?;
        Ok(Box::new(vmm))
    }
}

/// One `cloud-hypervisor` process and its VM. Dropping it kills the process.
pub struct ChVmm {
    name: String,
    child: Option<Child>,
    client: ChClient,
    socket: PathBuf,
    log: PathBuf,
}

impl ChVmm {
    /// The REST client of this VMM.
    #[allow(dead_code, reason = "API for drivers' users; used by the tests")]
    pub fn client(&self) -> &ChClient {
        &self.client
    }

    /// Waits until the API answers `vmm.ping`, the process exits, or `timeout` passes.
    fn wait_api(&mut self, timeout: Duration) -> Result<(), VmmError> {
        let deadline = Instant::now() + timeout;
        let what = || format!("start cloud-hypervisor for {}", self.name);
        loop {
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(VmmError::Process {
                        what: what(),
                        cause: format!(
                            "exited ({status}) before its API answered; see {}",
                            self.log.display()
                        ),
                    });
                }
            }
            let last = match block_on(
                self.client
                    .clone()
                    .with_timeout(Duration::from_secs(1))
                    .ping(),
            ) {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(VmmError::Process {
                    what: what(),
                    cause: format!("API not answering after {:?}: {last}", timeout),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The client, if the process is alive.
    fn live_client(&mut self, what: &str) -> Result<ChClient, VmmError> {
        if self.alive() {
            Ok(self.client.clone())
        } else {
            Err(VmmError::NotRunning(format!("{what} {}", self.name)))
        }
    }

    /// Runs one request (`what` names it in errors, e.g. `pause`).
    fn request<T, F, Fut>(&mut self, what: &str, f: F) -> Result<T, VmmError>
    where
        T: Send,
        F: FnOnce(ChClient) -> Fut,
        Fut: Future<Output = Result<T, ApiError>> + Send,
    {
        let client = self.live_client(what)?;
        block_on(f(client)).map_err(|e| VmmError::Api {
            what: format!("{what} {}", self.name),
            cause: e.to_string(),
        })
    }

    fn reap(&mut self) -> Result<(), VmmError> {
        if let Some(mut child) = self.child.take() {
            child
                .wait()
                .map_err(|e| process_error(format!("reap cloud-hypervisor of {}", self.name), e))?;
        }
        match fs::remove_file(&self.socket) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(process_error(
                format!("remove {}", self.socket.display()),
                e,
            )),
            _ => Ok(()),
        }
    }
}

fn process_error(what: String, e: io::Error) -> VmmError {
    VmmError::Process {
        what,
        cause: super::describe_io(&e),
    }
}

/// The `VmConfig` of a [`VmSpec`]: serial to the spec's file, no virtio console, the NIC on
/// the spec's TAP with one queue pair (the TAP is not multi-queue).
pub fn vm_config(spec: &VmSpec) -> VmConfig {
    VmConfig {
        cpus: Some(CpusConfig {
            boot_vcpus: spec.cpus,
            max_vcpus: spec.cpus,
        }),
        memory: Some(MemoryConfig {
            size: spec.memory_mb << 20,
        }),
        payload: PayloadConfig {
            kernel: Some(spec.kernel.clone()),
            initramfs: spec.initramfs.clone(),
            cmdline: Some(spec.cmdline.clone()),
            firmware: None,
        },
        disks: (!spec.disks.is_empty()).then(|| {
            spec.disks
                .iter()
                .map(|path| DiskConfig {
                    path: path.clone(),
                    ..DiskConfig::default()
                })
                .collect()
        }),
        net: spec.tap.as_ref().map(|tap| {
            vec![NetConfig {
                tap: Some(tap.clone()),
                mac: Some(spec.mac.clone()),
                num_queues: Some(2),
                ..NetConfig::default()
            }]
        }),
        vsock: None,
        serial: Some(ConsoleConfig {
            mode: ConsoleMode::File,
            file: Some(spec.serial.clone()),
        }),
        console: Some(ConsoleConfig {
            mode: ConsoleMode::Off,
            file: None,
        }),
    }
}

/// Whether CH's error text says the host's KVM cannot save a vCPU's nested state — what a
/// snapshot inside a nested (or paravirtual) KVM runs into.
pub fn is_nested_state_error(message: &str) -> bool {
    message.contains("GetNestedState") || message.contains("nested state")
}

fn state_of(state: types::VmState) -> VmState {
    match state {
        types::VmState::Created => VmState::Created,
        types::VmState::Running => VmState::Running,
        types::VmState::Paused => VmState::Paused,
        types::VmState::Shutdown => VmState::Shutdown,
    }
}

impl Vmm for ChVmm {
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn alive(&mut self) -> bool {
        match &mut self.child {
            Some(child) => match child.try_wait() {
                Ok(None) => true,
                Ok(Some(status)) => {
                    tracing::warn!(vm = %self.name, %status, "cloud-hypervisor exited");
                    self.child = None;
                    false
                }
                Err(_) => true,
            },
            None => false,
        }
    }

    fn version(&mut self) -> Result<String, VmmError> {
        self.request("ping", |c| async move { c.ping().await })
            .map(|p| p.version)
    }

    fn create(&mut self, spec: &VmSpec) -> Result<(), VmmError> {
        let config = vm_config(spec);
        self.request("create", |c| async move { c.create(&config).await })
    }

    fn boot(&mut self) -> Result<(), VmmError> {
        self.request("boot", |c| async move { c.boot().await })
    }

    fn state(&mut self) -> Result<VmState, VmmError> {
        self.request("info", |c| async move { c.info().await })
            .map(|info| state_of(info.state))
    }

    fn pause(&mut self) -> Result<(), VmmError> {
        self.request("pause", |c| async move { c.pause().await })
    }

    fn resume(&mut self) -> Result<(), VmmError> {
        self.request("resume", |c| async move { c.resume().await })
    }

    fn reboot(&mut self) -> Result<(), VmmError> {
        self.request("reboot", |c| async move { c.reboot().await })
    }

    fn shutdown(&mut self) -> Result<(), VmmError> {
        self.request("shutdown", |c| async move { c.shutdown().await })
    }

    fn delete(&mut self) -> Result<(), VmmError> {
        self.request("delete", |c| async move { c.delete().await })
    }

    fn snapshot(&mut self, dir: &Path) -> Result<(), VmmError> {
        let client = self.live_client("snapshot")?;
        let dir = dir.to_path_buf();
        match block_on(async move { client.snapshot(&dir).await }) {
            Ok(()) => Ok(()),
            Err(e) if e.message().is_some_and(is_nested_state_error) => {
                Err(VmmError::SnapshotUnsupported(e.to_string()))
            }
            Err(e) => Err(VmmError::Api {
                what: format!("snapshot {}", self.name),
                cause: e.to_string(),
            }),
        }
    }

    fn stop(&mut self, grace: Duration) -> Result<(), VmmError> {
        if self.alive() {
            let client = self.client.clone().with_timeout(grace);
            // The VMM may exit before it answers: the outcome is read from the process.
            let _ = block_on(async move { client.vmm_shutdown().await });
            let deadline = Instant::now() + grace;
            while self.alive() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.kill()
    }

    fn kill(&mut self) -> Result<(), VmmError> {
        if let Some(child) = &mut self.child {
            if let Err(e) = child.kill() {
                // Already exited (and not yet reaped) is fine.
                if e.kind() != io::ErrorKind::InvalidInput {
                    return Err(process_error(
                        format!("kill cloud-hypervisor of {}", self.name),
                        e,
                    ));
                }
            }
        }
        self.reap()
    }
}

impl Drop for ChVmm {
    fn drop(&mut self) {
        if let Err(e) = self.kill() {
            tracing::warn!(vm = %self.name, error = %e, "cloud-hypervisor not cleaned up");
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Against a real `cloud-hypervisor` (`SQUALL_CH_BIN`, else `PATH`); each test prints
    //! why it is skipped where there is none, or no usable `/dev/kvm`. The guest is the stub
    //! kernel: it halts at once, which is all a lifecycle needs (on a paravirtual nested
    //! KVM no stock kernel would boot anyway).

    use super::*;
    use crate::env::testing::dead;
    use crate::vm::stub_kernel;
    use api::ChClient;

    /// The binary to test with, or `None` after printing why not.
    pub(crate) fn ch_binary() -> Option<PathBuf> {
        let binary = match std::env::var_os("SQUALL_CH_BIN") {
            Some(path) => PathBuf::from(path),
            None => match crate::vm::locate_ch(None) {
                Ok(path) => path,
                Err(e) => {
                    eprintln!("skipped: {e} (or set SQUALL_CH_BIN)");
                    return None;
                }
            },
        };
        // SAFETY: geteuid(2) cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root (namespaces, /dev/kvm)");
            return None;
        }
        if let Err(e) = OpenOptions::new().read(true).write(true).open("/dev/kvm") {
            eprintln!("skipped: /dev/kvm: {e}");
            return None;
        }
        Some(binary)
    }

    /// A scratch directory, removed on drop.
    pub(crate) struct Scratch(pub PathBuf);

    impl Scratch {
        pub(crate) fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "squall-test-{tag}-{}",
                crate::env::names::new_run_id()
            ));
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn spec(dir: &Path) -> VmSpec {
        let kernel = dir.join("stub-kernel");
        stub_kernel::write(&kernel).unwrap();
        VmSpec {
            cpus: 1,
            memory_mb: 128,
            kernel,
            initramfs: None,
            cmdline: "console=ttyS0".into(),
            disks: Vec::new(),
            tap: None,
            mac: "52:54:00:12:01:02".into(),
            serial: dir.join("serial.log"),
        }
    }

    #[test]
    fn rest_client_through_the_whole_lifecycle() {
        let Some(binary) = ch_binary() else { return };
        let dir = Scratch::new("ch-api");
        let socket = dir.0.join("api.sock");
        let mut child = Command::new(&binary)
            .arg("--api-socket")
            .arg(format!("path={}", socket.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let c = ChClient::new(&socket);
        let deadline = Instant::now() + Duration::from_secs(5);
        let ping = loop {
            match block_on(c.ping()) {
                Ok(p) => break p,
                Err(e) if Instant::now() > deadline => panic!("{e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        println!(
            "cloud-hypervisor {} ({:?})",
            ping.version, ping.build_version
        );
        assert_eq!(ping.pid, Some(i64::from(child.id())));
        let state = |c: &ChClient| block_on(c.info()).unwrap().state;

        let spec = spec(&dir.0);
        block_on(c.create(&vm_config(&spec))).unwrap();
        let info = block_on(c.info()).unwrap();
        assert_eq!(info.state, types::VmState::Created);
        assert_eq!(
            info.config.payload.kernel.as_deref(),
            Some(spec.kernel.as_path())
        );
        assert_eq!(info.config.memory.unwrap().size, 128 << 20);
        assert_eq!(info.config.serial.unwrap().mode, ConsoleMode::File);

        block_on(c.boot()).unwrap();
        assert_eq!(state(&c), types::VmState::Running);
        block_on(c.counters()).unwrap();

        block_on(c.pause()).unwrap();
        assert_eq!(state(&c), types::VmState::Paused);
        let e = block_on(c.pause()).unwrap_err();
        assert!(e.to_string().starts_with("vm.pause: "), "{e}");

        let snap = dir.0.join("snapshot");
        fs::create_dir_all(&snap).unwrap();
        match block_on(c.snapshot(&snap)) {
            Ok(()) => {
                let files: Vec<_> = fs::read_dir(&snap).unwrap().collect();
                assert!(!files.is_empty(), "empty snapshot directory");
                println!("snapshot: {} files", files.len());
            }
            Err(e) => {
                assert!(
                    is_nested_state_error(e.message().unwrap_or("")),
                    "snapshot failed otherwise: {e}"
                );
                println!("snapshot unsupported by this host's KVM: {e}");
            }
        }

        block_on(c.resume()).unwrap();
        assert_eq!(state(&c), types::VmState::Running);
        block_on(c.reboot()).unwrap();
        assert_eq!(state(&c), types::VmState::Running);
        block_on(c.shutdown()).unwrap();
        assert_eq!(state(&c), types::VmState::Created);
        // A shut-down VM boots again.
        block_on(c.boot()).unwrap();
        assert_eq!(state(&c), types::VmState::Running);
        block_on(c.shutdown()).unwrap();
        block_on(c.delete()).unwrap();
        let e = block_on(c.info()).unwrap_err();
        assert!(e.to_string().starts_with("vm.info: "), "{e}");

        block_on(c.vmm_shutdown()).unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{status}");
    }

    #[test]
    fn driver_lifecycle_and_cleanup() {
        let Some(binary) = ch_binary() else { return };
        let dir = Scratch::new("ch-driver");
        let netns = File::open("/proc/self/ns/net").unwrap();
        let log = dir.0.join("vmm.log");
        let driver = CloudHypervisor::new(&binary);
        assert!(driver
            .binary_version()
            .unwrap()
            .starts_with("cloud-hypervisor v"));
        let mut vmm = driver
            .start(&Launch {
                name: "t1",
                dir: &dir.0,
                netns: &netns,
                log: &log,
                timeout: Duration::from_secs(5),
            })
            .unwrap();
        let pid = vmm.pid().unwrap();
        let socket = dir.0.join("t1.sock");
        assert!(socket.exists());
        assert!(!vmm.version().unwrap().is_empty());
        let spec = spec(&dir.0);
        vmm.create(&spec).unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Created);
        vmm.boot().unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Running);
        vmm.pause().unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Paused);
        let snap = dir.0.join("snap");
        fs::create_dir_all(&snap).unwrap();
        match vmm.snapshot(&snap) {
            Ok(()) => assert!(fs::read_dir(&snap).unwrap().next().is_some()),
            Err(e @ VmmError::SnapshotUnsupported(_)) => {
                assert!(e
                    .to_string()
                    .starts_with("snapshot unsupported by this host's KVM"));
                assert!(!e.to_string().contains('\n'), "{e}");
                println!("{e}");
            }
            Err(e) => panic!("{e}"),
        }
        vmm.resume().unwrap();
        vmm.reboot().unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Running);
        vmm.shutdown().unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Created);
        vmm.delete().unwrap();
        vmm.stop(Duration::from_secs(2)).unwrap();
        vmm.stop(Duration::from_secs(2)).unwrap();
        assert!(dead(pid));
        assert!(!socket.exists());
        let e = vmm.pause().unwrap_err();
        assert_eq!(e.to_string(), "pause t1: the VMM is not running");
        let log = fs::read_to_string(&log).unwrap();
        assert!(log.contains("=== squall: starting"), "{log}");

        // A VMM that cannot start says why, with its log.
        let bad = CloudHypervisor::new("/nonexistent/cloud-hypervisor");
        let e = bad
            .start(&Launch {
                name: "t2",
                dir: &dir.0,
                netns: &netns,
                log: &dir.0.join("t2.log"),
                timeout: Duration::from_secs(1),
            })
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "start /nonexistent/cloud-hypervisor for t2: No such file or directory"
        );
    }
}
