//! The `command` system: a system under test defined entirely in a test file's `[command]`
//! table — how to start a node, when it is ready, how the cluster is set up, and one command
//! template per client op (keyed by the op's `f`) with how to read its result. See the
//! README's "Testing any system with commands" and `examples/command-etcdctl.toml`.
//!
//! Every command (node, probe, setup, op) is run as `/bin/sh -c <expanded template>`: pipes,
//! quotes and redirections are the shell's. Placeholders are `{name}`; `{{` and `}}` are
//! literal braces. Substituted values are not quoted: they are names, addresses, numbers
//! and the test file's own `[command.vars]`. A template naming a placeholder its context
//! does not offer is an error when the test file is read, not during a run.
//!
//! The node command runs as the node's process (it should `exec` the server, so that pause
//! and kill reach the server itself; the environment signals the whole process group anyway).
//! Probe, setup and op commands run from the hub namespace, like every client.
//!
//! # How outcomes are classified
//!
//! An op command's result is judged in this order (see [`OpSpec::judge`]):
//!
//! - it did not finish within the op timeout → its process group is killed, and the op is
//!   unknown (the command may have sent its request);
//! - `/bin/sh` could not be started → nothing ran: certainly not applied;
//! - it matches one of the op's `fail` rules (an exit code in `fail_exit`, `fail_stdout` or
//!   `fail_stderr` matching) → certainly not applied. These rules are the test author's
//!   statement that the output proves nothing happened (a compare that was false, a refusal
//!   before anything was sent);
//! - its exit code is in `ok_exit` (default `[0]`) and `ok_stdout` (if given) matches → done;
//!   a read's value is then extracted (a regex capture or a JSON pointer on stdout); a value
//!   that cannot be extracted is unknown;
//! - anything else → unknown. Nothing unrecognised is ever taken as a failure.
//!
//! A write or cas maps these to `Fail` or `Info`. A read (`read_only`, the default for `f =
//! "read"`) maps both to `Fail`: a read changes nothing, so calling it failed loses
//! information but never makes the checker see an effect that did not happen (as the etcd
//! adapter does).

mod spec;
mod template;

pub use spec::{Extract, OpSpec, Ran, Spec, Verdict};
pub use template::Template;

use super::{ClusterInfo, NodeCommand, System};
use anyhow::{bail, Context as _};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;
use tokio::time::Instant;
use workloads::{BoxFuture, Client, Op, Outcome, RegisterOp};

/// The shell every command runs under.
const SHELL: &str = "/bin/sh";

/// The command system: a [`Spec`] read from a test file.
#[derive(Clone, Debug)]
pub struct Command {
    spec: Arc<Spec>,
    test_name: String,
}

impl Command {
    /// The system `cfg.command` defines (the raw `[command]` table), its variables
    /// overridden by `[command.read_mode.<cfg.read_mode>]` where the table has one.
    pub fn from_config(cfg: &crate::config::TestConfig) -> anyhow::Result<Self> {
        let Some(table) = cfg.plugin("command") else {
            return Err(super::DefinedByTestFile(
                "system \"command\" is defined by a [command] table in the test file (see examples/command-etcdctl.toml)".into(),
            )
            .into());
        };
        let spec = Spec::parse(table, cfg.read_mode.as_str())?;
        Ok(Command {
            spec: Arc::new(spec),
            test_name: cfg.test_name(),
        })
    }

    /// The system `spec` defines, for a test called `test_name` (its `{cluster}`).
    pub fn new(spec: Spec, test_name: &str) -> Self {
        Command {
            spec: Arc::new(spec),
            test_name: test_name.to_string(),
        }
    }

    /// The placeholders every template of the cluster sees.
    fn cluster_vars(&self, cluster: &ClusterInfo) -> BTreeMap<String, String> {
        let mut vars = self.spec.vars.clone();
        vars.insert("cluster".into(), self.test_name.clone());
        vars.insert("nodes".into(), cluster.names.len().to_string());
        let each = |t: &Template| {
            (0..cluster.names.len())
                .map(|i| t.expand(&self.node_vars(cluster, i, &vars)))
                .collect::<Vec<_>>()
                .join(",")
        };
        let (peers, endpoints) = (each(&self.spec.peer), each(&self.spec.endpoint));
        vars.insert("peers".into(), peers);
        vars.insert("endpoints".into(), endpoints);
        vars
    }

