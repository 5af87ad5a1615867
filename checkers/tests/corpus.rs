//! squall's own corpus of hand-made histories for the checkers other than linearizability,
//! walked by one test: `data/<checker>/<verdict>/*.edn`, where `<checker>` is `set` or `bank`
//! (each with its default options) and `<verdict>` is `valid`, `invalid` or `unknown`. A
//! file's comment lines `; explains: TEXT` name text the verdict's explanation must contain.
//! A regression test is a file in one of them.

use checkers::{Bank, Checker, Set, Validity};
use std::path::Path;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn checker(name: &str) -> Box<dyn Checker> {
    match name {
        "set" => Box::new(Set::default()),
        "bank" => Box::new(Bank::default()),
        other => panic!("data/{other}: no such checker"),
    }
}

fn sorted_dir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
}

#[test]
fn every_file_gets_its_folders_verdict() {
    let mut checked = 0;
    for checker_dir in sorted_dir(Path::new(DATA)) {
        let name = checker_dir
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let c = checker(&name);
        for verdict_dir in sorted_dir(&checker_dir) {
            let want = match verdict_dir.file_name().unwrap().to_str().unwrap() {
                "valid" => Validity::Valid,
                "invalid" => Validity::Invalid,
                "unknown" => Validity::Unknown,
                other => panic!("{}: {other} is not a verdict", checker_dir.display()),
            };
            for file in sorted_dir(&verdict_dir) {
                let text = std::fs::read_to_string(&file).unwrap();
                let history = histories::parse_edn(&text, &file.display().to_string())
                    .unwrap_or_else(|e| panic!("{e}"));
                let v = c.check(&history);
                assert_eq!(v.valid, want, "{}: {v}", file.display());
                for expected in text.lines().filter_map(|l| l.strip_prefix("; explains: ")) {
                    assert!(
                        v.explanation.contains(expected),
                        "{}: {v}\nmissing: {expected}",
                        file.display()
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 9, "only {checked} files");
}
