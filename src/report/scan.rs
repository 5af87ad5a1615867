//! One streaming pass over a stored `history.jsonl`: each client op (an invocation paired
//! with its completion) and each nemesis event, in file order, holding only the ops that
//! are open (at most one per process) — never the history.
//!
//! A line that does not parse is counted and skipped (a crashed run's last line may be
//! cut); an invocation never completed is reported at the end as `info` ending at the
//! history's last instant, which is what it is: its outcome is unknown.

use super::grid::Outcome;
use histories::{EventType, Process};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

/// A client op.
#[derive(Clone, Debug, PartialEq)]
pub struct Op<'a> {
    pub process: u64,
    pub f: &'a str,
    pub outcome: Outcome,
    /// Invocation and completion times, ns since the run's start.
    pub start: u64,
    pub end: u64,
    /// History indices of the invocation and the completion (the completion's is the
    /// invocation's for an op never completed).
    pub invoke_index: u64,
    pub complete_index: u64,
}

/// What the pass hands over.
pub enum Item<'a> {
    Op(Op<'a>),
    /// A nemesis event: its type, function, value, error and time.
    Nemesis {
        kind: EventType,
        f: &'a str,
        value: &'a serde_json::Value,
        error: Option<&'a str>,
        time: u64,
    },
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    index: Option<u64>,
    time: u64,
    #[serde(rename = "type")]
    kind: EventType,
    process: Process,
    f: String,
    #[serde(default)]
    value: serde_json::Value,
    #[serde(default)]
    error: Option<String>,
}

/// What one pass saw besides its items.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Lines that did not parse.
    pub bad_lines: u64,
    /// The latest time in the history.
    pub end: u64,
    /// Client ops reported.
    pub ops: u64,
}

/// Reads `path` and calls `each` on every op and nemesis event; returns what it saw.
pub fn scan(path: &Path, mut each: impl FnMut(Item<'_>)) -> std::io::Result<Summary> {
    let file = std::fs::File::open(path)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    // Open invocations by process: (f, time, index).
    let mut open: HashMap<u64, (String, u64, u64)> = HashMap::new();
    let mut summary = Summary::default();
    let mut buf = String::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_line(&mut buf)? == 0 {
            break;
        }
        let n = line_no;
        line_no += 1;
        if buf.trim().is_empty() {
            continue;
        }
        let Ok(e) = serde_json::from_str::<Line>(&buf) else {
            summary.bad_lines += 1;
            continue;
        };
        let index = e.index.unwrap_or(n);
        summary.end = summary.end.max(e.time);
        match e.process {
            Process::Nemesis => each(Item::Nemesis {
                kind: e.kind,
                f: &e.f,
                value: &e.value,
                error: e.error.as_deref(),
                time: e.time,
            }),
            Process::Client(p) => {
                let outcome = match e.kind {
                    EventType::Invoke => {
                        open.insert(p, (e.f, e.time, index));
                        continue;
                    }
                    EventType::Ok => Outcome::Ok,
                    EventType::Fail => Outcome::Fail,
                    EventType::Info => Outcome::Info,
                };
                // A completion without an invocation pairs with nothing: skipped.
                if let Some((f, start, invoke_index)) = open.remove(&p) {
                    summary.ops += 1;
                    each(Item::Op(Op {
                        process: p,
                        f: &f,
                        outcome,
                        start,
                        end: e.time.max(start),
                        invoke_index,
                        complete_index: index,
                    }));
                }
            }
        }
    }
    // Never completed: unknown, to the end of the history (in invocation order).
    let mut left: Vec<_> = open.into_iter().collect();
    left.sort_by_key(|(_, (_, _, i))| *i);
    for (p, (f, start, invoke_index)) in left {
        summary.ops += 1;
        each(Item::Op(Op {
            process: p,
            f: &f,
            outcome: Outcome::Info,
            start,
            end: summary.end.max(start),
            invoke_index,
            complete_index: invoke_index,
        }));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_ops_passes_nemesis_events_and_ends_open_ops_as_info() {
        let dir = std::env::temp_dir().join(format!("sqreport-scan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("history.jsonl");
        std::fs::write(
            &path,
            r#"{"index":0,"time":10,"type":"invoke","process":0,"f":"write","value":1}
{"index":1,"time":11,"type":"invoke","process":1,"f":"read","value":null}
{"index":2,"time":12,"type":"invoke","process":"nemesis","f":"start-pause","value":"pause n1"}
{"index":3,"time":20,"type":"ok","process":0,"f":"write","value":1}
{"index":4,"time":25,"type":"fail","process":7,"f":"read","value":null}
{"index":5,"time":30,"type":"invoke","process":0,"f":"cas","value":[1,2]}
{"index":6,"time":40,"type":"info","process":1,"f":"read","value":null}
{"index":7,"time":41,"type":"ok","proc
"#,
        )
        .unwrap();
        let mut seen = Vec::new();
        let s = scan(&path, |item| match item {
            Item::Op(op) => seen.push(format!(
                "{} {} {:?} {}-{} #{}/{}",
                op.process, op.f, op.outcome, op.start, op.end, op.invoke_index, op.complete_index
            )),
            Item::Nemesis { f, value, .. } => seen.push(format!("nemesis {f} {value}")),
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                "nemesis start-pause \"pause n1\"",
                "0 write Ok 10-20 #0/3",
                "1 read Info 11-40 #1/6",
                "0 cas Info 30-40 #5/5",
            ]
        );
        assert_eq!(
            s,
            Summary {
                bad_lines: 1,
                end: 40,
                ops: 3
            }
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
