//! Knossos's own test corpus, walked by one test: every folder `<model>/good/` holds histories
//! that are linearizable under that model, every `<model>/bad/` histories that are not. The
//! folder's name is the model's (`cas-register`, `multi-register`, `mutex`); a folder whose
//! model squall does not know fails the test. A regression test is a file in one of them.
//!
//! The corpus lives outside the repository, in `../shared/histories/knossos` (CI has it too);
//! where it is absent, the test says so and passes, except in CI (`CI` set, as CI runs with
//! `CI=true`), where it fails: there a test that checks nothing must not pass.
//!
//! A history with no client operation (`mongodb-v0-ack-rollback-.edn` holds only nemesis
//! events; Knossos calls it linearizable) has no verdict here: the check says `Unknown`,
//! "no operations", wherever it is filed.
//!
//! Histories are not split by key. Each model starts from its own default ([`CheckOptions::for_model`]): the registers at nil,
//! the multi-registers at 0 (Knossos's test does so), the mutex free. (Starting the
//! cas-registers at 0 gives the same verdicts only in Knossos, whose register lets a read of
//! nil match any value; here an `ok` read of null says the register held null, so several
//! `memstress3` files, which read nil before any write, need nil.)

use checkers::{check, CheckOptions, ModelKind, Validity};
use histories::{read_file, Format};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/histories/knossos"
);

/// Per history: a slow case must report `Unknown` (and fail the test), not hang it.
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn edn_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "edn"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_verdicts() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no Knossos corpus at {}, and CI is set: in CI it must be there",
            root.display()
        );
        println!("skipped: no Knossos corpus at {}", root.display());
        return;
    }
    let mut models: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    models.sort();
    let mut wrong = Vec::new();
    let mut checked = Vec::new();
    let started = Instant::now();
    for dir in &models {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let model: ModelKind = name
            .parse()
            .unwrap_or_else(|e| panic!("corpus folder {name}: {e}"));
        let opts = CheckOptions {
            // Knossos's registers are single, not `[key value]`.
            independent: false,
            time_limit: Some(TIME_LIMIT),
            ..CheckOptions::for_model(model)
        };
        for (folder, want) in [("good", Validity::Valid), ("bad", Validity::Invalid)] {
            let dir = dir.join(folder);
            if !dir.is_dir() {
                continue;
            }
            for path in edn_files(&dir) {
                let file = path.file_name().unwrap().to_string_lossy();
                let name = format!("{name}/{folder}/{file}");
                let t0 = Instant::now();
                let parsed =
                    read_file(&path, Format::Auto).unwrap_or_else(|e| panic!("{name}: {e}"));
                let t1 = Instant::now();
                let report = check(&parsed.history, &opts);
                let t2 = Instant::now();
                println!(
                    "{name:54} {:8} {:4} ops  read {:6} µs  check {:6} µs",
                    report.valid.as_str(),
                    report.ops,
                    (t1 - t0).as_micros(),
                    (t2 - t1).as_micros(),
                );
                if let Some(c) = &report.counterexample {
                    println!("    {c}");
                }
                let no_ops = !parsed.history.iter().any(|e| e.process.client().is_some());
                let want = if no_ops { Validity::Unknown } else { want };
                if no_ops && report.cause.as_deref() != Some(checkers::NO_OPERATIONS) {
                    wrong.push(format!("{name}: no operations, but {report}"));
                }
                if report.valid != want {
                    wrong.push(format!("{name}: expected {want}, got {report}"));
                }
                checked.push(model);
            }
        }
    }
    println!(
        "{} histories in {} ms",
        checked.len(),
        started.elapsed().as_millis()
    );
    let count = |m: ModelKind| checked.iter().filter(|&&c| c == m).count();
    for (model, at_least) in [
        (ModelKind::CasRegister, 120),
        (ModelKind::MultiRegister, 1),
        (ModelKind::Mutex, 1),
    ] {
        assert!(
            count(model) >= at_least,
            "only {} {model} histories found under {}",
            count(model),
            root.display()
        );
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}
