//! Running `aspen-cli`: one process per request, in a clean environment (it reads
//! `ASPEN_TICKET`, `ASPEN_TOKEN` and `RUST_LOG`, which must not leak in from the shell that
//! started squall), killed with its process group at the request's deadline.
//!
//! It runs where the caller runs: the clients, the setup and the leader hook all run inside
//! the hub namespace, so the CLI's QUIC packets cross the hub like any client's.

use super::classify::Ran;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// The shortest `--timeout` worth passing: below it a request cannot even be sent.
const MIN_RPC_TIMEOUT: Duration = Duration::from_millis(100);

/// The `aspen-cli` binary.
#[derive(Clone, Debug)]
pub struct Cli {
    program: PathBuf,
}

impl Cli {
    /// The CLI at `program`.
    pub fn new(program: PathBuf) -> Self {
        Cli { program }
    }

    /// Runs `aspen-cli --json --timeout MS --ticket TICKET ARGS..`, giving up after `budget`.
    ///
    /// The CLI's own per-request timeout is the whole budget (its retries then run past the
    /// budget and are cut by the kill: the op is unknown either way). Its own warnings (one
    /// per failed attempt) stay on: the classification needs them to tell a first-attempt
    /// refusal from a retried one. Colours are off.
    pub async fn run(&self, ticket: &str, args: &[&str], budget: Duration) -> Ran {
        let rpc = budget.max(MIN_RPC_TIMEOUT).as_millis().to_string();
        let mut command = tokio::process::Command::new(&self.program);
        command
            .env_clear()
            .env("NO_COLOR", "1")
            // The CLI's own warnings (one per failed attempt), none of iroh's (pkarr, DNS
            // lookups that cannot succeed from the hub).
            .env("RUST_LOG", "off,aspen_cli=warn")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .args(["--json", "--timeout", &rpc, "--ticket", ticket])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                return Ran {
                    not_started: Some(format!("{}: {e}", self.program.display())),
                    ..Ran::default()
                }
            }
        };
        let pgid = child.id();
        match tokio::time::timeout(budget, child.wait_with_output()).await {
            Ok(Ok(out)) => Ran {
                exit: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                ..Ran::default()
            },
            // Started, then lost: it may have sent its request.
            Ok(Err(e)) => Ran {
                stderr: format!("waiting for aspen-cli: {e}"),
                ..Ran::default()
            },
            Err(_) => {
                if let Some(pgid) = pgid {
                    // SAFETY: kill(2) on the process group of our own child (its leader's
                    // pid, from `process_group(0)`).
                    unsafe { libc::kill(-(pgid as libc::pid_t), libc::SIGKILL) };
                }
                Ran {
                    timed_out: true,
                    ..Ran::default()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in CLI: a shell script that prints its arguments and environment.
    fn fake(dir: &std::path::Path, body: &str) -> Cli {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join("aspen-cli");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Cli::new(path)
    }

    #[tokio::test]
    async fn the_cli_runs_in_a_clean_environment_and_is_killed_at_its_budget() {
        let dir = std::env::temp_dir().join(format!("sqaspen-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cli = fake(&dir, r#"echo "$@"; env | sort | tr '\n' ' ' >&2"#);
        let ran = cli
            .run("aspenT", &["kv", "get", "k"], Duration::from_secs(5))
            .await;
        assert_eq!(ran.exit, Some(0));
        assert_eq!(
            ran.stdout,
            "--json --timeout 5000 --ticket aspenT kv get k\n"
        );
        // Only what the runner sets (sh adds PWD and the like; no ASPEN_*).
        assert!(!ran.stderr.contains("ASPEN_"), "{}", ran.stderr);
        assert!(ran.stderr.contains("NO_COLOR=1"), "{}", ran.stderr);

        let slow = fake(&dir, "sleep 5");
        let t = std::time::Instant::now();
        let ran = slow.run("t", &[], Duration::from_millis(200)).await;
        assert!(
            ran.timed_out && t.elapsed() < Duration::from_secs(2),
            "{ran:?}"
        );

        let missing = Cli::new(dir.join("nope"));
        assert!(missing
            .run("t", &[], Duration::from_secs(1))
            .await
            .not_started
            .is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
