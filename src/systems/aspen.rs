//! Aspen (a Raft key-value store in Rust, github.com/brittonr/aspen) as the system under
//! test: `aspen-node` processes with fixed identities, a cluster formed by hand in the setup
//! step, and clients that run `aspen-cli` (Aspen has no HTTP or gRPC API: its clients speak
//! QUIC over iroh, and the CLI is the supported client).
//!
//! - [`classify`]: what one CLI run proves about its op (the heart: the CLI hides failures
//!   and retries by itself, so most failures are unknown, not failed);
//! - [`client`]: register and set ops as CLI runs, and their outcomes;
//! - [`cli`]: running the CLI in a clean environment, bounded by the op's deadline;
//! - [`setup`]: readiness, cluster formation and the leader hook.
//!
//! # Nodes
//!
//! Node `i` (0-based) is Raft node `i + 1`, started as
//! `aspen-node --node-id N --data-dir D --cookie C --iroh-secret-key K --bind-port P
//! --relay-mode disabled --disable-mdns` plus the Raft timings, in an empty environment
//! (`aspen-node` reads `ASPEN_*` variables: nothing from the shell that started squall may
//! change what is tested). Its iroh secret key is derived from the cookie and its index
//! (SHA-256), so a killed node restarted on its data dir keeps its identity — its endpoint
//! id, and so its place in the membership. It listens on UDP port `P` on every address and
//! writes `D/cluster-ticket.txt` and `D/discovery/<endpoint id>.json`, which the setup step
//! reads where the node runs ([`super::NodeFiles`]: on the host for a local node, through the
//! guest's init for a VM).

pub mod classify;
pub mod cli;
pub mod client;
pub mod setup;

use super::{ClusterInfo, NodeCommand, System};
use anyhow::{bail, Context as _};
use client::{AspenClient, AspenWorkload};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use workloads::{BoxFuture, Client};

/// The environment variable naming a folder holding `aspen-node` and `aspen-cli`, used when
/// the `[aspen]` table names none.
pub const BIN_ENV: &str = "SQUALL_ASPEN_BIN";

/// The defaults Aspen gives other plug-ins' options: its CLI retries writes by itself and
/// may apply one twice, so the cas-register writes unique values there (a value applied
/// twice with another between is then a read the checker cannot linearize); a test's own
/// `[cas-register]` table overrides it.
pub fn plugin_defaults() -> Vec<(&'static str, Value)> {
    vec![("cas-register", serde_json::json!({ "values": "unique" }))]
}

/// The Aspen system's own options: its `[aspen]` table in a test file, or
/// `-o aspen.KEY=VALUE`.
///
/// Binaries are found in this order: `node`/`cli`; the folder `bin`; the folder named by
/// `SQUALL_ASPEN_BIN`; `PATH`. (The issue asked for `--aspen-bin DIR`: a system's flag in
/// squall's core CLI is what the project moved away from with `--etcd`, so it is
/// `-o aspen.bin=DIR` or the variable.)
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AspenOptions {
    /// A folder holding `aspen-node` and `aspen-cli`.
    pub bin: Option<PathBuf>,
    /// The `aspen-node` binary (overrides `bin`).
    pub node: Option<PathBuf>,
    /// The `aspen-cli` binary (overrides `bin`).
    pub cli: Option<PathBuf>,
    /// The cluster's shared cookie (default: `squall-<test name>`); the nodes' identities
    /// are derived from it.
    pub cookie: Option<String>,
    /// The UDP port every node binds (each on its own address): 7777.
    pub bind_port: u16,
    /// Raft's heartbeat interval, in milliseconds: Aspen's default, 500.
    pub heartbeat_interval_ms: u64,
    /// The shortest Raft election timeout, in milliseconds: Aspen's default, 1500.
    pub election_timeout_min_ms: u64,
    /// The longest Raft election timeout, in milliseconds: Aspen's default, 3000.
    pub election_timeout_max_ms: u64,
    /// `RUST_LOG` for the nodes (their logs go to the run's `nodes/<name>/log`): `info`.
    pub log: String,
}

impl Default for AspenOptions {
    fn default() -> Self {
        AspenOptions {
            bin: None,
            node: None,
            cli: None,
            cookie: None,
            bind_port: 7777,
            heartbeat_interval_ms: 500,
            election_timeout_min_ms: 1500,
            election_timeout_max_ms: 3000,
            log: "info".into(),
        }
    }
}

