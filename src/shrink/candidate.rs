//! A candidate: the failing plan with parts taken out — faults, whole workers' test ops,
//! the test ops of some keys, and the time line cut at both ends — written as a plan file
//! `squall run --plan` takes.
//!
//! A [`Cut`] says what is kept; [`Cut::write`] streams the original plan file through it,
//! so a candidate of a plan of any length takes the memory of one line. Setup and final ops
//! are always kept: the checkers need the initial values and the final reads.
//!
//! The time line: test ops and faults before `head` or from `tail` on are dropped, the
//! rest move `head` earlier, a fault still in force at `tail` heals there, and the
//! candidate's test phase (its header's `time_limit`) is `tail - head`. Cutting the head
//! is how the time line is compressed: a failure at 40 s of a 60 s run, once the faults
//! before it are gone, needs only the seconds around it.
//!
//! A candidate's header is the original's with that `time_limit` and a `"shrunk"` member
//! (what it was cut from and how), which tells `squall replay` it is not what its seed
//! gives.

use crate::config::format_duration;
use crate::plan::read::{parse_line, Header};
use crate::plan::{Phase, PlanLine};
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Duration;

/// At most this many distinct keys are shrunk over (more: keys are left alone).
pub const MAX_KEYS: usize = 1000;

/// What the original plan holds, as the shrinker cuts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parts {
    /// Faults, in file order.
    pub faults: usize,
    /// Workers with test ops, ascending.
    pub workers: Vec<usize>,
    /// The keys of the test ops (each as its JSON text), in order of first use; empty if
    /// ops have no keys (`[key value]` values) or more than [`MAX_KEYS`].
    pub keys: Vec<String>,
    /// The test phase's length, ns.
    pub end: u64,
}

/// The key of an op whose value is a Jepsen independent `[key value]` pair.
pub fn key_of(value: &Value) -> Option<String> {
    match value.as_array().map(Vec::as_slice) {
        Some([k, _]) if k.is_number() || k.is_string() => Some(k.to_string()),
        _ => None,
    }
}

/// A plan file's lines after its header, each with its line number, in one pass.
fn each_line(path: &Path, f: &mut dyn FnMut(usize, PlanLine) -> Result<()>) -> Result<()> {
    let name = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("open {name}"))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate().skip(1) {
        let line = line.with_context(|| format!("read {name}"))?;
        let parsed = parse_line(&line).map_err(|e| anyhow::anyhow!("{name}:{}: {e}", i + 1))?;
        f(i + 1, parsed)?;
    }
    Ok(())
}

impl Parts {
    /// The parts of the plan file `path` (header `header`), in one streaming pass.
    pub fn of(path: &Path, header: &Header) -> Result<Parts> {
        let mut faults = 0;
        let mut workers = BTreeSet::new();
        let mut keys = Vec::new();
        let mut seen = BTreeSet::new();
        let mut keyless = false;
        each_line(path, &mut |_, line| {
            match line {
                PlanLine::Fault(_) => faults += 1,
                PlanLine::Op(p) if p.phase == Phase::Test => {
                    workers.insert(p.worker);
                    match key_of(&p.op.value) {
                        Some(k) => {
                            if seen.len() <= MAX_KEYS && seen.insert(k.clone()) {
                                keys.push(k);
                            }
                        }
                        None => keyless = true,
                    }
                }
                PlanLine::Op(_) => {}
            }
            Ok(())
        })?;
        if keyless || keys.len() > MAX_KEYS {
            keys.clear();
        }
        Ok(Parts {
            faults,
            workers: workers.into_iter().collect(),
            keys,
            end: u64::try_from(header.cfg.time_limit.as_nanos()).unwrap_or(u64::MAX),
        })
    }
}

/// What a candidate keeps of the original plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Faults kept, by their index in file order.
    pub faults: BTreeSet<usize>,
    /// Workers whose test ops are kept.
    pub workers: BTreeSet<usize>,
    /// Keys whose test ops are kept (all, if the plan's ops have no keys).
    pub keys: Option<BTreeSet<String>>,
    /// Test ops and faults before this (ns) are dropped, the rest shifted by it.
    pub head: u64,
    /// Test ops and faults from this on (ns) are dropped.
    pub tail: u64,
}

/// How big a plan is: what the account compares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Size {
    /// Faults.
    pub faults: u64,
    /// Test ops.
    pub test_ops: u64,
    /// The test phase's length.
    pub test_phase: Duration,
}

impl Cut {
    /// Everything of `parts`: the original plan.
    pub fn whole(parts: &Parts) -> Cut {
        Cut {
            faults: (0..parts.faults).collect(),
            workers: parts.workers.iter().copied().collect(),
            keys: (!parts.keys.is_empty()).then(|| parts.keys.iter().cloned().collect()),
            head: 0,
            tail: parts.end,
        }
    }

    /// In words, for the header and the progress lines: what is kept.
    pub fn describe(&self, parts: &Parts) -> String {
        let mut s = format!(
            "faults {}/{}, workers {}/{}",
            self.faults.len(),
            parts.faults,
            self.workers.len(),
            parts.workers.len()
        );
        if let Some(k) = &self.keys {
            s.push_str(&format!(", keys {}/{}", k.len(), parts.keys.len()));
        }
        s.push_str(&format!(
            ", time {}..{}",
            secs(self.head),
            secs(self.tail.min(parts.end))
        ));
        s
    }

