//! Reads every history of the Knossos test corpus (`../shared/histories/knossos`, see its
//! README) and checks each parses to a plausible history: as many events as op maps, each
//! with a valid type, and a few files whose contents are known.
//!
//! Where the corpus is missing, the tests skip saying why, except in CI (`CI` set, as CI
//! runs with `CI=true`), where a missing corpus is a failure: a test that checks nothing must
//! not pass there.

use histories::{read_file, EventType, Format, History, Process};
use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/histories/knossos"
);

/// Every `.edn` file under `dir`, sorted.
fn edn_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "edn") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The corpus folder, or `None` (with the reason printed) when it is not there; in CI, a
/// missing corpus fails the test.
fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(CORPUS);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "Knossos corpus not found at {CORPUS}, and CI is set: in CI it must be there"
    );
    eprintln!("skipping: Knossos corpus not found at {CORPUS} (it lives in ../shared)");
    None
}

fn read(path: &Path) -> History {
    let parsed =
        read_file(path, Format::Auto).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        parsed.warnings.is_empty(),
        "{}: {:?}",
        path.display(),
        parsed.warnings
    );
    parsed.history
}

#[test]
fn every_corpus_file_parses() {
    let Some(dir) = corpus() else { return };
    let files = edn_files(&dir);
    assert!(
        files.len() >= 122,
        "expected the 122 corpus files, found {}",
        files.len()
    );
    let mut total = 0;
    for path in &files {
        let history = read(path);
        let name = path.display();
        assert!(!history.is_empty(), "{name}: no events");
        // Every op map in these files has exactly one `:type` key, and no comment or string
        // in them mentions `:type`, so the counts must agree.
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            history.len(),
            text.matches(":type").count(),
            "{name}: event count"
        );
        for e in &history {
            assert!(
                matches!(
                    e.kind,
                    EventType::Invoke | EventType::Ok | EventType::Fail | EventType::Info
                ),
                "{name}: event {} has type {:?}",
                e.index,
                e.kind
            );
            assert!(!e.f.is_empty(), "{name}: event {} has no f", e.index);
        }
        total += history.len();
    }
    eprintln!("{} corpus files, {total} events", files.len());
}

#[test]
fn known_files_read_as_expected() {
    let Some(dir) = corpus() else { return };

    let nemesis_only = read(&dir.join("cas-register/good/mongodb-v0-ack-rollback-.edn"));
    assert!(nemesis_only.iter().all(|e| e.process == Process::Nemesis));
    assert!(nemesis_only
        .iter()
        .enumerate()
        .all(|(i, e)| e.index == i as u64 && e.time == 0));

    let etcd = read(&dir.join("mutex/bad/etcd.edn"));
    assert_eq!(
        (etcd[1].kind, etcd[1].f.as_str()),
        (EventType::Fail, "release")
    );
    assert_eq!(etcd[1].error.as_deref(), Some("not-held"));
    assert_eq!((etcd[1].time, etcd[1].index), (342667129, 1));

    let multi = read(&dir.join("multi-register/good/multi-register.edn"));
    assert_eq!(multi[0].value, serde_json::json!([["read", "x", null]]));
    let last = multi.last().unwrap();
    assert_eq!((last.process, last.f.as_str()), (Process::Nemesis, "stop"));
    assert_eq!(last.value, serde_json::json!("fully connected"));

    let minimal = read(&dir.join("cas-register/bad/rethink-fail-minimal.edn"));
    assert_eq!(minimal.len(), 8);
    assert_eq!(minimal[4].value, serde_json::json!(3));
}
