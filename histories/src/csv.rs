//! CSV export of a history, for spreadsheets and plotting.
//!
//! Columns: `index,time,type,process,f,value,error,node`. `value` is compact JSON; `error`
//! and `node` are empty when absent. Fields holding a comma, a quote or a line break are
//! quoted RFC 4180-style (quotes doubled). Lines end in `\n`.

use crate::event::Event;
use std::io::{self, Write};

/// The header line's fields.
pub const CSV_HEADER: &str = "index,time,type,process,f,value,error,node";

/// Writes `history` as CSV with a [`CSV_HEADER`] line.
pub fn write_csv<W: Write>(history: &[Event], mut w: W) -> io::Result<()> {
    let mut out = String::with_capacity(64 * (history.len() + 1));
    out.push_str(CSV_HEADER);
    out.push('\n');
    for e in history {
        let fields = [
            e.index.to_string(),
            e.time.to_string(),
            e.kind.to_string(),
            e.process.to_string(),
            e.f.clone(),
            e.value.to_string(),
            e.error.clone().unwrap_or_default(),
            e.node.clone().unwrap_or_default(),
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_field(field, &mut out);
        }
        out.push('\n');
    }
    w.write_all(out.as_bytes())
}

/// Appends `field`, quoted if it needs to be.
fn push_field(field: &str, out: &mut String) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventType, Process};
    use serde_json::json;

    #[test]
    fn quotes_what_needs_quoting() {
        let cases = [
            ("plain", "plain"),
            ("", ""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
        ];
        for (field, want) in cases {
            let mut out = String::new();
            push_field(field, &mut out);
            assert_eq!(out, want, "{field:?}");
        }
    }

    #[test]
    fn writes_header_and_rows() {
        let history = vec![
            Event {
                index: 0,
                time: 5,
                kind: EventType::Invoke,
                process: Process::Client(2),
                f: "cas".into(),
                value: json!([1, [2, "x"]]),
                error: None,
                node: Some("n1".into()),
            },
            Event {
                index: 1,
                time: 9,
                kind: EventType::Info,
                process: Process::Nemesis,
                f: "kill".into(),
                value: json!(null),
                error: Some("timeout, twice".into()),
                node: None,
            },
        ];
        let mut out = Vec::new();
        write_csv(&history, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "index,time,type,process,f,value,error,node\n\
             0,5,invoke,2,cas,\"[1,[2,\"\"x\"\"]]\",,n1\n\
             1,9,info,nemesis,kill,null,\"timeout, twice\",\n"
        );
    }
}
