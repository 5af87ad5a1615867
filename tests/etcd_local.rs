//! End to end: `squall run` against a real 3-node etcd cluster in network namespaces, with
//! real partitions (FIB rules), pauses (SIGSTOP) and kills (SIGKILL), as a user runs it.
//! Needs root and Debian's etcd (`.ci/run` installs it); skipped, saying why, without them.
//!
//! Every test also checks that nothing is left behind: no squall namespace, no etcd
//! process, no /tmp/squall-* folder, and the host namespace's links, routes and rules as
//! they were.

mod common;

use common::{
    assert_clean, bin, history, host_network, latest, leftovers, mounts, run, store, text, Host,
};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The nemesis completions (`info`) of `f` in a history, with their error if any.
fn nemesis_completions(h: &[serde_json::Value], f: &str) -> Vec<Option<String>> {
    h.iter()
        .filter(|e| e["process"] == "nemesis" && e["type"] == "info" && e["f"] == f)
        .map(|e| e["error"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_seeded_run_with_every_nemesis_is_valid_and_stores_everything() {
    require_env!();
    let host = Host::now();
    let st = store("valid");
    // Seed 9's 20 s plan has a fault of each kind.
    let args = [
        "--seed",
        "9",
        "--time-limit",
        "20s",
        "--store",
        st.to_str().unwrap(),
    ];
    let plan = run(&[&["plan"][..], &args].concat());
    assert!(plan.status.success(), "{}", text(&plan));
    let plan_text = String::from_utf8_lossy(&plan.stdout);
    for kind in ["partition", "pause", "kill"] {
        assert!(
            plan_text.contains(&format!("\"fault\":\"{kind}\"")),
            "seed 9's plan has no {kind} fault any more: pick a seed that has all three"
        );
    }
    let out = run(&[&["run"][..], &args].concat());
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.starts_with("seed 9\n"), "{t}");
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
    assert_eq!(results["run"]["faults"], serde_json::json!(3), "{results}");
    // The stored plan is the one `squall plan` prints for the same seed and options.
    assert_eq!(plan.stdout, std::fs::read(dir.join("plan.jsonl")).unwrap());

    // `valid` alone would hold if every op had failed or timed out: the cluster must have
    // served each kind of op (20 ops/s for 20 s is ~130 of each; faults cost some).
    let h = history(&dir);
    for (f, min) in [("read", 30), ("write", 30), ("cas", 10)] {
        let ok = h
            .iter()
            .filter(|e| e["type"] == "ok" && e["f"] == f && e["process"].is_u64())
            .count();
        assert!(ok >= min, "only {ok} {f} ops ok (want {min}+)");
    }
    // And each fault really happened: started and healed, without an error.
    for kind in ["partition", "pause", "kill"] {
        for what in ["start", "stop"] {
            let f = format!("{what}-{kind}");
            let done = nemesis_completions(&h, &f);
            assert!(!done.is_empty(), "no {f} in the history");
            assert!(done.iter().all(Option::is_none), "{f} failed: {done:?}");
        }
    }
    assert_clean(&host);
    let _ = std::fs::remove_dir_all(&st);
}

#[test]
fn set_and_bank_runs_with_every_nemesis_are_valid_and_checked_by_their_checkers() {
    require_env!();
    let host = Host::now();
    let st = store("workloads");
    for (workload, checker, oks) in [
        ("set", "set: valid", [("add", 50), ("read", 5)]),
        ("bank", "bank: valid", [("transfer", 30), ("read", 10)]),
    ] {
        let args = [
            "run",
            "--workload",
            workload,
            "--seed",
            "9",
            "--time-limit",
            "20s",
            "--store",
            st.to_str().unwrap(),
        ];
        let out = run(&args);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(0), "{workload}: {t}");
        assert!(t.contains(checker) && t.contains("stats: valid"), "{t}");
        assert!(t.contains("verdict: valid"), "{t}");
        let dir = latest(&st);
        let results: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(results["run"]["faults"], serde_json::json!(3), "{results}");
        // Whether the cluster served, beside the verdict: etcd always does here.
        let served = &results["availability"];
        assert!(served["ok"].as_u64().unwrap() > 50, "{results}");
        assert!(t.contains("availability: "), "{t}");
        let names: Vec<&str> = results["checks"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["checker"].as_str().unwrap())
            .collect();
        assert_eq!(names, [workload, "stats"], "{results}");
        // The cluster served each kind of op (valid alone would hold if none had).
        let h = history(&dir);
        for (f, min) in oks {
            let ok = h
                .iter()
                .filter(|e| e["type"] == "ok" && e["f"] == f && e["process"].is_u64())
                .count();
            assert!(ok >= min, "{workload}: only {ok} {f} ops ok (want {min}+)");
        }
    }
    assert_clean(&host);
    let _ = std::fs::remove_dir_all(&st);
}

/// The program in `examples/` adds its own workload from outside the squall crate and runs
/// a whole test through squall's command line. `cargo test` builds examples beside the tests.
#[test]
fn a_users_own_workload_from_another_crate_runs_a_test() {
    require_env!();
    let example = Path::new(bin())
        .parent()
        .unwrap()
        .join("examples/hot_register");
    if !example.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} was not built",
            example.display()
        );
        println!(
            "skipped: {} not built (cargo test builds it)",
            example.display()
        );
        return;
    }
    let host = Host::now();
    let st = store("example");
    let out = Command::new(&example)
        .args([
            "run",
            "--workload",
            "hot-register",
            "--seed",
            "1",
            "--time-limit",
            "10s",
        ])
        .args(["--store", st.to_str().unwrap()])
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("linearizable: valid") && t.contains("(") && t.contains("1 key"),
        "{t}"
    );
    assert!(t.contains("verdict: valid"), "{t}");
    // squall's own binary does not know it: the workload is the example's.
    let plain = run(&["plan", "--workload", "hot-register"]);
    assert_eq!(plain.status.code(), Some(3), "{}", text(&plain));
    assert!(text(&plain).contains("unknown workload"));
    assert_clean(&host);
    let _ = std::fs::remove_dir_all(&st);
}

