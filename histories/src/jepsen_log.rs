//! Jepsen's console log: the op lines a Jepsen run logs through `jepsen.util`, one per event.
//!
//! Two layouts exist (the op fields separated by tabs in both). Older Jepsen (log4j's default
//! pattern):
//!
//! ```text
//! INFO  jepsen.util - 3  :invoke  :cas  [3 0]
//! INFO  jepsen.util - 4  :info  :write  :timed-out
//! INFO  jepsen.util - :nemesis  :info  :start  nil
//! ```
//!
//! and current Jepsen (logback: a timestamp, the level and the thread; shown here with spaces
//! where the log has tabs):
//!
//! ```text
//! 2021-02-26 23:39:01,303{GMT}  INFO  [jepsen worker 1] jepsen.util: 1  :ok  :write  [0 2]
//! 2021-02-26 23:39:02,011{GMT}  INFO  [jepsen nemesis] jepsen.util: :nemesis  :info  :start  nil
//! ```
//!
//! A line is an op line when `jepsen.util -` or `jepsen.util:` is followed by a process (an
//! integer, or a keyword such as `:nemesis`) and one of `:invoke`, `:ok`, `:fail`, `:info`;
//! every other line (other log messages, and whatever precedes `jepsen.util`) is skipped.
//!
//! The fields are Jepsen's `op->str`: process, type, `f` and value (both printed as EDN), and
//! an optional error, separated by tabs. The value's EDN never holds a raw tab (strings print
//! `\t`), so on a line with tabs each field ends at one, and the error is the rest of the line
//! (printed with `str`, so it may be any text). A line without tabs (hand-edited logs) is split
//! on runs of whitespace, and its value is the rest of the line. The value (and `f`) must be
//! exactly one EDN form: `[1 2] 3` is an error, not a value with something after it.
//!
//! The log has no times and no indices: an event's index is its position among the op lines,
//! and its time 0, so that order is the log's own (see [`crate::order`]).

use crate::edn::{read_single, Edn};
use crate::error::HistoryError;
use crate::event::{Event, EventType, History, Process};
use crate::read::Parsed;

/// What introduces an op in a log line, in the older layout and in the current one.
const MARKS: [&str; 2] = ["jepsen.util - ", "jepsen.util: "];

/// The op fields of a log line.
struct Fields<'a> {
    process: Process,
    kind: EventType,
    f: &'a str,
    value: &'a str,
    error: Option<&'a str>,
}

/// The op fields of a log line, or `None` if it is no op line.
fn op_fields(line: &str) -> Option<Fields<'_>> {
    let rest = MARKS
        .iter()
        .filter_map(|m| line.find(m).map(|at| &line[at + m.len()..]))
        .next()?
        .trim_start();
    let (process, kind, rest) = if rest.contains('\t') {
        let mut fields = rest.splitn(3, '\t');
        (fields.next()?.trim(), fields.next()?.trim(), fields.next()?)
    } else {
        let (process, rest) = rest.split_once(char::is_whitespace)?;
        let (kind, rest) = rest.trim_start().split_once(char::is_whitespace)?;
        (process, kind, rest)
    };
    let process = if let Ok(p) = process.parse::<u64>() {
        Process::Client(p)
    } else if process.len() > 1
        && process.starts_with(':')
        && !process.contains(['{', '[', '(', '"'])
    {
        // Jepsen names non-client processes (`:nemesis`); all of them are fault events.
        Process::Nemesis
    } else {
        return None;
    };
    let kind = EventType::parse(kind.strip_prefix(':')?)?;
    let (f, value, error) = if rest.contains('\t') {
        let mut fields = rest.splitn(3, '\t');
        let f = fields.next().unwrap_or("");
        let value = fields.next().unwrap_or("");
        (f, value, fields.next())
    } else {
        let rest = rest.trim_start();
        let (f, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        (f, value, None)
    };
    let error = error.map(str::trim).filter(|e| !e.is_empty());
    Some(Fields {
        process,
        kind,
        f: f.trim(),
        value: value.trim(),
        error,
    })
}

