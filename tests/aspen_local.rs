//! End to end: `squall run --system aspen` against a real 3-node Aspen cluster in network
//! namespaces, with partitions, pauses and kills. Needs root and Aspen's binaries
//! (`aspen-node`, `aspen-cli`) in the folder `SQUALL_ASPEN_BIN` names or on `PATH`; skipped,
//! saying why, without them (Aspen is built from its own repository: see the README's
//! "Testing Aspen").
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

#[test]
fn a_run_with_partitions_pauses_and_kills_ends_with_a_verdict_and_leaves_nothing() {
    let _serial = common::SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let bin = match aspen_bin() {
        Ok(bin) => bin,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let host = Host::now();
    let st = store("aspen");
    let mut args = vec![
        "run".to_string(),
        "--system".into(),
        "aspen".into(),
        "--seed".into(),
        "1".into(),
        "--time-limit".into(),
        "30s".into(),
        "--nemesis".into(),
        "partition,pause,kill".into(),
        "--store".into(),
        st.to_string_lossy().into_owned(),
    ];
    if let Some(dir) = &bin {
        args.extend(["-o".into(), format!("aspen.bin={}", dir.display())]);
    }
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
    // The cluster served ops: some completed `ok`.
    let ok = common::history(&dir)
        .iter()
        .filter(|e| e["type"] == "ok" && e["process"].is_u64())
        .count();
    assert!(ok > 10, "only {ok} ops ok: {t}");
    host.assert_clean();
    let _ = std::fs::remove_dir_all(&st);
}
