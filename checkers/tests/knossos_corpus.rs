//! Knossos's own test corpus: every cas-register history under `good/` is linearizable, every
//! one under `bad/` is not. A regression test is a file in one of those folders.
//!
//! The corpus lives outside the repository, in `../shared/histories/knossos` (CI has it too);
//! where it is absent, the test says so and passes. (Its `mutex/` and `multi-register/`
//! folders need models this crate does not have yet.)
//!
//! The registers start at nil. (Starting at 0 gives the same verdicts only in Knossos, whose
//! register lets a read of nil match any value; here an `ok` read of null says the register
//! held null, so several `memstress3` files, which read nil before any write, need nil.)

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
fn cas_register_corpus_verdicts() {
    let root = Path::new(CORPUS).join("cas-register");
    if !root.is_dir() {
        println!("skipped: no Knossos corpus at {}", root.display());
        return;
    }
    let opts = CheckOptions {
        model: ModelKind::CasRegister,
        independent: false,
        time_limit: Some(TIME_LIMIT),
        ..CheckOptions::default()
    };
    let mut wrong = Vec::new();
    let mut checked = 0;
    let started = Instant::now();
    for (folder, want) in [("good", Validity::Valid), ("bad", Validity::Invalid)] {
        for path in edn_files(&root.join(folder)) {
            let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
            let t0 = Instant::now();
            let parsed = read_file(&path, Format::Auto).unwrap_or_else(|e| panic!("{name}: {e}"));
            let t1 = Instant::now();
            let report = check(&parsed.history, &opts);
            let t2 = Instant::now();
            println!(
                "{name:40} {:8} {:4} ops  read {:6} µs  check {:6} µs",
                report.valid.as_str(),
                report.ops,
                (t1 - t0).as_micros(),
                (t2 - t1).as_micros(),
            );
            if let Some(c) = &report.counterexample {
                println!("    {c}");
            }
            if report.valid != want {
                wrong.push(format!("{name}: expected {want}, got {report}"));
            }
            checked += 1;
        }
    }
    println!(
        "{checked} histories in {} ms",
        started.elapsed().as_millis()
    );
    assert!(
        checked >= 120,
        "only {checked} histories found under {}",
        root.display()
    );
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}
