//! End to end: `squall run --system aspen` against a real 3-node Aspen cluster with
//! partitions, pauses and kills — its nodes as processes in network namespaces, and as
//! QEMU VMs booted from squall's Aspen guest image (the setup step reads each node's ticket
//! through the guest's init). Needs root and Aspen's binaries (`aspen-node`, `aspen-cli`)
//! in the folder `SQUALL_ASPEN_BIN` names or on `PATH` — and for the VMs
//! `qemu-system-x86_64`, busybox-static and e2fsprogs; skipped, saying why, without them
//! (Aspen is built from its own repository: see the README's "Testing Aspen").
//!
//! What is asserted is that a run ends with a verdict and leaves nothing behind — not that
//! the verdict is `valid`: that is Aspen's to earn, and with its CLI hiding outcomes many
//! ops are indeterminate (see src/systems/aspen/classify.rs).

mod common;

use common::{latest, run_with_env, store, text, Host};
use std::path::PathBuf;

/// The folder holding both binaries, or why there is none.
fn aspen_bin() -> Result<Option<PathBuf>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root (network namespaces)".into());
    }
    let has = |dir: &std::path::Path| {
        ["aspen-node", "aspen-cli"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("SQUALL_ASPEN_BIN").map(PathBuf::from) {
        return if has(&dir) {
            Ok(Some(dir))
        } else {
            Err(format!(
                "SQUALL_ASPEN_BIN={} holds no aspen-node and aspen-cli",
                dir.display()
            ))
        };
    }
    if common::on_path("aspen-node") && common::on_path("aspen-cli") {
        return Ok(None);
    }
    Err("Aspen's binaries not found (set SQUALL_ASPEN_BIN=DIR or put aspen-node and aspen-cli on PATH)".into())
}

/// Runs seed 1 of `squall run --system aspen` with partitions, pauses and kills for
/// `time_limit` plus `extra` arguments, and checks that it ends with a verdict, that the
/// cluster served ops (some `ok`), that the cas-register wrote unique values (Aspen's
/// default), and that nothing is left on the host. Returns the run's output.
fn run_aspen(tag: &str, time_limit: &str, extra: &[&str], min_ok: usize) -> Option<String> {
    let bin = match aspen_bin() {
        Ok(bin) => bin,
        Err(why) => {
            eprintln!("skipped: {why}");
            return None;
        }
    };
    let host = Host::now();
    let st = store(tag);
    let mut args = vec![
        "run".to_string(),
        "--system".into(),
        "aspen".into(),
        "--seed".into(),
        "1".into(),
        "--time-limit".into(),
        time_limit.into(),
        "--nemesis".into(),
        "partition,pause,kill".into(),
        "--store".into(),
        st.to_string_lossy().into_owned(),
    ];
    if let Some(dir) = &bin {
        args.extend(["--aspen-bin".into(), dir.display().to_string()]);
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_with_env(
        &args,
        &[("ASPEN_TOKEN", "not-a-token-leaked-from-the-shell")],
    );
    let t = text(&out);
    // 0 valid, 1 invalid, 2 unknown: each is a verdict; 3 is an error.
    assert!(matches!(out.status.code(), Some(0..=2)), "no verdict: {t}");
    assert!(t.contains("verdict: "), "{t}");
    let dir = latest(&st);
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert!(
        results["run"]["faults"].as_u64().unwrap_or(0) > 0,
        "{results}"
    );
    let history = common::history(&dir);
    // The cluster served ops: some completed `ok`.
    let ok = history
        .iter()
        .filter(|e| e["type"] == "ok" && e["process"].is_u64())
        .count();
    assert!(ok >= min_ok, "only {ok} ops ok: {t}");
    // Unique values: no value is written twice (but the setup's 0 on each key).
    let mut written = std::collections::BTreeSet::new();
    for e in history.iter().filter(|e| e["type"] == "invoke") {
        let v = match e["f"].as_str() {
            Some("write") => e["value"][1].as_i64(),
            Some("cas") => e["value"][1][1].as_i64(),
            _ => None,
        };
        if let Some(v) = v.filter(|v| *v != 0) {
            assert!(written.insert(v), "{v} written twice");
        }
    }
    assert!(written.len() > 5, "{written:?}");
    host.assert_clean();
    let _ = std::fs::remove_dir_all(&st);
    Some(t)
}

#[test]
fn a_run_with_partitions_pauses_and_kills_ends_with_a_verdict_and_leaves_nothing() {
    let _serial = common::SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    run_aspen("aspen", "30s", &[], 10);
}

/// The same in three QEMU VMs (software emulation here: slow, so fewer ops succeed).
#[test]
fn aspen_in_three_qemu_vms_ends_with_a_verdict_and_leaves_nothing() {
    let _serial = common::SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for (program, how) in [
        ("qemu-system-x86_64", "apt-get install -y qemu-system-x86"),
        ("busybox", "apt-get install -y busybox-static"),
        ("mkfs.ext4", "apt-get install -y e2fsprogs"),
    ] {
        if !common::on_path(program) {
            eprintln!("skipped: {program} not found ({how})");
            return;
        }
    }
    let Some(t) = run_aspen("aspen-qemu", "24s", &["--env", "qemu"], 3) else {
        return;
    };
    assert!(t.contains("creating 3 VMs"), "{t}");
}