    /// `base` plus node `node`'s own placeholders (`{node}`, `{index}`, `{addr}`, `{endpoint}`).
    fn node_vars(
        &self,
        cluster: &ClusterInfo,
        node: usize,
        base: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut vars = base.clone();
        vars.insert("node".into(), cluster.names[node].clone());
        vars.insert("index".into(), (node + 1).to_string());
        vars.insert("addr".into(), cluster.addrs[node].to_string());
        if !vars.contains_key("peers") {
            // Expanding `peer` or `endpoint` themselves: they see only the node's own names.
            return vars;
        }
        let endpoint = self.spec.endpoint.expand(&vars);
        vars.insert("endpoint".into(), endpoint);
        vars
    }
}

impl System for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    fn node_command(&self, node: usize, cluster: &ClusterInfo, data_dir: &Path) -> NodeCommand {
        let mut vars = self.node_vars(cluster, node, &self.cluster_vars(cluster));
        vars.insert("data_dir".into(), data_dir.to_string_lossy().into_owned());
        NodeCommand {
            program: PathBuf::from(SHELL),
            args: vec!["-c".into(), self.spec.node.expand(&vars)],
            env: self.spec.env.clone(),
            clear_env: false,
        }
    }

    /// Runs the probe for each node in turn until it exits 0; each attempt is bounded by the
    /// probe's own timeout (and what is left of `timeout`).
    fn wait_ready<'a>(
        &'a self,
        cluster: &'a ClusterInfo,
        timeout: Duration,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let Some(probe) = &self.spec.ready else {
                return Ok(());
            };
            let deadline = Instant::now() + timeout;
            let base = self.cluster_vars(cluster);
            for (node, name) in cluster.names.iter().enumerate() {
                let cmd = probe.expand(&self.node_vars(cluster, node, &base));
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let ran = run_shell(
                        &cmd,
                        None,
                        &self.spec.env,
                        self.spec.probe_timeout.min(left),
                    )
                    .await;
                    if ran.exit == Some(0) {
                        break;
                    }
                    if Instant::now() >= deadline {
                        bail!(
                            "node {name} not ready after {timeout:?}: `{cmd}`: {}",
                            ran.summary()
                        );
                    }
                    tracing::debug!(node = %name, result = %ran.summary(), "not ready yet");
                    tokio::time::sleep(Duration::from_millis(200).min(left)).await;
                }
            }
            Ok(())
        })
    }

    /// Runs each `setup` command once, in order; each must exit 0 within `timeout` (shared).
    fn setup<'a>(
        &'a self,
        cluster: &'a ClusterInfo,
        timeout: Duration,
    ) -> BoxFuture<'a, anyhow::Result<Value>> {
        Box::pin(async move {
            let deadline = Instant::now() + timeout;
            let vars = self.cluster_vars(cluster);
            for template in &self.spec.setup {
                let cmd = template.expand(&vars);
                let left = deadline.saturating_duration_since(Instant::now());
                let ran = run_shell(&cmd, None, &self.spec.env, left).await;
                if ran.exit != Some(0) {
                    bail!("setup command `{cmd}` failed: {}", ran.summary());
                }
            }
            Ok(Value::Null)
        })
    }

    fn client(
        &self,
        cluster: &ClusterInfo,
        node: usize,
        timeout: Duration,
        _state: &Value,
    ) -> Arc<dyn Client> {
        Arc::new(CommandClient {
            spec: self.spec.clone(),
            vars: self.node_vars(cluster, node, &self.cluster_vars(cluster)),
            timeout,
        })
    }

    fn ops(&self) -> &'static [&'static str] {
        if ["read", "write", "cas"]
            .iter()
            .all(|f| self.spec.ops.contains_key(*f))
        {
            &["register"]
        } else {
            &[]
        }
    }

    fn image_binaries(&self) -> anyhow::Result<Vec<PathBuf>> {
        bail!("the command system has no guest image: it runs in the local environment")
    }

    fn doctor(&self) -> Vec<(String, Result<String, String>)> {
        let shell = if Path::new(SHELL).is_file() {
            Ok(format!("{SHELL} runs every command"))
        } else {
            Err(format!("{SHELL} not found"))
        };
        vec![("command".into(), shell)]
    }
}

/// A client bound to one node: each op is one command run from the hub.
struct CommandClient {
    spec: Arc<Spec>,
    /// The node's placeholders (`{addr}`, `{endpoint}`, `{endpoints}`, vars, ...).
    vars: BTreeMap<String, String>,
    timeout: Duration,
}

