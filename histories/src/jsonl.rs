//! squall's native history format: one JSON [`Event`] per line.
//!
//! Writing: [`JsonlWriter`] hands each event to the OS as one `write_all` on an unbuffered
//! file the moment it happens, so a crashed or killed run loses at most the line being
//! written, and [`JsonlWriter::sync`] makes what was written durable. [`write_jsonl_line`]
//! writes any serializable value the same way (plans use it).
//!
//! Reading: [`read_jsonl_str`] / [`read_jsonl_file`]. Blank lines are skipped. A last line
//! that is cut short (the file does not end in `\n` and the line does not parse) is what a
//! crashed writer leaves: it is dropped with a warning, since every complete line before it
//! is still a faithful prefix of the run. A malformed line anywhere else is an error naming
//! the line. A JSON array of events (`[{...}, ...]`) is read too.

use crate::error::HistoryError;
use crate::event::{Event, EventType};
use crate::order::check_indices;
use crate::read::{decode_utf8, Parsed};
use serde::Serialize;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Serializes `value` as one line of compact JSON ending in `\n`, handed to `w` in a single
/// `write_all` (so an unbuffered file gets the whole line in one system call).
pub fn write_jsonl_line<W: Write + ?Sized, T: Serialize + ?Sized>(
    w: &mut W,
    value: &T,
) -> io::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    w.write_all(&line)
}

/// Appends events to a JSONL history, one line per event, each written through at once.
///
/// Deliberately unbuffered: the history is the evidence of a run, and a run is expected to
/// crash or be killed. Call [`JsonlWriter::sync`] at checkpoints and at the end.
#[derive(Debug)]
pub struct JsonlWriter<W = File> {
    out: W,
    path: PathBuf,
}

impl JsonlWriter<File> {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, HistoryError> {
        let path = path.as_ref();
        let out = File::create(path).map_err(|e| HistoryError::io("creating", path, e))?;
        Ok(JsonlWriter {
            out,
            path: path.to_path_buf(),
        })
    }

    /// Flushes what was written to stable storage (`fsync` of the data).
    pub fn sync(&mut self) -> Result<(), HistoryError> {
        self.out
            .sync_data()
            .map_err(|e| HistoryError::io("syncing", &self.path, e))
    }
}

impl<W: Write> JsonlWriter<W> {
    /// Wraps any writer; `name` stands for it in error messages. Give it an unbuffered
    /// writer if lines must reach the OS as they are appended.
    pub fn new(out: W, name: impl Into<PathBuf>) -> Self {
        JsonlWriter {
            out,
            path: name.into(),
        }
    }

    /// Writes `event` as one line.
    pub fn append(&mut self, event: &Event) -> Result<(), HistoryError> {
        self.append_value(event)
    }

    /// Writes any serializable value as one line (e.g. a plan step).
    pub fn append_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), HistoryError> {
        write_jsonl_line(&mut self.out, value)
            .map_err(|e| HistoryError::io("writing", &self.path, e))
    }

    /// The path (or name) errors refer to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Unwraps the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads the JSONL history at `path`. See [`read_jsonl_str`].
pub fn read_jsonl_file(path: impl AsRef<Path>) -> Result<Parsed, HistoryError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| HistoryError::io("reading", path, e))?;
    read_jsonl_str(&decode_utf8(&bytes, &name)?, &name)
}

