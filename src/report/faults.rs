//! The faults of a run as intervals, read from the history's nemesis events.
//!
//! The runner records a fault as `start-<nemesis>` (invoke, then `info` once it is in force
//! or with the `error` that kept it from starting) and later `stop-<nemesis>` (invoke, then
//! `info` once healed), both carrying the fault's description as their value; `heal-all` at
//! the end heals whatever is left. A fault is *in force* from its start's completion to its
//! stop's completion — what the plots shade. A fault never healed in the history (a run
//! that crashed) is in force to the history's end.

use histories::EventType;

/// At most this many faults are kept for the plots and the table (a months-long plan has
/// millions); the page says how many more there were.
pub const MAX_FAULTS: usize = 5_000;

/// One fault of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// The nemesis, e.g. `partition`.
    pub nemesis: String,
    /// What the plan said, e.g. `partition isolate: n2 | n1 n3`.
    pub description: String,
    /// When it was in force (ns since the run's start); `end` is `None` while unhealed.
    pub start: u64,
    pub end: Option<u64>,
    /// Why it could not start (then it was never in force) or heal.
    pub error: Option<String>,
}

impl Fault {
    /// Its start in seconds.
    pub fn start_s(&self) -> f64 {
        self.start as f64 / 1e9
    }

    /// Its end in seconds (the history's end for an unhealed fault, set by [`Faults::finish`]).
    pub fn end_s(&self) -> f64 {
        self.end.unwrap_or(self.start) as f64 / 1e9
    }

    /// A line for a tooltip: the description and its interval.
    pub fn title(&self) -> String {
        format!(
            "{} ({:.2}s – {:.2}s)",
            self.description,
            self.start_s(),
            self.end_s()
        )
    }
}

/// Builds [`Fault`]s from nemesis events in history order.
#[derive(Debug, Default)]
pub struct Faults {
    /// The faults, in the order they started (at most [`MAX_FAULTS`]).
    pub list: Vec<Fault>,
    /// Faults beyond [`MAX_FAULTS`], counted only.
    pub dropped: u64,
    /// Faults that could not start, counted (also in `list`, with their error).
    pub failed: u64,
    /// Indices into `list` of the faults in force now.
    open: Vec<usize>,
}

impl Faults {
    /// Takes one nemesis event.
    pub fn event(
        &mut self,
        kind: EventType,
        f: &str,
        value: &serde_json::Value,
        error: Option<&str>,
        time: u64,
    ) {
        if kind == EventType::Invoke {
            return;
        }
        let description = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        if let Some(nemesis) = f.strip_prefix("start-") {
            if let Some(e) = error {
                self.failed += 1;
                self.push(Fault {
                    nemesis: nemesis.into(),
                    description,
                    start: time,
                    end: Some(time),
                    error: Some(e.into()),
                });
            } else if self.push(Fault {
                nemesis: nemesis.into(),
                description,
                start: time,
                end: None,
                error: None,
            }) {
                self.open.push(self.list.len() - 1);
            }
        } else if let Some(nemesis) = f.strip_prefix("stop-") {
            // The open fault with this description, else the oldest of this nemesis.
            let pos = self
                .open
                .iter()
                .position(|&i| self.list[i].description == description)
                .or_else(|| {
                    self.open
                        .iter()
                        .position(|&i| self.list[i].nemesis == nemesis)
                });
            if let Some(p) = pos {
                let i = self.open.remove(p);
                self.list[i].end = Some(time);
                if let Some(e) = error {
                    self.list[i].error = Some(format!("heal: {e}"));
                }
            }
        } else if f == "heal-all" {
            for i in self.open.drain(..) {
                self.list[i].end = Some(time);
            }
        }
    }

    /// Keeps `fault` if there is room; whether it was kept.
    fn push(&mut self, fault: Fault) -> bool {
        if self.list.len() < MAX_FAULTS {
            self.list.push(fault);
            true
        } else {
            self.dropped += 1;
            false
        }
    }

    /// Ends the faults still in force at `end` (the history's last instant).
    pub fn finish(&mut self, end: u64) {
        for i in self.open.drain(..) {
            self.list[i].end = Some(end.max(self.list[i].start));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use EventType::*;

    #[test]
    fn a_fault_is_in_force_from_its_start_to_its_stop() {
        let mut f = Faults::default();
        let d = json!("partition isolate: n2 | n1 n3");
        f.event(Invoke, "start-partition", &d, None, 10);
        f.event(Info, "start-partition", &d, None, 12);
        f.event(Invoke, "start-pause", &json!("pause n1"), None, 20);
        f.event(
            Info,
            "start-pause",
            &json!("pause n1"),
            Some("no such node"),
            21,
        );
        f.event(Invoke, "stop-partition", &d, None, 30);
        f.event(Info, "stop-partition", &d, None, 33);
        f.event(Info, "start-kill", &json!("kill n3"), None, 40);
        f.finish(50);
        assert_eq!(f.list.len(), 3);
        assert_eq!((f.list[0].start, f.list[0].end), (12, Some(33)));
        assert_eq!(f.list[0].nemesis, "partition");
        assert_eq!(f.list[1].error.as_deref(), Some("no such node"));
        assert_eq!(f.failed, 1);
        assert_eq!(f.list[2].end, Some(50), "unhealed: to the history's end");
    }

    #[test]
    fn heal_all_ends_every_open_fault_and_the_list_is_bounded() {
        let mut f = Faults::default();
        for i in 0..(MAX_FAULTS as u64 + 10) {
            f.event(Info, "start-pause", &json!(format!("pause {i}")), None, i);
        }
        f.event(Info, "heal-all", &json!(null), None, 1_000_000);
        assert_eq!(f.list.len(), MAX_FAULTS);
        assert_eq!(f.dropped, 10);
        assert!(f.list.iter().all(|x| x.end == Some(1_000_000)));
    }
}
