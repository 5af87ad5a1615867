//! End to end in real VMs: etcd in 3 QEMU VMs (`squall run --env qemu`), each guest on a
//! TAP in the run's hub, booted from squall's own etcd image (built on first use, cached
//! in `/var/cache/squall`), under software emulation where KVM cannot boot a stock guest.
//!
//! - Seed 1 for 24 s (`squall plan --seed 1 --time-limit 24s`): its plan kills n1 (a
//!   power cut, then a new QEMU on the same disk), partitions n1 from the majority, and
//!   pauses n2 (QMP `stop`/`cont`). The run is
//!   valid, every fault is shown as in the `local` environment, n1 booted twice (its first
//!   boot's serial log kept beside the second's), and nothing is left: no QEMU process,
//!   namespace (the TAPs go with the hub), socket, disk or run directory.
//! - `kill -9` of squall in the middle of a run leaves its VMs running; `squall clean`
//!   removes them and everything else.
//!
//! Skipped, saying why, without root, etcd or `qemu-system-x86_64`. It prints its
//! figures (each run's wall time, readiness). About 80 s on a 2-core host under TCG.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The QEMU processes of squall runs (their QMP sockets are under `/tmp/squall-<run>/`),
/// except those of runs that live processes own (other tests, other people).
fn qemu_leftovers() -> Vec<String> {
    let mut left = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat.is_empty() || stat.rsplit(") ").next().and_then(|r| r.chars().next()) == Some('Z') {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !cmdline.contains("qemu-system") {
            continue;
        }
        if let Some(i) = cmdline.find("/tmp/squall-") {
            let run = common::run_of(&cmdline[i + 5..]).unwrap_or_default();
            if !common::owned_by_live_process(run) {
                left.push(format!(
                    "qemu {}: {cmdline}",
                    e.file_name().to_string_lossy()
                ));
            }
        }
    }
    left
}

fn qemu_args(store: &Path, time_limit: &str) -> Vec<String> {
    [
        "run",
        "--env",
        "qemu",
        "--seed",
        "1",
        "--time-limit",
        time_limit,
        "--store",
        &store.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn assert_no_qemu_left() {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut left = qemu_leftovers();
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left = qemu_leftovers();
    }
    assert!(left.is_empty(), "QEMU left behind: {left:?}");
}

#[test]
fn etcd_in_three_qemu_vms_with_partitions_pauses_and_kills() {
    require_env!(&[("qemu-system-x86_64", "apt-get install -y qemu-system-x86")]);
    let host = common::Host::now();
    let store = common::store("qemu");
    let t = Instant::now();
    let args = qemu_args(&store, "24s");
    let out = Command::new(common::bin()).args(&args).output().unwrap();
    let took = t.elapsed();
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for line in [
        "creating 3 VMs",
        "fault  kill n1 — in force at",
        "healed kill n1",
        "fault  partition majority-minority: n2 n3 | n1 — in force at",
        "healed partition",
        "fault  pause n2 — in force at",
        "healed pause n2",
        "all faults healed",
        "verdict: valid",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    let stretched = text.contains("readiness deadlines ×4 (120s)");
    assert!(
        stretched || text.contains("QEMU with KVM"),
        "the accelerator is not said:\n{text}"
    );
    let ready = text
        .lines()
        .find(|l| l.starts_with("cluster ready in"))
        .unwrap_or("?")
        .to_string();

    // The guests: each printed its readiness line; n1 booted again after its power cut.
    let dir = common::latest(&store);
    for n in ["n1", "n2", "n3"] {
        let serial = std::fs::read_to_string(dir.join("nodes").join(n).join("serial.log"))
            .unwrap_or_default();
        assert!(
            serial.contains(&format!("squall: ready {n}")),
            "{n} never ready:\n{serial}"
        );
    }
    let first_boot = std::fs::read_to_string(dir.join("nodes/n1/serial.log.1")).unwrap();
    assert!(first_boot.contains("squall: ready n1"), "{first_boot}");
    let log = std::fs::read_to_string(dir.join("nodes/n1/log")).unwrap();
    assert_eq!(log.matches("=== squall: starting").count(), 2, "{log}");
    // Post-mortem snapshots are taken for invalid runs only: none here.
    assert!(!dir.join("nodes/n1/snapshot").exists());

    assert_no_qemu_left();
    host.assert_clean();
    eprintln!(
        "qemu run (seed 1, 24 s, {}): {ready}; the whole run took {:.1} s",
        if stretched { "TCG" } else { "KVM" },
        took.as_secs_f64()
    );

    // kill -9 in the middle of a run: its VMs run on; `squall clean` removes them.
    let t = Instant::now();
    let mut squall = Command::new(common::bin())
        .args(qemu_args(&store, "60s"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = squall.stdout.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let started = line.starts_with("test phase");
        seen.push(line);
        if started {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.starts_with("test phase")),
        "{seen:?}"
    );
    squall.kill().unwrap();
    squall.wait().unwrap();
    assert_eq!(
        qemu_leftovers().len(),
        3,
        "the VMs of a killed squall run on until `squall clean`"
    );
    let clean = common::run(&["clean"]);
    assert!(clean.status.success(), "{}", common::text(&clean));
    assert_no_qemu_left();
    host.assert_clean();
    eprintln!(
        "kill -9 at the test phase + squall clean: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&store);
}

/// The clock nemesis in VMs: each bump is the guest's own clock, set by its init on a
/// command from the hub (etcd, a Go program no libfaketime reaches, is faulted for real
/// here); the run is valid and nothing is left.
#[test]
fn etcd_in_three_qemu_vms_under_clock_bumps() {
    require_env!(&[("qemu-system-x86_64", "apt-get install -y qemu-system-x86")]);
    let host = common::Host::now();
    let store = common::store("qemu-clock");
    let mut args = qemu_args(&store, "16s");
    args.extend(
        ["--nemesis", "clock", "-o", r#"clock.modes=["bump"]"#]
            .iter()
            .map(|s| s.to_string()),
    );
    let out = Command::new(common::bin()).args(&args).output().unwrap();
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for line in [
        "fault  clock n",
        ": bump ",
        "healed clock n",
        "verdict: valid",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    assert!(!text.contains("could not start"), "{text}");
    // The guests say they set their clocks (a bump, then its heal).
    let dir = common::latest(&store);
    let set: usize = ["n1", "n2", "n3"]
        .iter()
        .map(|n| {
            std::fs::read_to_string(dir.join("nodes").join(n).join("serial.log"))
                .unwrap_or_default()
                .matches("squall: clock set to @")
                .count()
        })
        .sum();
    assert!(set >= 2, "{set} clock settings in the serial logs:\n{text}");
    assert_no_qemu_left();
    host.assert_clean();
    let _ = std::fs::remove_dir_all(&store);
}
