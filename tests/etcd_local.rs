//! End to end: `squall run` against a real 3-node etcd cluster in network namespaces, with
//! real partitions (FIB rules), pauses (SIGSTOP) and kills (SIGKILL), as a user runs it.
//! Needs root and Debian's etcd (`.ci/run` installs it); skipped, saying why, without them.
//!
//! Every test also checks that nothing is left behind: no squall namespace, no etcd
//! process, no /tmp/squall-* folder, and the host namespace's links, routes and rules as
//! they were.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One cluster at a time: the machine has 2 cores, and leak checks look machine-wide.
static SERIAL: Mutex<()> = Mutex::new(());

fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (network namespaces)".into());
    }
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("etcd").is_file()))
        .unwrap_or(false);
    if !found {
        return Some("etcd not installed (apt-get install -y etcd-server etcd-client)".into());
    }
    None
}

macro_rules! require_env {
    () => {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(why) = skip_reason() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_squall")
}

fn store(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("sqe2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

/// What the host looks like from outside squall: its links, routes and rules.
fn host_network() -> String {
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

fn leftovers() -> Vec<String> {
    let mut left = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/run/netns") {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("squall-") {
                left.push(format!("namespace {n}"));
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir("/tmp") {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("squall-") {
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
        let comm = e.path().join("comm");
        if let Ok(c) = std::fs::read_to_string(comm) {
            if c.trim() == "etcd" {
                left.push(format!("etcd process {}", e.file_name().to_string_lossy()));
            }
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for l in mounts.lines().filter(|l| l.contains("/run/netns/squall-")) {
        left.push(format!("mount {l}"));
    }
    left
}

fn assert_clean(before: &str) {
    // SIGKILLed processes take a moment to exit.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut left = leftovers();
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left = leftovers();
    }
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(host_network(), before, "the host namespace changed");
}

fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().expect("run squall")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn latest(store: &Path) -> PathBuf {
    std::fs::canonicalize(store.join("latest")).expect("latest link")
}

#[test]
fn a_seeded_run_with_every_nemesis_is_valid_and_stores_everything() {
    require_env!();
    let before = host_network();
    let st = store("valid");
    let out = run(&[
        "run",
        "--seed",
        "1",
        "--time-limit",
        "20s",
        "--store",
        st.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.starts_with("seed 1\n"), "{t}");
    assert!(t.contains("verdict: valid"), "{t}");
    assert!(t.contains("fault  ") && t.contains("healed "), "{t}");
    let dir = latest(&st);
    for f in [
        "test.toml",
        "plan.jsonl",
        "history.jsonl",
        "history.edn",
        "results.json",
        "squall.log",
    ] {
        let len = std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{f} missing or empty in {}", dir.display());
    }
    for n in ["n1", "n2", "n3"] {
        let log = dir.join("nodes").join(n).join("log");
        assert!(
            std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0) > 0,
            "{}",
            log.display()
        );
    }
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["valid"], serde_json::json!(true));
    // The stored plan is the one `squall plan` prints for the same seed and options.
    let plan = run(&[
        "plan",
        "--seed",
        "1",
        "--time-limit",
        "20s",
        "--store",
        st.to_str().unwrap(),
    ]);
    assert_eq!(plan.stdout, std::fs::read(dir.join("plan.jsonl")).unwrap());
    // The history holds nemesis events for each kind of fault that was planned.
    let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    assert!(history.contains("\"process\":\"nemesis\""));
    assert_clean(&before);
    let _ = std::fs::remove_dir_all(&st);
}

#[test]
fn serializable_reads_under_partitions_are_caught_and_linearizable_reads_are_not() {
    require_env!();
    let before = host_network();
    let st = store("stale");
    let mut found = None;
    for seed in ["1", "2", "3"] {
        let out = run(&[
            "run",
            "--seed",
            seed,
            "--read-mode",
            "serializable",
            "--nemesis",
            "partition",
            "--time-limit",
            "60s",
            "--store",
            st.to_str().unwrap(),
        ]);
        let t = text(&out);
        assert!(matches!(out.status.code(), Some(0) | Some(1)), "{t}");
        if out.status.code() == Some(1) {
            assert!(t.contains("verdict: invalid"), "{t}");
            assert!(t.contains("read"), "counterexample names the read: {t}");
            assert!(
                t.contains(&format!("rerun with: squall run --seed {seed} --time-limit 60s --nemesis partition --read-mode serializable")),
                "{t}"
            );
            found = Some(seed);
            break;
        }
    }
    let seed = found.expect("no stale read found with seeds 1, 2, 3");
    let out = run(&[
        "run",
        "--seed",
        seed,
        "--nemesis",
        "partition",
        "--time-limit",
        "60s",
        "--store",
        st.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_clean(&before);
    let _ = std::fs::remove_dir_all(&st);
}

/// Spawns a run and returns it once a line containing `marker` was printed.
fn spawn_until(args: &[&str], marker: &str) -> (std::process::Child, String) {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.contains(marker) {
            // Keep draining in the background so the child never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut sink = String::new();
                while out.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                    sink.clear();
                }
            });
            return (child, seen);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("never printed {marker:?}: {seen}");
}

#[test]
fn ctrl_c_in_a_partition_heals_and_leaves_nothing() {
    require_env!();
    let before = host_network();
    let st = store("sigint");
    let (child, _) = spawn_until(
        &[
            "run",
            "--seed",
            "5",
            "--nemesis",
            "partition",
            "--time-limit",
            "60s",
            "--store",
            st.to_str().unwrap(),
        ],
        "fault  partition",
    );
    // SAFETY: plain kill(2) on our child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "interrupted runs exit 3");
    let dir = latest(&st);
    let results = std::fs::read_to_string(dir.join("results.json")).unwrap();
    assert!(results.contains("\"interrupted\": true"), "{results}");
    assert_clean(&before);
    let _ = std::fs::remove_dir_all(&st);
}

#[test]
fn kill_9_then_clean_leaves_nothing() {
    require_env!();
    let before = host_network();
    let st = store("kill9");
    let (mut child, _) = spawn_until(
        &[
            "run",
            "--seed",
            "6",
            "--time-limit",
            "60s",
            "--store",
            st.to_str().unwrap(),
        ],
        "fault  ",
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !leftovers().is_empty(),
        "a killed run should leave something for clean to find"
    );
    let out = run(&["clean"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_clean(&before);
    // The history recorded before the kill is still checkable.
    let history = latest(&st).join("history.jsonl");
    let check = run(&["check", history.to_str().unwrap()]);
    assert!(
        matches!(check.status.code(), Some(0) | Some(1) | Some(2)),
        "{}",
        text(&check)
    );
    let _ = std::fs::remove_dir_all(&st);
}

#[test]
fn a_node_that_cannot_start_is_a_one_line_error_and_leaves_nothing() {
    require_env!();
    let before = host_network();
    let st = store("nostart");
    let out = run(&[
        "run",
        "--seed",
        "1",
        "--etcd",
        "/bin/false",
        "--store",
        st.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("n1") || err.contains("n2") || err.contains("n3"),
        "{err}"
    );
    assert_clean(&before);
    let out = run(&[
        "run",
        "--seed",
        "1",
        "--etcd",
        "/nonexistent/etcd",
        "--store",
        st.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(err.contains("/nonexistent/etcd"), "{err}");
    assert_clean(&before);
    let _ = std::fs::remove_dir_all(&st);
}
