//! Reading a history file whatever its format: [`read_file`], [`Format`], [`Parsed`].
//!
//! [`Format::Auto`] decides by extension first (`.edn`; `.jsonl` or `.json`; `.log`), then
//! by the first non-blank character: `{"` is a JSON object (JSONL), `[{"` a JSON array, and
//! `[`, `(`, `{:`, `#` or a `;` comment are EDN; failing those, a text with Jepsen op log
//! lines (`... jepsen.util - 3 :invoke :read nil`) is a Jepsen log. A text with nothing but
//! whitespace reads as an empty history whatever its name (it is no format in particular, and
//! an empty history is what it holds).
//!
//! Every reader checks that indices increase ([`crate::order`]) and records the line each
//! event starts on ([`Parsed::lines`]), so that later checks can name it too.

use crate::edn::read_edn_str;
use crate::error::HistoryError;
use crate::event::History;
use crate::jepsen_log::{looks_like_jepsen_log, read_jepsen_log_str};
use crate::jsonl::read_jsonl_str;
use crate::order;
use std::path::{Path, PathBuf};

/// A history file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Decide from the extension, else from the content.
    #[default]
    Auto,
    /// squall's native format: one JSON event per line (a JSON array is accepted too).
    Jsonl,
    /// Jepsen EDN: a vector of op maps, or a sequence of op maps.
    Edn,
    /// A Jepsen console log: its `jepsen.util` op lines ([`crate::jepsen_log`]).
    JepsenLog,
}

/// A history as read, with the warnings reading it produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    /// The events, in file order.
    pub history: History,
    /// The 1-based line each event starts on (for EDN, the line of its op map's `{`):
    /// `lines[i]` is `history[i]`'s.
    pub lines: Vec<usize>,
    /// Things worth telling the user that did not stop the read, e.g. a last line cut short
    /// by a crashed writer. Each names the file and line.
    pub warnings: Vec<String>,
}

impl Parsed {
    /// `Err` naming the line of the first event whose `time` is before the previous
    /// event's ([`order::check_times`]); `source_name` is the file's name for the message.
    pub fn check_times(&self, source_name: &str) -> Result<(), HistoryError> {
        order::check_times(&self.history, &self.lines, source_name)
    }
}

/// Reads the history at `path` in format `format`.
///
/// Invalid UTF-8 is an error naming its line, except within an unterminated last line (a
/// writer that crashed mid-character), which the JSONL reader then drops with a warning.
pub fn read_file(path: impl AsRef<Path>, format: Format) -> Result<Parsed, HistoryError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| HistoryError::io("reading", path, e))?;
    read_bytes(&bytes, &path.display().to_string(), format)
}

/// Reads a history from `bytes` (a file's contents, or a stream's), in format `format`.
/// `name` stands for the input in messages, and its extension, if any, decides the format
/// under [`Format::Auto`] as a file name's would.
pub fn read_bytes(bytes: &[u8], name: &str, format: Format) -> Result<Parsed, HistoryError> {
    let text = decode_utf8(bytes, name)?;
    let format = match format {
        Format::Auto if text.trim().is_empty() => Format::Jsonl,
        Format::Auto => detect(Path::new(name), &text)?,
        known => known,
    };
    match format {
        Format::Edn => read_edn_str(&text, name),
        Format::JepsenLog => read_jepsen_log_str(&text, name),
        _ => read_jsonl_str(&text, name),
    }
}

/// Decodes `bytes` as UTF-8. Invalid bytes in an unterminated last line are cut off (with
/// that line's valid prefix kept, so the line still reads as incomplete); elsewhere they are
/// an error naming the line.
pub(crate) fn decode_utf8<'a>(
    bytes: &'a [u8],
    name: &str,
) -> Result<std::borrow::Cow<'a, str>, HistoryError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.into()),
        Err(e) => {
            let good = e.valid_up_to();
            let in_last_line = !bytes[good..].contains(&b'\n');
            if in_last_line {
                // Valid by construction: `good` is where the valid prefix ends.
                Ok(String::from_utf8_lossy(&bytes[..good]))
            } else {
                let line = 1 + bytes[..good].iter().filter(|&&b| b == b'\n').count();
                Err(HistoryError::parse(name, line, "invalid UTF-8"))
            }
        }
    }
}

