//! What the end-to-end tests share: whether this host can run them (and why not), the
//! squall binary, scratch folders, and the leak check — everything a run may leave on the
//! host (namespaces, /tmp/squall-* folders, node processes, mounts) and the host
//! namespace's links, routes and rules, compared with how the test found them.
//!
//! Each test crate uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One cluster at a time: the machine has 2 cores, and leak checks look machine-wide.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// Whether `bin` is on PATH.
pub fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

/// Why this host cannot run the tests that need root and etcd (and `also`), if it cannot.
pub fn skip_reason_with(also: &[(&str, &str)]) -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (network namespaces)".into());
    }
    if !on_path("etcd") {
        return Some("etcd not installed (apt-get install -y etcd-server etcd-client)".into());
    }
    also.iter()
        .find(|(bin, _)| !on_path(bin))
        .map(|(bin, why)| format!("{bin} not installed ({why})"))
}

/// Why this host cannot run the tests that need root and etcd, if it cannot.
pub fn skip_reason() -> Option<String> {
    skip_reason_with(&[])
}

/// One cluster at a time, and a skip (saying why) where the host cannot run the test.
#[macro_export]
macro_rules! require_env {
    () => {
        $crate::require_env!(&[])
    };
    ($also:expr) => {
        let _serial = common::SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(why) = common::skip_reason_with($also) {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_squall")
}

pub fn store(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("sqe2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

/// What the host looks like from outside squall: its links, routes and rules.
pub fn host_network() -> String {
    let mut s = String::new();
    for args in [
        &["-o", "link"][..],
        &["route"][..],
        &["rule"][..],
        &["-6", "route"][..],
    ] {
        let o = Command::new("ip").args(args).output().expect("ip");
        // Link statistics change; keep names and flags only.
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            s.push_str(line.split(" link/").next().unwrap_or(line));
            s.push('\n');
        }
    }
    s
}

/// The run id in `squall-<run>-...` / `squall-<run>`, if it looks like one.
pub fn run_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("squall-")?;
    let run = rest.split(['-', '/']).next()?;
    (!run.is_empty()
        && run
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()))
    .then_some(run)
}

/// Whether run `run` belongs to a live process: another squall (or test) working on this
/// machine at the same time. The runs of these tests are over when they are checked, so
/// what a live process owns is not theirs to judge.
pub fn owned_by_live_process(run: &str) -> bool {
    let owner = std::fs::read_to_string(format!("/tmp/squall-{run}/.squall-owner"));
    let Some(pid) = owner
        .ok()
        .and_then(|o| o.split_whitespace().next().map(str::to_string))
    else {
        return false;
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(") ").next().and_then(|r| r.chars().next());
    !stat.is_empty() && state != Some('Z')
}

/// The programs (their `comm`, at most 15 bytes) a run starts on the host whose command line
/// names the run's folder: squall itself, the nodes of the systems these tests run, and the
/// VMMs of VM runs (a QEMU names itself `qemu-<node>`).
const NODE_PROGRAMS: &[&str] = &["squall", "etcd", "aspen-node", "cloud-hyperviso"];

fn is_node_program(comm: &str) -> bool {
    NODE_PROGRAMS.contains(&comm) || comm.starts_with("qemu-")
}

/// Everything a squall run may leave on the host: its namespaces, run directories, node and
/// squall processes (found by a /tmp/squall-<run> path on their command line) and mounts — minus what belongs to runs of
/// other live processes.
pub fn leftovers_now() -> Vec<String> {
    let mut left = Vec::new();
    let mine = |name: &str| run_of(name).is_some_and(|r| !owned_by_live_process(r));
    if let Ok(rd) = std::fs::read_dir("/run/netns") {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("squall-") && mine(&n) {
                left.push(format!("namespace {n}"));
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir("/tmp") {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("squall-") && mine(&n) {
                left.push(format!("/tmp/{n}"));
            }
        }
    }
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        // A killed process is gone once reaped; a zombie (state Z) waiting for init is not a
        // process left running.
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let state = stat.rsplit(") ").next().and_then(|r| r.chars().next());
        if state == Some('Z') {
            continue;
        }
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if !is_node_program(comm.trim()) {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        // squall's nodes keep their data in /tmp/squall-<run>/<node>.
        if let Some(i) = cmdline.find("/tmp/squall-") {
            if mine(&cmdline[i + 5..]) {
                left.push(format!(
                    "process {}: {cmdline}",
                    e.file_name().to_string_lossy()
                ));
            }
        }
    }
    for mount in mounts() {
        let ours = mount
            .strip_prefix("/run/netns/")
            .is_none_or(|ns| !ns.starts_with("squall-") || mine(ns));
        if ours {
            left.push(format!("mount {mount}"));
        }
    }
    left
}

/// The mount points of this mount namespace (`/run/netns` itself, a mount point by
/// iproute2's convention once any named namespace was made, is not a leftover).
pub fn mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| m != "/run/netns")
        .collect()
}

/// The host as a test found it: its network, and what was there already (a leftover that
/// predates the test, e.g. of a run another engineer killed, is not this test's).
pub struct Host {
    /// The host namespace's links, routes and rules.
    pub network: String,
    before: Vec<String>,
}

impl Host {
    pub fn now() -> Host {
        Host {
            network: host_network(),
            before: leftovers_now(),
        }
    }

    /// Asserts that nothing was left since the test began (waiting a moment: SIGKILLed
    /// processes take a moment to exit), and that the host namespace is as it was.
    pub fn assert_clean(&self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut left = self.leftovers();
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            left = self.leftovers();
        }
        assert!(left.is_empty(), "left behind: {left:?}");
        assert_eq!(host_network(), self.network, "the host namespace changed");
    }

    /// What was left since the test began.
    pub fn leftovers(&self) -> Vec<String> {
        leftovers_now()
            .into_iter()
            .filter(|l| !self.before.contains(l))
            .collect()
    }
}

pub fn leftovers(host: &Host) -> Vec<String> {
    host.leftovers()
}

pub fn assert_clean(host: &Host) {
    host.assert_clean();
}

pub fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().expect("run squall")
}

/// `run` with extra environment variables (as a user's shell may have them).
pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run squall")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn latest(store: &Path) -> PathBuf {
    std::fs::canonicalize(store.join("latest")).expect("latest link")
}

/// The history file of a run, one JSON value per event.
pub fn history(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("history.jsonl"))
        .expect("history.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The processes whose command line mentions `text` (a test's scratch folder: a squall it
/// started and did not wait for).
pub fn processes_mentioning(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat.is_empty() || stat.rsplit(") ").next().and_then(|r| r.chars().next()) == Some('Z') {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(text) {
            found.push(format!(
                "process {}: {cmdline}",
                e.file_name().to_string_lossy()
            ));
        }
    }
    found
}