/// Parses a JSONL history; `source_name` (a file name, or `<input>`) is used in messages.
///
/// Blank lines are skipped. An unparsable last line with no final `\n` is dropped with a
/// warning; any other malformed line is an error naming its 1-based line. If the first
/// non-blank character is `[`, the text is read as one JSON array of events instead. Indices
/// must increase ([`crate::order::check_indices`]).
pub fn read_jsonl_str(text: &str, source_name: &str) -> Result<Parsed, HistoryError> {
    if text.trim_start().starts_with('[') {
        return read_json_array(text, source_name);
    }
    let mut parsed = Parsed::default();
    let ends_with_newline = text.ends_with('\n');
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((i, raw)) = lines.next() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(event) => {
                parsed.history.push(event);
                parsed.lines.push(line_no);
            }
            Err(_) if lines.peek().is_none() && !ends_with_newline => {
                parsed.warnings.push(format!(
                    "{source_name} line {line_no}: incomplete last line (crashed run?), \
                     checked up to line {}",
                    line_no - 1
                ));
            }
            Err(e) => return Err(line_error(source_name, line_no, line, &e)),
        }
    }
    check_indices(&parsed.history, &parsed.lines, source_name)?;
    Ok(parsed)
}

/// Reads a JSON array of events (`[{...}, {...}]`), one element at a time, so that each
/// event's line is known.
fn read_json_array(text: &str, source_name: &str) -> Result<Parsed, HistoryError> {
    let bytes = text.as_bytes();
    let mut parsed = Parsed::default();
    // Lines are counted incrementally: `line` is the 1-based line of byte `counted`.
    let (mut line, mut counted) = (1, 0);
    let mut line_at = |pos: usize| {
        line += bytes[counted..pos].iter().filter(|&&b| b == b'\n').count();
        counted = pos;
        line
    };
    let skip_ws = |mut pos: usize| {
        while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
            pos += 1;
        }
        pos
    };
    // The caller saw a `[` first, after whitespace as `trim_start` knows it (Unicode's: more
    // than JSON's, so not `skip_ws`).
    let mut pos = text.len() - text.trim_start().len() + 1;
    let mut expect_element = true;
    loop {
        pos = skip_ws(pos);
        match bytes.get(pos) {
            None => {
                let line = line_at(pos);
                return Err(HistoryError::parse(source_name, line, "unterminated array"));
            }
            Some(b']') if parsed.history.is_empty() || !expect_element => {
                pos += 1;
                break;
            }
            Some(b',') if !expect_element => {
                pos += 1;
                expect_element = true;
            }
            Some(_) if expect_element => {
                let start = pos;
                let mut events =
                    serde_json::Deserializer::from_str(&text[start..]).into_iter::<Event>();
                let first = events.next();
                let end = start + events.byte_offset();
                let start_line = line_at(start);
                match first {
                    Some(Ok(event)) => {
                        parsed.history.push(event);
                        parsed.lines.push(start_line);
                    }
                    Some(Err(e)) => {
                        // serde's line is relative to the element's start.
                        let line = start_line + e.line().saturating_sub(1);
                        let message = message_without_position(&e);
                        return Err(HistoryError::parse(source_name, line, message));
                    }
                    None => {
                        let message = "expected an event in the array";
                        return Err(HistoryError::parse(source_name, start_line, message));
                    }
                }
                pos = end;
                expect_element = false;
            }
            Some(&b) => {
                let line = line_at(pos);
                let found = if b.is_ascii_graphic() {
                    format!("'{}'", b as char)
                } else {
                    format!("byte {b:#04x}")
                };
                let message = format!("expected ',' or ']' in the array, found {found}");
                return Err(HistoryError::parse(source_name, line, message));
            }
        }
    }
    pos = skip_ws(pos);
    if pos < bytes.len() {
        let line = line_at(pos);
        return Err(HistoryError::parse(
            source_name,
            line,
            "trailing characters after the array",
        ));
    }
    check_indices(&parsed.history, &parsed.lines, source_name)?;
    Ok(parsed)
}

/// The error for line `line_no`, whose text is `line`: an unknown event type gets its own
/// message; anything else is serde's message with the column.
fn line_error(
    source_name: &str,
    line_no: usize,
    line: &str,
    e: &serde_json::Error,
) -> HistoryError {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(line) {
        if let Some(kind) = map.get("type") {
            let known = kind.as_str().and_then(EventType::parse).is_some();
            if !known {
                return HistoryError::UnknownType {
                    file: source_name.to_owned(),
                    line: line_no,
                    found: kind.to_string(),
                };
            }
        }
    }
    let message = format!("{} (column {})", message_without_position(e), e.column());
    HistoryError::parse(source_name, line_no, message)
}