impl AspenOptions {
    /// What is wrong with these options, if anything (for `[aspen]: ...`).
    fn problem(&self) -> Option<String> {
        let (h, lo, hi) = (
            self.heartbeat_interval_ms,
            self.election_timeout_min_ms,
            self.election_timeout_max_ms,
        );
        if h == 0 {
            return Some("heartbeat_interval_ms = 0: must be positive".into());
        }
        if lo <= h {
            return Some(format!(
                "election_timeout_min_ms = {lo}: must exceed the heartbeat ({h} ms)"
            ));
        }
        if hi < lo {
            return Some(format!(
                "election_timeout_max_ms = {hi}: must be at least election_timeout_min_ms ({lo})"
            ));
        }
        if self.bind_port == 0 {
            return Some(
                "bind_port = 0: the nodes need a fixed port (their tickets name it)".into(),
            );
        }
        None
    }
}

/// The Aspen system adapter.
#[derive(Debug)]
pub struct Aspen {
    node: PathBuf,
    cli: Arc<cli::Cli>,
    cli_path: PathBuf,
    options: AspenOptions,
    cookie: String,
    workload: AspenWorkload,
    /// Each node's data dir, as [`System::node_command`] was given it (the setup step reads
    /// the node's ticket there).
    data_dirs: Mutex<BTreeMap<usize, PathBuf>>,
    /// Each node's ticket and endpoint id, as [`System::wait_ready`] first found them.
    identities: Mutex<BTreeMap<usize, (String, String)>>,
}

impl Aspen {
    /// The adapter a test configures: its `[aspen]` table ([`AspenOptions`]), for a workload
    /// of `ops` ops.
    pub fn from_config(cfg: &crate::config::TestConfig, ops: &str) -> anyhow::Result<Self> {
        let options: AspenOptions = cfg.options("aspen")?;
        if let Some(problem) = options.problem() {
            bail!("[aspen]: {problem}");
        }
        if cfg.read_mode != crate::config::ReadMode::Linearizable {
            bail!(
                "aspen serves only linearizable reads through its CLI (--read-mode {} is not \
                 available)",
                cfg.read_mode.as_str()
            );
        }
        let workload: AspenWorkload = ops.parse()?;
        let env_dir = std::env::var_os(BIN_ENV).map(PathBuf::from);
        let node = locate(
            "aspen-node",
            options.node.as_deref(),
            options.bin.as_deref(),
            env_dir.as_deref(),
        )?;
        let cli_path = locate(
            "aspen-cli",
            options.cli.as_deref(),
            options.bin.as_deref(),
            env_dir.as_deref(),
        )?;
        let cookie = options
            .cookie
            .clone()
            .unwrap_or_else(|| format!("squall-{}", cfg.test_name()));
        Ok(Aspen::new(node, cli_path, options, cookie, workload))
    }

    fn new(
        node: PathBuf,
        cli_path: PathBuf,
        options: AspenOptions,
        cookie: String,
        workload: AspenWorkload,
    ) -> Self {
        Aspen {
            node,
            cli: Arc::new(cli::Cli::new(cli_path.clone())),
            cli_path,
            options,
            cookie,
            workload,
            data_dirs: Mutex::new(BTreeMap::new()),
            identities: Mutex::new(BTreeMap::new()),
        }
    }

