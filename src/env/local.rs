//! The `local` environment: each node is a process in its own network namespace with a
//! veth link into the run's hub (see [`super::hub_env`] for what every environment shares).
//!
//! ```text
//!            squall-<run>-hub  (ip_forward=1; clients and FIB-rule faults live here)
//!   sq<run>h1 198.18.1.1/24   sq<run>h2 198.18.2.1/24   ...
//!        │ veth                    │ veth
//!   eth0 198.18.1.2/24        eth0 198.18.2.2/24
//!   squall-<run>-n1           squall-<run>-n2           ...
//!   default via 198.18.1.1    default via 198.18.2.1
//! ```
//!
//! The host's own namespace gets no link, address, route or rule, so no test traffic can
//! leave the machine, and cleaning up is "kill the processes, delete the namespaces".
//! Node-to-node traffic crosses the hub, which is where partitions are made: a FIB rule
//! `from A to B blackhole` drops what the hub would forward from A to B, while the hub
//! itself (the clients) still reaches every node.
//!
//! Node processes start in their namespace through [`super::spawn::spawn_in`], in a new
//! session. Signals go to the node's whole process group, so a node started through a
//! shell is paused and killed whole; a kill also sweeps the node's namespace for any
//! process that left the group. Node data directories are in the run directory; a
//! post-mortem stops the nodes and keeps each one's as `nodes/<name>/data.tar.gz` in the
//! store (see [`super::archive`]) before teardown removes them.

use super::clock::{self, Clocks};
use super::hub::Hub;
use super::hub_env::{HubEnv, HubLink, NodeBackend, NodeStatus, Stopped};
use super::names::{hub_addr, hub_link_name, node_addr, node_ns_name, NODE_LINK};
use super::netlink::Netlink;
use super::run_dir::ensure_private_dir;
use super::spawn::spawn_in;
use super::{netns, EnvError};
use crate::systems::NodeCommand;
use nemeses::{ClockChange, NemesisError};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `local` environment of one run.
pub type LocalEnv = HubEnv<ProcessBackend>;

enum Proc {
    NotStarted,
    Running { child: Child, paused: bool },
    Killed,
    Stopped,
    Exited(ExitStatus),
}

/// One node of the `local` environment: its namespace, log, command and process.
pub struct Node {
    index: usize,
    name: String,
    ns_name: String,
    /// Open for the node's life: `setns` target of every (re)start. `None` after teardown.
    ns: Option<File>,
    log: PathBuf,
    /// Its data directory, `/tmp/squall-<run>/<name>/` (made by `data_dir`).
    data: PathBuf,
    command: Option<NodeCommand>,
    proc: Proc,
}

impl Node {
    /// Notices a process that exited on its own.
    fn refresh(&mut self) {
        if let Proc::Running { child, .. } = &mut self.proc {
            if let Ok(Some(status)) = child.try_wait() {
                tracing::warn!(node = %self.name, %status, "node exited on its own");
                self.proc = Proc::Exited(status);
            }
        }
    }

    fn status(&self) -> NodeStatus {
        match &self.proc {
            Proc::NotStarted => NodeStatus::NotStarted,
            Proc::Running { paused: false, .. } => NodeStatus::Running,
            Proc::Running { paused: true, .. } => NodeStatus::Paused,
            Proc::Killed => NodeStatus::Killed,
            Proc::Stopped => NodeStatus::Stopped,
            Proc::Exited(s) => NodeStatus::Exited(Some(*s)),
        }
    }

    /// Starts the node's command; under `clocks`, with libfaketime preloaded.
    fn spawn(&mut self, clocks: Option<&Clocks>) -> Result<(), EnvError> {
        let Some(mut cmd) = self.command.clone() else {
            return Err(EnvError::Invalid(format!(
                "{} was never started",
                self.name
            )));
        };
        let what = format!("start {} ({})", self.name, cmd.program.display());
        let Some(ns) = &self.ns else {
            return Err(EnvError::Invalid(format!("{what}: torn down")));
        };
        if let Some(c) = clocks {
            cmd.env = c
                .env(&self.name, &cmd.env)
                .map_err(|e| EnvError::io(format!("{what}: clock control file"), e))?;
        }
        let header = format!(
            "=== squall: starting {} in {}: {} {}",
            self.name,
            self.ns_name,
            cmd.program.display(),
            cmd.args.join(" ")
        );
        let mut command = Command::new(&cmd.program);
        if cmd.clear_env {
            command.env_clear();
        }
        command
            .args(&cmd.args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)));
        let child = spawn_in(command, ns, &self.log, &header)
            .map_err(|e| EnvError::io(e.what(&what), e.cause))?;
        tracing::info!(node = %self.name, pid = child.id(), program = %cmd.program.display(), "node started");
        self.proc = Proc::Running {
            child,
            paused: false,
        };
        Ok(())
    }

    /// Sends `sig` to the node's process group (its leader's pid, thanks to `setsid`).
    fn signal(&self, sig: libc::c_int) -> Result<(), EnvError> {
        if let Proc::Running { child, .. } = &self.proc {
            let pgid = child.id() as libc::pid_t;
            // SAFETY: kill(2) on our own child's process group.
            if unsafe { libc::kill(-pgid, sig) } != 0 {
                let err = io::Error::last_os_error();
                if err.raw_os_error() != Some(libc::ESRCH) {
                    return Err(EnvError::io(
                        format!("signal {} {}", sig_name(sig), self.name),
                        err,
                    ));
                }
            }
        }
        Ok(())
    }

    /// SIGKILLs the node's process group and everything left in its namespace, and reaps
    /// the leader. Afterwards the node is in state `then`.
    fn kill(&mut self, then: Proc) -> Result<(), EnvError> {
        let mut result = self.signal(libc::SIGKILL);
        if let Proc::Running { child, .. } = &mut self.proc {
            if let Err(e) = child.wait() {
                result = result.and(Err(EnvError::io(format!("reap {}", self.name), e)));
            }
            self.proc = then;
        }
        if let Some(Ok(id)) = self.ns.as_ref().map(netns::id_of) {
            netns::kill_processes_in(&[id]);
        }
        result
    }
}

