//! The history model and its codecs.
//!
//! A history is what a run actually did: one [`Event`] per client invocation, completion, and
//! nemesis action, in the order they happened. Fields follow Jepsen so tools interoperate.
//!
//! - [`event`]: [`Event`], [`EventType`], [`Process`], [`History`].
//! - [`jsonl`]: squall's native format, one event per line, written as events happen
//!   ([`JsonlWriter`], [`write_jsonl_line`]) and read back tolerating a crashed writer's cut
//!   last line ([`read_jsonl_str`], [`read_jsonl_file`]).
//! - [`edn`]: Jepsen EDN, read ([`parse_edn`]) and written ([`write_edn`]), so Knossos and
//!   Elle can check squall's histories and squall can check theirs.
//! - [`jepsen_log`]: the op lines of a Jepsen console log (`INFO  jepsen.util - 3 :ok :read
//!   1`), read ([`parse_jepsen_log`]): the form of many published histories.
//! - [`csv`]: export for spreadsheets and plotting ([`write_csv`]).
//! - [`read`]: [`read_file`] in any [`Format`], detected from the extension or content;
//!   returns a [`Parsed`] history with its warnings.
//! - [`error`]: [`HistoryError`], the crate's one error type.

pub mod csv;
pub mod edn;
pub mod error;
pub mod event;
pub mod jepsen_log;
pub mod jsonl;
pub mod read;

pub use csv::{write_csv, CSV_HEADER};
pub use edn::{parse_edn, write_edn};
pub use error::HistoryError;
pub use event::{Event, EventType, History, Process};
pub use jepsen_log::parse_jepsen_log;
pub use jsonl::{read_jsonl_file, read_jsonl_str, write_jsonl_line, JsonlWriter};
pub use read::{read_file, Format, Parsed};
