//! Whether the cluster served: how many client ops completed `ok`, the longest stretch of the
//! run in which none did, and how long before the end the last one did.
//!
//! A verdict judges only what was observed: a cluster that stopped answering half-way
//! through a run — every later op `info` — contradicts no model, and its run is `valid`. The
//! person reading it in the morning needs to see that the verdict rests on little; this is
//! the line that shows it (`squall run` prints it beside the verdict, `results.json` keeps it
//! as `availability`). Read from the history alone, in the history's own times.

use histories::{Event, EventType, Process};
use serde_json::{json, Value};

/// A stretch without an `ok` longer than this many seconds is worth a person's attention
/// (squall's default faults last 3–6 s; a healthy cluster answers within them).
pub const NOTABLE_GAP_S: f64 = 10.0;

/// The figures, or `None` for a history without client ops.
pub fn summarise(history: &[Event]) -> Option<Value> {
    let clients = history
        .iter()
        .filter(|e| matches!(e.process, Process::Client(_)));
    let (mut first, mut last) = (None::<u64>, 0u64);
    let (mut ops, mut ok, mut info) = (0u64, 0u64, 0u64);
    // The longest stretch without an ok completion: from the first client event (or the
    // previous ok) to the next ok, or to the last client event.
    let (mut since, mut gap, mut gap_from) = (0u64, 0u64, 0u64);
    for e in clients {
        if first.is_none() {
            (first, since) = (Some(e.time), e.time);
        }
        last = last.max(e.time);
        match e.kind {
            EventType::Invoke => ops += 1,
            EventType::Ok => {
                ok += 1;
                if e.time.saturating_sub(since) > gap {
                    (gap, gap_from) = (e.time - since, since);
                }
                since = e.time;
            }
            EventType::Info => info += 1,
            EventType::Fail => {}
        }
    }
    let first = first?;
    let tail = last.saturating_sub(since);
    if tail > gap {
        (gap, gap_from) = (tail, since);
    }
    let s = |ns: u64| (ns as f64 / 1e9 * 10.0).round() / 10.0;
    Some(json!({
        "ops": ops,
        "ok": ok,
        "info": info,
        "longest_without_ok_s": s(gap),
        "longest_without_ok_from_s": s(gap_from.saturating_sub(first)),
        "last_ok_before_end_s": if ok == 0 { Value::Null } else { json!(s(tail)) },
    }))
}

/// The line for the person: `availability: 1194 ops, 103 ok; none ok for 45.2s (from
/// 13.6s) — the cluster did not serve again before the end`.
pub fn line(v: &Value) -> String {
    let (ops, ok) = (
        v["ops"].as_u64().unwrap_or(0),
        v["ok"].as_u64().unwrap_or(0),
    );
    let gap = v["longest_without_ok_s"].as_f64().unwrap_or(0.0);
    let from = v["longest_without_ok_from_s"].as_f64().unwrap_or(0.0);
    let mut line = format!("availability: {ops} ops, {ok} ok");
    if ok == 0 {
        line.push_str(" — no op succeeded: the verdict rests on nothing observed");
    } else if gap >= NOTABLE_GAP_S {
        line.push_str(&format!("; none ok for {gap:.1}s (from {from:.1}s)"));
        if v["last_ok_before_end_s"].as_f64() == Some(gap) {
            line.push_str(" — the cluster did not serve again before the end");
        }
    } else {
        line.push_str(&format!("; never more than {gap:.1}s without one"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(time_s: f64, process: u64, kind: EventType) -> Event {
        Event {
            index: 0,
            time: (time_s * 1e9) as u64,
            kind,
            process: Process::Client(process),
            f: "read".into(),
            value: Value::Null,
            error: None,
            node: None,
        }
    }

    fn history(spans: &[(f64, f64, EventType)]) -> Vec<Event> {
        let mut h: Vec<Event> = spans
            .iter()
            .enumerate()
            .flat_map(|(p, &(a, b, kind))| {
                [ev(a, p as u64, EventType::Invoke), ev(b, p as u64, kind)]
            })
            .collect();
        h.sort_by_key(|e| e.time);
        h
    }

    #[test]
    fn a_cluster_that_stops_serving_is_named_so() {
        use EventType::{Info, Ok};
        // Ops ok until 3 s, then only info until 50 s.
        let h = history(&[
            (1.0, 1.1, Ok),
            (2.0, 3.0, Ok),
            (4.0, 5.0, Info),
            (20.0, 21.0, Info),
            (49.0, 50.0, Info),
        ]);
        let v = summarise(&h).unwrap();
        assert_eq!(v["ops"], 5);
        assert_eq!(v["ok"], 2);
        assert_eq!(v["info"], 3);
        assert_eq!(v["longest_without_ok_s"], 47.0);
        assert_eq!(v["longest_without_ok_from_s"], 2.0);
        assert_eq!(v["last_ok_before_end_s"], 47.0);
        assert_eq!(
            line(&v),
            "availability: 5 ops, 2 ok; none ok for 47.0s (from 2.0s) — the cluster did not \
             serve again before the end"
        );
    }

    #[test]
    fn a_gap_in_the_middle_and_a_healthy_run() {
        use EventType::{Fail, Info, Ok};
        let h = history(&[
            (0.0, 0.5, Ok),
            (1.0, 2.0, Info),
            (14.0, 14.5, Ok),
            (15.0, 15.2, Fail),
            (16.0, 16.1, Ok),
        ]);
        let v = summarise(&h).unwrap();
        assert_eq!(v["longest_without_ok_s"], 14.0);
        assert_eq!(v["longest_without_ok_from_s"], 0.5);
        assert_eq!(
            line(&v),
            "availability: 5 ops, 3 ok; none ok for 14.0s (from 0.5s)"
        );
        let healthy = history(&[(0.0, 0.5, Ok), (1.0, 1.5, Ok), (2.0, 2.1, Ok)]);
        assert_eq!(
            line(&summarise(&healthy).unwrap()),
            "availability: 3 ops, 3 ok; never more than 1.0s without one"
        );
    }

    #[test]
    fn no_ok_at_all_and_no_client_ops() {
        let h = history(&[(0.0, 1.0, EventType::Info), (2.0, 3.0, EventType::Fail)]);
        let v = summarise(&h).unwrap();
        assert_eq!(v["last_ok_before_end_s"], Value::Null);
        assert!(line(&v).ends_with("no op succeeded: the verdict rests on nothing observed"));
        assert_eq!(summarise(&[]), None);
    }
}
