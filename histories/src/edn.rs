//! Jepsen EDN histories, read ([`parse_edn`]) and written ([`write_edn`]).
//!
//! A small hand-written reader, enough for the histories Jepsen, Knossos and Elle produce:
//! keywords, symbols, strings with escapes, characters, integers (with `N`), floats (with `M`),
//! ratios, `nil`, booleans, vectors, lists, sets, maps, `;` comments, `#_` discards, and
//! tagged literals such as `#jepsen.history.Op{...}` or `#inst "..."` (the tag is dropped,
//! the value kept). Commas are whitespace.
//!
//! The reader is linear in the input: each op map is read into a small tree, turned into an
//! [`Event`] and dropped before the next. Recursion only follows nesting (capped at
//! [`MAX_DEPTH`]), never the length of a vector.
//!
//! How an op map becomes an [`Event`]: `:type` must be `invoke`, `ok`, `fail` or `info`;
//! an integer `:process` is a client, a named one (`:nemesis`) is the nemesis; `:f`, `:error`
//! and `:node` become plain strings (keywords lose their colon, other values are rendered as
//! EDN text, `nil` is absent); `:value` becomes JSON (keywords and symbols become strings,
//! `nil` null, vectors, lists and sets arrays, maps objects with stringified keys); a missing
//! `:index` is the op's position in the file (counting from 0), a missing `:time` is 0 (no
//! time: order is the file's anyway, see [`crate::order`]). Indices, given or not, must
//! increase along the file. Other keys are ignored.
//!
//! Inside: `reader` turns text into `value::Edn` trees; this file turns trees into events
//! and events into EDN text.

mod reader;
mod value;

pub(crate) use reader::read_single;
pub use reader::MAX_DEPTH;
pub(crate) use value::Edn;

use crate::error::HistoryError;
use crate::event::{Event, EventType, History, Process};
use crate::order::check_indices;
use crate::read::Parsed;
use serde_json::Value;
use std::io::{self, Write};
use value::write_edn_string;

/// Parses a Jepsen EDN history: one top-level vector (or list) of op maps, or a sequence of
/// top-level op maps. `source_name` (a file name, or `<input>`) is used in error messages,
/// which name the line where the offending map starts. See [`read_edn_str`].
pub fn parse_edn(text: &str, source_name: &str) -> Result<History, HistoryError> {
    read_edn_str(text, source_name).map(|parsed| parsed.history)
}

/// Reads a Jepsen EDN history, as [`parse_edn`], with the line each op map starts on.
/// Indices (given, or positions) must increase ([`crate::order::check_indices`]).
pub fn read_edn_str(text: &str, source_name: &str) -> Result<Parsed, HistoryError> {
    let mut parsed = Parsed::default();
    reader::read_ops(text, source_name, |value, line| {
        let Edn::Map(pairs) = value else {
            let message = format!("expected an op map, found {}", value.kind());
            return Err(HistoryError::parse(source_name, line, message));
        };
        let position = parsed.history.len() as u64;
        parsed
            .history
            .push(op_to_event(pairs, position, source_name, line)?);
        parsed.lines.push(line);
        Ok(())
    })?;
    check_indices(&parsed.history, &parsed.lines, source_name)?;
    Ok(parsed)
}

/// Writes `history` Jepsen-style: a vector with one op map per line,
/// `[{:index 0, :time 12, :type :invoke, :process 0, :f :read, :value [1 nil]}` ... `]`.
///
/// `:f` is written as a keyword when it is a plain identifier, else as a string; strings in
/// `:value` stay strings, and JSON object keys are written as strings. [`parse_edn`] reads
/// the output back to the same events.
pub fn write_edn<W: Write>(history: &[Event], mut w: W) -> io::Result<()> {
    if history.is_empty() {
        return w.write_all(b"[]\n");
    }
    let mut line = String::new();
    for (i, event) in history.iter().enumerate() {
        line.clear();
        line.push_str(if i == 0 { "[" } else { " " });
        write_event(event, &mut line);
        line.push_str(if i + 1 == history.len() { "]\n" } else { "\n" });
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Appends one op map for `event` to `out`.
fn write_event(event: &Event, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "{{:index {}, :time {}, :type :{}, :process ",
        event.index, event.time, event.kind
    );
    match event.process {
        Process::Client(p) => {
            let _ = write!(out, "{p}");
        }
        Process::Nemesis => out.push_str(":nemesis"),
    }
    out.push_str(", :f ");
    if is_keyword_name(&event.f) {
        out.push(':');
        out.push_str(&event.f);
    } else {
        write_edn_string(&event.f, out);
    }
    out.push_str(", :value ");
    write_json_as_edn(&event.value, out);
    if let Some(error) = &event.error {
        out.push_str(", :error ");
        write_edn_string(error, out);
    }
    if let Some(node) = &event.node {
        out.push_str(", :node ");
        write_edn_string(node, out);
    }
    out.push('}');
}

/// Whether `s` can be written as the keyword `:s` and read back as `s`.
fn is_keyword_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_?!*+.<>=".contains(c))
}

