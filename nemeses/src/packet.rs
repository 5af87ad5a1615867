//! Packet faults between nodes: delay (with jitter), loss, duplication, reordering and
//! corruption, per direction.
//!
//! A fault shapes a set of directed links `(from, to)`: packets from node `from` to node
//! `to` (only node-to-node traffic; clients in the hub are never shaped). Each fault draws
//! its target nodes (`one`, `minority`, `majority`, `all`, as in Jepsen), a direction
//! (`out`: the targets' packets to the others; `in`: the others' packets to them; `both`)
//! and a non-empty subset of the enabled behaviours, and a `seed`: the environment decides
//! each packet's fate from that seed (see [`FaultTarget::shape`]), so the plan — and the
//! stream of decisions — is the same on every host.
//!
//! What each behaviour means (as in netem): `delay` holds every packet `delay_ms ±
//! jitter_ms` (uniform); `loss` drops that percentage of packets; `duplicate` delivers that
//! percentage twice; `reorder` sends that percentage at once while the rest wait out the
//! delay, so later packets overtake earlier ones (a reorder without a delay would do
//! nothing, so drawing `reorder` brings `delay` with it, as netem requires); `corrupt` flips
//! one byte past the IP header of that percentage (the receiver's checksum then drops them).
//!
//! Its options, in the test file's `[packet]` table (or `-o packet.delay_ms=100`), with
//! Jepsen's behaviours as defaults: `delay_ms` (50), `jitter_ms` (10), `loss` (20, percent),
//! `duplicate` (20), `reorder` (20), `corrupt` (0: off); a behaviour set to 0 is never drawn.
//! `targets` (default `["one", "minority", "majority", "all"]`) and `directions` (default
//! `["both", "out", "in"]`) are the lists drawn from.

use crate::nemesis::{node_list, read_options, Nemesis};
use crate::target::{FaultTarget, NemesisError};
use serde::{Deserialize, Serialize};
use workloads::Rng;

/// The packet nemesis.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packet {
    options: PacketOptions,
}

/// The packet nemesis's options (its `[packet]` table).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacketOptions {
    /// Added one-way delay, in milliseconds (0: no delay behaviour).
    pub delay_ms: u32,
    /// The delay varies uniformly by up to this much either way, in milliseconds.
    pub jitter_ms: u32,
    /// Percentage of packets dropped (0: no loss behaviour).
    pub loss: u32,
    /// Percentage of packets delivered twice.
    pub duplicate: u32,
    /// Percentage of packets sent ahead of the delayed rest.
    pub reorder: u32,
    /// Percentage of packets with one byte flipped.
    pub corrupt: u32,
    /// Which nodes a fault targets, drawn from this list.
    pub targets: Vec<Targets>,
    /// Which way a fault shapes the targets' traffic, drawn from this list.
    pub directions: Vec<Direction>,
}

impl Default for PacketOptions {
    fn default() -> Self {
        PacketOptions {
            delay_ms: 50,
            jitter_ms: 10,
            loss: 20,
            duplicate: 20,
            reorder: 20,
            corrupt: 0,
            targets: Targets::ALL.to_vec(),
            directions: Direction::ALL.to_vec(),
        }
    }
}

/// The nodes a packet fault targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Targets {
    /// One node.
    One,
    /// Fewer than half of the nodes (at least one).
    Minority,
    /// More than half of the nodes.
    Majority,
    /// Every node: every link is shaped.
    All,
}

impl Targets {
    const ALL: [Targets; 4] = [
        Targets::One,
        Targets::Minority,
        Targets::Majority,
        Targets::All,
    ];

    fn count(self, nodes: usize) -> usize {
        match self {
            Targets::One => 1,
            Targets::Minority => ((nodes - 1) / 2).max(1),
            Targets::Majority => nodes / 2 + 1,
            Targets::All => nodes,
        }
        .min(nodes)
    }
}

/// Which of the targets' packets are shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Both ways between the targets and the other nodes.
    Both,
    /// The targets' packets to the other nodes.
    Out,
    /// The other nodes' packets to the targets.
    In,
}

impl Direction {
    const ALL: [Direction; 3] = [Direction::Both, Direction::Out, Direction::In];
}