fn sig_name(sig: libc::c_int) -> &'static str {
    match sig {
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGCONT => "SIGCONT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// How long a post-mortem waits for a node to stop on SIGTERM before SIGKILL.
pub const POST_MORTEM_GRACE: Duration = Duration::from_secs(5);

/// Nodes as processes in namespaces of their own, each with a veth into the hub.
#[derive(Default)]
pub struct ProcessBackend {
    /// Whether the nodes start under libfaketime, for clock faults.
    clock: bool,
    /// Their clock control files (made by `prepare` when `clock` is set).
    clocks: OnceLock<Clocks>,
}

impl ProcessBackend {
    /// Nodes whose wall clocks the `clock` nemesis can move: each starts under libfaketime
    /// ([`super::clock`]), which must be installed, and must be able to reach its program.
    pub fn with_clock() -> ProcessBackend {
        ProcessBackend {
            clock: true,
            clocks: OnceLock::new(),
        }
    }
}

impl NodeBackend for ProcessBackend {
    type Node = Node;
    const KIND: &'static str = "local";

    fn name(n: &Node) -> &str {
        &n.name
    }

    fn prepare(&self, hub: &Hub) -> Result<(), EnvError> {
        if self.clock {
            let c = Clocks::new(hub.dir())
                .map_err(|e| EnvError::Invalid(format!("clock faults: {e}")))?;
            let _ = self.clocks.set(c);
        }
        Ok(())
    }

    fn make_node(&self, hub: &Hub, i: usize, name: &str, log: PathBuf) -> Result<Node, EnvError> {
        let ns_name = node_ns_name(hub.run_id(), i);
        netns::create(&ns_name)?;
        Ok(Node {
            index: i,
            name: name.to_string(),
            ns: Some(netns::open(&ns_name)?),
            ns_name,
            log,
            data: hub.dir().join(name),
            command: None,
            proc: Proc::NotStarted,
        })
    }

    fn hub_link(&self, hub: &Hub, n: &Node) -> HubLink {
        let name = hub_link_name(hub.run_id(), n.index);
        let peer_ns = n.ns.as_ref().map_or(-1, |f| f.as_raw_fd());
        let link = name.clone();
        HubLink {
            name,
            make: Box::new(move |nl| nl.add_veth(&link, NODE_LINK, peer_ns)),
        }
    }

    /// The node's side of its veth: its address, and its default route via the hub.
    fn finish_node(&self, _hub: &Hub, n: &Node) -> Result<(), EnvError> {
        let (i, ns_name) = (n.index, &n.ns_name);
        netns::run_in(ns_name, || {
            let mut nl = Netlink::open(ns_name)?;
            nl.set_up("lo")?;
            nl.add_address(NODE_LINK, node_addr(i), 24)?;
            nl.set_up(NODE_LINK)?;
            nl.add_default_route(hub_addr(i))
        })
    }

    fn namespace(n: &Node) -> Option<&str> {
        Some(&n.ns_name)
    }

    fn refresh(&self, n: &mut Node) {
        n.refresh();
    }

    fn status(n: &Node) -> NodeStatus {
        n.status()
    }

    /// Node `name`'s data directory, `/tmp/squall-<run>/<name>/`, created if missing,
    /// private (mode 0700, like the run directory it is in: the system's data is nobody
    /// else's to read). It survives kills and restarts, and goes at teardown.
    fn data_dir(&self, hub: &Hub, name: &str) -> Result<PathBuf, EnvError> {
        // Where `make_node` says a node's data is.
        let dir = hub.dir().join(name);
        ensure_private_dir(&dir)
            .map_err(|e| EnvError::io(format!("create data directory {}", dir.display()), e))?;
        Ok(dir)
    }

    fn start(&self, _hub: &Hub, n: &mut Node, cmd: &NodeCommand) -> Result<(), EnvError> {
        if let Proc::Running { child, .. } = &n.proc {
            return Err(EnvError::Invalid(format!(
                "start {}: already running (pid {})",
                n.name,
                child.id()
            )));
        }
        if self.clocks.get().is_some() {
            clock::check_program(&cmd.program).map_err(|e| {
                EnvError::Invalid(format!(
                    "{}: clock faults are unsupported for this binary: {e}",
                    n.name
                ))
            })?;
        }
        n.command = Some(cmd.clone());
        n.spawn(self.clocks.get())
    }

    fn pause(&self, n: &mut Node) -> Result<(), EnvError> {
        n.signal(libc::SIGSTOP)?;
        if let Proc::Running { paused, .. } = &mut n.proc {
            *paused = true;
        }
        Ok(())
    }

    fn resume(&self, n: &mut Node) -> Result<(), EnvError> {
        n.signal(libc::SIGCONT)?;
        if let Proc::Running { paused, .. } = &mut n.proc {
            *paused = false;
        }
        Ok(())
    }

    fn kill(&self, n: &mut Node) -> Result<(), EnvError> {
        match n.proc {
            Proc::Running { .. } | Proc::Exited(_) => n.kill(Proc::Killed),
            _ => Ok(()),
        }
    }

    fn restart(&self, _hub: &Hub, n: &mut Node) -> Result<(), EnvError> {
        match n.proc {
            Proc::Running { .. } => Ok(()),
            _ => n.spawn(self.clocks.get()),
        }
    }

    fn revive(&self, _hub: &Hub, n: &mut Node) -> Result<(), EnvError> {
        match n.proc {
            Proc::Killed | Proc::Exited(_) => n.spawn(self.clocks.get()),
            _ => Ok(()),
        }
    }

    fn exited(&self, n: &Node) -> Option<String> {
        match &n.proc {
            Proc::Exited(status) => Some(format!(
                "node {} exited ({status}); see {}",
                n.name,
                n.log.display()
            )),
            _ => None,
        }
    }

    /// Stops node `n` (SIGTERM, SIGKILL after [`POST_MORTEM_GRACE`]: its files as the
    /// system leaves them on a shutdown, or as after a crash) and keeps its data directory
    /// as `DIR/nodes/<name>/data.tar.gz`.
    fn post_mortem(&self, n: &mut Node, dir: &Path) -> Option<String> {
        if !n.data.is_dir() {
            return None;
        }
        n.refresh();
        let _ = n.signal(libc::SIGCONT);
        let _ = n.signal(libc::SIGTERM);
        let deadline = Instant::now() + POST_MORTEM_GRACE;
        while let Proc::Running { child, .. } = &mut n.proc {
            if let Ok(Some(_)) = child.try_wait() {
                n.proc = Proc::Stopped;
            } else if Instant::now() >= deadline {
                let _ = n.kill(Proc::Stopped);
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let folder = dir.join("nodes").join(&n.name);
        let dest = folder.join("data.tar.gz");
        let kept = std::fs::create_dir_all(&folder)
            .and_then(|()| super::archive::tar_gz(&n.data, "data", &dest));
        Some(match kept {
            // Relative to the run's folder, which the run printed at its start.
            Ok(size) => format!(
                "{} data kept in nodes/{}/data.tar.gz ({} KiB)",
                n.name,
                n.name,
                size.div_ceil(1024)
            ),
            Err(e) => format!(
                "{}: data directory not kept: {}",
                n.name,
                super::describe(&e)
            ),
        })
    }

    fn set_clock(
        &self,
        _hub: &Hub,
        n: &mut Node,
        change: &ClockChange,
    ) -> Result<(), NemesisError> {
        let what = format!("clock of {}", n.name);
        let Some(c) = self.clocks.get() else {
            return Err(NemesisError::Failed {
                what,
                cause: "the node started without libfaketime (the test's nemeses did not \
                        include clock)"
                    .into(),
            });
        };
        // What the node's process runs by now: a shell's `exec` of the real server shows
        // here, not in the command.
        if let Proc::Running { child, .. } = &n.proc {
            if let Ok(exe) = std::fs::read_link(format!("/proc/{}/exe", child.id())) {
                clock::check_program(&exe).map_err(|e| NemesisError::Failed {
                    what: what.clone(),
                    cause: format!("unsupported for this binary: {e}"),
                })?;
            }
        }
        c.set(&n.name, change).map_err(|e| NemesisError::Failed {
            what,
            cause: e.to_string(),
        })
    }

    fn reset_clock(&self, _hub: &Hub, n: &mut Node) -> Result<(), NemesisError> {
        match self.clocks.get() {
            Some(c) => c.reset(&n.name).map_err(|e| NemesisError::Failed {
                what: format!("reset the clock of {}", n.name),
                cause: e.to_string(),
            }),
            None => Ok(()),
        }
    }

    fn stop(&self, n: &mut Node) -> Result<(), EnvError> {
        if let Some(c) = self.clocks.get() {
            c.stop_strobe(&n.name);
        }
        let _ = n.signal(libc::SIGCONT);
        let result = n.kill(Proc::Stopped);
        // Closing the descriptor lets the namespace go once it is unmounted.
        n.ns = None;
        result
    }
}

impl LocalEnv {
    /// Creates the network of run `run_id` for nodes named `names`: the hub, one namespace
    /// per node, their veth links, addresses and routes (see the module docs), and the run
    /// directory. `logs[i]` is the file node `i`'s stdout and stderr are appended to. No node
    /// is started yet. On error, whatever was created is removed again.
    pub fn create(
        run_id: &str,
        names: Vec<String>,
        logs: Vec<PathBuf>,
    ) -> Result<LocalEnv, EnvError> {
        Self::create_interruptible(run_id, names, logs, &|| false)
    }

    /// [`LocalEnv::create`], giving up with [`EnvError::Interrupted`] (and removing what it
    /// made) as soon as `stopped` says so (see [`HubEnv::with_backend`]).
    pub fn create_interruptible(
        run_id: &str,
        names: Vec<String>,
        logs: Vec<PathBuf>,
        stopped: Stopped<'_>,
    ) -> Result<LocalEnv, EnvError> {
        HubEnv::with_backend(run_id, names, logs, ProcessBackend::default(), stopped)
    }

    /// [`LocalEnv::create_interruptible`] with nodes run by `backend` (e.g.
    /// [`ProcessBackend::with_clock`]).
    pub fn create_with(
        run_id: &str,
        names: Vec<String>,
        logs: Vec<PathBuf>,
        backend: ProcessBackend,
        stopped: Stopped<'_>,
    ) -> Result<LocalEnv, EnvError> {
        HubEnv::with_backend(run_id, names, logs, backend, stopped)
    }

    /// The namespace of node `node`.
    #[allow(dead_code, reason = "API for runners and debugging; used by the tests")]
    pub fn node_ns(&self, node: usize) -> String {
        node_ns_name(self.hub.run_id(), node)
    }

    /// The pid of node `node`'s process, if it is running (or paused).
    #[allow(dead_code, reason = "API for runners and reports; used by the tests")]
    pub fn node_pid(&self, node: usize) -> Option<u32> {
        self.on_node(node, |n| match &n.proc {
            Proc::Running { child, .. } => Some(child.id()),
            _ => None,
        })
        .ok()
        .flatten()
    }

    /// Stops every running node: SIGCONT and SIGTERM to each, then SIGKILL to those still
    /// running after `grace` ([`NodeStatus::Stopped`]). Stopped nodes are not restarted by
    /// [`nemeses::FaultTarget::heal_all`].
    #[allow(
        dead_code,
        reason = "a graceful end of run, for runners; used by the tests"
    )]
    pub fn stop_nodes(&self, grace: Duration) -> Result<(), EnvError> {
        let mut nodes = self.lock_nodes();
        let mut result = Ok(());
        for n in nodes.iter_mut() {
            n.refresh();
            result = result.and(n.signal(libc::SIGCONT));
            result = result.and(n.signal(libc::SIGTERM));
        }
        let deadline = Instant::now() + grace;
        for n in nodes.iter_mut() {
            while let Proc::Running { child, .. } = &mut n.proc {
                if let Ok(Some(_)) = child.try_wait() {
                    n.proc = Proc::Stopped;
                    break;
                }
                if Instant::now() >= deadline {
                    result = result.and(n.kill(Proc::Stopped));
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    //! These tests build real namespaces and run real processes, so they need root; without
    //! it they print why and pass. Each uses its own random run id, so they run in parallel.

    use super::*;
    use crate::env::clean::clean;
    use crate::env::names::{hub_ns_name, new_run_id, run_dir, NAME_PREFIX, RULE_PRIORITY};
    use crate::env::testing::{self, dead, run_helper, wait_dead};
    use nemeses::FaultTarget as _;
    use std::fs;
    use std::io::{Read as _, Write as _};
    use std::net::{SocketAddr, TcpStream};
    use std::path::Path;

    const PORT: u16 = 7000;

    fn is_root() -> bool {
        // SAFETY: geteuid(2) cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root (creates network namespaces and processes)");
            return false;
        }
        true
    }

    /// The node program of these tests: this test binary running [`greeter`], which
    /// accepts connections on [`PORT`] and answers each with `name` (no interpreter
    /// needed on the host).
    fn server(name: &str) -> NodeCommand {
        NodeCommand {
            program: std::env::current_exe().expect("test binary"),
            args: [
                &test_path("greeter"),
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
                "--quiet",
            ]
            .map(str::to_string)
            .to_vec(),
            env: vec![("SQUALL_TEST_GREETER".into(), name.into())],
            clear_env: false,
        }
    }

    /// The libtest name of test `name` of this module.
    fn test_path(name: &str) -> String {
        testing::test_path(module_path!(), name)
    }

    /// Not a test on its own: the node of these tests (see [`server`]), run in a node's
    /// namespace with `SQUALL_TEST_GREETER=<name>`. It serves until it is killed.
    #[test]
    #[ignore = "node program of the environment tests"]
    fn greeter() {
        let Ok(name) = std::env::var("SQUALL_TEST_GREETER") else {
            return;
        };
        // std sets SO_REUSEADDR, so a restarted node binds at once.
        let listener = std::net::TcpListener::bind(("0.0.0.0", PORT)).expect("bind");
        for mut conn in listener.incoming().flatten() {
            // `@clock`: the node's wall clock instead, in ms since the epoch, as libc's
            // clock_gettime gives it (what libfaketime moves).
            if name == "@clock" {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let _ = writeln!(conn, "{now}");
            } else {
                let _ = writeln!(conn, "{name}");
            }
        }
    }

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    /// Logs go inside the run directory, so teardown (even on a failed assertion) removes
    /// them too.
    fn log_dir(run: &str) -> PathBuf {
        run_dir(run).join("logs")
    }

    fn logs(run: &str, n: usize) -> Vec<PathBuf> {
        names(n)
            .iter()
            .map(|name| log_dir(run).join(format!("{name}.log")))
            .collect()
    }

    /// From namespace `ns`, connects to node `to` and reads its greeting.
    fn greet(ns: &str, to: usize, timeout: Duration) -> Result<String, String> {
        netns::run_in(ns, || {
            let addr = SocketAddr::from((node_addr(to), PORT));
            let answer = (|| {
                let mut s = TcpStream::connect_timeout(&addr, timeout)?;
                s.set_read_timeout(Some(timeout))?;
                let mut buf = String::new();
                s.read_to_string(&mut buf)?;
                Ok::<_, io::Error>(buf.trim().to_string())
            })();
            Ok(answer.map_err(|e| e.to_string()))
        })
        .expect("enter namespace")
    }

    /// Waits up to 10 s for node `to` to greet from namespace `ns`.
    fn wait_greet(ns: &str, to: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match greet(ns, to, Duration::from_millis(300)) {
                Ok(name) => return name,
                Err(e) if Instant::now() > deadline => panic!("{ns} -> node {to}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    const SHORT: Duration = Duration::from_millis(400);

    /// The host namespace's links, addresses, routes and rules, as `ip` prints them.
    fn host_network() -> String {
        let mut out = String::new();
        for args in [
            &["-o", "link"][..],
            &["-o", "addr"],
            &["route"],
            &["-6", "route"],
            &["rule"],
        ] {
            let o = Command::new("ip").args(args).output().expect("run ip");
            out.push_str(&String::from_utf8_lossy(&o.stdout));
        }
        out
    }

    fn ns_ids(run: &str, n: usize) -> Vec<netns::NsId> {
        let mut all = vec![hub_ns_name(run)];
        all.extend((0..n).map(|i| node_ns_name(run, i)));
        all.iter().map(|ns| netns::id(ns).unwrap()).collect()
    }

    fn run_namespaces(run: &str) -> Vec<String> {
        let prefix = format!("{NAME_PREFIX}{run}-");
        netns::list()
            .unwrap()
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .collect()
    }

    #[test]
    fn rejects_bad_input_without_touching_the_host() {
        let err = LocalEnv::create("Bad!", names(1), logs("x", 1))
            .err()
            .unwrap();
        assert!(err.to_string().starts_with("invalid run id"), "{err}");
        let run = new_run_id();
        let err = LocalEnv::create(&run, names(2), logs(&run, 1))
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "1 log paths for 2 nodes");
        assert!(!run_dir(&run).exists());
    }

    #[test]
    fn run_and_data_directories_are_private_and_never_through_a_symlink() {
        use std::os::unix::fs::PermissionsExt as _;
        if !is_root() {
            return;
        }
        let mode = |p: &Path| fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
        // Even under the most open umask, what squall makes is for root only.
        // SAFETY: umask(2) cannot fail; restored below (tests in this binary that create
        // files do not depend on it).
        let old = unsafe { libc::umask(0) };
        let run = new_run_id();
        let env = LocalEnv::create(&run, names(2), logs(&run, 2));
        // SAFETY: as above.
        unsafe { libc::umask(old) };
        let env = env.expect("create");
        let dir = run_dir(&run);
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        assert_eq!(mode(&dir.join(".squall-owner")), 0o600);
        let data = env.data_dir(0).unwrap();
        assert_eq!(mode(&data), 0o700, "{}", data.display());
        assert_eq!(
            env.data_dir(0).unwrap(),
            data,
            "asked again: the same directory"
        );
        // A symlink where a data directory goes is refused, and its target left alone.
        let elsewhere = std::env::temp_dir().join(format!("sqperm-{run}"));
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.join("n2")).unwrap();
        let err = env.data_dir(1).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "create data directory {}: exists and is a symlink",
                dir.join("n2").display()
            )
        );
        env.teardown().unwrap();
        assert!(!dir.exists());
        assert!(elsewhere.is_dir(), "teardown followed the symlink");

        // A run directory path that exists already (here: a symlink someone planted) is
        // refused: nothing is made, the symlink's target is not touched.
        let run = new_run_id();
        std::os::unix::fs::symlink(&elsewhere, run_dir(&run)).unwrap();
        let err = LocalEnv::create(&run, names(1), logs(&run, 1))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            format!(
                "create run directory {}: File exists",
                run_dir(&run).display()
            )
        );
        assert!(run_namespaces(&run).is_empty());
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
        fs::remove_file(run_dir(&run)).unwrap();
        fs::remove_dir(&elsewhere).unwrap();
    }

    #[test]
    fn three_nodes_network_and_faults() {
        if !is_root() {
            return;
        }
        let before = host_network();
        let run = new_run_id();
        let env = LocalEnv::create(&run, names(3), logs(&run, 3)).expect("create");
        let hub = env.hub_ns().to_string();
        let ns: Vec<String> = (0..3).map(|i| env.node_ns(i)).collect();

        // `ip netns list` shows the run's namespaces.
        let listed = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let listed = String::from_utf8_lossy(&listed.stdout);
        for name in ns.iter().chain([&hub]) {
            assert!(listed.contains(name.as_str()), "{name} not in:\n{listed}");
        }

        // A missing program is a clear error, and the node can still be started after.
        let missing = NodeCommand {
            program: "/nonexistent/squall-node".into(),
            args: vec![],
            env: vec![],
            clear_env: false,
        };
        let err = env.start_node(1, &missing).unwrap_err();
        assert_eq!(
            err.to_string(),
            "start n2 (/nonexistent/squall-node): No such file or directory"
        );
        for i in 0..3 {
            let dir = env.data_dir(i).unwrap();
            assert!(dir.is_dir() && dir.starts_with(run_dir(&run)));
            env.start_node(i, &server(&env.names()[i])).unwrap();
        }
        assert!(env.start_node(0, &server("n1")).is_err(), "already running");

        // The hub reaches every node; nodes reach each other through the hub.
        for i in 0..3 {
            assert_eq!(wait_greet(&hub, i), format!("n{}", i + 1));
        }
        assert_eq!(greet(&ns[0], 1, SHORT).unwrap(), "n2");
        assert_eq!(greet(&ns[0], 2, SHORT).unwrap(), "n3");
        assert_eq!(greet(&ns[2], 0, SHORT).unwrap(), "n1");

        // Partition n1 | n2 (both ways), twice: idempotent.
        for _ in 0..2 {
            env.block(0, 1).unwrap();
            env.block(1, 0).unwrap();
        }
        assert!(greet(&ns[0], 1, SHORT).is_err(), "n1 -> n2 blocked");
        assert!(greet(&ns[1], 0, SHORT).is_err(), "n2 -> n1 blocked");
        assert_eq!(greet(&ns[0], 2, SHORT).unwrap(), "n3");
        assert_eq!(greet(&ns[2], 1, SHORT).unwrap(), "n2");
        assert_eq!(greet(&hub, 1, SHORT).unwrap(), "n2", "clients unaffected");
        for _ in 0..2 {
            env.unblock(0, 1).unwrap();
            env.unblock(1, 0).unwrap();
        }
        assert_eq!(greet(&ns[0], 1, SHORT).unwrap(), "n2");
        assert_eq!(greet(&ns[1], 0, SHORT).unwrap(), "n1");

        // One-way: n3 -> n1 dropped; n1's answers to n3 would go, but n3 cannot connect.
        env.block(2, 0).unwrap();
        assert!(greet(&ns[2], 0, SHORT).is_err());
        assert_eq!(greet(&ns[1], 0, SHORT).unwrap(), "n1");
        env.unblock(2, 0).unwrap();

        // Pause: the kernel still accepts connections, but nobody answers.
        env.pause(1).unwrap();
        assert_eq!(env.node_status(1).unwrap(), NodeStatus::Paused);
        assert!(greet(&hub, 1, SHORT).is_err(), "paused node answers");
        env.resume(1).unwrap();
        assert_eq!(env.node_status(1).unwrap(), NodeStatus::Running);
        assert_eq!(wait_greet(&hub, 1), "n2");

        // Kill, then restart on the same command.
        let pid = env.node_pid(1).unwrap();
        env.kill(1).unwrap();
        env.kill(1).unwrap();
        assert_eq!(env.node_status(1).unwrap(), NodeStatus::Killed);
        assert!(dead(pid));
        assert!(greet(&hub, 1, SHORT).is_err(), "killed node answers");
        env.restart(1).unwrap();
        assert_eq!(wait_greet(&hub, 1), "n2");
        let pid2 = env.node_pid(1).unwrap();
        assert_ne!(pid, pid2);
        env.restart(1).unwrap();
        assert_eq!(env.node_pid(1), Some(pid2), "restart of a running node");

        // heal_all undoes everything at once.
        env.block(0, 2).unwrap();
        env.block(2, 0).unwrap();
        env.pause(0).unwrap();
        env.kill(2).unwrap();
        env.heal_all().unwrap();
        assert_eq!(wait_greet(&ns[1], 2), "n3");
        assert_eq!(greet(&ns[2], 0, SHORT).unwrap(), "n1");
        assert_eq!(greet(&ns[0], 2, SHORT).unwrap(), "n3");
        let rules = netns::run_in(&hub, || Netlink::open(&hub)?.rules()).unwrap();
        assert!(
            rules.iter().all(|r| r.priority != RULE_PRIORITY),
            "{rules:?}"
        );

        // Logs got the node's output header.
        let log = fs::read_to_string(log_dir(&run).join("n2.log")).unwrap();
        assert!(log.contains("=== squall: starting n2"), "{log}");

        // Teardown removes everything and leaves the host as it was.
        let ids = ns_ids(&run, 3);
        let pids: Vec<u32> = (0..3).filter_map(|i| env.node_pid(i)).collect();
        assert_eq!(pids.len(), 3);
        env.teardown().unwrap();
        env.teardown().unwrap();
        assert!(env.block(0, 1).is_err(), "faults after teardown");
        assert_eq!(run_namespaces(&run), Vec::<String>::new());
        wait_dead(&pids);
        assert!(netns::processes_in(&ids).is_empty());
        assert!(!run_dir(&run).exists());
        assert_eq!(host_network(), before, "host network changed");
        drop(env);
    }

    /// `ip -n <ns> ARGS...`, its output.
    fn ip_in(ns: &str, args: &[&str]) -> String {
        let o = Command::new("ip")
            .args(["-n", ns])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    #[test]
    fn link_faults_isolate_and_rate_limit_in_the_hub() {
        if !is_root() {
            return;
        }
        let before = host_network();
        let run = new_run_id();
        let env = LocalEnv::create(&run, names(2), logs(&run, 2)).expect("create");
        let hub = env.hub_ns().to_string();
        let ns1 = env.node_ns(0);
        for i in 0..2 {
            env.start_node(i, &server(&env.names()[i])).unwrap();
            wait_greet(&hub, i);
        }
        let link = hub_link_name(&run, 1);
        let show = || ip_in(&hub, &["link", "show", &link]);
        let qdisc = || {
            let o = Command::new("ip")
                .args(["netns", "exec", &hub, "tc", "qdisc", "show", "dev", &link])
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).into_owned()
        };

        // Link down, twice: the node is cut off from the hub and from its peer.
        env.link_down(1).unwrap();
        env.link_down(1).unwrap();
        assert!(show().contains("state DOWN"), "{}", show());
        assert!(
            greet(&hub, 1, SHORT).is_err(),
            "clients reach an isolated node"
        );
        assert!(
            greet(&ns1, 1, SHORT).is_err(),
            "a peer reaches an isolated node"
        );
        assert_eq!(
            greet(&hub, 0, SHORT).unwrap(),
            "n1",
            "the other node is fine"
        );
        env.link_up(1).unwrap();
        env.link_up(1).unwrap();
        assert!(!show().contains("state DOWN"), "{}", show());
        assert_eq!(wait_greet(&hub, 1), "n2");
        assert_eq!(wait_greet(&ns1, 1), "n2");

        // A rate limit: tbf at the root of the hub side, replaced by a second call.
        let limit = |rate_bits| nemeses::RateLimit {
            rate_bits,
            burst_bytes: 4096,
            latency_us: 400_000,
        };
        env.rate_limit(1, &limit(20_000_000)).unwrap();
        env.rate_limit(1, &limit(10_000_000)).unwrap();
        let q = qdisc();
        assert!(q.contains("qdisc tbf") && q.contains("rate 10Mbit"), "{q}");
        assert!(q.contains("burst 4Kb") && q.contains("lat 400ms"), "{q}");
        assert_eq!(q.matches("qdisc tbf").count(), 1, "{q}");
        assert_eq!(greet(&hub, 1, SHORT).unwrap(), "n2", "shaped, not cut");
        env.unlimit(1).unwrap();
        env.unlimit(1).unwrap();
        assert!(!qdisc().contains("tbf"), "{}", qdisc());

        // heal_all undoes both.
        env.link_down(0).unwrap();
        env.rate_limit(1, &limit(10_000_000)).unwrap();
        env.heal_all().unwrap();
        assert!(!qdisc().contains("tbf"), "{}", qdisc());
        assert!(!ip_in(&hub, &["link", "show", "state", "down"]).contains("sq"));
        assert_eq!(wait_greet(&hub, 0), "n1");

        // The host saw none of it.
        env.link_down(1).unwrap();
        env.rate_limit(0, &limit(10_000_000)).unwrap();
        env.teardown().unwrap();
        assert_eq!(run_namespaces(&run), Vec::<String>::new());
        assert_eq!(host_network(), before, "host network changed");
    }

    #[test]
    fn a_clock_fault_moves_one_nodes_wall_clock_not_the_hosts() {
        if !is_root() {
            return;
        }
        if let Err(e) = clock::library() {
            eprintln!("skipped: {e}");
            return;
        }
        let run = new_run_id();
        let env = LocalEnv::create_with(
            &run,
            names(2),
            logs(&run, 2),
            ProcessBackend::with_clock(),
            &|| false,
        )
        .expect("create");
        let hub = env.hub_ns().to_string();
        for i in 0..2 {
            env.start_node(i, &server("@clock")).unwrap();
        }
        let host_ms = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64
        };
        // How far node `n`'s clock is from the host's, in ms.
        let skew = |n: usize| wait_greet(&hub, n).parse::<i64>().unwrap() - host_ms();
        let near = |got: i64, want: i64| (got - want).abs() < 1000;
        assert!(near(skew(0), 0) && near(skew(1), 0));

        env.set_clock(
            0,
            &ClockChange::Bump {
                delta_ms: 3_600_000,
            },
        )
        .unwrap();
        assert!(near(skew(0), 3_600_000), "{}", skew(0));
        assert!(near(skew(1), 0), "the other node moved: {}", skew(1));
        // A second change replaces the first; it survives a kill and a restart.
        env.set_clock(0, &ClockChange::Bump { delta_ms: -90_000 })
            .unwrap();
        assert!(near(skew(0), -90_000), "{}", skew(0));
        env.kill(0).unwrap();
        env.restart(0).unwrap();
        assert!(near(skew(0), -90_000), "after a restart: {}", skew(0));
        // A strobe flips between the delta and the true time.
        let strobe = ClockChange::Strobe {
            delta_ms: 60_000,
            period_ms: 20,
        };
        env.set_clock(0, &strobe).unwrap();
        let (mut ahead, mut true_time) = (0, 0);
        for _ in 0..60 {
            let s = skew(0);
            ahead += usize::from(near(s, 60_000));
            true_time += usize::from(near(s, 0));
            std::thread::sleep(Duration::from_millis(7));
        }
        assert!(
            ahead > 5 && true_time > 5,
            "{ahead} ahead, {true_time} true"
        );
        assert_eq!(ahead + true_time, 60);
        // Heal-all puts every clock back.
        env.heal_all().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        for _ in 0..10 {
            assert!(near(skew(0), 0), "{}", skew(0));
        }

        // A Go program is refused, not shown a fault that does nothing.
        let etcd = Path::new("/usr/bin/etcd");
        if etcd.is_file() {
            env.kill(1).unwrap();
            let go = NodeCommand {
                program: etcd.to_path_buf(),
                args: vec!["--version".into()],
                env: vec![],
                clear_env: false,
            };
            let e = env.start_node(1, &go).unwrap_err().to_string();
            assert!(
                e.starts_with("n2: clock faults are unsupported for this binary: /usr/bin/etcd is a Go program"),
                "{e}"
            );
        }
        let files = run_dir(&run).join("clock");
        assert!(files.join("n1").is_file());
        env.teardown().unwrap();
        assert!(!files.exists(), "control files left");
        assert_eq!(run_namespaces(&run), Vec::<String>::new());
    }

    #[test]
    fn drop_tears_down() {
        if !is_root() {
            return;
        }
        let run = new_run_id();
        let env = LocalEnv::create(&run, names(1), logs(&run, 1)).unwrap();
        env.start_node(0, &server("n1")).unwrap();
        let pid = env.node_pid(0).unwrap();
        assert_eq!(wait_greet(env.hub_ns(), 0), "n1");
        // A graceful stop: the node dies of SIGTERM.
        env.stop_nodes(Duration::from_secs(5)).unwrap();
        assert_eq!(env.node_status(0).unwrap(), NodeStatus::Stopped);
        assert!(dead(pid));
        env.heal_all().unwrap();
        assert_eq!(
            env.node_status(0).unwrap(),
            NodeStatus::Stopped,
            "not restarted"
        );
        env.restart(0).unwrap();
        let pid = env.node_pid(0).unwrap();
        assert_eq!(wait_greet(env.hub_ns(), 0), "n1");
        drop(env);
        assert!(run_namespaces(&run).is_empty());
        assert!(dead(pid));
        assert!(!run_dir(&run).exists());
    }

    #[test]
    fn a_failed_create_removes_what_it_made() {
        if !is_root() {
            return;
        }
        let run = new_run_id();
        // Something in the way: node 2's namespace already exists.
        netns::create(&node_ns_name(&run, 1)).unwrap();
        let err = LocalEnv::create(&run, names(3), logs(&run, 3))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            format!("create namespace squall-{run}-n2: File exists")
        );
        assert!(run_namespaces(&run).is_empty());
        assert!(!run_dir(&run).exists());
    }

    /// Not a test on its own: [`clean_after_crash`] runs it in a child process, which makes
    /// a run and dies without tearing it down, like a crashed or SIGKILLed squall.
    #[test]
    #[ignore = "helper of clean_after_crash"]
    fn crash_helper() {
        let Ok(run) = std::env::var("SQUALL_TEST_CRASH_RUN") else {
            return;
        };
        let env = LocalEnv::create(&run, names(2), logs(&run, 2)).unwrap();
        for i in 0..2 {
            env.start_node(i, &server(&env.names()[i])).unwrap();
        }
        env.block(0, 1).unwrap();
        env.pause(1).unwrap();
        std::mem::forget(env);
        // SAFETY: ends the process at once: no destructors, no teardown.
        unsafe { libc::_exit(0) };
    }

    #[test]
    fn clean_after_crash() {
        if !is_root() {
            return;
        }
        let run = new_run_id();
        run_helper(
            &test_path("crash_helper"),
            &[("SQUALL_TEST_CRASH_RUN", run.as_ref())],
        );

        // The crash left namespaces, processes and the run directory.
        let left = run_namespaces(&run);
        assert_eq!(left.len(), 3, "{left:?}");
        let ids = ns_ids(&run, 2);
        let pids: Vec<u32> = netns::processes_in(&ids)
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(pids.len(), 2, "node processes left");
        assert!(run_dir(&run).is_dir());

        let report = clean().unwrap();
        println!("{report}");
        let mut cleaned: Vec<String> = report
            .namespaces
            .iter()
            .filter(|n| n.contains(&run))
            .cloned()
            .collect();
        cleaned.sort();
        assert_eq!(cleaned, left);
        let mut killed: Vec<u32> = report
            .processes
            .iter()
            .filter(|(_, _, ns)| ns.contains(&run))
            .map(|(p, _, _)| *p)
            .collect();
        killed.sort();
        let mut expected = pids.clone();
        expected.sort();
        assert_eq!(killed, expected);
        assert!(report.dirs.contains(&run_dir(&run)));
        // Runs of live processes (tests running alongside, other squalls) are left alone.
        assert!(report.skipped_live.iter().all(|(r, _)| *r != run));

        assert!(run_namespaces(&run).is_empty());
        wait_dead(&pids);
        assert!(netns::processes_in(&ids).is_empty());
        assert!(!run_dir(&run).exists());
    }
}
