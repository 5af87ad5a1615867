//! The recorder: appends each history event to `history.jsonl` the moment it happens.
//!
//! Every event is handed to the OS at once (one `write` per event), so a run that crashes
//! leaves a checkable prefix; the file is fsynced at fault boundaries and at the end.
//! Indexes are dense and times are ns from the run's start on the monotonic clock; both are
//! assigned under one lock, so the file's order is the order of events.

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
}

struct Inner {
    next: u64,
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
                writer: JsonlWriter::create(path)?,
                error: None,
            }),
        })
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
        if let Err(e) = inner.writer.append(&event) {
            // Keep running (the events are still in order in memory for the caller) but
            // remember the first failure: the run reports it at the end.
            inner.error.get_or_insert(e.to_string());
        }
        event
    }

    /// Flushes the history to disk (fsync).
    pub fn sync(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = inner.writer.sync() {
            inner.error.get_or_insert(e.to_string());
        }
    }

    /// Number of events recorded so far.
    pub fn events(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).next
    }

    /// The first write error, if any.
    pub fn error(&self) -> Option<String> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .error
            .clone()
    }
}
