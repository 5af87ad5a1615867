//! The recorder: appends each history event to `history.jsonl` the moment it happens.
//!
//! Every event is handed to the OS at once (one `write` per event), so a run that crashes
//! leaves a checkable prefix; the file is fsynced at fault boundaries and at the end.
//! Indexes are dense and times are ns from the run's start on the monotonic clock; both are
//! assigned under one lock, so the file's order is the order of events.
//!
//! The first write that fails (a full disk, an I/O error) ends the recording: nothing is
//! written after it, so the file stays a gap-free prefix of the run — an event lost in the
//! middle would make a checker see anomalies that did not happen — and the failure hook
//! ([`Recorder::on_failure`]) stops the run at once.

use histories::jsonl::JsonlWriter;
use histories::{Event, EventType, Process};
use serde_json::Value;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// Appends events to a history file.
pub struct Recorder {
    start: Instant,
    inner: Mutex<Inner>,
    on_failure: Option<FailureHook>,
}

/// What [`Recorder::on_failure`] calls.
type FailureHook = Box<dyn Fn(&str) + Send + Sync>;

struct Inner {
    next: u64,
    /// Events in the file (all of them until the first failure).
    written: u64,
    writer: JsonlWriter,
    error: Option<String>,
}

impl Recorder {
    /// A recorder writing to `path`, whose clock starts at `start`.
    pub fn create(path: &Path, start: Instant) -> anyhow::Result<Recorder> {
        Ok(Recorder {
            start,
            inner: Mutex::new(Inner {
                next: 0,
                written: 0,
                writer: JsonlWriter::create(path)?,
                error: None,
            }),
            on_failure: None,
        })
    }

    /// Calls `hook` (once, with the error) when a write or sync first fails: the run uses it
    /// to stop.
    pub fn on_failure(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> Recorder {
        self.on_failure = Some(Box::new(hook));
        self
    }

    /// Records one event now and returns it.
    pub fn record(
        &self,
        kind: EventType,
        process: Process,
        f: &str,
        value: Value,
        error: Option<String>,
        node: Option<&str>,
    ) -> Event {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let time = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let event = Event {
            index: inner.next,
            time,
            kind,
            process,
            f: f.to_string(),
            value,
            error,
            node: node.map(str::to_string),
        };
        inner.next += 1;
        if inner.error.is_none() {
            match inner.writer.append(&event) {
                Ok(()) => inner.written += 1,
                Err(e) => self.failed(&mut inner, &e),
            }
        }
        event
    }

    /// Flushes the history to disk (fsync).
    pub fn sync(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.error.is_none() {
            if let Err(e) = inner.writer.sync() {
                self.failed(&mut inner, &e);
            }
        }
    }

    /// Remembers the first failure, cuts off the torn line it may have left, and calls
    /// the hook.
    fn failed(&self, inner: &mut Inner, e: &histories::HistoryError) {
        let message = with_cause(e);
        if let Err(e) = cut_torn_line(inner.writer.get_ref()) {
            tracing::warn!(error = %e, "could not cut the history's torn last line");
        }
        tracing::error!(error = %message, "the history cannot be written; the run stops");
        if let Some(hook) = &self.on_failure {
            hook(&message);
        }
        inner.error = Some(message);
    }

    /// Number of events in the file: all recorded ones, or those before the first failure.
    pub fn written(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).written
    }

    /// Number of events recorded so far.
    pub fn events(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).next
    }

    /// The first write error, if any, naming the file and the cause:
    /// `writing store/t/run/history.jsonl: No space left on device`.
    pub fn error(&self) -> Option<String> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .error
            .clone()
    }
}

/// A short write (the disk filled up in the middle of a line) leaves part of a line at the
/// end of the file; cut the file back to its last complete line, so it stays well-formed.
fn cut_torn_line(file: &std::fs::File) -> std::io::Result<()> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let len = file.metadata()?.len();
    if len == 0 || !file.metadata()?.is_file() {
        return Ok(());
    }
    // Events are far shorter than this; the file was opened write-only, so read the tail
    // through another descriptor.
    let from = len.saturating_sub(1 << 16);
    let mut tail = Vec::new();
    let mut reader = std::fs::File::open(format!("/proc/self/fd/{}", raw_fd(file)))?;
    reader.seek(SeekFrom::Start(from))?;
    reader.read_to_end(&mut tail)?;
    let keep = match tail.iter().rposition(|b| *b == b'\n') {
        Some(i) => from + i as u64 + 1,
        None if from == 0 => 0,
        None => return Ok(()),
    };
    if keep < len {
        file.set_len(keep)?;
        let mut f = file;
        f.seek(SeekFrom::Start(keep))?;
    }
    Ok(())
}

fn raw_fd(file: &std::fs::File) -> i32 {
    std::os::fd::AsRawFd::as_raw_fd(file)
}

/// `writing <file>: <cause>`, the OS error without its `(os error N)` suffix.
fn with_cause(e: &histories::HistoryError) -> String {
    let Some(cause) = std::error::Error::source(e) else {
        return e.to_string();
    };
    let mut text = cause.to_string();
    if let Some(i) = text.find(" (os error ") {
        text.truncate(i);
    }
    format!("{e}: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn record(r: &Recorder, i: i64) {
        r.record(
            EventType::Invoke,
            Process::Client(0),
            "write",
            serde_json::json!([1, i]),
            None,
            None,
        );
    }

    /// `/dev/full` fails every write with ENOSPC, as a full disk does.
    #[test]
    fn the_first_failed_write_ends_the_recording_and_calls_the_hook_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let r = Recorder::create(Path::new("/dev/full"), Instant::now())
            .unwrap()
            .on_failure(move |e| {
                assert_eq!(e, "writing /dev/full: No space left on device");
                seen.fetch_add(1, Ordering::SeqCst);
            });
        for i in 0..3 {
            record(&r, i);
        }
        r.sync();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(r.events(), 3);
        assert_eq!(r.written(), 0);
        assert_eq!(
            r.error().as_deref(),
            Some("writing /dev/full: No space left on device")
        );
    }

    #[test]
    fn a_torn_last_line_is_cut_off() {
        let path = std::env::temp_dir().join(format!("sqrec-torn-{}.jsonl", std::process::id()));
        std::fs::write(&path, "{\"index\":0}\n{\"index\":1}\n{\"ind").unwrap();
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        cut_torn_line(&file).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"index\":0}\n{\"index\":1}\n"
        );
        // A whole file stays whole.
        cut_torn_line(&file).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_healthy_file_gets_every_event() {
        let path = std::env::temp_dir().join(format!("sqrec-{}.jsonl", std::process::id()));
        let r = Recorder::create(&path, Instant::now())
            .unwrap()
            .on_failure(|e| panic!("unexpected failure: {e}"));
        for i in 0..3 {
            record(&r, i);
        }
        r.sync();
        assert_eq!((r.events(), r.written(), r.error()), (3, 3, None));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        std::fs::remove_file(&path).unwrap();
    }
}
