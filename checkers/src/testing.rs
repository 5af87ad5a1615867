//! Test helpers: histories written as short text.

use histories::{Event, EventType, Process};
use serde_json::Value;

/// A history from lines `<process> <type> <f> [<json value>]`, separated by `;`:
/// `p1 invoke add 3; p1 ok add 3`. Index and time are the line number; `nemesis` is the
/// nemesis.
pub(crate) fn history(text: &str) -> Vec<Event> {
    text.split(';')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let mut parts = line.splitn(4, ' ');
            let process = match parts.next().unwrap() {
                "nemesis" => Process::Nemesis,
                p => Process::Client(p.trim_start_matches('p').parse().unwrap()),
            };
            let kind = EventType::parse(parts.next().unwrap()).unwrap();
            let f = parts.next().unwrap().to_string();
            let value = parts.next().map_or(Value::Null, |v| {
                serde_json::from_str(v).unwrap_or_else(|e| panic!("{v}: {e}"))
            });
            Event {
                index: i as u64,
                time: i as u64,
                kind,
                process,
                f,
                value,
                error: None,
                node: None,
            }
        })
        .collect()
}
