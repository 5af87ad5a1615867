//! Clock: the nodes' wall clocks bumped or strobed, as Jepsen's clock nemesis does — without
//! touching the host's clock. How a node's clock is changed is the environment's
//! ([`FaultTarget::set_clock`]): for a local process, libfaketime preloaded into it with a
//! control file per node (so only programs that read the time through libc are affected:
//! Go programs such as etcd read it through the vDSO, and the environment refuses them
//! rather than pretend); in a VM, the guest's own clock, set by its init.
//!
//! Two changes, as in Jepsen:
//! - **bump**: the clock jumps by `delta_ms` (forwards or backwards) and stays there until
//!   the heal puts it back;
//! - **strobe**: the clock flips between `delta_ms` ahead and the true time every
//!   `period_ms`, until the heal.
//!
//! Only the wall clock (`CLOCK_REALTIME`) moves, as when `date -s` is run on a node; the
//! monotonic clock, which timeouts are measured with, does not.
//!
//! Its options, in the test file's `[clock]` table:
//! - `modes` (default `["bump", "strobe"]`): which changes are drawn, each as likely;
//! - `max_delta_ms` (default 262144, about 4 min): the largest jump. A jump is drawn as
//!   Jepsen draws it, from 4 ms up on a log scale, either way;
//! - `targets` ([`NodeOptions`]).

use crate::nemesis::Nemesis;
use crate::nodes::{NodeOptions, NodeSet, Targets};
use crate::target::{Capability, FaultTarget, NemesisError};
use serde::{Deserialize, Serialize};
use workloads::Rng;

/// The clock nemesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clock {
    modes: Vec<Mode>,
    max_delta_ms: u64,
    nodes: NodeOptions,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            modes: vec![Mode::Bump, Mode::Strobe],
            max_delta_ms: 1 << 18,
            nodes: NodeOptions::default(),
        }
    }
}

/// A kind of clock change, as the `[clock]` table's `modes` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    Bump,
    Strobe,
}

/// The `[clock]` table.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Options {
    modes: Option<Vec<Mode>>,
    max_delta_ms: Option<u64>,
    targets: Vec<Targets>,
}

/// How a node's clock is changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ClockChange {
    /// The clock jumps by `delta_ms` and stays there.
    Bump {
        /// Milliseconds, ahead (positive) or behind (negative).
        delta_ms: i64,
    },
    /// The clock flips between `delta_ms` ahead and the true time every `period_ms`.
    Strobe {
        /// Milliseconds, ahead (positive) or behind (negative).
        delta_ms: i64,
        /// How long each of the two settings lasts, in milliseconds (at least 1).
        period_ms: u64,
    },
}

impl ClockChange {
    /// `+1.500s`, `-262.143s`: a delta in seconds with its sign.
    pub fn delta_text(delta_ms: i64) -> String {
        let sign = if delta_ms < 0 { '-' } else { '+' };
        let a = delta_ms.unsigned_abs();
        format!("{sign}{}.{:03}s", a / 1000, a % 1000)
    }

    /// `bump +1.500s`, `strobe -0.020s every 64ms`.
    pub fn describe(&self) -> String {
        match *self {
            ClockChange::Bump { delta_ms } => format!("bump {}", Self::delta_text(delta_ms)),
            ClockChange::Strobe {
                delta_ms,
                period_ms,
            } => format!("strobe {} every {period_ms}ms", Self::delta_text(delta_ms)),
        }
    }
}

/// One clock fault: which nodes, and how their clocks change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockParams {
    /// The nodes.
    pub on: NodeSet,
    /// What happens to each one's clock.
    pub change: ClockChange,
}

impl Clock {
    /// A jump of 4 ms up to `max_delta_ms`, on a log scale (Jepsen's `2^(2 + rand 16)`),
    /// either way. Pure: uses only `rng`.
    fn delta(&self, rng: &mut Rng) -> i64 {
        let max = self.max_delta_ms.clamp(1, 1 << 40);
        let top = 64 - max.leading_zeros(); // bits of max
                                            // 2^e + [0, 2^e) stays below 2^(e+1) ≤ 2^(top-1) ≤ max.
        let e = if top > 3 {
            2 + rng.below(u64::from(top - 3))
        } else {
            0
        };
        let base = 1u64 << e;
        let ms = (base + rng.below(base)).min(max);
        let ms = i64::try_from(ms).expect("at most 2^40");
        if rng.below(2) == 0 {
            ms
        } else {
            -ms
        }
    }
}

impl Nemesis for Clock {
    type Params = ClockParams;

    fn name(&self) -> &'static str {
        "clock"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> ClockParams {
        let on = self.nodes.draw(rng, nodes);
        let mode = self.modes[rng.below(self.modes.len() as u64) as usize];
        let delta_ms = self.delta(rng);
        let change = match mode {
            Mode::Bump => ClockChange::Bump { delta_ms },
            // 8 ms to 1 s, on a log scale (Jepsen's strobe periods are 1 ms to 1 s; a
            // control file rewritten more often than every few ms is not a clock anyone
            // reads between the flips).
            Mode::Strobe => ClockChange::Strobe {
                delta_ms,
                period_ms: 1 << (3 + rng.below(8)),
            },
        };
        ClockParams { on, change }
    }