    /// Node `node`'s iroh secret key (64 hex digits): SHA-256 of the cookie and the index,
    /// so the same node of the same cluster has the same identity on every start.
    pub fn secret_key(&self, node: usize) -> String {
        let mut h = Sha256::new();
        h.update(b"squall aspen node key\0");
        h.update(self.cookie.as_bytes());
        h.update(b"\0");
        h.update((node as u64).to_le_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn data_dir(&self, node: usize) -> Option<PathBuf> {
        self.data_dirs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&node)
            .cloned()
    }
}

/// Where binary `name` is: `explicit` (it must exist); else in `bin`, else in `env_dir`
/// (each must hold it); else on `PATH`.
fn locate(
    name: &str,
    explicit: Option<&Path>,
    bin: Option<&Path>,
    env_dir: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    const HINT: &str = "build Aspen (github.com/brittonr/aspen) and give -o aspen.bin=DIR, \
                        set SQUALL_ASPEN_BIN=DIR, or put its binaries on PATH";
    let candidate = match (explicit, bin, env_dir) {
        (Some(path), _, _) => Some((path.to_path_buf(), "given")),
        (None, Some(dir), _) => Some((dir.join(name), "in aspen.bin")),
        (None, None, Some(dir)) => Some((dir.join(name), "in SQUALL_ASPEN_BIN")),
        (None, None, None) => None,
    };
    if let Some((path, how)) = candidate {
        if is_executable(&path) {
            return Ok(path);
        }
        bail!("{name} not found at {} ({how}; {HINT})", path.display());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
        .with_context(|| format!("{name} not found on PATH ({HINT})"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first line a binary prints for `--version`, or why there is none.
fn version(binary: &Path) -> Result<String, String> {
    let out = std::process::Command::new(binary)
        .arg("--version")
        .env_clear()
        .output()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().next() {
        Some(line) if out.status.success() && !line.trim().is_empty() => {
            Ok(format!("{} ({})", binary.display(), line.trim()))
        }
        _ => Err(format!(
            "{} --version failed ({}): {}",
            binary.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

impl System for Aspen {
    fn name(&self) -> &'static str {
        "aspen"
    }

    /// See the module docs. Restarting a node runs the same command on the same data dir:
    /// the same identity and port, its Raft log and state from its redb files.
    fn node_command(&self, node: usize, _cluster: &ClusterInfo, data_dir: &Path) -> NodeCommand {
        self.data_dirs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(node, data_dir.to_path_buf());
        let o = &self.options;
        let args = [
            ("--node-id", (node + 1).to_string()),
            ("--data-dir", data_dir.to_string_lossy().into_owned()),
            ("--cookie", self.cookie.clone()),
            ("--iroh-secret-key", self.secret_key(node)),
            ("--bind-port", o.bind_port.to_string()),
            ("--relay-mode", "disabled".into()),
            (
                "--heartbeat-interval-ms",
                o.heartbeat_interval_ms.to_string(),
            ),
            (
                "--election-timeout-min-ms",
                o.election_timeout_min_ms.to_string(),
            ),
            (
                "--election-timeout-max-ms",
                o.election_timeout_max_ms.to_string(),
            ),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_string(), value])
        .chain(["--disable-mdns".to_string()])
        .collect();
        NodeCommand {
            program: self.node.clone(),
            args,
            env: vec![
                ("RUST_LOG".into(), o.log.clone()),
                ("NO_COLOR".into(), "1".into()),
                ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
                // Nothing of Aspen's writes outside its data dir.
                ("HOME".into(), data_dir.to_string_lossy().into_owned()),
            ],
            clear_env: true,
        }
    }

    fn wait_ready<'a>(
        &'a self,
        cluster: &'a ClusterInfo,
        timeout: Duration,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(setup::wait_ready(self, cluster, timeout))
    }

    fn setup<'a>(
        &'a self,
        cluster: &'a ClusterInfo,
        timeout: Duration,
    ) -> BoxFuture<'a, anyhow::Result<Value>> {
        Box::pin(setup::form(self, cluster, timeout))
    }

    fn client(
        &self,
        _cluster: &ClusterInfo,
        node: usize,
        timeout: Duration,
        state: &Value,
    ) -> Arc<dyn Client> {
        Arc::new(AspenClient {
            cli: self.cli.clone(),
            ticket: setup::ticket_of(state, node).unwrap_or_default(),
            workload: self.workload,
            timeout,
        })
    }

    fn ops(&self) -> &'static [&'static str] {
        &["register", "set"]
    }

    /// The node binary, and the CLI for a person debugging a guest (clients run it on the
    /// host, in the hub). The image builder adds the shared libraries each links.
    fn image_binaries(&self) -> anyhow::Result<Vec<PathBuf>> {
        Ok(vec![self.node.clone(), self.cli_path.clone()])
    }

    fn doctor(&self) -> Vec<(String, Result<String, String>)> {
        vec![
            ("aspen-node".to_string(), version(&self.node)),
            ("aspen-cli".to_string(), version(&self.cli_path)),
        ]
    }

    fn has_leader_hook(&self) -> bool {
        true
    }

    fn primaries<'a>(
        &'a self,
        cluster: &'a ClusterInfo,
        state: &'a Value,
        timeout: Duration,
    ) -> BoxFuture<'a, anyhow::Result<Vec<usize>>> {
        Box::pin(setup::primaries(self, cluster, state, timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn aspen(cookie: &str) -> Aspen {
        Aspen::new(
            "/opt/aspen/aspen-node".into(),
            "/opt/aspen/aspen-cli".into(),
            AspenOptions::default(),
            cookie.into(),
            AspenWorkload::Register,
        )
    }

    #[test]
    fn the_node_command_keeps_its_identity_and_clears_the_environment() {
        let a = aspen("c1");
        let cluster = ClusterInfo::new(
            vec!["n1".into(), "n2".into()],
            vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)],
        );
        let cmd = a.node_command(1, &cluster, Path::new("/tmp/squall-x/n2"));
        let key = a.secret_key(1);
        assert_eq!(cmd.program, Path::new("/opt/aspen/aspen-node"));
        assert_eq!(
            cmd.args.join(" "),
            format!(
                "--node-id 2 --data-dir /tmp/squall-x/n2 --cookie c1 --iroh-secret-key {key} \
                 --bind-port 7777 --relay-mode disabled --heartbeat-interval-ms 500 \
                 --election-timeout-min-ms 1500 --election-timeout-max-ms 3000 --disable-mdns"
            )
        );
        assert!(cmd.clear_env);
        assert!(cmd.env.iter().all(|(k, _)| !k.starts_with("ASPEN_")));
        assert_eq!(a.data_dir(1), Some(PathBuf::from("/tmp/squall-x/n2")));
        // 64 hex digits, stable, different per node and per cookie.
        assert_eq!(key.len(), 64);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(key, aspen("c1").secret_key(1));
        assert_ne!(key, a.secret_key(0));
        assert_ne!(key, aspen("c2").secret_key(1));
    }

    #[test]
    fn options_of_the_aspen_table() {
        let mut cfg = crate::config::TestConfig::default();
        cfg.set_option("aspen.node", "/bin/true").unwrap();
        cfg.set_option("aspen.cli", "/bin/true").unwrap();
        cfg.set_option("aspen.heartbeat_interval_ms", "100")
            .unwrap();
        cfg.set_option("aspen.election_timeout_min_ms", "300")
            .unwrap();
        cfg.set_option("aspen.election_timeout_max_ms", "600")
            .unwrap();
        let a = Aspen::from_config(&cfg, "set").unwrap();
        assert_eq!(a.workload, AspenWorkload::Set);
        let args = a
            .node_command(0, &ClusterInfo::new(vec![], vec![]), Path::new("/d"))
            .args
            .join(" ");
        assert!(args.contains("--heartbeat-interval-ms 100 --election-timeout-min-ms 300 --election-timeout-max-ms 600"), "{args}");
        let e = Aspen::from_config(&cfg, "bank").unwrap_err().to_string();
        assert!(e.starts_with("aspen has no client for bank ops"), "{e}");

        cfg.set_option("aspen.election_timeout_max_ms", "200")
            .unwrap();
        let e = Aspen::from_config(&cfg, "register")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "[aspen]: election_timeout_max_ms = 200: must be at least election_timeout_min_ms (300)"
        );
        cfg.set_option("aspen.binary", "/x").unwrap();
        let e = Aspen::from_config(&cfg, "register")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("[aspen]: unknown field `binary`"), "{e}");
    }

    #[test]
    fn binaries_are_found_in_the_order_documented() {
        let dir = std::env::temp_dir().join(format!("sqaspen-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let exe = dir.join("aspen-cli");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(locate("aspen-cli", None, Some(&dir), None).unwrap(), exe);
        assert_eq!(locate("aspen-cli", None, None, Some(&dir)).unwrap(), exe);
        // `bin` wins over the variable, and must hold the binary.
        let e = locate(
            "aspen-cli",
            None,
            Some(Path::new("/nonexistent")),
            Some(&dir),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "aspen-cli not found at /nonexistent/aspen-cli (in aspen.bin; build Aspen"
            ),
            "{e}"
        );
        let e = locate("aspen-node", None, None, Some(&dir))
            .unwrap_err()
            .to_string();
        assert!(e.contains("(in SQUALL_ASPEN_BIN;"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
