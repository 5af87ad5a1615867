//! The event model: what one line of a history says.
//!
//! Semantics are Jepsen's: `invoke` starts an operation; `ok` completes it (it happened);
//! `fail` completes it and says it certainly did not happen; `info` says its outcome is
//! unknown (it may take effect at any point after its invocation, or never). A process whose
//! op ended in `info` never issues another op: its worker continues under a fresh process id.
//! Events whose process is [`Process::Nemesis`] are faults; they constrain no client op.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of a history event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// An operation starts.
    Invoke,
    /// The operation completed and took effect.
    Ok,
    /// The operation completed and certainly did not take effect.
    Fail,
    /// The outcome is unknown: it may take effect at any time after the invocation, or never.
    Info,
}

impl EventType {
    /// The Jepsen name: `invoke`, `ok`, `fail`, `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }

    /// Parses a Jepsen type name (without the leading `:` of EDN keywords).
    pub fn parse(s: &str) -> Option<EventType> {
        Some(match s {
            "invoke" => EventType::Invoke,
            "ok" => EventType::Ok,
            "fail" => EventType::Fail,
            "info" => EventType::Info,
            _ => return None,
        })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who issued an event: a client process (an integer) or the nemesis.
///
/// Serialized as in Jepsen: an integer, or the string `"nemesis"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    /// A client process. A worker that got an `info` continues under a new process id.
    Client(u64),
    /// The nemesis (fault injector). Its events constrain no client operation.
    Nemesis,
}

impl Process {
    /// The client process id, or `None` for the nemesis.
    pub fn client(self) -> Option<u64> {
        match self {
            Process::Client(p) => Some(p),
            Process::Nemesis => None,
        }
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Nemesis => f.write_str("nemesis"),
        }
    }
}

impl Serialize for Process {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(p) => s.serialize_u64(*p),
            Process::Nemesis => s.serialize_str("nemesis"),
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Process;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a process id (integer) or \"nemesis\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Process, E> {
                Ok(Process::Client(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Process, E> {
                u64::try_from(v)
                    .map(Process::Client)
                    .map_err(|_| E::custom(format!("negative process id {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Process, E> {
                match v {
                    "nemesis" => Ok(Process::Nemesis),
                    other => Err(E::custom(format!("unknown process {other:?}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// One history event. Field names and meanings follow Jepsen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Names the event's position in the history: it increases along the history (from 0 and
    /// dense in squall's own histories; a filtered history may have gaps). The position, not
    /// this number, is the event's place in real time ([`crate::order`]).
    pub index: u64,
    /// Nanoseconds since the run started (monotonic clock). Informational: it must not
    /// decrease along the history ([`crate::order::check_times`]), and orders nothing.
    pub time: u64,
    /// `invoke`, `ok`, `fail` or `info`.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The client process, or the nemesis.
    pub process: Process,
    /// The function: `read`, `write`, `cas`, or a fault name such as `start-partition`.
    pub f: String,
    /// The operation's value, Jepsen-style (for independent keys: `[key value]`; a read's
    /// invocation carries `[key null]`; a cas carries `[key [old new]]`).
    #[serde(default)]
    pub value: serde_json::Value,
    /// Why an op failed or is indeterminate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The node the op was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// A whole history, in event order.
pub type History = Vec<Event>;