/// Appends `value` as EDN.
fn write_json_as_edn(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_edn_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_json_as_edn(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_edn_string(k, out);
                out.push(' ');
                write_json_as_edn(v, out);
            }
            out.push('}');
        }
    }
}

/// Converts one op map, found at `line`, the `position`-th op of the file.
fn op_to_event(
    pairs: Vec<(Edn, Edn)>,
    position: u64,
    file: &str,
    line: usize,
) -> Result<Event, HistoryError> {
    let err = |message: String| HistoryError::parse(file, line, message);
    let (mut kind, mut process, mut f) = (None, None, None);
    let mut event = Event {
        index: position,
        time: 0,
        kind: EventType::Invoke,
        process: Process::Nemesis,
        f: String::new(),
        value: Value::Null,
        error: None,
        node: None,
    };
    for (key, value) in pairs {
        let Some(key) = key.as_name() else { continue };
        match key {
            "type" => kind = Some(value),
            "process" => process = Some(value),
            "f" => f = Some(value),
            "value" => event.value = value.into_json(),
            "error" => event.error = optional_text(value),
            "node" => event.node = optional_text(value),
            "index" => event.index = non_negative(&value, ":index").map_err(err)?,
            "time" => event.time = non_negative(&value, ":time").map_err(err)?,
            _ => {}
        }
    }
    let kind = kind.ok_or_else(|| err("op map has no :type".into()))?;
    event.kind = match kind.as_name().and_then(EventType::parse) {
        Some(k) => k,
        None => {
            return Err(HistoryError::UnknownType {
                file: file.to_owned(),
                line,
                found: kind.render(),
            })
        }
    };
    event.process = match process {
        None | Some(Edn::Nil) => return Err(err("op map has no :process".into())),
        Some(Edn::Int(p)) => match u64::try_from(p) {
            Ok(p) => Process::Client(p),
            Err(_) => return Err(err(format!("negative :process {p}"))),
        },
        // Jepsen names non-client processes (`:nemesis`); all of them are fault events.
        Some(Edn::Keyword(_) | Edn::Symbol(_) | Edn::Str(_)) => Process::Nemesis,
        Some(other) => return Err(err(format!(":process is {}", other.kind()))),
    };
    event.f = match f {
        None | Some(Edn::Nil) => return Err(err("op map has no :f".into())),
        Some(f) => f.into_text(),
    };
    Ok(event)
}

/// `nil` as `None`, anything else as text.
fn optional_text(value: Edn) -> Option<String> {
    match value {
        Edn::Nil => None,
        other => Some(other.into_text()),
    }
}

