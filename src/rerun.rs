//! The rerun line: the command that runs a test again with the same seed and options,
//! derived from the difference between its configuration and the defaults (or the test
//! file it came from), and printed by every run that is not valid (as madsim does).

use crate::config::TestConfig;

/// The command line that reruns `cfg` with `seed`: from the test file it came from, if any,
/// with the options that differ from that file's values (else from the defaults).
pub fn rerun_with(seed: u64, cfg: &TestConfig, test: Option<&std::path::Path>) -> String {
    let Some(t) = test else {
        return rerun_command(seed, cfg);
    };
    let base = TestConfig::from_file(t).unwrap_or_default();
    let flags = rerun_flags(cfg, &base);
    format!(
        "squall run --test {} --seed {seed}{flags}",
        shell_word(&t.display().to_string())
    )
}

/// The command line that reruns `cfg` with `seed` (options that differ from the defaults).
pub fn rerun_command(seed: u64, cfg: &TestConfig) -> String {
    format!(
        "squall run --seed {seed}{}",
        rerun_flags(cfg, &TestConfig::default())
    )
}

/// The flags that take `base` to `cfg`, derived from the two as TOML: a test key `k` is the
/// flag `--k` (`time_limit` → `--time-limit 60s`), a plug-in's option `-o NAME.KEY=VALUE`.
/// A value `cfg` lacks and `base` has (an unset name) cannot be given as a flag: it is left
/// out.
fn rerun_flags(cfg: &TestConfig, base: &TestConfig) -> String {
    let (now, was) = (cfg.to_table(), base.to_table());
    let mut s = String::new();
    for (key, v) in &now {
        if was.get(key) == Some(v) {
            continue;
        }
        let flag = format!("--{}", key.replace('_', "-"));
        match v {
            toml::Value::Table(t) => plugin_flags(&mut s, key, t, &table_in(&was, key)),
            toml::Value::Boolean(true) => s.push_str(&format!(" {flag}")),
            toml::Value::Boolean(false) => {}
            toml::Value::String(text) => s.push_str(&format!(" {flag} {}", shell_word(text))),
            toml::Value::Array(a) if key == "nemesis" => {
                let names: Vec<&str> = a.iter().filter_map(toml::Value::as_str).collect();
                let list = if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(",")
                };
                s.push_str(&format!(" {flag} {}", shell_word(&list)));
            }
            other => s.push_str(&format!(" {flag} {}", shell_word(&other.to_string()))),
        }
    }
    s
}

/// The table `key` of `t`, or an empty one.
fn table_in(t: &toml::Table, key: &str) -> toml::Table {
    match t.get(key) {
        Some(toml::Value::Table(o)) => o.clone(),
        _ => toml::Table::new(),
    }
}

/// `-o path.key=value` for each option of a plug-in's table `now` that differs from `was`.
fn plugin_flags(s: &mut String, path: &str, now: &toml::Table, was: &toml::Table) {
    for (key, v) in now {
        if was.get(key) == Some(v) {
            continue;
        }
        let here = format!("{path}.{key}");
        match v {
            toml::Value::Table(t) => plugin_flags(s, &here, t, &table_in(was, key)),
            toml::Value::String(text) => {
                // A string that reads as another TOML value (`3`, `true`) keeps its quotes.
                let reads_as_toml = toml::from_str::<toml::Table>(&format!("v = {text}")).is_ok();
                let text = if reads_as_toml {
                    v.to_string()
                } else {
                    text.clone()
                };
                s.push_str(&format!(" -o {}", shell_word(&format!("{here}={text}"))));
            }
            other => s.push_str(&format!(" -o {}", shell_word(&format!("{here}={other}")))),
        }
    }
}

/// `s` as one shell word: as it is where that is safe, else in single quotes.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,/:=+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Splits a command line the way a shell would split [`shell_word`]s (tests).
#[cfg(test)]
pub(crate) fn shell_split(s: &str) -> Vec<String> {
    // Enough for the quoting `shell_word` produces.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in s.chars() {
        match ch {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use std::time::Duration;

    #[test]
    fn rerun_line_names_only_what_differs() {
        let mut c = TestConfig::default();
        assert_eq!(rerun_command(4, &c), "squall run --seed 4");
        c.read_mode = crate::config::ReadMode::Serializable;
        c.nemesis = vec!["partition".into()];
        c.time_limit = Duration::from_secs(60);
        assert_eq!(
            rerun_command(4, &c),
            "squall run --seed 4 --nemesis partition --read-mode serializable --time-limit 60s"
        );
    }

    #[test]
    fn rerun_line_parses_back_to_the_same_config() {
        let c = TestConfig {
            nemesis: vec![],
            rate: 12.5,
            fault_duration: (Duration::from_millis(1500), Duration::from_secs(4)),
            store: "my store".into(),
            ..TestConfig::default()
        };
        let line = rerun_command(9, &c);
        let words = shell_split(&line);
        let cli = Cli::try_parse_from(words).unwrap();
        let Command::Run(args) = cli.cmd else {
            panic!()
        };
        assert_eq!(args.seed, Some(9));
        assert_eq!(args.config().unwrap(), c);
    }

    #[test]
    fn a_run_from_a_test_file_reruns_from_it() {
        let c = TestConfig {
            system: "command".into(),
            ..TestConfig::default()
        };
        let line = rerun_with(3, &c, Some(std::path::Path::new("my tests/t.toml")));
        assert_eq!(
            line,
            "squall run --test 'my tests/t.toml' --seed 3 --system command"
        );
        assert_eq!(
            rerun_with(3, &TestConfig::default(), None),
            "squall run --seed 3"
        );
    }
}
