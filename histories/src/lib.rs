//! The history model and its codecs.
//!
//! A history is what a run actually did: one [`Event`] per client invocation, completion, and
//! nemesis action, in the order they happened. Fields follow Jepsen so tools interoperate.
//!
//! - [`event`]: [`Event`], [`EventType`], [`Process`], [`History`].
//! - [`jsonl`]: squall's native format, one event per line, written as events happen.
//! - [`edn`]: Jepsen EDN, read and written (Knossos and Elle can check squall's histories).
//! - [`csv`]: export for spreadsheets and plotting.

pub mod event;

pub use event::{Event, EventType, History, Process};