#[test]
fn serializable_reads_under_partitions_are_caught_and_linearizable_reads_are_not() {
    require_env!();
    let host = Host::now();
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
            // The counterexample is a read that returned what no linearization allows, and
            // the history index it names is that read's completion.
            let line = t
                .lines()
                .find(|l| l.contains(": read by process ") && l.contains("no linearization"))
                .unwrap_or_else(|| panic!("no counterexample naming a read: {t}"));
            let index: u64 = line
                .split("(history index ")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no history index in {line:?}"));
            let h = history(&latest(&st));
            let event = h.iter().find(|e| e["index"] == index).expect("that event");
            assert_eq!(event["f"], "read", "{event}");
            assert_eq!(event["type"], "ok", "{event}");
            assert!(
                t.contains(&format!(
                    "rerun with: squall run --seed {seed} --nemesis partition \
                     --read-mode serializable --store {} --time-limit 60s",
                    st.display()
                )),
                "{t}"
            );
            // The post-mortem: each node's data directory, compressed, holding etcd's
            // member folder; the run's page links it.
            let dir = latest(&st);
            assert!(
                t.contains("post-mortem: n1 data kept in nodes/n1/data.tar.gz"),
                "{t}"
            );
            for n in ["n1", "n2", "n3"] {
                let kept = dir.join("nodes").join(n).join("data.tar.gz");
                let o = Command::new("tar")
                    .args(["tzf", kept.to_str().unwrap()])
                    .output()
                    .expect("tar");
                let listing = text(&o);
                assert!(o.status.success(), "{}: {listing}", kept.display());
                assert!(
                    listing.lines().any(|l| l.starts_with("data/member/wal/")),
                    "{listing}"
                );
                let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
                assert!(page.contains(&format!("href=\"nodes/{n}/data.tar.gz\"")));
            }
            found = Some(seed);
            break;
        }
    }
    let seed = found.expect("no stale read found with seeds 1, 2, 3");
    // The failing run replays from its store: the same plan (checked against its seed and
    // config), run again; a real cluster is not deterministic, so it need not fail every
    // time, but a stale read this common shows again within two runs.
    let failed = latest(&st);
    let out = run(&[
        "replay",
        failed.to_str().unwrap(),
        "--times",
        "2",
        "--store",
        st.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert!(
        t.starts_with(&format!(
            "replaying {}",
            failed.join("plan.jsonl").display()
        )),
        "{t}"
    );
    let summary = t
        .lines()
        .find(|l| l.starts_with("replay: ") && l.contains(" of 2 runs not valid"))
        .unwrap_or_else(|| panic!("no replay summary: {t}"));
    assert!(!summary.starts_with("replay: 0 of"), "{summary}");
    assert_eq!(out.status.code(), Some(1), "{t}");
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
    assert_clean(&host);
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
    let host = Host::now();
    let st = store("sigint");
    let (child, seen) = spawn_until(
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
    // While the run lasts, its directory and the nodes' data are root's only.
    let run = seen
        .split("(run ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .expect("the run id is printed");
    let run_dir = PathBuf::from(format!("/tmp/squall-{run}"));
    for dir in [run_dir.clone(), run_dir.join("n1"), run_dir.join("n3")] {
        let meta = std::fs::symlink_metadata(&dir).unwrap();
        assert!(meta.is_dir(), "{}", dir.display());
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
            0o700,
            "{}",
            dir.display()
        );
    }
    // SAFETY: plain kill(2) on our child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "interrupted runs exit 3");
    let dir = latest(&st);
    let results = std::fs::read_to_string(dir.join("results.json")).unwrap();
    assert!(results.contains("\"interrupted\": true"), "{results}");
    // The partition in force at the interrupt was healed by squall (its `stop-partition`
    // completed without error), not merely swept away with the hub at teardown.
    let h = history(&dir);
    let last_start = h
        .iter()
        .rposition(|e| e["f"] == "start-partition" && e["type"] == "info")
        .expect("a partition started");
    assert!(h[last_start]["error"].is_null(), "{}", h[last_start]);
    let heal = h[last_start..]
        .iter()
        .find(|e| e["f"] == "stop-partition" && e["type"] == "info")
        .unwrap_or_else(|| {
            panic!(
                "the partition in force was never healed: {:?}",
                &h[last_start..]
            )
        });
    assert!(heal["error"].is_null(), "healing failed: {heal}");
    let heal_all = nemesis_completions(&h, "heal-all");
    assert_eq!(heal_all, vec![None], "heal-all after the interrupt");
    assert_clean(&host);
    let _ = std::fs::remove_dir_all(&st);
}

/// A tiny xorshift generator: the delays of the signal test, reproducible from the seed it
/// prints.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Starts squall with INT, TERM and HUP at their defaults (a test run from a script's
/// background job inherits SIGINT ignored), output to files in `dir`.
fn spawn_to_files(args: &[&str], dir: &Path) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(dir).unwrap();
    let out = std::fs::File::create(dir.join("stdout")).unwrap();
    let err = std::fs::File::create(dir.join("stderr")).unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(args).stdout(out).stderr(err);
    // SAFETY: signal(2) is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    cmd.spawn().expect("spawn squall")
}

/// Waits up to `limit` for `child`; a run that hangs is killed, cleaned and reported.
fn wait_or_kill(child: &mut std::process::Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = run(&["clean"]);
            panic!("{what}: squall did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ctrl-C (and SIGTERM, SIGHUP) at any instant of a run's startup — while namespaces are
/// made, nodes start, the cluster becomes ready, the test begins — ends the run with an
/// "interrupted" exit 3 and nothing left: no namespace, node, run directory, mount, host
/// change. Once the run folder exists it holds results.json saying the run was interrupted.
#[test]
fn a_signal_at_any_instant_of_startup_leaves_nothing() {
    require_env!();
    let host = Host::now();
    let st = store("signals");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Xorshift(seed);
    // Dense in the first tens of ms (namespaces and links are being made), then spread over
    // readiness and the start of the test phase.
    let mut trials: Vec<(libc::c_int, u64)> = [0, 1, 2, 3, 5, 8, 12, 17, 25, 35, 50, 70, 100]
        .into_iter()
        .map(|ms| (libc::SIGINT, ms))
        .collect();
    trials.extend((0..6).map(|_| (libc::SIGINT, 100 + rng.below(2900))));
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        trials.push((sig, rng.below(40)));
        trials.push((sig, 40 + rng.below(400)));
        trials.push((sig, 400 + rng.below(2600)));
    }
    let started = Instant::now();
    for (i, (sig, ms)) in trials.iter().copied().enumerate() {
        let name = match sig {
            libc::SIGINT => "SIGINT",
            libc::SIGTERM => "SIGTERM",
            _ => "SIGHUP",
        };
        let what = format!("trial {i}: {name} at {ms} ms (delays seed {seed})");
        let trial = st.join(i.to_string());
        let store_dir = trial.join("store");
        let mut child = spawn_to_files(
            &[
                "run",
                "--seed",
                "3",
                "--time-limit",
                "10s",
                "--store",
                store_dir.to_str().unwrap(),
            ],
            &trial,
        );
        std::thread::sleep(Duration::from_millis(ms));
        // SAFETY: plain kill(2) on our child's pid.
        unsafe { libc::kill(child.id() as i32, sig) };
        let status = wait_or_kill(&mut child, Duration::from_secs(30), &what);
        let stdout = std::fs::read_to_string(trial.join("stdout")).unwrap();
        let stderr = std::fs::read_to_string(trial.join("stderr")).unwrap();
        let out = format!("{what}\n{stdout}{stderr}");
        let stage = format!("{stdout}{stderr}");
        let stage = stage
            .lines()
            .rfind(|l| l.contains("interrupted"))
            .unwrap_or("-");
        eprintln!("{what}: {status}: {stage}");
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(sig) {
            // Only before `squall run` took the signals, when it had made nothing (not even
            // printed the seed).
            assert!(stdout.is_empty(), "killed by {name} after it began: {out}");
        } else {
            assert_eq!(status.code(), Some(3), "{out}");
            assert!(out.contains(&format!("interrupted by {name}")), "{out}");
        }
        if let Ok(dir) = std::fs::canonicalize(store_dir.join("latest")) {
            let results = std::fs::read_to_string(dir.join("results.json"))
                .unwrap_or_else(|e| panic!("results.json: {e}: {out}"));
            assert!(
                results.contains("\"interrupted\": true"),
                "{results}\n{out}"
            );
        }
        let left = leftovers(&host);
        if !left.is_empty() {
            // Give SIGKILLed nodes their moment, then judge.
            assert_clean(&host);
        }
        assert_eq!(
            host_network(),
            host.network,
            "{what}: the host namespace changed"
        );
    }
    eprintln!("{} trials in {:?}", trials.len(), started.elapsed());
    assert_clean(&host);
    let _ = std::fs::remove_dir_all(&st);
}

/// A tmpfs mounted for one test, unmounted (and its mount point removed) on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(tag: &str, size: &str) -> Tmpfs {
        let dir = std::env::temp_dir().join(format!("sqe2e-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .expect("mount");
        assert!(out.status.success(), "mount: {}", text(&out));
        Tmpfs(dir)
    }

    /// Writes zeros into a file on it until the file system is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let block = [0u8; 4096];
        while f.write_all(&block).is_ok() {}
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// The store's disk fills up during the test: the run stops at the first failed write of
/// the history (not at its end), heals and cleans up, and says so in one line naming the
/// file and the cause; the events written before stay, as whole lines.
#[test]
fn a_full_disk_stops_the_run_at_the_first_failed_write() {
    require_env!();
    // Mounted first: the test's own mount is not a leftover of the run.
    let disk = Tmpfs::mount("full", "512k");
    let host = Host::now();
    let err_file = std::env::temp_dir().join(format!("sqe2e-full-{}.stderr", std::process::id()));
    let mut child = Command::new(bin())
        .args(["run", "--seed", "1", "--time-limit", "30s", "--store"])
        .arg(&disk.0)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_file).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while !seen.contains("test phase") {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    assert!(seen.contains("test phase"), "{seen}");
    disk.fill();
    let filled = Instant::now();
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut rest);
        rest
    });
    let status = wait_or_kill(&mut child, Duration::from_secs(60), "full disk");
    let stopped_after = filled.elapsed();
    seen.push_str(&drain.join().unwrap());
    let stderr = std::fs::read_to_string(&err_file).unwrap();
    let _ = std::fs::remove_file(&err_file);
    let all = format!("{seen}{stderr}");
    assert_eq!(status.code(), Some(3), "{all}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one error line, no log spam: {all}"
    );
    assert!(
        stderr.contains("history.jsonl: No space left on device"),
        "{all}"
    );
    // At once: well before the 30 s test phase would have ended.
    assert!(
        stopped_after < Duration::from_secs(15),
        "{stopped_after:?}: {all}"
    );
    let h = history(&latest(&disk.0));
    assert!(!h.is_empty(), "the events before the failure stay");
    assert_clean(&host);
    drop(disk);
    assert!(
        !mounts().iter().any(|m| m.contains("sqe2e-full")),
        "tmpfs still mounted"
    );
}

