//! `squall.log`: the run's structured log (tracing, to a file in the run's store).
//! The console gets short progress lines instead (printed by the runner's `say`).
//!
//! A log that cannot be written (the store's disk is full) must not flood the terminal
//! with one error per event, nor stop the run: the file's writer keeps the first failure,
//! drops what follows, and the run mentions it once at its end ([`write_error`]).

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

/// The first failed write to the log, as `<cause>` (for the end-of-run warning).
static WRITE_ERROR: Mutex<Option<String>> = Mutex::new(None);

/// Sends `tracing` events (squall's at debug, others' at info) to `path`.
pub fn init(path: &Path) -> Result<()> {
    let file = File::create(path).with_context(|| format!("create {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SQUALL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,squall=debug"));
    // A second init (tests, bench) keeps the first subscriber: not an error.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(LogFile(file)))
        .try_init();
    Ok(())
}

/// Why writing the log failed, if it did: `writing the log failed: No space left on device`.
pub fn write_error() -> Option<String> {
    WRITE_ERROR
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// The log file: a failed write is remembered (the first one) and reported as done, so
/// the subscriber does not print an error per event.
struct LogFile(File);

impl LogFile {
    fn failed(e: &io::Error) {
        let mut text = e.to_string();
        if let Some(i) = text.find(" (os error ") {
            text.truncate(i);
        }
        WRITE_ERROR
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(|| format!("writing the log failed: {text}"));
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.write_all(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                LogFile::failed(&e);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Err(e) = self.0.flush() {
            LogFile::failed(&e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_remembered_once_and_never_an_error() {
        let mut log = LogFile(File::options().write(true).open("/dev/full").unwrap());
        for _ in 0..3 {
            assert_eq!(log.write(b"an event\n").unwrap(), 9);
        }
        log.flush().unwrap();
        assert_eq!(
            write_error().as_deref(),
            Some("writing the log failed: No space left on device")
        );
    }
}
