//! End to end: `squall run --test examples/command-etcdctl.toml`, the `command` system
//! driving a real 3-node etcd through etcdctl, as a user runs it (a short run, no faults
//! but a partition). Needs root and Debian's etcd and etcdctl; skipped, saying why, without.

mod common;

use std::path::Path;
use std::process::Command;

fn skip_reason() -> Option<String> {
    common::skip_reason_with(&[("etcdctl", "apt-get install -y etcd-client")])
}

#[test]
fn the_etcdctl_example_runs_valid() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let store = std::env::temp_dir().join(format!("sqcmd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/command-etcdctl.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_squall"))
        .arg("run")
        .arg("--test")
        .arg(&example)
        .args([
            "--seed",
            "3",
            "--time-limit",
            "8s",
            "--nemesis",
            "partition",
        ])
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("verdict: valid"), "{stdout}");
    // Ops did run through the templates: reads that found values, cas both ways.
    let history = std::fs::read_dir(store.join("command-cas-register"))
        .unwrap()
        .map(|e| e.unwrap().path().join("history.jsonl"))
        .find(|p| p.is_file())
        .expect("a history");
    let text = std::fs::read_to_string(history).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |f: &str, t: &str| {
        lines
            .iter()
            .filter(|e| e["f"] == f && e["type"] == t)
            .count()
    };
    assert!(
        count("read", "ok") > 0 && count("write", "ok") > 0,
        "{text}"
    );
    assert!(count("cas", "ok") + count("cas", "fail") > 0, "{text}");
    assert!(lines
        .iter()
        .any(|e| e["f"] == "read" && e["type"] == "ok" && e["value"][1].is_i64()));
    std::fs::remove_dir_all(&store).unwrap();
}

/// A mistake in a test file's `[command]` table is one line naming the file, the table and
/// the key, before anything is made.
#[test]
fn a_bad_command_table_names_the_file_and_the_key() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sqcmd-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.toml");
    std::fs::write(
        &file,
        "system = \"command\"\n[command]\nnode = \"exec sleep {adr}\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_squall"))
        .args(["run", "--seed", "1", "--store"])
        .arg(dir.join("store"))
        .arg("--test")
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let want = format!(
        "{}: [command] node: unknown placeholder {{adr}}",
        file.display()
    );
    assert!(err.contains(&want), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