/// What happens to the packets of a shaped link; percentages are 0 to 100.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Added delay, in milliseconds (0: none).
    pub delay_ms: u32,
    /// Uniform variation of the delay either way, in milliseconds.
    pub jitter_ms: u32,
    /// Percentage dropped.
    pub loss: u32,
    /// Percentage delivered twice.
    pub duplicate: u32,
    /// Percentage sent at once, ahead of the delayed rest.
    pub reorder: u32,
    /// Percentage with one byte flipped.
    pub corrupt: u32,
}

impl Behaviour {
    /// `delay 50±10ms loss 20%`, the behaviours in force, in words.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.delay_ms > 0 {
            parts.push(if self.jitter_ms > 0 {
                format!("delay {}±{}ms", self.delay_ms, self.jitter_ms)
            } else {
                format!("delay {}ms", self.delay_ms)
            });
        }
        for (name, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("corrupt", self.corrupt),
        ] {
            if p > 0 {
                parts.push(format!("{name} {p}%"));
            }
        }
        if parts.is_empty() {
            "nothing".into()
        } else {
            parts.join(" ")
        }
    }
}

/// One packet fault's parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketParams {
    /// The target nodes, for describing the fault.
    pub nodes: Vec<usize>,
    /// Which of their packets.
    pub direction: Direction,
    /// The directed `(from, to)` links shaped.
    pub links: Vec<(usize, usize)>,
    /// What happens to their packets.
    pub behaviour: Behaviour,
    /// The seed of this fault's per-packet decisions.
    pub seed: u64,
}

