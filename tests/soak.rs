//! End to end: `squall soak` over real 3-node etcd clusters in network namespaces, as a
//! user runs it — stale reads found and grouped by signature, JUnit read by a real XML
//! parser (python3's xml.etree), a rerun that skips the stored seeds, shards 1/3..3/3 (by
//! flag, by Kubernetes' and by GitLab's environment) merged into the single soak's seeds and
//! verdicts, a Ctrl-C passed on to the runs and waited for — and nothing left on the host.
//! Needs root and Debian's etcd; skipped, saying why, without them. Runs are short (a few
//! seconds each) so the suite stays quick.

mod common;

use common::{text, Host};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What these tests need beyond root and etcd.
const NEEDS: &[(&str, &str)] = &[("python3", "it parses the JUnit XML")];

/// Nothing left on the host since `host` (see `common`), and no squall still running from
/// one of this test process's scratch folders.
fn assert_clean(host: &Host) {
    host.assert_clean();
    let mine = format!("-{}/", std::process::id());
    let left: Vec<String> = common::processes_mentioning("/sqsoak-")
        .into_iter()
        .filter(|p| p.contains(&mine))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn scratch(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("sqsoak-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn squall(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_squall"));
    cmd.args(args);
    // The engines' variables of the machine running the tests must not pick a shard.
    for var in ["JOB_COMPLETION_INDEX", "CI_NODE_INDEX", "CI_NODE_TOTAL"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run squall")
}

fn json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

/// (seed, verdict) of each seed in a soak.json.
fn verdicts(soak: &serde_json::Value) -> Vec<(u64, String)> {
    soak["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let v = r["verdict"].as_str().unwrap_or("none").to_string();
            (r["seed"].as_u64().unwrap(), v)
        })
        .collect()
}

/// Run folders stored for a seed of a soak.
fn runs_of(soak_dir: &Path, seed: u64) -> usize {
    let store = soak_dir.join("seeds").join(seed.to_string());
    std::fs::read_dir(store.join("etcd-cas-register"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().contains("-seed"))
                .count()
        })
        .unwrap_or(0)
}

