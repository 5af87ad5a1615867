//! `squall clean`: removes what killed runs left behind.
//!
//! Every name a run creates carries the squall prefix and the run id (namespaces
//! `squall-<run>-*`, temporary files `/tmp/squall-<run>`), and every link, route and rule
//! lives inside those namespaces, so finding the namespaces finds everything: their
//! processes are killed, the namespaces deleted (their links and rules go with them), the
//! files removed. Nothing outside squall's names is touched.

use crate::exit;
use anyhow::Result;

/// Runs `squall clean`; returns the exit code.
pub fn clean() -> Result<i32> {
    let report = crate::env::clean::clean()?;
    print!("{report}");
    Ok(exit::VALID)
}