/// A cluster that is not ready in time says which ready timeout applied and how to
/// raise it, in one line.
#[test]
fn a_cluster_not_ready_in_time_names_the_ready_timeout() {
    require_env!();
    let host = Host::now();
    let st = store("notready");
    let out = run(&[
        "run",
        "--seed",
        "1",
        "--ready-timeout",
        "1ms",
        "--store",
        st.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("cluster not ready"), "{err}");
    assert!(
        err.contains("--ready-timeout 1ms applied; raise it, e.g. --ready-timeout 1s"),
        "{err}"
    );
    assert_clean(&host);
    let _ = std::fs::remove_dir_all(&st);
}

#[test]
fn kill_9_then_clean_leaves_nothing() {
    require_env!();
    let host = Host::now();
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
        !leftovers(&host).is_empty(),
        "a killed run should leave something for clean to find"
    );
    let out = run(&["clean"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_clean(&host);
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
    let host = Host::now();
    let st = store("nostart");
    let out = run(&[
        "run",
        "--seed",
        "1",
        "-o",
        "etcd.binary=/bin/false",
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
    assert_clean(&host);
    let out = run(&[
        "run",
        "--seed",
        "1",
        "-o",
        "etcd.binary=/nonexistent/etcd",
        "--store",
        st.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(err.contains("/nonexistent/etcd"), "{err}");
    assert_clean(&host);
    let _ = std::fs::remove_dir_all(&st);
}

/// Checks a run's report.html with Python's HTML parser (every element closed in order, the
/// void ones aside), and prints, one per line: the fault bands in the `latency` and `rate`
/// plots, the ops the timeline's data decodes to, and the ops its metadata announces.
const REPORT_CHECK: &str = r#"
import sys, json, base64, html.parser
VOID = {"meta", "br", "img", "input", "hr", "link", "source", "wbr", "col", "area", "base"}
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.svg = None; self.bands = {}; self.script = None
        self.data = {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in VOID: self.stack.append(tag)
        if tag == "svg" and a.get("id") in ("latency", "rate"): self.svg = a["id"]; self.bands[self.svg] = 0
        if tag == "g" and a.get("class") == "fault" and self.svg: self.bands[self.svg] += 1
        if tag == "script": self.script = a.get("id"); self.data[self.script] = ""
    def handle_startendtag(self, tag, attrs):
        pass
    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:], self.getpos())
        self.stack.pop()
        if tag == "svg" and self.svg: self.svg = None
        if tag == "script": self.script = None
    def handle_data(self, d):
        if self.script: self.data[self.script] += d
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read()); p.close()
assert p.stack == [], p.stack
raw = base64.b64decode(p.data["tl-data"].strip()); pos = 0; ops = 0
def v():
    global pos
    r = s = 0
    while True:
        b = raw[pos]; pos += 1; r |= (b & 127) << s; s += 7
        if b < 128: return r
while pos < len(raw):
    v(); v(); v(); pos += 1; v(); v(); v(); ops += 1
print(p.bands.get("latency", -1)); print(p.bands.get("rate", -1)); print(ops)
print(json.loads(p.data["tl-meta"])["ops"])
"#;

#[test]
fn a_run_with_faults_writes_a_report_with_both_plots_their_fault_bands_and_every_op() {
    require_env!();
    let host = Host::now();
    let st = store("report");
    // Seed 9's 8 s plan has one fault (a pause), in force and healed in the test phase.
    let args = [
        "--seed",
        "9",
        "--time-limit",
        "8s",
        "--store",
        st.to_str().unwrap(),
    ];
    let plan = run(&[&["plan"][..], &args].concat());
    assert!(plan.status.success(), "{}", text(&plan));
    let faults = String::from_utf8_lossy(&plan.stdout)
        .lines()
        .filter(|l| l.contains("\"fault\":"))
        .count();
    assert!(
        faults >= 1,
        "seed 9's 8 s plan has no fault any more: pick another"
    );
    let out = run(&[&["run"][..], &args].concat());
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let dir = latest(&st);
    let page = dir.join("report.html");
    assert!(t.contains(&format!("report: {}", page.display())), "{t}");
    // Every client op of the history (an invocation) is in the timeline's data.
    let h = history(&dir);
    let ops = h
        .iter()
        .filter(|e| e["type"] == "invoke" && e["process"].is_u64())
        .count();
    let check = |page: &Path| {
        let o = Command::new("python3")
            .args(["-c", REPORT_CHECK, page.to_str().unwrap()])
            .output()
            .expect("python3");
        assert!(o.status.success(), "{}", text(&o));
        let got: Vec<usize> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert_eq!(got, [faults, faults, ops, ops], "bands, bands, ops, ops");
    };
    check(&page);
    let html = std::fs::read_to_string(&page).unwrap();
    for want in [
        "seed <b>9</b>",
        "rerun with: <code>squall run --seed 9",
        "linearizable — valid",
        "href=\"nodes/n1/log\"",
        "href=\"linearizability.html\"",
    ] {
        assert!(html.contains(want), "no {want:?} in {}", page.display());
    }
    // Self-contained: nothing loaded from elsewhere.
    assert!(
        !html.contains(" src=") && !html.contains("href=\"http"),
        "{}",
        page.display()
    );
    // `squall report` writes the same page again from the folder.
    std::fs::remove_file(&page).unwrap();
    let out = run(&["report", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    check(&page);
    assert_eq!(std::fs::read_to_string(&page).unwrap(), html);
    assert_clean(&host);
    let _ = std::fs::remove_dir_all(&st);
}

/// Runs squall with `args` and hands each line it prints to `on_line` as it comes (so the
/// kernel's state can be looked at while a fault is in force); returns its exit status and
/// everything it printed.
fn follow(args: &[&str], mut on_line: impl FnMut(&str)) -> (ExitStatus, String) {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    for line in out.lines() {
        let line = line.unwrap();
        on_line(&line);
        seen.push_str(&line);
        seen.push('\n');
    }
    (child.wait().unwrap(), seen)
}

/// The run id a run prints: `creating 3 nodes (run ab12cd): ...`.
fn run_id(line: &str) -> Option<String> {
    let rest = line.split("(run ").nth(1)?;
    Some(rest.split(')').next()?.to_string())
}

/// `ip -n NS ARGS...` (`tc` for `tc` args), its output.
fn in_hub(run: &str, cmd: &str, args: &[&str]) -> String {
    let ns = format!("squall-{run}-hub");
    let o = Command::new("ip")
        .args(["netns", "exec", &ns, cmd])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Node `nK`'s address, `198.18.K.2`.
fn addr_of(name: &str) -> String {
    format!("198.18.{}.2", &name[1..])
}

/// squall's partition rules in the hub, as `(from, to)` addresses.
fn hub_rules(run: &str) -> Vec<(String, String)> {
    in_hub(run, "ip", &["rule", "show"])
        .lines()
        .filter(|l| l.starts_with("100:") && l.contains("blackhole"))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let at = |k: &str| w[w.iter().position(|x| *x == k).unwrap() + 1].to_string();
            (at("from"), at("to"))
        })
        .collect()
}

#[test]
fn combined_faults_overlap_show_in_the_kernel_while_in_force_and_the_run_is_valid() {
    require_env!();
    let host = Host::now();
    let st = store("combined");
    // Seed 7's plan: a one-way partition n1 -> n2 n3 from 2.6 s, bandwidth on n2 from
    // 2.6 s, isolate n1 from 3.0 s, a pause of the primaries from 3.0 s: all in force at
    // once between 3.0 and 6.1 s.
    let args = [
        "--seed",
        "7",
        "--time-limit",
        "10s",
        "--nemesis",
        "partition,isolate,bandwidth,pause",
        "--overlap",
        "-o",
        "partition.shapes=[\"one-way\",\"bridge\"]",
        "-o",
        "pause.targets=[\"primaries\"]",
        "--store",
        st.to_str().unwrap(),
    ];
    let plan = run(&[&["plan"][..], &args].concat());
    let plan_text = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(
        plan_text.contains("\"description\":\"partition one-way: n1 -> n2 n3 dropped"),
        "seed 7's plan changed: pick a seed with a one-way partition\n{plan_text}"
    );
    let mut run_of_test = None;
    let mut checked = Vec::new();
    let (status, seen) = follow(&[&["run"][..], &args].concat(), |line| {
        if let Some(r) = run_id(line).filter(|_| line.starts_with("creating")) {
            run_of_test = Some(r);
        }
        let Some(run) = run_of_test.as_deref() else {
            return;
        };
        let link = |node: &str| format!("sq{run}h{}", &node[1..]);
        if let Some(rest) = line.strip_prefix("fault  partition one-way: ") {
            // Exactly the one direction: n1 -> n2 and n1 -> n3, nothing back.
            let (from, rest) = rest.split_once(" -> ").unwrap();
            let to = rest.split(" dropped").next().unwrap();
            let mut want: Vec<(String, String)> =
                to.split(' ').map(|t| (addr_of(from), addr_of(t))).collect();
            want.sort();
            let mut rules = hub_rules(run);
            rules.sort();
            assert_eq!(rules, want, "{line}");
            checked.push("one-way in force");
        } else if line.starts_with("healed partition one-way") {
            assert_eq!(hub_rules(run), vec![], "{line}");
            checked.push("one-way healed");
        } else if let Some(rest) = line.strip_prefix("fault  isolate ") {
            let node = rest.split(':').next().unwrap();
            let shown = in_hub(run, "ip", &["link", "show", &link(node)]);
            assert!(shown.contains("state DOWN"), "{line}: {shown}");
            checked.push("isolate in force");
        } else if let Some(rest) = line.strip_prefix("healed isolate ") {
            let node = rest.split(':').next().unwrap();
            let shown = in_hub(run, "ip", &["link", "show", &link(node)]);
            assert!(!shown.contains("state DOWN"), "{line}: {shown}");
            checked.push("isolate healed");
        } else if let Some(rest) = line.strip_prefix("fault  bandwidth ") {
            let node = rest.split(':').next().unwrap();
            let q = in_hub(run, "tc", &["qdisc", "show", "dev", &link(node)]);
            assert!(
                q.contains("tbf") && q.contains("rate 10Mbit"),
                "{line}: {q}"
            );
            checked.push("bandwidth in force");
        } else if let Some(rest) = line.strip_prefix("healed bandwidth ") {
            let node = rest.split(':').next().unwrap();
            let q = in_hub(run, "tc", &["qdisc", "show", "dev", &link(node)]);
            assert!(!q.contains("tbf"), "{line}: {q}");
            checked.push("bandwidth healed");
        }
    });
    assert_eq!(status.code(), Some(0), "{seen}");
    assert!(seen.contains("verdict: valid"), "{seen}");
    for what in [
        "one-way in force",
        "one-way healed",
        "isolate in force",
        "isolate healed",
        "bandwidth in force",
        "bandwidth healed",
    ] {
        assert!(checked.contains(&what), "never checked {what}: {seen}");
    }
    // The history says what was applied: the one-way partition as a direction, and the
    // node the pause of the primaries hit (the leader when it started).
    let h = history(&latest(&st));
    let completion = |f: &str| {
        h.iter()
            .find(|e| e["process"] == "nemesis" && e["type"] == "info" && e["f"] == f)
            .unwrap_or_else(|| panic!("no {f} in the history"))
            .clone()
    };
    for f in ["partition", "isolate", "bandwidth", "pause"] {
        for what in ["start", "stop"] {
            let e = completion(&format!("{what}-{f}"));
            assert!(e["error"].is_null(), "{e}");
        }
    }
    let oneway = completion("start-partition");
    assert!(
        oneway["value"]
            .as_str()
            .unwrap()
            .starts_with("partition one-way: n1 -> n2 n3 dropped"),
        "{oneway}"
    );
    let paused = completion("start-pause");
    let v = paused["value"].as_str().unwrap();
    assert!(
        v.starts_with("pause n") && v.ends_with(" (primaries)"),
        "the history must name the leader paused: {paused}"
    );
    // Faults overlapped: more than one started before the first healed.
    let first_stop = h
        .iter()
        .position(|e| e["f"].as_str().is_some_and(|f| f.starts_with("stop-")))
        .unwrap();
    let starts_before = h[..first_stop]
        .iter()
        .filter(|e| e["type"] == "info" && e["f"].as_str().is_some_and(|f| f.starts_with("start-")))
        .count();
    assert_eq!(starts_before, 4, "all four faults in force at once");
    assert_eq!(nemesis_completions(&h, "heal-all"), vec![None]);
    assert_clean(&host);
    let _ = std::fs::remove_dir_all(&st);
}

#[test]
fn kill_9_during_isolate_and_bandwidth_then_clean_removes_them() {
    require_env!();
    let host = Host::now();
    let st = store("kill9-links");
    // Long faults after a short healthy window: both are in force together.
    let mut child = Command::new(bin())
        .args([
            "run",
            "--seed",
            "3",
            "--time-limit",
            "60s",
            "--nemesis",
            "isolate,bandwidth",
            "--overlap",
            "--healthy-duration",
            "1s..2s",
            "--fault-duration",
            "30s..40s",
            "--store",
            st.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut run, mut faults, mut line) = (None, Vec::new(), String::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    while faults.len() < 2 && Instant::now() < deadline {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.starts_with("creating") {
            run = run_id(&line);
        }
        if let Some(rest) = line.strip_prefix("fault  ") {
            faults.push(rest.to_string());
        }
    }
    let run = run.expect("the run id is printed");
    assert_eq!(faults.len(), 2, "{faults:?}");
    child.kill().unwrap(); // SIGKILL: no guard, no heal-all
    child.wait().unwrap();
    // Both faults outlive squall in the hub it left behind...
    let node = |kind: &str| {
        let f = faults.iter().find(|f| f.starts_with(kind)).unwrap();
        let n = f[kind.len() + 1..].split(':').next().unwrap().to_string();
        format!("sq{run}h{}", &n[1..])
    };
    let shown = in_hub(&run, "ip", &["link", "show", &node("isolate")]);
    assert!(shown.contains("state DOWN"), "{shown}");
    let q = in_hub(&run, "tc", &["qdisc", "show", "dev", &node("bandwidth")]);
    assert!(q.contains("tbf"), "{q}");
    // ...and `squall clean` removes them with it; the host never saw them.
    let out = run_squall_clean();
    assert!(
        out.contains(&format!("deleted namespace squall-{run}-hub")),
        "{out}"
    );
    assert_clean(&host);
    let _ = std::fs::remove_dir_all(&st);
}

fn run_squall_clean() -> String {
    let out = run(&["clean"]);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

#[test]
fn primaries_on_a_system_without_a_leader_hook_is_refused_before_anything_runs() {
    require_env!();
    let host = Host::now();
    let test = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/command-etcdctl.toml");
    let out = run(&[
        "run",
        "--test",
        test,
        "--nemesis",
        "pause,isolate",
        "-o",
        "isolate.targets=[\"one\",\"primaries\"]",
        "--time-limit",
        "5s",
        "--store",
        store("noleader").to_str().unwrap(),
    ]);
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("[isolate] targets = [\"primaries\"]: system command has no leader hook"),
        "{t}"
    );
    assert!(!t.contains("creating"), "nothing may be made: {t}");
    assert_clean(&host);
}