/// The directed links from or to `nodes` (sorted), among `n` nodes.
pub fn links(nodes: &[usize], direction: Direction, n: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for &a in nodes {
        for b in (0..n).filter(|&b| b != a) {
            if matches!(direction, Direction::Both | Direction::Out) {
                out.push((a, b));
            }
            if matches!(direction, Direction::Both | Direction::In) {
                out.push((b, a));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn options_error(cause: impl Into<String>) -> NemesisError {
    NemesisError::Options {
        nemesis: "packet".into(),
        cause: cause.into(),
    }
}

impl Nemesis for Packet {
    type Params = PacketParams;

    fn name(&self) -> &'static str {
        "packet"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> PacketParams {
        let o = &self.options;
        let targets = o.targets[rng.below(o.targets.len() as u64) as usize];
        let direction = o.directions[rng.below(o.directions.len() as u64) as usize];
        let mut chosen = rng.sample(nodes, targets.count(nodes));
        chosen.sort();
        // The enabled behaviours (validated non-empty), each drawn with probability 1/2;
        // none drawn: one of them.
        let enabled: Vec<usize> = [o.delay_ms, o.loss, o.duplicate, o.reorder, o.corrupt]
            .iter()
            .enumerate()
            .filter(|(_, &v)| v > 0)
            .map(|(i, _)| i)
            .collect();
        let mut on: Vec<usize> = enabled
            .iter()
            .copied()
            .filter(|_| rng.below(2) == 1)
            .collect();
        if on.is_empty() {
            on.push(enabled[rng.below(enabled.len() as u64) as usize]);
        }
        let has = |i: usize| on.contains(&i);
        // Reordering is "some packets skip the delay": it needs one.
        let delayed = has(0) || has(3);
        let behaviour = Behaviour {
            delay_ms: if delayed { o.delay_ms.max(1) } else { 0 },
            jitter_ms: if delayed { o.jitter_ms } else { 0 },
            loss: if has(1) { o.loss } else { 0 },
            duplicate: if has(2) { o.duplicate } else { 0 },
            reorder: if has(3) { o.reorder } else { 0 },
            corrupt: if has(4) { o.corrupt } else { 0 },
        };
        let seed = rng.below(u64::MAX);
        PacketParams {
            links: links(&chosen, direction, nodes),
            nodes: chosen,
            direction,
            behaviour,
            seed,
        }
    }

    fn describe(&self, p: &PacketParams, names: &[String]) -> String {
        let dir = match p.direction {
            Direction::Both => "to and from",
            Direction::Out => "from",
            Direction::In => "to",
        };
        format!(
            "packet {} {dir} {} ({} links)",
            p.behaviour.describe(),
            node_list(&p.nodes, names),
            p.links.len()
        )
    }

    fn start(&self, p: &PacketParams, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        target.shape(p)
    }

    fn heal(&self, p: &PacketParams, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        target.unshape(p)
    }

    fn needs(&self) -> Vec<crate::Capability> {
        vec![crate::Capability::PacketShaping]
    }

    fn with_options(&self, options: &serde_json::Value) -> Result<Self, NemesisError> {
        let o: PacketOptions = read_options("packet", options)?;
        for (name, p) in [
            ("loss", o.loss),
            ("duplicate", o.duplicate),
            ("reorder", o.reorder),
            ("corrupt", o.corrupt),
        ] {
            if p > 100 {
                return Err(options_error(format!(
                    "{name} = {p}: a percentage, 0 to 100"
                )));
            }
        }
        if o.jitter_ms > o.delay_ms {
            return Err(options_error(format!(
                "jitter_ms = {} is more than delay_ms = {}",
                o.jitter_ms, o.delay_ms
            )));
        }
        if [o.delay_ms, o.loss, o.duplicate, o.reorder, o.corrupt] == [0; 5] {
            return Err(options_error("every behaviour is 0: enable at least one"));
        }
        if o.targets.is_empty() || o.directions.is_empty() {
            return Err(options_error("targets and directions must not be empty"));
        }
        Ok(Packet { options: o })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn configured(options: serde_json::Value) -> Result<Packet, NemesisError> {
        Packet::default().with_options(&options)
    }

    #[test]
    fn options_decode_with_jepsens_defaults_and_reject_nonsense() {
        let p = configured(serde_json::Value::Null).unwrap();
        assert_eq!(p.options, PacketOptions::default());
        assert_eq!((p.options.delay_ms, p.options.jitter_ms), (50, 10));
        let p = configured(json!({"delay_ms": 100, "loss": 0, "targets": ["all"]})).unwrap();
        assert_eq!(p.options.delay_ms, 100);
        assert_eq!(p.options.targets, vec![Targets::All]);
        for bad in [
            json!({"loss": 101}),
            json!({"jitter_ms": 60}),
            json!({"delay_ms": 0, "jitter_ms": 0, "loss": 0, "duplicate": 0, "reorder": 0}),
            json!({"targets": []}),
            json!({"targets": ["primaries"]}),
            json!({"delay": 5}),
        ] {
            let e = configured(bad.clone()).unwrap_err().to_string();
            assert!(e.starts_with("[packet]"), "{bad}: {e}");
        }
    }

    #[test]
    fn links_follow_the_direction() {
        assert_eq!(links(&[0], Direction::Out, 3), vec![(0, 1), (0, 2)]);
        assert_eq!(links(&[0], Direction::In, 3), vec![(1, 0), (2, 0)]);
        assert_eq!(links(&[0], Direction::Both, 2), vec![(0, 1), (1, 0)]);
        assert_eq!(links(&[0, 1, 2], Direction::Out, 3).len(), 6);
    }

    #[test]
    fn generated_faults_are_seeded_enabled_and_round_trip() {
        let p = Packet::default();
        let names = ["n1", "n2", "n3"].map(String::from);
        for seed in 0..50 {
            let a = p.generate(&mut Rng::new(seed, 0), 3);
            assert_eq!(a, p.generate(&mut Rng::new(seed, 0), 3));
            let b = a.behaviour;
            assert_ne!(b, Behaviour::default(), "seed {seed}: nothing drawn");
            assert_eq!(b.corrupt, 0, "corrupt is off by default");
            if b.reorder > 0 {
                assert!(b.delay_ms > 0, "a reorder comes with a delay");
            }
            assert!(!a.links.is_empty());
            assert!(a.links.iter().all(|&(x, y)| x != y && x < 3 && y < 3));
            let back: PacketParams =
                serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
            assert_eq!(back, a);
            assert!(p.describe(&a, &names).starts_with("packet "));
        }
        let only_delay = configured(json!({"loss": 0, "duplicate": 0, "reorder": 0})).unwrap();
        let f = only_delay.generate(&mut Rng::new(4, 0), 3);
        assert_eq!(f.behaviour.describe(), "delay 50±10ms", "{:?}", f.behaviour);
    }
}
