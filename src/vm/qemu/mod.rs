//! The QEMU driver: one `qemu-system-x86_64` process per VM ([`cmdline`]), driven over
//! QMP on a Unix socket ([`qmp`]).
//!
//! QEMU takes the VM's definition on its command line, so the process starts at
//! [`Vmm::create`], frozen (`-S`, QMP status `prelaunch`: the seam's `Created`);
//! [`VmmDriver::start`] only checks that the binary can run. The lifecycle in QMP:
//!
//! | seam        | QMP / process                                                      |
//! |-------------|--------------------------------------------------------------------|
//! | create      | start `qemu-system-x86_64 -S ...`, handshake                       |
//! | boot        | `cont` (from `prelaunch`)                                          |
//! | state       | `query-status`: `running`, `paused`/`postmigrate`, `prelaunch`     |
//! | pause       | `stop`; resume `cont`                                              |
//! | reboot      | `system_reset` (a hard reset; the guest boots again at once)       |
//! | shutdown    | `stop` + `system_reset`: a stopped VM's reset leaves it `prelaunch`, powered off without the guest's help, bootable again |
//! | delete      | `quit` (the definition is the process)                             |
//! | snapshot    | `migrate` to `exec:cat > DIR/vm.state` on the paused VM            |
//! | stop / kill | `quit`, then SIGKILL after the grace / SIGKILL (a power cut)       |
//!
//! The snapshot is QEMU's migration stream: `qemu-system-x86_64 <the same command line>
//! -incoming 'exec:cat vm.state'` resumes the guest from it (with the data disk as it was).
//! `savevm` is not used: it stores into the disk image and needs qcow2, and the data
//! disks are raw.
//!
//! Like Cloud Hypervisor, the process starts in the namespace the environment gives it
//! (the run's hub: it opens the TAP by name there), in a session of its own, its output
//! appended to the node's log ([`crate::env::spawn::spawn_in`]); `squall clean` kills
//! what a dead run left in its namespaces, QEMU included.

pub mod cmdline;
pub mod qmp;

pub use cmdline::Accel;

use super::driver::{Launch, VmSpec, VmState, Vmm, VmmDriver, VmmError};
use crate::env::spawn::spawn_in;
use qmp::{Qmp, QmpError};
use serde_json::{json, Value};
use std::fs::{self, File};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The name QEMU's binary has on `PATH`.
pub const BINARY: &str = "qemu-system-x86_64";

/// How long one QMP command may take to be answered. Generous: under TCG on a busy host
/// QEMU's main loop competes with the vCPU threads.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a post-mortem migration to a file may take.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(120);

/// The QEMU driver: which binary to run, with which accelerator.
#[derive(Clone, Debug)]
pub struct Qemu {
    binary: PathBuf,
    accel: Accel,
}

impl Qemu {
    /// A driver running `binary` with `accel`.
    pub fn new(binary: impl Into<PathBuf>, accel: Accel) -> Self {
        Qemu {
            binary: binary.into(),
            accel,
        }
    }

    /// The accelerator the VMs run with.
    pub fn accel(&self) -> Accel {
        self.accel
    }

    /// The binary's version (the first line of `--version`, e.g. `QEMU emulator version
    /// 7.2.22 (Debian ...)`).
    pub fn binary_version(&self) -> Result<String, VmmError> {
        binary_version(&self.binary)
    }
}

fn binary_version(binary: &Path) -> Result<String, VmmError> {
    let what = || format!("run {} --version", binary.display());
    let out = Command::new(binary)
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
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string())
}

impl VmmDriver for Qemu {
    fn name(&self) -> &str {
        "qemu"
    }