/// Whether `text` has an op line among its first lines (for format detection).
pub(crate) fn looks_like_jepsen_log(text: &str) -> bool {
    text.lines().take(200).any(|l| op_fields(l).is_some())
}

/// Parses the op lines of a Jepsen log (see the module doc). `source_name` (a file name, or
/// `<input>`) is used in error messages, which name the line.
pub fn parse_jepsen_log(text: &str, source_name: &str) -> Result<History, HistoryError> {
    read_jepsen_log_str(text, source_name).map(|parsed| parsed.history)
}

/// Reads the op lines of a Jepsen log, as [`parse_jepsen_log`], with each event's line.
pub fn read_jepsen_log_str(text: &str, source_name: &str) -> Result<Parsed, HistoryError> {
    let mut parsed = Parsed::default();
    for (n, line) in text.lines().enumerate() {
        let Some(fields) = op_fields(line) else {
            continue;
        };
        let err = |what: &str, text: &str, message: String| {
            let message = format!("cannot read the op's {what} {text:?} ({message})");
            HistoryError::parse(source_name, n + 1, message)
        };
        let f = match read_single(fields.f) {
            Ok(Edn::Nil) => return Err(err("f", fields.f, "nil".into())),
            Ok(f) => f.into_text(),
            Err(message) => return Err(err("f", fields.f, message)),
        };
        let value = match fields.value {
            "" => serde_json::Value::Null,
            text => read_single(text)
                .map_err(|message| err("value", text, message))?
                .into_json(),
        };
        // `str` of a keyword is `:timeout`; an error read from EDN loses its colon, so here too.
        let error = fields.error.map(|e| match e.strip_prefix(':') {
            Some(name) if !name.is_empty() && !name.contains(char::is_whitespace) => name.into(),
            _ => e.to_owned(),
        });
        parsed.history.push(Event {
            index: parsed.history.len() as u64,
            time: 0,
            kind: fields.kind,
            process: fields.process,
            f,
            value,
            error,
            node: None,
        });
        parsed.lines.push(n + 1);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventType, Process};
    use serde_json::json;

    const LOG: &str = "\
2026-11-28 06:00:00,001{GMT}\tINFO\t[main] jepsen.core: Running test
INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 2\t:invoke\t:cas\t[1 4]
INFO  jepsen.util - 0\t:ok\t:read\t1
INFO  jepsen.util - 2\t:info\t:cas\t:timed-out
INFO  jepsen.util - :nemesis\t:info\t:start\tnil
INFO  jepsen.util - Tearing down
INFO  jepsen.util - 7   :invoke :write  3
INFO  jepsen.util - 7   :fail   :write  3
";

    /// The current layout: timestamp, level, thread, `jepsen.util:`, tabs throughout.
    const LOGBACK: &str = "\
2021-02-26 23:39:00,101{GMT}\tINFO\t[jepsen test runner] jepsen.core: Running test
2021-02-26 23:39:01,300{GMT}\tINFO\t[jepsen worker 1] jepsen.util: 1\t:invoke\t:write\t[0 2]
2021-02-26 23:39:01,303{GMT}\tINFO\t[jepsen worker 1] jepsen.util: 1\t:ok\t:write\t[0 2]
2021-02-26 23:39:01,310{GMT}\tINFO\t[jepsen nemesis] jepsen.util: :nemesis\t:info\t:start\tnil
2021-02-26 23:39:01,400{GMT}\tINFO\t[jepsen worker 0] jepsen.util: 0\t:invoke\t:read\t[0 nil]
2021-02-26 23:39:02,400{GMT}\tINFO\t[jepsen worker 0] jepsen.util: 0\t:info\t:read\t[0 nil]\t:timeout
2021-02-26 23:39:02,401{GMT}\tINFO\t[jepsen worker 2] jepsen.util: 5\t:fail\t:cas\t[0 [1 2]]\tindeterminate: conn reset
2021-02-26 23:39:02,500{GMT}\tINFO\t[jepsen nemesis] jepsen.util: :nemesis\t:info\t:stop\t\"fully connected\"
2021-02-26 23:39:03,000{GMT}\tINFO\t[jepsen worker 1] jepsen.util: Waiting for recovery...
";

    #[test]
    fn reads_op_lines_and_skips_the_rest() {
        assert!(looks_like_jepsen_log(LOG));
        let parsed = read_jepsen_log_str(LOG, "x.log").unwrap();
        assert_eq!(parsed.lines, [2, 3, 4, 5, 6, 8, 9]);
        let h = parsed.history;
        assert_eq!(h.len(), 7);
        assert_eq!(h[0].kind, EventType::Invoke);
        assert_eq!(h[0].process, Process::Client(0));
        assert_eq!(h[0].f, "read");
        assert_eq!(h[0].value, json!(null));
        assert_eq!(h[1].value, json!([1, 4]));
        assert_eq!(h[2].value, json!(1));
        assert_eq!(h[3].kind, EventType::Info);
        assert_eq!(h[3].value, json!("timed-out"));
        assert!(!matches!(h[4].process, Process::Client(_)));
        assert_eq!(h[4].f, "start");
        // Whitespace of any width between fields.
        assert_eq!((h[5].f.as_str(), &h[5].value), ("write", &json!(3)));
        assert_eq!(h[6].kind, EventType::Fail);
        let indices: Vec<u64> = h.iter().map(|e| e.index).collect();
        assert_eq!(indices, (0..7).collect::<Vec<_>>());
    }

    #[test]
    fn reads_the_current_layout() {
        assert!(looks_like_jepsen_log(LOGBACK));
        let h = parse_jepsen_log(LOGBACK, "x.log").unwrap();
        assert_eq!(h.len(), 7);
        assert_eq!(
            (h[0].process, h[0].kind, h[0].f.as_str(), &h[0].value),
            (
                Process::Client(1),
                EventType::Invoke,
                "write",
                &json!([0, 2])
            )
        );
        assert_eq!((h[1].kind, &h[1].value), (EventType::Ok, &json!([0, 2])));
        assert_eq!(
            (h[2].process, h[2].kind, h[2].f.as_str()),
            (Process::Nemesis, EventType::Info, "start")
        );
        assert_eq!(h[4].value, json!([0, null]));
        assert_eq!(h[4].error.as_deref(), Some("timeout"));
        assert_eq!(h[5].value, json!([0, [1, 2]]));
        assert_eq!(h[5].error.as_deref(), Some("indeterminate: conn reset"));
        assert_eq!(h[6].value, json!("fully connected"));
        assert!(h.iter().all(|e| e.time == 0));
    }

    #[test]
    fn a_malformed_value_names_its_line() {
        let text =
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t[1\n";
        let e = parse_jepsen_log(text, "bad.log").unwrap_err();
        assert!(e.to_string().starts_with("bad.log line 2: "), "{e}");
        assert!(e.to_string().contains("value \"[1\""), "{e}");
        // One value per field: what follows it is not silently dropped or merged into the op.
        let text = "INFO  jepsen.util - 0\t:ok\t:read\t1, :process 5\n";
        let e = parse_jepsen_log(text, "bad.log").unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad.log line 1: cannot read the op's value \"1, :process 5\" (more than one value)"
        );
    }

    #[test]
    fn other_text_is_no_jepsen_log() {
        assert!(!looks_like_jepsen_log("index,time\n1,2\n"));
        assert!(!looks_like_jepsen_log("INFO jepsen.util - starting\n"));
        assert!(!looks_like_jepsen_log(
            "INFO jepsen.util: 1\t:done\t:read\tnil\n"
        ));
        assert!(parse_jepsen_log("just text\n", "t").unwrap().is_empty());
    }
}
