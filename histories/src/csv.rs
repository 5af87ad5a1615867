//! CSV export of a history, for spreadsheets and plotting.
//!
//! Columns: `index,time,type,process,f,value,error,node`. `value` is compact JSON; `error`
//! and `node` are empty when absent. Fields holding a comma, a quote or a line break are
//! quoted RFC 4180-style (quotes doubled). Lines end in `\n`. The writing is the `csv`
//! crate's.

use crate::event::Event;
use std::io::{self, Write};

/// The header line's fields.
pub const CSV_HEADER: &str = "index,time,type,process,f,value,error,node";

/// Writes `history` as CSV with a [`CSV_HEADER`] line.
pub fn write_csv<W: Write>(history: &[Event], w: W) -> io::Result<()> {
    let mut out = writer(w);
    out.write_record(CSV_HEADER.split(','))?;
    for e in history {
        out.write_record([
            e.index.to_string().as_str(),
            &e.time.to_string(),
            &e.kind.to_string(),
            &e.process.to_string(),
            &e.f,
            &e.value.to_string(),
            e.error.as_deref().unwrap_or_default(),
            e.node.as_deref().unwrap_or_default(),
        ])?;
    }
    out.flush()
}

/// A CSV writer as this file promises: quotes only where needed, `\n` line ends.
fn writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(w)
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
            ("cr\rhere", "\"cr\rhere\""),
        ];
        for (field, want) in cases {
            let mut w = writer(Vec::new());
            w.write_record([field, "x"]).unwrap();
            let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
            assert_eq!(out, format!("{want},x\n"), "{field:?}");
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