    /// Writes the candidate to `out` (the original `from`, whose header is `header`) and
    /// says how big it is.
    pub fn write(&self, from: &Path, header: &Header, parts: &Parts, out: &Path) -> Result<Size> {
        let tail = self.tail.min(parts.end);
        let length = tail.saturating_sub(self.head);
        let mut h = header.json.clone();
        h["config"]["time_limit"] = format_duration(Duration::from_nanos(length)).into();
        h["shrunk"] = serde_json::json!({
            "from": from.display().to_string(),
            "kept": self.describe(parts),
        });
        let file =
            std::fs::File::create(out).with_context(|| format!("create {}", out.display()))?;
        let mut w = std::io::BufWriter::new(file);
        let put = |w: &mut std::io::BufWriter<std::fs::File>, line: &PlanLine| -> Result<()> {
            writeln!(w, "{}", line.to_json()?).with_context(|| format!("write {}", out.display()))
        };
        writeln!(w, "{h}").with_context(|| format!("write {}", out.display()))?;
        let mut size = Size {
            test_phase: Duration::from_nanos(length),
            ..Size::default()
        };
        let mut fault = 0usize;
        each_line(from, &mut |_, line| {
            match line {
                PlanLine::Fault(mut f) => {
                    let i = fault;
                    fault += 1;
                    if self.faults.contains(&i) && f.start >= self.head && f.start < tail {
                        f.start -= self.head;
                        f.heal = f.heal.min(tail) - self.head;
                        size.faults += 1;
                        put(&mut w, &PlanLine::Fault(f))?;
                    }
                }
                PlanLine::Op(mut p) if p.phase == Phase::Test => {
                    let key_kept = match (&self.keys, key_of(&p.op.value)) {
                        (Some(keys), Some(k)) => keys.contains(&k),
                        _ => true,
                    };
                    if self.workers.contains(&p.worker)
                        && key_kept
                        && p.time >= self.head
                        && p.time < tail
                    {
                        p.time -= self.head;
                        size.test_ops += 1;
                        put(&mut w, &PlanLine::Op(p))?;
                    }
                }
                other => put(&mut w, &other)?,
            }
            Ok(())
        })?;
        w.flush()
            .with_context(|| format!("write {}", out.display()))?;
        Ok(size)
    }
}

/// `12.5s`, for people.
pub fn secs(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if (s - s.round()).abs() < 1e-9 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TestConfig;

    #[test]
    fn a_cut_keeps_setup_and_finals_and_shifts_what_it_keeps() {
        let d = std::env::temp_dir().join(format!("sqcut-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let cfg = TestConfig {
            nemesis: vec!["partition".into()],
            time_limit: Duration::from_secs(30),
            ..TestConfig::default()
        };
        let from = d.join("plan.jsonl");
        let mut out = Vec::new();
        let plan = crate::plan::build(3, &cfg).unwrap();
        plan.write_jsonl(&cfg, &mut out).unwrap();
        std::fs::write(&from, out).unwrap();
        let header = crate::plan::read::read_header(&from).unwrap();
        let parts = Parts::of(&from, &header).unwrap();
        assert_eq!(parts.faults, plan.faults().count());
        assert_eq!(parts.workers, [0, 1, 2, 3, 4]);
        assert_eq!(parts.keys.len(), 5);
        // The whole cut is the original, but for its header.
        let whole = d.join("whole.jsonl");
        let size = Cut::whole(&parts)
            .write(&from, &header, &parts, &whole)
            .unwrap();
        let (a, b) = (
            std::fs::read_to_string(&from).unwrap(),
            std::fs::read_to_string(&whole).unwrap(),
        );
        assert_eq!(
            a.lines().skip(1).collect::<Vec<_>>(),
            b.lines().skip(1).collect::<Vec<_>>()
        );
        assert_eq!(size.test_ops as usize, plan.test_ops().count());
        // One fault, two workers, one key, 10s..20s.
        let second = plan.faults().nth(1).unwrap();
        let cut = Cut {
            faults: [1].into(),
            workers: [0, 3].into(),
            keys: Some([parts.keys[0].clone()].into()),
            head: second.start - 1_000_000_000,
            tail: second.heal + 2_000_000_000,
        };
        let out = d.join("cut.jsonl");
        let size = cut.write(&from, &header, &parts, &out).unwrap();
        let h = crate::plan::read::read_header(&out).unwrap();
        assert!(h.is_edited());
        let plan = crate::plan::from_file(&out, &h, &h.cfg).unwrap();
        assert_eq!(h.cfg.time_limit, Duration::from_nanos(cut.tail - cut.head));
        let faults: Vec<_> = plan.faults().collect();
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].start, 1_000_000_000);
        assert_eq!(faults[0].heal - faults[0].start, second.heal - second.start);
        let ops: Vec<_> = plan.test_ops().collect();
        assert_eq!(ops.len() as u64, size.test_ops);
        assert!(ops
            .iter()
            .all(|o| [0, 3].contains(&o.worker)
                && key_of(&o.op.value) == Some(parts.keys[0].clone())));
        let count = |phase| {
            (0..5)
                .map(|w| plan.worker_ops(phase, w).count())
                .sum::<usize>()
        };
        assert_eq!(count(Phase::Setup) as u64, cfg.keys);
        assert_eq!(count(Phase::Final) as u64, cfg.keys);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