    fn start(&self, launch: &Launch<'_>) -> Result<Box<dyn Vmm>, VmmError> {
        let what = format!("start {} for {}", self.binary.display(), launch.name);
        // The process itself starts at create; a binary that cannot run fails here.
        let meta = fs::metadata(&self.binary).map_err(|e| process_error(what.clone(), e))?;
        {
            use std::os::unix::fs::PermissionsExt;
            if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                return Err(VmmError::Process {
                    what,
                    cause: "not an executable file".into(),
                });
            }
        }
        let netns = launch
            .netns
            .try_clone()
            .map_err(|e| process_error(what.clone(), e))?;
        Ok(Box::new(QemuVmm {
            name: launch.name.to_string(),
            binary: self.binary.clone(),
            accel: self.accel,
            netns,
            socket: launch.dir.join(format!("{}.qmp", launch.name)),
            log: launch.log.to_path_buf(),
            timeout: launch.timeout,
            child: None,
            qmp: None,
        }))
    }
}

/// One `qemu-system-x86_64` process (from create on) and its VM. Dropping it kills the
/// process.
pub struct QemuVmm {
    name: String,
    binary: PathBuf,
    accel: Accel,
    netns: File,
    socket: PathBuf,
    log: PathBuf,
    timeout: Duration,
    child: Option<Child>,
    qmp: Option<Qmp>,
}

fn process_error(what: String, e: io::Error) -> VmmError {
    VmmError::Process {
        what,
        cause: super::describe_io(&e),
    }
}

/// The seam's state of a QMP `query-status` answer.
fn state_of(status: &Value) -> VmState {
    match status["status"].as_str().unwrap_or_default() {
        "running" => VmState::Running,
        "prelaunch" => VmState::Created,
        "shutdown" | "guest-panicked" | "internal-error" | "io-error" => VmState::Shutdown,
        // paused, postmigrate (after a snapshot), suspended, debug, ...
        _ => VmState::Paused,
    }
}

