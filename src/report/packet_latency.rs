//! What packet faults did to the clients: the median latency of completed (`ok`) ops on the
//! nodes a `packet` fault shaped, invoked while it was in force, against ops invoked while
//! no fault at all was in force. Clients themselves are never shaped (they live in the
//! hub), so a rise is the system's own traffic between nodes being delayed — e.g. a
//! linearizable read on a delayed follower waits for the leader's answer.
//!
//! Read from the history alone: a fault's window is its `start-packet` completion (without
//! an error) to its `stop-packet` invocation; its shaped nodes are the node names ending its
//! description (`packet delay 50±10ms to and from n1 n3 (8 links)`).

use histories::{Event, EventType, Process};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The figures, or `None` for a history without a packet fault in force.
pub fn summarise(history: &[Event], names: &[String]) -> Option<Value> {
    let mut packet: Option<Vec<String>> = None;
    let mut faults_in_force = 0usize;
    let mut saw_packet = false;
    // An invoked op: when, and whether it counts as shaped (Some(true)), healthy (Some(false)).
    let mut open: BTreeMap<u64, (u64, Option<bool>)> = BTreeMap::new();
    let (mut shaped, mut healthy) = (Vec::new(), Vec::new());
    for e in history {
        match &e.process {
            Process::Nemesis => {
                let started =
                    e.f.starts_with("start-") && e.kind == EventType::Info && e.error.is_none();
                if started {
                    faults_in_force += 1;
                    if e.f == "start-packet" {
                        saw_packet = true;
                        packet = Some(shaped_nodes(e.value.as_str().unwrap_or(""), names));
                    }
                } else if e.kind == EventType::Invoke
                    && (e.f.starts_with("stop-") || e.f == "heal-all")
                {
                    faults_in_force = if e.f == "heal-all" {
                        0
                    } else {
                        faults_in_force.saturating_sub(1)
                    };
                    if e.f == "stop-packet" || e.f == "heal-all" {
                        packet = None;
                    }
                }
            }
            Process::Client(p) => match e.kind {
                EventType::Invoke => {
                    let class = match (&packet, &e.node) {
                        (Some(nodes), Some(n)) if nodes.contains(n) => Some(true),
                        _ if faults_in_force == 0 => Some(false),
                        _ => None,
                    };
                    open.insert(*p, (e.time, class));
                }
                kind => {
                    if let Some((t0, class)) = open.remove(p) {
                        let ms = e.time.saturating_sub(t0) as f64 / 1e6;
                        match (kind, class) {
                            (EventType::Ok, Some(true)) => shaped.push(ms),
                            (EventType::Ok, Some(false)) => healthy.push(ms),
                            _ => {}
                        }
                    }
                }
            },
        }
    }
    saw_packet.then(|| {
        json!({
            "shaped_node_ops": shaped.len(),
            "shaped_node_p50_ms": median(&mut shaped),
            "no_fault_ops": healthy.len(),
            "no_fault_p50_ms": median(&mut healthy),
        })
    })
}

/// The summary's line for `summarise`'s figures.
pub fn line(v: &Value) -> String {
    let ms = |k: &str| {
        v[k].as_f64()
            .map_or("-".to_string(), |x| format!("{x:.1} ms"))
    };
    format!(
        "packet faults: median ok-op latency on shaped nodes {} ({} ops), with no fault {} ({} ops)",
        ms("shaped_node_p50_ms"),
        v["shaped_node_ops"],
        ms("no_fault_p50_ms"),
        v["no_fault_ops"]
    )
}

fn shaped_nodes(description: &str, names: &[String]) -> Vec<String> {
    let head = description
        .rsplit_once(" (")
        .map_or(description, |(h, _)| h);
    head.split(' ')
        .rev()
        .take_while(|w| names.iter().any(|n| n == w))
        .map(str::to_string)
        .collect()
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shaped_nodes_are_the_names_ending_the_description() {
        let names = ["n1", "n2", "n3"].map(String::from);
        assert_eq!(
            shaped_nodes("packet delay 50±10ms to and from n1 n3 (8 links)", &names),
            ["n3", "n1"]
        );
        assert!(shaped_nodes("packet loss 20% from (0 links)", &names).is_empty());
    }
}