impl CommandClient {
    async fn register(&self, op: &Op, typed: RegisterOp) -> Outcome {
        let Some(spec) = self.spec.ops.get(&op.f) else {
            return Outcome::Fail(format!("no [command] {} template (never run)", op.f));
        };
        let mut vars = self.vars.clone();
        vars.insert("key".into(), typed.key().to_string());
        match typed {
            RegisterOp::Read { .. } => {}
            RegisterOp::Write { value, .. } => {
                vars.insert("value".into(), value.to_string());
            }
            RegisterOp::Cas { old, new, .. } => {
                vars.insert("old".into(), old.to_string());
                vars.insert("new".into(), new.to_string());
            }
        }
        let cmd = spec.run.expand(&vars);
        let stdin = spec.stdin.as_ref().map(|t| t.expand(&vars));
        let ran = run_shell(&cmd, stdin.as_deref(), &self.spec.env, self.timeout).await;
        let verdict = spec.judge(&ran);
        tracing::trace!(f = %op.f, %cmd, result = %ran.summary(), ?verdict, "op command");
        match (verdict, typed) {
            (Verdict::Ok(value), RegisterOp::Read { key }) => match value {
                Some(Value::Number(n)) if n.as_i64().is_some() => {
                    Outcome::Ok(RegisterOp::read_value(key, n.as_i64()))
                }
                None | Some(Value::Null) => Outcome::Ok(RegisterOp::read_value(key, None)),
                Some(other) => Outcome::Fail(format!("read value {other} is not an integer")),
            },
            (Verdict::Ok(_), _) => Outcome::Ok(op.value.clone()),
            (Verdict::Fail(why), _) => Outcome::Fail(why),
            (Verdict::Info(why), _) if spec.read_only => Outcome::Fail(why),
            (Verdict::Info(why), _) => Outcome::Info(why),
        }
    }
}

impl Client for CommandClient {
    fn invoke<'a>(&'a self, op: &'a Op) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match RegisterOp::from_op(op) {
                Ok(typed) => self.register(op, typed).await,
                Err(e) => Outcome::Fail(format!("{e} (never run)")),
            }
        })
    }
}