/// serde_json's message without its trailing " at line L column C" (we give our own line).
fn message_without_position(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(at) => full[..at].to_owned(),
        None => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Process;
    use serde_json::json;

    fn event(index: u64, kind: EventType, process: Process, value: serde_json::Value) -> Event {
        Event {
            index,
            time: index * 10,
            kind,
            process,
            f: "write".into(),
            value,
            error: None,
            node: Some("n1".into()),
        }
    }

    fn sample() -> Vec<Event> {
        vec![
            event(0, EventType::Invoke, Process::Client(0), json!([1, 3])),
            event(1, EventType::Info, Process::Nemesis, json!("partition")),
            Event {
                error: Some("timeout".into()),
                ..event(2, EventType::Info, Process::Client(0), json!([1, 3]))
            },
        ]
    }

    fn to_text(events: &[Event]) -> String {
        let mut w = JsonlWriter::new(Vec::new(), "<memory>");
        for e in events {
            w.append(e).unwrap();
        }
        String::from_utf8(w.into_inner()).unwrap()
    }

    #[test]
    fn writes_one_line_per_event_and_reads_back() {
        let text = to_text(&sample());
        assert_eq!(text.lines().count(), 3);
        assert!(text.starts_with(
            "{\"index\":0,\"time\":0,\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\
             \"value\":[1,3],\"node\":\"n1\"}\n"
        ));
        let parsed = read_jsonl_str(&text, "<input>").unwrap();
        assert_eq!(parsed.history, sample());
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn crashed_last_line_is_dropped_with_a_warning() {
        let text = to_text(&sample());
        let cut = &text[..text.len() - 20];
        let parsed = read_jsonl_str(cut, "history.jsonl").unwrap();
        assert_eq!(parsed.history, sample()[..2]);
        assert_eq!(
            parsed.warnings,
            ["history.jsonl line 3: incomplete last line (crashed run?), checked up to line 2"]
        );
    }

    #[test]
    fn complete_last_line_without_newline_is_kept() {
        let text = to_text(&sample());
        let parsed = read_jsonl_str(text.trim_end(), "h").unwrap();
        assert_eq!(parsed.history, sample());
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn malformed_lines_are_errors_naming_the_line() {
        let good = r#"{"index":0,"time":0,"type":"ok","process":0,"f":"read"}"#;
        let done = r#"{"index":1,"time":0,"type":"done","process":0,"f":"read"}"#;
        let bad_process = r#"{"index":0,"time":0,"type":"ok","process":"x","f":"r"}"#;
        let cases = [
            (
                format!("{good}\n{done}\n"),
                "h line 2: unknown type \"done\"",
            ),
            (
                format!("{good}\n\n{{\"index\":1\n{good}\n"),
                "h line 3: EOF while parsing an object (column 10)",
            ),
            (
                format!("{good}\n{{\"index\":1,\"time\":0,\"type\":\"ok\",\"f\":\"read\"}}\n"),
                "h line 2: missing field `process` (column 43)",
            ),
            (
                format!("{bad_process}\n{good}"),
                "h line 1: unknown process \"x\" (column 45)",
            ),
            // A bad line is only forgiven when it is the last one and has no newline.
            (
                format!("{good}\n{{\"index\":\n"),
                "h line 2: EOF while parsing a value (column 9)",
            ),
        ];
        for (text, want) in cases {
            let err = read_jsonl_str(&text, "h").unwrap_err();
            assert_eq!(err.to_string(), want, "{text:?}");
        }
    }

    #[test]
    fn blank_and_crlf_lines_are_fine() {
        let text = to_text(&sample()).replace('\n', "\r\n\n  \n");
        let parsed = read_jsonl_str(&text, "h").unwrap();
        assert_eq!(parsed.history, sample());
    }

    #[test]
    fn reads_a_json_array() {
        let text = serde_json::to_string_pretty(&sample()).unwrap();
        assert_eq!(read_jsonl_str(&text, "h").unwrap().history, sample());
        let err = read_jsonl_str("[\n{\"index\": 0}\n]", "h").unwrap_err();
        assert!(
            err.to_string().starts_with("h line 2: missing field"),
            "{err}"
        );
        // Each element's line is known, errors inside an element name their own line.
        let e = |i: u64| serde_json::to_string(&sample()[i as usize]).unwrap();
        let text = format!("[\n{},\n\n  {} ,{}\n]\n", e(0), e(1), e(2));
        let parsed = read_jsonl_str(&text, "h").unwrap();
        assert_eq!(parsed.history, sample());
        assert_eq!(parsed.lines, [2, 4, 4]);
        assert!(read_jsonl_str(" [ ] ", "h").unwrap().history.is_empty());
        // Found by fuzzing: Unicode whitespace before the array (it once split a character).
        let err = read_jsonl_str("\u{1680}[\n {{,", "h").unwrap_err();
        assert!(err.to_string().starts_with("h line 2: "), "{err}");
        let cases = [
            (
                format!("[{}\n{}]", e(0), e(1)),
                "h line 2: expected ',' or ']' in the array, found '{'",
            ),
            (format!("[{},\n]", e(0)), "h line 2: expected value"),
            (format!("[{}", e(0)), "h line 1: unterminated array"),
            (
                format!("[{}] x", e(0)),
                "h line 1: trailing characters after the array",
            ),
            (
                format!("[{},\n{{\"index\": 1,\n \"time\": \"x\"}}]", e(0)),
                "h line 3: invalid type: string \"x\", expected u64",
            ),
            (
                format!("[{},\n{}]", e(1), e(0)),
                "h line 2: index 0 is below the previous event's index 1",
            ),
        ];
        for (text, want) in cases {
            let err = read_jsonl_str(&text, "h").unwrap_err();
            assert_eq!(err.to_string(), want, "{text}");
        }
    }

    #[test]
    fn lines_are_recorded_and_indices_must_increase() {
        let text = to_text(&sample()).replace('\n', "\n\n");
        let parsed = read_jsonl_str(&text, "h").unwrap();
        assert_eq!(parsed.lines, [1, 3, 5]);
        let mut events = sample();
        events[2].index = 1;
        let err = read_jsonl_str(&to_text(&events), "h.jsonl").unwrap_err();
        assert_eq!(
            err.to_string(),
            "h.jsonl line 3: index 1 again (the previous event has it too)"
        );
        events[2].index = 0;
        let err = read_jsonl_str(&to_text(&events), "h.jsonl").unwrap_err();
        assert!(matches!(err, HistoryError::Order { line: 3, .. }), "{err}");
    }

    #[test]
    fn writer_creates_syncs_and_reads_back_a_file() {
        let dir = std::env::temp_dir().join(format!("histories-jsonl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("history.jsonl");
        let mut w = JsonlWriter::create(&path).unwrap();
        assert_eq!(w.path(), path);
        for e in sample() {
            w.append(&e).unwrap();
        }
        w.sync().unwrap();
        drop(w);
        let parsed = read_jsonl_file(&path).unwrap();
        assert_eq!(parsed.history, sample());
        std::fs::remove_dir_all(&dir).unwrap();
        let err = JsonlWriter::create(dir.join("history.jsonl")).unwrap_err();
        assert!(err.to_string().starts_with("creating "), "{err}");
    }

    #[test]
    fn writes_any_value_as_a_line() {
        let mut out = Vec::new();
        write_jsonl_line(&mut out, &json!({"step": 1, "fault": "partition"})).unwrap();
        write_jsonl_line(&mut out, "x").unwrap();
        assert_eq!(out, b"{\"fault\":\"partition\",\"step\":1}\n\"x\"\n");
    }
}
