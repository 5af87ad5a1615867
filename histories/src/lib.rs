//! The history model and its codecs.
//!
//! A history is what a run actually did: one [`Event`] per client invocation, completion, and
//! nemesis action, in the order they happened. Fields follow Jepsen so tools interoperate.
//!
//! - [`event`]: [`Event`], [`EventType`], [`Process`], [`History`].
//! - [`jsonl`]: squall's native format, one event per line, written as events happen
//!   ([`JsonlWriter`], [`write_jsonl_line`]) and read back tolerating a crashed writer's cut
//!   last line ([`read_jsonl_str`], [`read_jsonl_file`]).
//! - [`edn`]: Jepsen EDN, read ([`parse_edn`], [`read_edn_str`]) and written ([`write_edn`]), so Knossos and
//!   Elle can check squall's histories and squall can check theirs.
//! - [`jepsen_log`]: the op lines of a Jepsen console log, old (`INFO  jepsen.util - 3 :ok
//!   :read 1`) and current (`... [jepsen worker 3] jepsen.util: 3 :ok :read 1`), read
//!   ([`parse_jepsen_log`], [`read_jepsen_log_str`]): the form of many published histories.
//! - [`order`]: what `index` and `time` must say about the history's order (its position is
//!   real time): [`check_indices`], applied by every reader, and [`check_times`].
//! - [`csv`]: export for spreadsheets and plotting ([`write_csv`]).
//! - [`read`]: [`read_file`] (or [`read_bytes`], for a stream's contents) in any [`Format`],
//!   detected from the extension or content; returns a [`Parsed`] history with each event's
//!   line and the warnings.
//! - [`error`]: [`HistoryError`], the crate's one error type.

pub mod csv;
pub mod edn;
pub mod error;
pub mod event;
pub mod jepsen_log;
pub mod jsonl;
pub mod order;
pub mod read;

pub use csv::{write_csv, CSV_HEADER};
pub use edn::{parse_edn, read_edn_str, write_edn};
pub use error::HistoryError;
pub use event::{Event, EventType, History, Process};
pub use jepsen_log::{parse_jepsen_log, read_jepsen_log_str};
pub use jsonl::{read_jsonl_file, read_jsonl_str, write_jsonl_line, JsonlWriter};
pub use order::{check_indices, check_times};
pub use read::{read_bytes, read_file, Format, Parsed};
