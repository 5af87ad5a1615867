//! The order of a history: what `index` and `time` must say about it.
//!
//! A history is a sequence: Jepsen appends each event when it happens, so an event's position
//! in the history *is* its place in real time, and that is what the checkers order operations
//! by (an op precedes another when its completion comes before the other's invocation in the
//! history). `index` names a position; `time` is informational (it is shown in reports). So
//! both must agree with the order of the file, and a file where they do not is suspect: the
//! file was sorted, concatenated or edited, or its writer's clock is not the order it wrote
//! events in. Checking it anyway would judge an order the file does not mean.
//!
//! - [`check_indices`]: each event's `index` is above the previous event's (gaps are fine: a
//!   history filtered down to its client events keeps its indices). A repeated or decreasing
//!   index is an error; every reader of this crate applies it.
//! - [`check_times`]: `time` never decreases along the history (ties are fine: a coarse clock,
//!   or events without times, all 0). Since a completion comes after its invocation in the
//!   history, this also rules out a completion timed before its own invocation. Readers do not
//!   apply it (a caller may choose to accept disorder and order by position anyway, with a
//!   warning): call it, or [`Parsed::check_times`](crate::Parsed::check_times).
//!
//! Both name the 1-based line of the offending event (`lines[i]` is event `i`'s line).

use crate::error::HistoryError;
use crate::event::Event;

/// `Err` naming the line of the first event whose `index` is not above the previous event's.
pub fn check_indices(history: &[Event], lines: &[usize], file: &str) -> Result<(), HistoryError> {
    for (i, pair) in history.windows(2).enumerate() {
        let (before, event) = (&pair[0], &pair[1]);
        if event.index > before.index {
            continue;
        }
        let message = if event.index == before.index {
            format!(
                "index {} again (the previous event has it too)",
                event.index
            )
        } else {
            format!(
                "index {} is below the previous event's index {}",
                event.index, before.index
            )
        };
        return Err(order_error(file, line_of(lines, i + 1), message));
    }
    Ok(())
}

/// `Err` naming the line of the first event whose `time` is below the previous event's.
pub fn check_times(history: &[Event], lines: &[usize], file: &str) -> Result<(), HistoryError> {
    for (i, pair) in history.windows(2).enumerate() {
        let (before, event) = (&pair[0], &pair[1]);
        if event.time < before.time {
            let message = format!(
                "time {} is before the previous event's time {}",
                event.time, before.time
            );
            return Err(order_error(file, line_of(lines, i + 1), message));
        }
    }
    Ok(())
}

/// How many events have a `time` below the previous event's.
pub fn time_disorders(history: &[Event]) -> usize {
    history.windows(2).filter(|p| p[1].time < p[0].time).count()
}

/// Event `i`'s line; if the caller has no lines, its 1-based position.
fn line_of(lines: &[usize], i: usize) -> usize {
    lines.get(i).copied().unwrap_or(i + 1)
}

fn order_error(file: &str, line: usize, message: String) -> HistoryError {
    HistoryError::Order {
        file: file.to_owned(),
        line,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventType, Process};

    fn events(pairs: &[(u64, u64)]) -> Vec<Event> {
        pairs
            .iter()
            .map(|&(index, time)| Event {
                index,
                time,
                kind: EventType::Invoke,
                process: Process::Client(0),
                f: "read".into(),
                value: serde_json::Value::Null,
                error: None,
                node: None,
            })
            .collect()
    }

    #[test]
    fn indices_must_increase() {
        let lines = [1, 2, 4, 5];
        assert!(check_indices(&events(&[(0, 0), (1, 0), (5, 0), (9, 0)]), &lines, "h").is_ok());
        let e = check_indices(&events(&[(0, 0), (1, 0), (1, 0)]), &lines, "h").unwrap_err();
        assert_eq!(
            e.to_string(),
            "h line 4: index 1 again (the previous event has it too)"
        );
        let e = check_indices(&events(&[(0, 0), (3, 0), (2, 0)]), &lines, "h").unwrap_err();
        assert_eq!(
            e.to_string(),
            "h line 4: index 2 is below the previous event's index 3"
        );
        assert!(check_indices(&[], &[], "h").is_ok());
    }

    #[test]
    fn times_must_not_decrease() {
        let lines = [1, 2, 3, 4];
        let ties = events(&[(0, 5), (1, 5), (2, 5), (3, 5)]);
        assert!(check_times(&ties, &lines, "h").is_ok());
        let untimed = events(&[(0, 0), (1, 0)]);
        assert!(check_times(&untimed, &lines, "h").is_ok());
        let backwards = events(&[(0, 10), (1, 20), (2, 1), (3, 2)]);
        let e = check_times(&backwards, &lines, "h.jsonl").unwrap_err();
        assert_eq!(
            e.to_string(),
            "h.jsonl line 3: time 1 is before the previous event's time 20"
        );
        assert_eq!(time_disorders(&backwards), 1);
        // Without lines, positions stand in.
        let e = check_times(&backwards, &[], "h").unwrap_err();
        assert!(e.to_string().starts_with("h line 3: "), "{e}");
    }
}