    fn describe(&self, p: &ClockParams, names: &[String]) -> String {
        format!("clock {}: {}", p.on.describe(names), p.change.describe())
    }

    fn start(&self, p: &ClockParams, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        for &n in &p.on.nodes {
            target.set_clock(n, &p.change)?;
        }
        Ok(())
    }

    fn heal(&self, p: &ClockParams, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        let mut first_err = None;
        for &n in &p.on.nodes {
            if let Err(e) = target.reset_clock(n) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn with_options(&self, options: &serde_json::Value) -> Result<Self, NemesisError> {
        let o: Options = crate::nemesis::read_options("clock", options)?;
        let bad = |cause: &str| NemesisError::Options {
            nemesis: "clock".into(),
            cause: cause.into(),
        };
        let mut c = Clock::default();
        if let Some(modes) = o.modes {
            if modes.is_empty() {
                return Err(bad("modes = []: want at least one of \"bump\", \"strobe\""));
            }
            c.modes = modes;
        }
        if let Some(m) = o.max_delta_ms {
            if !(1..=1 << 40).contains(&m) {
                return Err(bad(&format!(
                    "max_delta_ms = {m}: want 1 to {} (about 35 years)",
                    1u64 << 40
                )));
            }
            c.max_delta_ms = m;
        }
        c.nodes = NodeOptions { targets: o.targets };
        Ok(c)
    }

    fn resolve(
        &self,
        p: &ClockParams,
        target: &dyn FaultTarget,
    ) -> Result<ClockParams, NemesisError> {
        Ok(ClockParams {
            on: p.on.resolve(target)?,
            change: p.change,
        })
    }

    fn needs_primaries(&self) -> bool {
        self.nodes.needs_primaries()
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::Clock]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jumps_are_drawn_from_4ms_to_the_maximum_both_ways() {
        let c = Clock::default();
        let (mut lo, mut hi, mut neg, mut small) = (i64::MAX, 0i64, 0, 0);
        for seed in 0..2000 {
            let d = c.delta(&mut Rng::new(seed, 0));
            lo = lo.min(d.abs());
            hi = hi.max(d.abs());
            neg += usize::from(d < 0);
            small += usize::from(d.abs() < 1000);
        }
        assert!((4..8).contains(&lo), "{lo}");
        assert!(((1 << 17) + 1..=1 << 18).contains(&hi), "{hi}");
        // Either way, about as often; a log scale puts many jumps under a second.
        assert!((800..1200).contains(&neg), "{neg}");
        assert!(small > 400, "{small}");
        let capped = Clock {
            max_delta_ms: 50,
            ..Clock::default()
        };
        for seed in 0..200 {
            let d = capped.delta(&mut Rng::new(seed, 0)).abs();
            assert!((4..=50).contains(&d), "{d}");
        }
    }

    #[test]
    fn both_modes_are_drawn_and_described() {
        let c = Clock::default();
        let names = ["n1", "n2", "n3"].map(String::from);
        let mut seen = (false, false);
        for seed in 0..40 {
            let p = c.generate(&mut Rng::new(seed, 0), 3);
            let text = c.describe(&p, &names);
            match p.change {
                ClockChange::Bump { .. } => {
                    seen.0 = true;
                    assert!(text.contains(": bump "), "{text}");
                }
                ClockChange::Strobe { period_ms, .. } => {
                    seen.1 = true;
                    assert!((8..=1024).contains(&period_ms), "{period_ms}");
                    assert!(text.contains(": strobe ") && text.ends_with("ms"), "{text}");
                }
            }
        }
        assert_eq!(seen, (true, true));
        assert_eq!(ClockChange::delta_text(-262_143), "-262.143s");
        assert_eq!(ClockChange::delta_text(1500), "+1.500s");
        assert_eq!(ClockChange::delta_text(4), "+0.004s");
    }

    #[test]
    fn the_plan_writes_the_change_with_its_mode() {
        let p = ClockParams {
            on: NodeSet::of(vec![1]),
            change: ClockChange::Strobe {
                delta_ms: -20,
                period_ms: 64,
            },
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"on": {"nodes": [1]}, "change": {"mode": "strobe", "delta_ms": -20, "period_ms": 64}})
        );
    }

    #[test]
    fn options_choose_modes_and_the_largest_jump() {
        let c = Clock::default()
            .with_options(&json!({"modes": ["bump"], "max_delta_ms": 100, "targets": ["all"]}))
            .unwrap();
        for seed in 0..20 {
            let p = c.generate(&mut Rng::new(seed, 0), 3);
            assert_eq!(p.on.nodes, [0, 1, 2]);
            let ClockChange::Bump { delta_ms } = p.change else {
                panic!("{p:?}")
            };
            assert!(delta_ms.abs() <= 100);
        }
        let e = |o| Clock::default().with_options(&o).unwrap_err().to_string();
        assert_eq!(
            e(json!({"modes": []})),
            "[clock]: modes = []: want at least one of \"bump\", \"strobe\""
        );
        assert!(
            e(json!({"modes": ["jump"]})).starts_with("[clock]: unknown variant `jump`"),
            "{}",
            e(json!({"modes": ["jump"]}))
        );
        assert!(e(json!({"max_delta_ms": 0})).starts_with("[clock]: max_delta_ms = 0"));
        assert!(e(json!({"delta": 1})).starts_with("[clock]: unknown field `delta`"));
    }
}