/// A JUnit file as python3's xml.etree reads it: per testcase, its name, its failure's (or
/// error's) message and its system-out, as JSON.
fn parse_junit(path: &Path) -> serde_json::Value {
    let script = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = []
for tc in root.iter('testcase'):
    f = tc.find('failure')
    e = tc.find('error')
    out = tc.find('system-out')
    cases.append({'name': tc.get('name'),
                  'failure': None if f is None else f.get('message'),
                  'error': None if e is None else e.get('message'),
                  'out': None if out is None else out.text})
print(json.dumps({'tag': root.tag, 'cases': cases}))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A soak test's options: serializable reads and partitions early and often, so a few
/// seconds find stale reads.
const STALE: &[&str] = &[
    "--read-mode",
    "serializable",
    "--nemesis",
    "partition",
    "--time-limit",
    "8s",
    "--healthy-duration",
    "1s..2s",
    "--fault-duration",
    "2s..3s",
];

#[test]
fn a_soak_finds_stale_reads_grouped_by_signature_writes_junit_and_resumes() {
    require_env!(NEEDS);
    let host = Host::now();
    let dir = scratch("stale");
    let soak_dir = dir.join("soak");
    let junit = dir.join("j.xml");
    let mut args = vec!["soak", "--seeds", "1..3", "--parallel", "3"];
    args.extend_from_slice(STALE);
    let (sd, jx) = (soak_dir.to_str().unwrap(), junit.to_str().unwrap());
    args.extend_from_slice(&["--soak-dir", sd, "--junit", jx]);
    let out = squall(&args, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert_clean(&host);

    let soak = json(&soak_dir.join("soak.json"));
    let v = verdicts(&soak);
    assert_eq!(
        v.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [1, 2, 3],
        "{t}"
    );
    let invalid: Vec<u64> = v
        .iter()
        .filter(|(_, v)| v == "invalid")
        .map(|(s, _)| *s)
        .collect();
    assert!(!invalid.is_empty(), "{t}");
    // Findings by signature: the stale reads are one finding holding every invalid seed,
    // the shortest run first.
    let findings = soak["findings"].as_array().unwrap();
    let row = |s: u64| {
        soak["seeds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["seed"] == s)
            .unwrap()
    };
    let mut signatures = Vec::new();
    let mut found: Vec<u64> = Vec::new();
    for f in findings {
        assert_eq!(f["signature"]["checker"], "linearizable", "{f}");
        assert!(!signatures.contains(&f["signature"]), "{findings:?}");
        signatures.push(f["signature"].clone());
        let seeds: Vec<u64> = f["seeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect();
        let ops = |s: u64| row(s)["ops"].as_u64().unwrap();
        assert!(seeds.windows(2).all(|w| ops(w[0]) <= ops(w[1])), "{f}");
        for seed in seeds {
            let sigs = row(seed)["signatures"].as_array().unwrap();
            assert!(sigs.contains(&f["signature"]), "{}", row(seed));
            found.push(seed);
        }
    }
    assert_eq!(findings.len(), 1, "{findings:?}");
    found.sort_unstable();
    found.dedup();
    assert_eq!(found, invalid);
    assert!(
        t.contains("finding: linearizable: not linearizable (cas-register)"),
        "{t}"
    );

    // JUnit, through a real parser: a testcase per seed, the anomaly in each failure, the
    // rerun line in system-out.
    let j = parse_junit(&junit);
    assert_eq!(j["tag"], "testsuites");
    let cases = j["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3, "{j}");
    for (case, (seed, verdict)) in cases.iter().zip(&v) {
        assert_eq!(case["name"], format!("seed {seed}"));
        let failure = case["failure"].as_str();
        assert_eq!(failure.is_some(), verdict == "invalid", "{case}");
        if let Some(m) = failure {
            assert!(
                m.starts_with("linearizable: not linearizable (cas-register)"),
                "{m}"
            );
        }
        let out = case["out"].as_str().unwrap();
        let rerun = format!("rerun with: squall run --seed {seed} ");
        assert!(out.contains(&rerun), "{out}");
        assert!(out.contains("--read-mode serializable"), "{out}");
    }
    // The page has every seed, each linked to its run's report.
    let page = std::fs::read_to_string(soak_dir.join("index.html")).unwrap();
    for (seed, _) in &v {
        assert!(page.contains(&format!("<tr id=\"seed-{seed}\">")), "{page}");
        let link = format!("href=\"seeds/{seed}/etcd-cas-register/");
        assert!(page.contains(&link), "{link} in {page}");
    }

    // The same soak again skips every stored seed: nothing runs, the verdicts stand.
    let again = squall(&args, &[]);
    let t2 = text(&again);
    assert_eq!(again.status.code(), Some(1), "{t2}");
    assert!(t2.contains("(0 to run, 3 stored)"), "{t2}");
    for seed in 1..=3 {
        assert_eq!(runs_of(&soak_dir, seed), 1, "seed {seed} ran again: {t2}");
    }
    assert_eq!(verdicts(&json(&soak_dir.join("soak.json"))), v);
    // Other options are another soak: refused in this folder.
    let other = squall(
        &["soak", "--seeds", "1..3", "--keys", "7", "--soak-dir", sd],
        &[],
    );
    assert_eq!(other.status.code(), Some(3));
    assert!(
        text(&other).contains("holds a soak of another test"),
        "{}",
        text(&other)
    );
    assert_clean(&host);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shards_merged_give_the_single_soaks_seeds_and_verdicts() {
    require_env!(NEEDS);
    let host = Host::now();
    let dir = scratch("shards");
    // No faults and linearizable reads: every verdict is valid, so the shards' verdicts
    // must equal the single soak's exactly.
    // (At 60 ops a second a 3 s test has cas ops succeed: the stats checker's verdict is
    // unknown when some op function never did.)
    let test = [
        "--nemesis",
        "none",
        "--time-limit",
        "3s",
        "--rate",
        "60",
        "--quiet",
        "1s",
    ];
    let soak = |soak_dir: &Path, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["soak", "--seeds", "1..4", "--parallel", "4"];
        args.extend_from_slice(&test);
        args.extend_from_slice(&["--soak-dir", soak_dir.to_str().unwrap()]);
        args.extend_from_slice(extra);
        let out = squall(&args, env);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        verdicts(&json(&soak_dir.join("soak.json")))
    };
    let single = soak(&dir.join("single"), &[], &[]);
    assert_eq!(single.len(), 4);
    assert!(single.iter().all(|(_, v)| v == "valid"), "{single:?}");
    // Shard 1/3 by flag, 2/3 as a Kubernetes Indexed Job's pod, 3/3 as GitLab's node 3.
    let s1 = soak(&dir.join("s1"), &["--shard", "1/3"], &[]);
    let s2 = soak(
        &dir.join("s2"),
        &["--shards", "3"],
        &[("JOB_COMPLETION_INDEX", "1")],
    );
    let s3 = soak(
        &dir.join("s3"),
        &[],
        &[("CI_NODE_INDEX", "3"), ("CI_NODE_TOTAL", "3")],
    );
    let seeds = |v: &[(u64, String)]| v.iter().map(|(s, _)| *s).collect::<Vec<_>>();
    assert_eq!(
        (seeds(&s1), seeds(&s2), seeds(&s3)),
        (vec![1, 4], vec![2], vec![3])
    );

    let merged = dir.join("merged");
    let junit = dir.join("merged.xml");
    let mut args = vec!["soak", "merge"];
    let shard_dirs: Vec<String> = ["s1", "s2", "s3"]
        .iter()
        .map(|s| dir.join(s).display().to_string())
        .collect();
    args.extend(shard_dirs.iter().map(String::as_str));
    let (m, j) = (merged.to_str().unwrap(), junit.to_str().unwrap());
    args.extend_from_slice(&["--out", m, "--junit", j]);
    let out = squall(&args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(verdicts(&json(&merged.join("soak.json"))), single);
    let cases = parse_junit(&junit)["cases"].as_array().unwrap().len();
    assert_eq!(cases, 4);
    // A soak of another test does not merge with these.
    let single_dir = dir.join("single").display().to_string();
    let other = dir.join("stale");
    let mut args = vec!["soak", "--count", "1", "--seed", "9", "--nemesis", "none"];
    args.extend_from_slice(&["--time-limit", "3s", "--rate", "60", "--keys", "2"]);
    args.extend_from_slice(&["--soak-dir", other.to_str().unwrap()]);
    assert_eq!(squall(&args, &[]).status.code(), Some(0));
    let mixed = squall(
        &[
            "soak",
            "merge",
            &single_dir,
            other.to_str().unwrap(),
            "--out",
            m,
        ],
        &[],
    );
    assert_eq!(mixed.status.code(), Some(3));
    assert!(
        text(&mixed).contains("holds a soak of another test"),
        "{}",
        text(&mixed)
    );
    assert_clean(&host);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_ctrl_c_is_passed_on_to_the_runs_and_waited_for() {
    require_env!(NEEDS);
    let host = Host::now();
    let dir = scratch("int");
    let soak_dir = dir.join("soak");
    let child = Command::new(env!("CARGO_BIN_EXE_squall"))
        .args([
            "soak",
            "--seeds",
            "1..4",
            "--parallel",
            "2",
            "--time-limit",
            "30s",
        ])
        .args([
            "--nemesis",
            "partition",
            "--soak-dir",
            soak_dir.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both running seeds' clusters are up and their tests under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    let started = |seed: u64| {
        std::fs::read_to_string(soak_dir.join(format!("seeds/{seed}/run.log")))
            .is_ok_and(|l| l.contains("cluster ready"))
    };
    while !(started(1) && started(2)) {
        assert!(Instant::now() < deadline, "the runs did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    // SAFETY: kill(2) on our child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let t = text(&out);
    // Stopped early: not valid, and no seed after the first two was started.
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("interrupted by SIGINT"), "{t}");
    assert_clean(&host);
    let soak = json(&soak_dir.join("soak.json"));
    assert_eq!(soak["complete"], false);
    let rows = soak["seeds"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{soak}");
    for r in rows {
        // Each run heard the signal and stopped, as a run stopped by hand does.
        assert_eq!(r["interrupted"], true, "{r}");
        let log =
            std::fs::read_to_string(soak_dir.join(format!("seeds/{}/run.log", r["seed"]))).unwrap();
        assert!(log.contains("interrupted by SIGINT"), "{log}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
