//! Replays the fuzz corpus (`fuzz/corpus/<target>/`, see the README's "Fuzzing") through
//! every reader on stable Rust, so that CI exercises what the fuzzers found without nightly:
//! each file, whichever target it was found for, read as JSONL, EDN, a Jepsen log and with
//! format detection, gives a history or an error — no panic — and what is read is consistent
//! (one line per event; EDN written back reads back the same).

use histories::{parse_edn, read_bytes, write_edn, Format};
use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus");

/// Every file under `fuzz/corpus/<target>/`, sorted.
fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for target in ["jsonl", "edn", "jepsen_log"] {
        let dir = Path::new(CORPUS).join(target);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (the corpus is part of the repo)", dir.display()));
        let before = files.len();
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(path);
            }
        }
        assert!(files.len() > before, "no corpus files in {}", dir.display());
    }
    files.sort();
    files
}

#[test]
fn every_corpus_file_reads_without_panic() {
    let files = corpus_files();
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let name = path.display().to_string();
        for format in [Format::Jsonl, Format::Edn, Format::JepsenLog, Format::Auto] {
            let Ok(parsed) = read_bytes(&data, &name, format) else {
                continue;
            };
            assert_eq!(
                parsed.history.len(),
                parsed.lines.len(),
                "{name} {format:?}"
            );
            let _ = parsed.check_times(&name);
            if format == Format::Edn {
                let mut out = Vec::new();
                write_edn(&parsed.history, &mut out).unwrap();
                let text = String::from_utf8(out).unwrap();
                let back = parse_edn(&text, "written").unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(back, parsed.history, "{name}: EDN round trip");
            }
        }
    }
    eprintln!("{} corpus files replayed", files.len());
}