impl QemuVmm {
    /// Connects to QMP once the socket appears, until the process exits or `timeout`.
    fn connect(&mut self, timeout: Duration) -> Result<(), VmmError> {
        let deadline = Instant::now() + timeout;
        let what = || format!("start qemu for {}", self.name);
        loop {
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(VmmError::Process {
                        what: what(),
                        cause: format!(
                            "exited ({status}) before QMP answered; see {}",
                            self.log.display()
                        ),
                    });
                }
            }
            let last = match UnixStream::connect(&self.socket) {
                Ok(stream) => match Qmp::handshake(stream, COMMAND_TIMEOUT) {
                    Ok(qmp) => {
                        self.qmp = Some(qmp);
                        return Ok(());
                    }
                    Err(e) => e.to_string(),
                },
                Err(e) => super::describe_io(&e),
            };
            if Instant::now() >= deadline {
                return Err(VmmError::Process {
                    what: what(),
                    cause: format!(
                        "QMP not answering after {timeout:?}: {last}; see {}",
                        self.log.display()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs one QMP command (`what` names it in errors, e.g. `pause`).
    fn execute(
        &mut self,
        what: &str,
        command: &str,
        args: Option<Value>,
    ) -> Result<Value, VmmError> {
        if !self.alive() {
            return Err(VmmError::NotRunning(format!("{what} {}", self.name)));
        }
        let Some(qmp) = &mut self.qmp else {
            return Err(VmmError::NotRunning(format!("{what} {}", self.name)));
        };
        qmp.execute(command, args).map_err(|e| {
            let cause = match e {
                QmpError::Command { .. } => format!("QMP {command}: {e}"),
                _ => e.to_string(),
            };
            VmmError::Api {
                what: format!("{what} {}", self.name),
                cause,
            }
        })
    }

    fn query_state(&mut self, what: &str) -> Result<VmState, VmmError> {
        self.execute(what, "query-status", None)
            .map(|s| state_of(&s))
    }

    /// Fails unless the VM is in `want` (the seam's rule: a request on a VM in the wrong
    /// state fails, as Cloud Hypervisor's do; QMP's `stop` and `cont` would not).
    fn require(&mut self, what: &str, want: VmState) -> Result<(), VmmError> {
        match self.query_state(what)? {
            state if state == want => Ok(()),
            state => Err(VmmError::Api {
                what: format!("{what} {}", self.name),
                cause: format!("the VM is {state}, not {want}"),
            }),
        }
    }

    /// Waits up to `timeout` for the VM to reach `want` (QEMU resets asynchronously).
    fn await_state(
        &mut self,
        what: &str,
        want: VmState,
        timeout: Duration,
    ) -> Result<(), VmmError> {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.query_state(what)?;
            if state == want {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(VmmError::Api {
                    what: format!("{what} {}", self.name),
                    cause: format!("the VM is {state} after {timeout:?}, not {want}"),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn reap(&mut self) -> Result<(), VmmError> {
        self.qmp = None;
        if let Some(mut child) = self.child.take() {
            child
                .wait()
                .map_err(|e| process_error(format!("reap qemu of {}", self.name), e))?;
        }
        match fs::remove_file(&self.socket) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(process_error(
                format!("remove {}", self.socket.display()),
                e,
            )),
            _ => Ok(()),
        }
    }

    /// Asks QEMU to exit (`quit`) and waits up to `grace`; `true` if it did.
    fn quit(&mut self, grace: Duration) -> bool {
        if let Some(qmp) = &mut self.qmp {
            // QEMU may close the socket before it answers: the outcome is the process's.
            let _ = qmp.set_timeout(grace);
            let _ = qmp.execute("quit", None);
        }
        let deadline = Instant::now() + grace;
        while self.alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        !self.alive()
    }
}

/// `path` as one word of a `sh -c` line (QEMU runs `exec:` URIs through `/bin/sh`).
fn shell_word(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

impl Vmm for QemuVmm {
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn alive(&mut self) -> bool {
        match &mut self.child {
            Some(child) => match child.try_wait() {
                Ok(None) => true,
                Ok(Some(status)) => {
                    tracing::warn!(vm = %self.name, %status, "qemu exited");
                    self.child = None;
                    self.qmp = None;
                    false
                }
                Err(_) => true,
            },
            None => false,
        }
    }

    /// QEMU's version from QMP once the process runs, else from the binary.
    fn version(&mut self) -> Result<String, VmmError> {
        match &self.qmp {
            Some(qmp) => Ok(qmp.version().to_string()),
            None => binary_version(&self.binary),
        }
    }

    fn create(&mut self, spec: &VmSpec) -> Result<(), VmmError> {
        let what = format!("create {}", self.name);
        if self.alive() {
            return Err(VmmError::Api {
                what,
                cause: "a VM is defined already".into(),
            });
        }
        // A socket left by an earlier process would make QEMU fail to bind.
        match fs::remove_file(&self.socket) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(process_error(
                    format!("{what}: remove {}", self.socket.display()),
                    e,
                ))
            }
            _ => {}
        }
        let args = cmdline::args(&self.name, spec, self.accel, &self.socket);
        let header = format!(
            "=== squall: starting {} for {} ({}): {}",
            self.binary.display(),
            self.name,
            self.accel,
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut command = Command::new(&self.binary);
        command.args(&args);
        let child = spawn_in(command, &self.netns, &self.log, &header)
            .map_err(|e| process_error(e.what(&what), e.cause))?;
        tracing::info!(vm = %self.name, pid = child.id(), accel = %self.accel, qmp = %self.socket.display(), "qemu started");
        self.child = Some(child);
        let timeout = self.timeout;
        self.connect(timeout).inspect_err(|_| {
            let _ = self.kill();
        })?;
        self.require("create", VmState::Created)
    }

    fn boot(&mut self) -> Result<(), VmmError> {
        self.require("boot", VmState::Created)?;
        self.execute("boot", "cont", None).map(drop)
    }

    fn state(&mut self) -> Result<VmState, VmmError> {
        self.query_state("info")
    }

    fn pause(&mut self) -> Result<(), VmmError> {
        self.require("pause", VmState::Running)?;
        self.execute("pause", "stop", None).map(drop)
    }

    fn resume(&mut self) -> Result<(), VmmError> {
        self.require("resume", VmState::Paused)?;
        self.execute("resume", "cont", None).map(drop)
    }

    fn reboot(&mut self) -> Result<(), VmmError> {
        self.execute("reboot", "system_reset", None).map(drop)
    }

    fn shutdown(&mut self) -> Result<(), VmmError> {
        if self.query_state("shutdown")? == VmState::Running {
            self.execute("shutdown", "stop", None)?;
        }
        self.execute("shutdown", "system_reset", None)?;
        self.await_state("shutdown", VmState::Created, COMMAND_TIMEOUT)
    }

    fn delete(&mut self) -> Result<(), VmmError> {
        if !self.alive() {
            return Err(VmmError::NotRunning(format!("delete {}", self.name)));
        }
        if !self.quit(COMMAND_TIMEOUT) {
            return Err(VmmError::Api {
                what: format!("delete {}", self.name),
                cause: format!("qemu did not quit within {COMMAND_TIMEOUT:?}"),
            });
        }
        self.reap()
    }

    fn snapshot(&mut self, dir: &Path) -> Result<(), VmmError> {
        let file = dir.join("vm.state");
        let uri = format!("exec:cat > {}", shell_word(&file));
        self.execute("snapshot", "migrate", Some(json!({ "uri": uri })))?;
        let deadline = Instant::now() + SNAPSHOT_TIMEOUT;
        loop {
            let status = self.execute("snapshot", "query-migrate", None)?;
            match status["status"].as_str().unwrap_or_default() {
                "completed" => return Ok(()),
                "failed" | "cancelled" => {
                    return Err(VmmError::Api {
                        what: format!("snapshot {}", self.name),
                        cause: format!(
                            "migration to {} failed: {}",
                            file.display(),
                            status["error-desc"].as_str().unwrap_or("no reason given")
                        ),
                    })
                }
                _ if Instant::now() >= deadline => {
                    let _ = self.execute("snapshot", "migrate_cancel", None);
                    return Err(VmmError::Api {
                        what: format!("snapshot {}", self.name),
                        cause: format!("migration not done after {SNAPSHOT_TIMEOUT:?}"),
                    });
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn stop(&mut self, grace: Duration) -> Result<(), VmmError> {
        if self.alive() {
            self.quit(grace);
        }
        self.kill()
    }

    fn kill(&mut self) -> Result<(), VmmError> {
        if let Some(child) = &mut self.child {
            if let Err(e) = child.kill() {
                // Already exited (and not yet reaped) is fine.
                if e.kind() != io::ErrorKind::InvalidInput {
                    return Err(process_error(format!("kill qemu of {}", self.name), e));
                }
            }
        }
        self.reap()
    }
}

impl Drop for QemuVmm {
    fn drop(&mut self) {
        if let Err(e) = self.kill() {
            tracing::warn!(vm = %self.name, error = %e, "qemu not cleaned up");
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Against a real `qemu-system-x86_64` (skipped, saying why, where there is none or
    //! no root). The guest is the stub PVH kernel: it halts at once, which is all the
    //! lifecycle needs.

    use super::*;
    use crate::env::testing::dead;
    use crate::vm::ch::tests::Scratch;
    use crate::vm::stub_kernel;

    /// The binary to test with, or `None` after printing why not.
    pub(crate) fn qemu_binary() -> Option<PathBuf> {
        // SAFETY: geteuid(2) cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root (namespaces)");
            return None;
        }
        match crate::vm::locate_qemu(None) {
            Ok(path) => Some(path),
            Err(e) => {
                eprintln!("skipped: {e}");
                None
            }
        }
    }

    #[test]
    fn states_of_query_status() {
        for (status, state) in [
            ("running", VmState::Running),
            ("prelaunch", VmState::Created),
            ("paused", VmState::Paused),
            ("postmigrate", VmState::Paused),
            ("shutdown", VmState::Shutdown),
            ("guest-panicked", VmState::Shutdown),
        ] {
            assert_eq!(state_of(&json!({"status": status})), state, "{status}");
        }
        assert_eq!(
            shell_word(Path::new("/a b/it's")),
            r"'/a b/it'\''s'".to_string()
        );
    }

    #[test]
    fn driver_lifecycle_snapshot_and_cleanup() {
        let Some(binary) = qemu_binary() else { return };
        let dir = Scratch::new("qemu-driver");
        let netns = File::open("/proc/self/ns/net").unwrap();
        let log = dir.0.join("vmm.log");
        let kernel = dir.0.join("stub-kernel");
        stub_kernel::write(&kernel).unwrap();
        let spec = VmSpec {
            cpus: 1,
            memory_mb: 64,
            kernel,
            initramfs: None,
            cmdline: "console=ttyS0".into(),
            disks: Vec::new(),
            tap: None,
            mac: "52:54:00:12:01:02".into(),
            serial: dir.0.join("serial.log"),
        };
        let driver = Qemu::new(&binary, Accel::Tcg);
        assert!(driver
            .binary_version()
            .unwrap()
            .starts_with("QEMU emulator"));
        let launch = Launch {
            name: "t1",
            dir: &dir.0,
            netns: &netns,
            log: &log,
            timeout: Duration::from_secs(10),
        };
        let mut vmm = driver.start(&launch).unwrap();
        assert_eq!(vmm.pid(), None);
        vmm.create(&spec).unwrap();
        let pid = vmm.pid().unwrap();
        let socket = dir.0.join("t1.qmp");
        assert!(socket.exists());
        assert!(vmm.version().unwrap().starts_with(char::is_numeric));
        assert_eq!(vmm.state().unwrap(), VmState::Created);
        let e = vmm.create(&spec).unwrap_err();
        assert_eq!(e.to_string(), "create t1: a VM is defined already");
        vmm.boot().unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Running);
        vmm.pause().unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Paused);
        let e = vmm.pause().unwrap_err();
        assert_eq!(e.to_string(), "pause t1: the VM is Paused, not Running");
        let snap = dir.0.join("snap");
        fs::create_dir_all(&snap).unwrap();
        vmm.snapshot(&snap).unwrap();
        let size = fs::metadata(snap.join("vm.state")).unwrap().len();
        assert!(size > 0, "empty migration stream");
        println!("snapshot: vm.state, {size} bytes");
        assert_eq!(vmm.state().unwrap(), VmState::Paused);
        vmm.resume().unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Running);
        vmm.reboot().unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Running);
        vmm.shutdown().unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Created);
        // A powered-off VM boots again.
        vmm.boot().unwrap();
        assert_eq!(vmm.state().unwrap(), VmState::Running);
        vmm.delete().unwrap();
        assert!(dead(pid));
        assert!(!socket.exists());
        let e = vmm.state().unwrap_err();
        assert_eq!(e.to_string(), "info t1: the VMM is not running");
        vmm.stop(Duration::from_secs(2)).unwrap();

        // A power cut: kill, then a new process on the same definition.
        vmm.create(&spec).unwrap();
        let pid = vmm.pid().unwrap();
        vmm.boot().unwrap();
        vmm.kill().unwrap();
        vmm.kill().unwrap();
        assert!(dead(pid));
        assert!(!socket.exists());
        let log = fs::read_to_string(&log).unwrap();
        assert!(log.contains("=== squall: starting"), "{log}");
        assert!(log.contains("-accel tcg"), "{log}");

        // A binary that cannot run says why at start.
        let bad = Qemu::new("/nonexistent/qemu-system-x86_64", Accel::Tcg);
        let e = bad.start(&launch).err().unwrap();
        assert_eq!(
            e.to_string(),
            "start /nonexistent/qemu-system-x86_64 for t1: No such file or directory"
        );
    }
}