/// Runs `cmd` under `/bin/sh -c` in its own process group, feeding it `stdin`; after
/// `timeout` the whole group is killed and the result says so.
pub async fn run_shell(
    cmd: &str,
    stdin: Option<&str>,
    env: &[(String, String)],
    timeout: Duration,
) -> Ran {
    let mut command = tokio::process::Command::new(SHELL);
    command
        .arg("-c")
        .arg(cmd)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn().with_context(|| format!("starting {SHELL}")) {
        Ok(child) => child,
        Err(e) => return Ran::not_started(format!("{e:#}")),
    };
    let pgid = child.id();
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let text = text.to_string();
        // Written concurrently: a command that does not read its stdin must not block us.
        tokio::spawn(async move {
            let _ = pipe.write_all(text.as_bytes()).await;
        });
    }
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => Ran {
            started: true,
            timed_out: false,
            exit: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            error: None,
        },
        Ok(Err(e)) => Ran {
            started: true,
            error: Some(format!("waiting for the command: {e}")),
            ..Ran::default()
        },
        Err(_) => {
            if let Some(pgid) = pgid {
                // SAFETY: kill(2) on the process group of our own child (its leader's pid).
                unsafe { libc::kill(-(pgid as i32), libc::SIGKILL) };
            }
            Ran {
                started: true,
                timed_out: true,
                error: Some(format!("timed out after {timeout:?}")),
                ..Ran::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cluster() -> ClusterInfo {
        ClusterInfo::new(
            vec!["n1".into(), "n2".into(), "n3".into()],
            (1..=3)
                .map(|i| std::net::Ipv4Addr::new(198, 18, i, 2))
                .collect(),
        )
    }

    fn system(text: &str, read_mode: &str) -> Command {
        let table: toml::Table = toml::from_str(text).unwrap();
        Command::new(Spec::parse(&table, read_mode).unwrap(), "t")
    }

    fn example(read_mode: &str) -> Command {
        let file: toml::Table =
            toml::from_str(include_str!("../../examples/command-etcdctl.toml")).unwrap();
        Command::new(
            Spec::parse(file["command"].as_table().unwrap(), read_mode).unwrap(),
            "command-etcdctl",
        )
    }

    #[test]
    fn the_node_command_is_the_expanded_template_under_sh() {
        let cmd = example("linearizable").node_command(1, &cluster(), Path::new("/d/n2"));
        assert_eq!(cmd.program, PathBuf::from("/bin/sh"));
        assert_eq!(cmd.args[0], "-c");
        let line = &cmd.args[1];
        for part in [
            "exec etcd --name n2 --data-dir /d/n2 ",
            "--listen-client-urls http://198.18.2.2:2379 ",
            "--initial-cluster n1=http://198.18.1.2:2380,n2=http://198.18.2.2:2380,n3=http://198.18.3.2:2380 ",
            "--initial-cluster-token command-etcdctl ",
        ] {
            assert!(line.contains(part), "{part:?} not in {line:?}");
        }
        assert!(!line.contains('\n'), "{line:?}");
        assert_eq!(cmd.env, [("ETCDCTL_API".to_string(), "3".to_string())]);
    }

    #[test]
    fn client_placeholders_are_the_clients_node_and_the_whole_cluster() {
        let s = system(
            "node = 'x'\nendpoint = 'http://{addr}:{port}'\nport = 9\n[vars]\nc = 'l'",
            "linearizable",
        );
        let vars = s.node_vars(&cluster(), 2, &s.cluster_vars(&cluster()));
        assert_eq!(vars["endpoint"], "http://198.18.3.2:9");
        assert_eq!(
            vars["endpoints"],
            "http://198.18.1.2:9,http://198.18.2.2:9,http://198.18.3.2:9"
        );
        assert_eq!(vars["peers"], "n1=198.18.1.2,n2=198.18.2.2,n3=198.18.3.2");
        assert_eq!(
            (&*vars["node"], &*vars["index"], &*vars["c"]),
            ("n3", "3", "l")
        );
        assert_eq!(s.ops(), &[] as &[&str]);
        assert_eq!(example("linearizable").ops(), ["register"]);
    }

    #[tokio::test]
    async fn a_command_is_killed_at_its_timeout_and_gets_its_stdin() {
        let start = Instant::now();
        let ran = run_shell("sleep 5 | cat", None, &[], Duration::from_millis(200)).await;
        assert!(
            ran.timed_out && start.elapsed() < Duration::from_secs(2),
            "{ran:?}"
        );
        let env = [("X".to_string(), "y".to_string())];
        let ran = run_shell(
            "read a; echo $a $X; exit 3",
            Some("hi\n"),
            &env,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!((ran.exit, ran.stdout.as_str()), (Some(3), "hi y\n"));
    }

    /// Ops through a fake "database" of files, by shell commands: the client's mapping of
    /// verdicts to outcomes (a read's unknown is a fail, a write's is info).
    #[tokio::test]
    async fn outcomes_of_a_shell_backed_register() {
        let dir = std::env::temp_dir().join(format!("sqcmd-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = format!(
            r#"node = "x"
[vars]
d = "{dir}"
[read]
run = "cat {{d}}/{{key}} 2>/dev/null || true"
value_regex = '^(-?\d+)$'
nil_stdout = '^$'
[write]
run = "test {{value}} -ne 13 || exit 9; echo -n {{value}} > {{d}}/{{key}}"
fail_exit = [9]
[cas]
run = "test \"$(cat {{d}}/{{key}})\" = {{old}} || {{{{ echo FAILURE; exit 0; }}}}; echo -n {{new}} > {{d}}/{{key}}; sleep {{new}}"
fail_stdout = '^FAILURE'
"#,
            dir = dir.display()
        );
        let s = system(&text, "linearizable");
        let client = s.client(&cluster(), 0, Duration::from_millis(500), &Value::Null);
        let op = |f: &str, v: Value| Op::new(f, v);
        assert_eq!(
            client.invoke(&op("read", json!([1, null]))).await,
            Outcome::Ok(json!([1, null]))
        );
        assert_eq!(
            client.invoke(&op("write", json!([1, 0]))).await,
            Outcome::Ok(json!([1, 0]))
        );
        assert!(matches!(
            client.invoke(&op("write", json!([1, 13]))).await,
            Outcome::Fail(_)
        ));
        assert_eq!(
            client.invoke(&op("read", json!([1, null]))).await,
            Outcome::Ok(json!([1, 0]))
        );
        assert!(matches!(
            client.invoke(&op("cas", json!([1, [4, 5]]))).await,
            Outcome::Fail(_)
        ));
        // Applied, then sleeps past the timeout: unknown, though it did happen.
        assert!(matches!(
            client.invoke(&op("cas", json!([1, [0, 2]]))).await,
            Outcome::Info(_)
        ));
        std::fs::write(dir.join("1"), "garbage").unwrap();
        assert!(matches!(
            client.invoke(&op("read", json!([1, null]))).await,
            Outcome::Fail(_)
        ));
        assert!(matches!(
            client.invoke(&op("add", json!(3))).await,
            Outcome::Fail(_)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
