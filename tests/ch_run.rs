//! End to end: `squall doctor --env cloud-hypervisor` and `squall run --env cloud-hypervisor`
//! against a real `cloud-hypervisor` binary (`SQUALL_CH_BIN` or PATH). On a host whose KVM
//! cannot boot a stock guest (a paravirtual nested KVM), the run must fail at its readiness
//! deadline naming the guests and their serial logs, exit 3, and leave no CH process, socket,
//! TAP or namespace. Skipped, saying why, without root, etcd or cloud-hypervisor.

use std::path::PathBuf;
use std::process::Command;

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

fn ch_binary() -> Result<PathBuf, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root (network namespaces, TAP devices)".into());
    }
    if on_path("etcd").is_none() {
        return Err("etcd not installed".into());
    }
    if !std::path::Path::new("/dev/kvm").exists() {
        return Err("no /dev/kvm".into());
    }
    std::env::var_os("SQUALL_CH_BIN")
        .map(PathBuf::from)
        .or_else(|| on_path("cloud-hypervisor"))
        .ok_or_else(|| "no cloud-hypervisor binary (set SQUALL_CH_BIN or put it on PATH)".into())
}

fn ch_processes() -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat.rsplit(") ").next().and_then(|r| r.chars().next()) == Some('Z') {
            continue;
        }
        if let Ok(c) = std::fs::read_to_string(e.path().join("comm")) {
            if c.trim().starts_with("cloud-hyperviso") {
                v.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    v
}

fn squall_namespaces() -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("squall-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn doctor_and_a_run_in_vms_fail_cleanly_where_guests_cannot_boot() {
    let ch = match ch_binary() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let bin = env!("CARGO_BIN_EXE_squall");
    let doctor = Command::new(bin)
        .args(["doctor", "--env", "cloud-hypervisor", "--cloud-hypervisor"])
        .arg(&ch)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(0), "{out}");
    for step in [
        "create",
        "boot",
        "info: Running",
        "pause",
        "info: Paused",
        "resume",
        "reboot",
        "shutdown",
        "info: Created",
        "delete",
    ] {
        assert!(out.contains(&format!("✓ {step} (")), "step {step}: {out}");
    }

    let kvm_boots_stock_guests = !out.contains("paravirtual nested KVM");
    let before = ch_processes();
    let store = std::env::temp_dir().join(format!("sqch-{}", std::process::id()));
    let started = std::time::Instant::now();
    let run = Command::new(bin)
        .args([
            "run",
            "--env",
            "cloud-hypervisor",
            "--time-limit",
            "20s",
            "--ready-timeout",
            "15s",
            "--seed",
            "1",
            "--store",
        ])
        .arg(&store)
        .arg("--cloud-hypervisor")
        .arg(&ch)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    if kvm_boots_stock_guests {
        // Real KVM: the guests boot and the run is checked like a local one.
        assert!(matches!(run.status.code(), Some(0) | Some(1)), "{err}");
    } else {
        assert_eq!(run.status.code(), Some(3), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains("guest n1 never printed its readiness line"),
            "{err}"
        );
        assert!(err.contains("serial.log"), "{err}");
        // Within its readiness deadline (plus VM start and teardown), not after the test.
        assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    }
    assert_eq!(
        ch_processes(),
        before,
        "cloud-hypervisor processes left behind"
    );
    assert!(squall_namespaces().is_empty(), "{:?}", squall_namespaces());
    let tmp_left: Vec<_> = std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("squall-"))
        .collect();
    assert!(tmp_left.is_empty(), "{tmp_left:?}");
    let _ = std::fs::remove_dir_all(&store);
}
