//! Jepsen's console log: the op lines a Jepsen run logs through `jepsen.util`, one per event,
//!
//! ```text
//! INFO  jepsen.util - 3 :invoke :cas [3 0]
//! INFO  jepsen.util - 3 :ok :cas [3 0]
//! INFO  jepsen.util - 4 :info :write :timed-out
//! INFO  jepsen.util - :nemesis :info :start nil
//! ```
//!
//! — process, type, function, value (EDN, the rest of the line), separated by tabs or spaces — the form in which many
//! published histories (etcd's, among them) exist. A line is an op line when `jepsen.util -`
//! is followed by a process (an integer or a keyword) and one of `:invoke`, `:ok`, `:fail`,
//! `:info`; every other line (other log messages, whatever precedes `jepsen.util`, such as a
//! timestamp) is skipped. The log has no times: events are ordered by their place in it, as
//! EDN histories without `:time` are.

use crate::edn::parse_edn;
use crate::error::HistoryError;
use crate::event::History;

/// What introduces an op in a log line.
const MARK: &str = "jepsen.util -";

/// The op fields of a log line: `(process, type, f, value)`, or `None` if it is no op line.
fn op_fields(line: &str) -> Option<(&str, &str, &str, &str)> {
    let rest = line[line.find(MARK)? + MARK.len()..].trim_start();
    let (process, rest) = rest.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (kind, rest) = rest.split_once(char::is_whitespace)?;
    let is_process = process.parse::<u64>().is_ok()
        || (process.len() > 1 && process.starts_with(':') && !process.contains(['{', '[']));
    if !is_process || !matches!(kind, ":invoke" | ":ok" | ":fail" | ":info") {
        return None;
    }
    let rest = rest.trim_start();
    let (f, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some((process, kind, f, value.trim()))
}

/// Whether `text` has an op line among its first lines (for format detection).
pub(crate) fn looks_like_jepsen_log(text: &str) -> bool {
    text.lines().take(200).any(|l| op_fields(l).is_some())
}

/// Parses the op lines of a Jepsen log (see the module doc). `source_name` (a file name, or
/// `<input>`) is used in error messages, which name the line.
pub fn parse_jepsen_log(text: &str, source_name: &str) -> Result<History, HistoryError> {
    let mut history = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some((process, kind, f, value)) = op_fields(line) else {
            continue;
        };
        let value = if value.is_empty() { "nil" } else { value };
        // One op map, read by the EDN reader: values mean what they mean in EDN histories.
        let map = format!("{{:process {process}, :type {kind}, :f {f}, :value {value}}}");
        let parsed = parse_edn(&map, source_name).map_err(|e| {
            let message = match e {
                HistoryError::Parse { message, .. } => message,
                other => other.to_string(),
            };
            let message = format!("cannot read the op {line:?} ({message} in its value {value:?})");
            HistoryError::parse(source_name, n + 1, message)
        })?;
        let [mut event] = <[_; 1]>::try_from(parsed).map_err(|_| {
            HistoryError::parse(source_name, n + 1, format!("not one op: {line:?}"))
        })?;
        event.index = history.len() as u64;
        history.push(event);
    }
    Ok(history)
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

    #[test]
    fn reads_op_lines_and_skips_the_rest() {
        assert!(looks_like_jepsen_log(LOG));
        let h = parse_jepsen_log(LOG, "x.log").unwrap();
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
    fn a_malformed_value_names_its_line() {
        let text =
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t[1\n";
        let e = parse_jepsen_log(text, "bad.log").unwrap_err();
        assert!(e.to_string().starts_with("bad.log line 2: "), "{e}");
        assert!(e.to_string().contains("in its value \"[1\""), "{e}");
    }

    #[test]
    fn other_text_is_no_jepsen_log() {
        assert!(!looks_like_jepsen_log("index,time\n1,2\n"));
        assert!(!looks_like_jepsen_log("INFO jepsen.util - starting\n"));
    }
}
