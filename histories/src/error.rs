//! The crate's one error type.
//!
//! Messages are short and name the file and, for content errors, the 1-based line:
//! `history.jsonl line 12: unknown type "done"`. The underlying I/O error is kept as the
//! error's `source`, so a binary that prints the whole chain shows
//! `reading history.jsonl: No such file or directory (os error 2)`.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong reading or writing a history.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// An I/O operation on a file failed.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done: `reading`, `creating`, `writing`, `syncing`.
        action: &'static str,
        /// The file (or, for an in-memory writer, the name it was given).
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A line (or, for EDN, a form) is not well-formed, or an op lacks a required field.
    #[error("{file} line {line}: {message}")]
    Parse {
        /// The file name, or `<input>` for text given in memory.
        file: String,
        /// 1-based line; for EDN, the line where the offending op map starts.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An event's `index` or `time` disagrees with its place in the history (see
    /// [`crate::order`]).
    #[error("{file} line {line}: {message}")]
    Order {
        /// The file name, or `<input>`.
        file: String,
        /// 1-based line of the event out of order.
        line: usize,
        /// What is out of order.
        message: String,
    },
    /// An event's type is not one of `invoke`, `ok`, `fail`, `info`.
    #[error("{file} line {line}: unknown type {found}")]
    UnknownType {
        /// The file name, or `<input>`.
        file: String,
        /// 1-based line.
        line: usize,
        /// The type as written in the file (`"done"` in JSON, `:done` in EDN).
        found: String,
    },
    /// [`Format::Auto`](crate::Format::Auto) could not tell the format.
    #[error(
        "{}: can't tell the history format (expected a .jsonl, .edn or Jepsen .log file, \
         or content starting with '{{\"' or '[', or Jepsen log lines)",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
}

impl HistoryError {
    /// A [`HistoryError::Parse`] for `file`, `line`.
    pub(crate) fn parse(file: &str, line: usize, message: impl Into<String>) -> Self {
        HistoryError::Parse {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }

    /// A [`HistoryError::Io`] for `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        HistoryError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn messages_name_file_and_line() {
        let cases: Vec<(HistoryError, &str)> = vec![
            (
                HistoryError::parse("history.jsonl", 3, "expected value (column 1)"),
                "history.jsonl line 3: expected value (column 1)",
            ),
            (
                HistoryError::UnknownType {
                    file: "history.jsonl".into(),
                    line: 12,
                    found: "\"done\"".into(),
                },
                "history.jsonl line 12: unknown type \"done\"",
            ),
            (
                HistoryError::io(
                    "reading",
                    "runs/h.edn",
                    io::Error::new(io::ErrorKind::NotFound, "gone"),
                ),
                "reading runs/h.edn",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn io_error_keeps_its_source() {
        let err = HistoryError::io("reading", "h", io::Error::other("boom"));
        assert_eq!(err.source().unwrap().to_string(), "boom");
    }
}
