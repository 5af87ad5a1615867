//! Where each value of a test's configuration came from — a flag, the test file, or the
//! default — so that a message about a value names where to change it.

use crate::config::InvalidValue;
use crate::rerun::shell_word;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// Where the values of a configuration came from: a flag, the test file, or the default.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    /// The test file, if any.
    pub(crate) file: Option<PathBuf>,
    /// The keys the test file sets.
    pub(crate) file_keys: BTreeSet<String>,
    /// The keys set by flags.
    pub(crate) flags: BTreeSet<&'static str>,
}

impl Origins {
    /// `e`, naming where its value came from: `--op-timeout 0s: must be positive`, or
    /// `t.toml: op_timeout = "0s": must be positive`.
    pub fn describe(&self, e: &InvalidValue) -> String {
        let flag = format!("--{}", e.key.replace('_', "-"));
        if self.flags.contains(e.key) {
            match &e.flag {
                Some(v) => format!("{flag} {}: {}", shell_word(v), e.problem),
                None => format!("{flag}: {}", e.problem),
            }
        } else if let Some(file) = self
            .file
            .as_ref()
            .filter(|_| self.file_keys.contains(e.key))
        {
            format!("{}: {e}", file.display())
        } else {
            format!("{e} (the default)")
        }
    }

    /// Which ready timeout applied and how to raise it, for a cluster that was not ready.
    pub fn ready_timeout_hint(&self, t: Duration) -> String {
        use crate::config::format_duration as d;
        let more = d((t * 2).max(Duration::from_secs(1)));
        if self.flags.contains("ready_timeout") {
            format!(
                "--ready-timeout {} applied; raise it, e.g. --ready-timeout {more}",
                d(t)
            )
        } else if let Some(file) = self
            .file
            .as_ref()
            .filter(|_| self.file_keys.contains("ready_timeout"))
        {
            format!(
                "ready_timeout = \"{}\" in {} applied; raise it there, or with --ready-timeout {more}",
                d(t),
                file.display()
            )
        } else {
            format!(
                "the default --ready-timeout {} applied; raise it, e.g. --ready-timeout {more}",
                d(t)
            )
        }
    }
}