/// A non-negative integer field, or a message saying why not.
fn non_negative(value: &Edn, field: &str) -> Result<u64, String> {
    match value {
        Edn::Int(i) => u64::try_from(*i).map_err(|_| format!("negative {field} {i}")),
        other => Err(format!("{field} is {}, expected an integer", other.kind())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_one(text: &str) -> Event {
        let history = parse_edn(text, "<input>").unwrap();
        assert_eq!(history.len(), 1, "{text}");
        history.into_iter().next().unwrap()
    }

    #[test]
    fn maps_op_fields() {
        let e = read_one(
            "{:type :info, :f :cas, :value [1 2], :process 3, :time 99, :index 7, \
             :error :timeout, :node \"n1\", :extra {:ignored true}}",
        );
        assert_eq!(
            e,
            Event {
                index: 7,
                time: 99,
                kind: EventType::Info,
                process: Process::Client(3),
                f: "cas".into(),
                value: json!([1, 2]),
                error: Some("timeout".into()),
                node: Some("n1".into()),
            }
        );
        let e = read_one("{:process :nemesis, :type :info, :f \"start\", :error nil}");
        assert_eq!(
            (e.process, e.f.as_str(), e.error, e.time),
            (Process::Nemesis, "start", None, 0)
        );
        let e = read_one("{:process 1, :type :fail, :f :read, :error [:conn-lost \"x\" 2]}");
        assert_eq!(e.error.as_deref(), Some("[:conn-lost \"x\" 2]"));
        let e = read_one("#jepsen.history.Op{:index 3, :type :ok, :process 0, :f :read}");
        assert_eq!((e.index, e.kind), (3, EventType::Ok));
    }

    /// The values of set and bank workloads: a set reads as a list, a map's keys (keywords
    /// or integers) as strings.
    #[test]
    fn set_and_bank_values() {
        let value =
            |v: &str| read_one(&format!("{{:type :ok, :f :x, :process 0, :value {v}}}")).value;
        let cases = [
            ("#{1 2 3}", json!([1, 2, 3])),
            ("#{}", json!([])),
            ("[1 3]", json!([1, 3])),
            (
                "{:from 1 :to 2 :amount 5}",
                json!({"from": 1, "to": 2, "amount": 5}),
            ),
            ("{0 10, 1 -3}", json!({"0": 10, "1": -3})),
            ("{:a nil}", json!({"a": null})),
        ];
        for (edn, want) in cases {
            assert_eq!(value(edn), want, "{edn}");
        }
    }

    #[test]
    fn accepts_vectors_lists_and_bare_sequences() {
        let op = |p: u64, t: &str| format!("{{:process {p}, :type :{t}, :f :read, :value nil}}");
        let texts = [
            format!("[{}\n {}]", op(0, "invoke"), op(0, "ok")),
            format!("; header\n({}\n {}\n)\n", op(0, "invoke"), op(0, "ok")),
            format!("{}\n{}\n", op(0, "invoke"), op(0, "ok")),
            format!("[{},{}]", op(0, "invoke"), op(0, "ok")),
        ];
        for text in texts {
            let h = parse_edn(&text, "<input>").unwrap();
            assert_eq!(h.len(), 2, "{text}");
            assert_eq!((h[0].index, h[1].index), (0, 1), "positions become indices");
            assert_eq!((h[0].kind, h[1].kind), (EventType::Invoke, EventType::Ok));
        }
        assert!(parse_edn("", "<input>").unwrap().is_empty());
        assert!(parse_edn("[]", "<input>").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let ok = "{:type :ok, :process 0, :f :read}";
        let cases = [
            (
                format!("[{ok}\n {{:type :done,\n :process 0, :f :read}}]"),
                "h line 2: unknown type :done",
            ),
            (
                format!("[{ok}\n {{:process 0, :f :read}}]"),
                "h line 2: op map has no :type",
            ),
            (
                format!("[{ok}\n\n {{:type :ok, :f :read}}]"),
                "h line 3: op map has no :process",
            ),
            (
                format!("[{ok}\n {{:type :ok, :process 0}}]"),
                "h line 2: op map has no :f",
            ),
            (
                format!("[{ok}\n {{:type :ok, :process -1, :f :x}}]"),
                "h line 2: negative :process -1",
            ),
            (
                format!("[{ok}\n {{:type :ok, :process 1.5, :f :x}}]"),
                "h line 2: :process is a float",
            ),
            (
                format!("[{ok}\n {{:type :ok, :process 1, :f :x, :time :now}}]"),
                "h line 2: :time is a keyword, expected an integer",
            ),
            (
                format!("[{ok}\n [1 2]]"),
                "h line 2: expected an op map, found a vector",
            ),
            (
                format!("[{ok}\n {{:type :ok, :process}}]"),
                "h line 2: map literal with an odd number of forms",
            ),
            (format!("[{ok}\n {ok}"), "h line 1: '[' is never closed"),
            (
                format!("[{ok}\n {{:type \"ok}}]"),
                "h line 2: unterminated string",
            ),
            (format!("[{ok}\n {ok}]\n)"), "h line 3: unexpected ')'"),
            (
                format!("[{ok}\n {{:type :ok :process 0 :f :x :value [1 2}}]"),
                "h line 2: unexpected '}'",
            ),
            (
                format!("[{ok}\n {{:type :ok :process 0 :f :x :value 12abc}}]"),
                "h line 2: bad number 12abc",
            ),
            (
                format!("[{ok}\n {{:type :ok :process 0 :f :x :value \"\\q\"}}]"),
                "h line 2: unknown string escape \\q",
            ),
            ("[{: 1}]".to_string(), "h line 1: empty keyword ':'"),
        ];
        for (text, want) in cases {
            let err = parse_edn(&text, "h").unwrap_err();
            assert_eq!(err.to_string(), want, "{text}");
        }
    }

    #[test]
    fn lines_and_indices() {
        let op = |extra: &str| format!("{{:process 0, :type :invoke, :f :read{extra}}}");
        let text = format!("[{}\n\n {}\n {}]", op(""), op(""), op(""));
        let parsed = read_edn_str(&text, "h").unwrap();
        assert_eq!(parsed.lines, [1, 3, 4]);
        let text = format!("[{}\n {}]", op(", :index 5"), op(", :index 5"));
        let err = parse_edn(&text, "h.edn").unwrap_err();
        assert_eq!(
            err.to_string(),
            "h.edn line 2: index 5 again (the previous event has it too)"
        );
        // A missing index is the position, which must still come after a given one.
        let text = format!("[{}\n {}]", op(", :index 5"), op(""));
        let err = parse_edn(&text, "h.edn").unwrap_err();
        assert_eq!(
            err.to_string(),
            "h.edn line 2: index 1 is below the previous event's index 5"
        );
    }

    #[test]
    fn long_histories_parse() {
        let mut text = String::from("[");
        for i in 0..200_000 {
            text.push_str(&format!(
                "{{:process {}, :type :invoke, :f :read, :value nil}}\n",
                i % 5
            ));
        }
        text.push(']');
        let h = parse_edn(&text, "h").unwrap();
        assert_eq!(h.len(), 200_000);
        assert_eq!(h[199_999].index, 199_999);
    }

    fn sample() -> History {
        let e = |index, kind, process, f: &str, value| Event {
            index,
            time: index * 1000,
            kind,
            process,
            f: f.into(),
            value,
            error: None,
            node: None,
        };
        vec![
            e(
                0,
                EventType::Invoke,
                Process::Client(0),
                "read",
                json!([1, null]),
            ),
            e(1, EventType::Ok, Process::Client(0), "read", json!([1, 4])),
            e(
                2,
                EventType::Info,
                Process::Nemesis,
                "start-partition",
                json!("isolate [n1]"),
            ),
            e(
                3,
                EventType::Invoke,
                Process::Client(1),
                "cas",
                json!([1, [4, 5]]),
            ),
            Event {
                error: Some("timed out \"hard\"\n".into()),
                node: Some("n2".into()),
                ..e(
                    4,
                    EventType::Info,
                    Process::Client(1),
                    "cas",
                    json!([1, [4, 5]]),
                )
            },
            e(
                5,
                EventType::Fail,
                Process::Client(2),
                "odd name",
                json!({"k": ["a", -1]}),
            ),
            e(
                6,
                EventType::Invoke,
                Process::Client(3),
                "txn",
                json!([["r", "x", null]]),
            ),
            e(7, EventType::Ok, Process::Client(3), "", json!(2.5)),
        ]
    }

    #[test]
    fn writes_jepsen_style_and_round_trips() {
        let mut out = Vec::new();
        write_edn(&sample(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8);
        assert_eq!(
            lines[0],
            "[{:index 0, :time 0, :type :invoke, :process 0, :f :read, :value [1 nil]}"
        );
        assert_eq!(
            lines[2],
            " {:index 2, :time 2000, :type :info, :process :nemesis, :f :start-partition, \
             :value \"isolate [n1]\"}"
        );
        assert!(lines[4].ends_with(", :error \"timed out \\\"hard\\\"\\n\", :node \"n2\"}"));
        assert!(lines[5].contains(":f \"odd name\", :value {\"k\" [\"a\" -1]}"));
        assert!(text.ends_with("}]\n"));
        assert_eq!(parse_edn(&text, "<input>").unwrap(), sample());

        let mut empty = Vec::new();
        write_edn(&[], &mut empty).unwrap();
        assert_eq!(empty, b"[]\n");
        assert!(parse_edn("[]\n", "<input>").unwrap().is_empty());
    }
}