/// Picks a format for `path` from its extension, else from `text`.
fn detect(path: &Path, text: &str) -> Result<Format, HistoryError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("edn") => return Ok(Format::Edn),
        Some("jsonl" | "json" | "ndjson") => return Ok(Format::Jsonl),
        Some("log") => return Ok(Format::JepsenLog),
        _ => {}
    }
    sniff(text).ok_or_else(|| HistoryError::UnknownFormat {
        path: PathBuf::from(path),
    })
}

/// Guesses the format from the first non-blank characters, or `None` if they say nothing.
pub(crate) fn sniff(text: &str) -> Option<Format> {
    let mut rest = text.trim_start().chars();
    let first = rest.next()?;
    let next = rest.as_str().trim_start().chars().next();
    match (first, next) {
        ('{', Some('"')) => Some(Format::Jsonl),
        ('[', Some('{')) => {
            let after = rest.as_str().trim_start()[1..].trim_start();
            if after.starts_with('"') {
                Some(Format::Jsonl)
            } else {
                Some(Format::Edn)
            }
        }
        ('{', Some(':')) | ('[' | '(' | '#' | ';', _) => Some(Format::Edn),
        _ if looks_like_jepsen_log(text) => Some(Format::JepsenLog),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_first_characters() {
        let cases = [
            ("{\"index\":0}", Some(Format::Jsonl)),
            ("\n  { \"index\":0}", Some(Format::Jsonl)),
            ("[{\"index\":0}]", Some(Format::Jsonl)),
            ("[ \n { \"index\":0}]", Some(Format::Jsonl)),
            ("[{:type :invoke}]", Some(Format::Edn)),
            ("[]", Some(Format::Edn)),
            ("{:type :ok}", Some(Format::Edn)),
            ("({:type :ok})", Some(Format::Edn)),
            ("; comment\n[{:type :ok}]", Some(Format::Edn)),
            ("#jepsen.history.Op{:type :ok}", Some(Format::Edn)),
            ("", None),
            ("   ", None),
            ("index,time", None),
            (
                "INFO  jepsen.util - 0\t:invoke\t:read\tnil",
                Some(Format::JepsenLog),
            ),
            (
                "2021-02-26 23:39:01,303{GMT}\tINFO\t[jepsen worker 1] jepsen.util: \
                 1\t:ok\t:write\t[0 2]",
                Some(Format::JepsenLog),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(sniff(text), want, "{text:?}");
        }
    }

    #[test]
    fn truncated_utf8_in_last_line_is_cut() {
        let mut bytes = b"{\"a\":1}\n{\"f\":\"\xc3".to_vec();
        assert_eq!(decode_utf8(&bytes, "h").unwrap(), "{\"a\":1}\n{\"f\":\"");
        bytes.extend_from_slice(b"\n{}\n");
        let err = decode_utf8(&bytes, "h").unwrap_err();
        assert_eq!(err.to_string(), "h line 2: invalid UTF-8");
    }

    #[test]
    fn reads_files_by_extension_and_content() {
        let dir = std::env::temp_dir().join(format!("histories-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let jsonl = "{\"index\":0,\"time\":1,\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n";
        let edn = "[{:index 0, :time 1, :type :invoke, :process 0, :f :read}]\n";
        let cases = [
            ("a.jsonl", jsonl),
            ("a.edn", edn),
            ("noext-json", jsonl),
            ("noext-edn", edn),
        ];
        for (name, text) in cases {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let parsed = read_file(&path, Format::Auto).unwrap();
            assert_eq!(parsed.history.len(), 1, "{name}");
            assert_eq!(parsed.history[0].f, "read", "{name}");
        }
        // Blank text is an empty history, whatever the name says.
        let blank = dir.join("blank");
        std::fs::write(&blank, " \n\n").unwrap();
        assert!(read_file(&blank, Format::Auto).unwrap().history.is_empty());
        let odd = dir.join("odd");
        std::fs::write(&odd, "index,time\n").unwrap();
        assert!(matches!(
            read_file(&odd, Format::Auto),
            Err(HistoryError::UnknownFormat { .. })
        ));
        let missing = read_file(dir.join("missing.jsonl"), Format::Auto).unwrap_err();
        assert!(missing.to_string().starts_with("reading "), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
