//! [`NodeSet`]: the parameters of a fault that acts on some nodes one by one (pause, kill,
//! isolate, bandwidth), and how such a set is drawn: by default one node or a minority
//! ([`NodeSet::some`]); with a nemesis's `targets` option ([`NodeOptions`]), from the
//! Jepsen target specs `one | minority | majority | all | primaries` ([`Targets`]).
//!
//! `primaries` is the one spec the plan cannot decide: which node leads is known only while
//! the run goes. Such a fault is planned with no nodes and resolved when it starts
//! ([`NodeSet::resolve`], through [`FaultTarget::primaries`], which the run answers with
//! the system's leader hook); the history's completion of the fault says which nodes it
//! hit.

use crate::nemesis::node_list;
use crate::target::{FaultTarget, NemesisError};
use serde::{Deserialize, Serialize};
use workloads::Rng;

/// The nodes a fault acts on, numbered from 0, in increasing order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSet {
    /// The nodes (empty for `primaries` until the fault starts).
    pub nodes: Vec<usize>,
    /// The spec they were drawn by, when the nemesis has a `targets` option (absent from
    /// the plan otherwise, so default plans keep their bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Targets>,
}

/// Which nodes a node fault hits, as in Jepsen's `nemesis.combined`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Targets {
    /// One node.
    One,
    /// A minority (at least one node).
    Minority,
    /// A majority.
    Majority,
    /// Every node.
    All,
    /// The nodes the system says lead (its leader hook), decided when the fault starts.
    Primaries,
}

impl Targets {
    /// Its name, as the test file gives it.
    pub fn name(self) -> &'static str {
        match self {
            Targets::One => "one",
            Targets::Minority => "minority",
            Targets::Majority => "majority",
            Targets::All => "all",
            Targets::Primaries => "primaries",
        }
    }

    /// How many of `nodes` nodes the spec takes (0 for `primaries`: decided at start).
    fn count(self, nodes: usize) -> usize {
        match self {
            Targets::One => 1,
            Targets::Minority => ((nodes.saturating_sub(1)) / 2).max(1),
            Targets::Majority => nodes / 2 + 1,
            Targets::All => nodes,
            Targets::Primaries => 0,
        }
    }
}

/// The options every node fault takes in its table (e.g. `[pause] targets = ["one",
/// "primaries"]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeOptions {
    /// The specs a fault's nodes are drawn by, each as likely; empty (the default): one
    /// node, or less often a minority ([`NodeSet::some`]).
    pub targets: Vec<Targets>,
}

impl NodeOptions {
    /// Draws one fault's nodes. Pure: uses only `rng`.
    pub fn draw(&self, rng: &mut Rng, nodes: usize) -> NodeSet {
        if self.targets.is_empty() {
            return NodeSet::some(rng, nodes);
        }
        let t = self.targets[rng.below(self.targets.len() as u64) as usize];
        let mut v = rng.sample(nodes, t.count(nodes));
        v.sort();
        NodeSet {
            nodes: v,
            target: Some(t),
        }
    }

    /// Whether a fault may need the system to name its primaries.
    pub fn needs_primaries(&self) -> bool {
        self.targets.contains(&Targets::Primaries)
    }
}

impl NodeSet {
    /// These nodes, drawn by no spec.
    pub fn of(nodes: Vec<usize>) -> NodeSet {
        NodeSet {
            nodes,
            target: None,
        }
    }

    /// One node, or (less often, on three nodes or more) a minority of them.
    pub fn some(rng: &mut Rng, nodes: usize) -> NodeSet {
        let k = if nodes >= 3 && rng.below(3) == 0 {
            (nodes - 1) / 2
        } else {
            1
        };
        let mut v = rng.sample(nodes, k.max(1));
        v.sort();
        NodeSet::of(v)
    }

    /// The set as it applies now: a `primaries` set not yet resolved asks `target` which
    /// nodes lead; any other set is itself.
    pub fn resolve(&self, target: &dyn FaultTarget) -> Result<NodeSet, NemesisError> {
        if self.target != Some(Targets::Primaries) || !self.nodes.is_empty() {
            return Ok(self.clone());
        }
        let mut nodes = target.primaries()?;
        nodes.sort();
        nodes.dedup();
        if nodes.is_empty() {
            return Err(NemesisError::Failed {
                what: "find the primaries".into(),
                cause: "the system names no leader right now".into(),
            });
        }
        Ok(NodeSet {
            nodes,
            target: self.target,
        })
    }

    /// `n1 n3`, with the spec when there is one: `n2 (primaries)`; `the primaries` before
    /// they are known.
    pub fn describe(&self, names: &[String]) -> String {
        match self.target {
            None => node_list(&self.nodes, names),
            Some(Targets::Primaries) if self.nodes.is_empty() => "the primaries".into(),
            Some(t) => format!("{} ({})", node_list(&self.nodes, names), t.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn some_is_one_node_or_a_minority_sorted_and_distinct() {
        let mut sizes = std::collections::BTreeSet::new();
        for seed in 0..50 {
            let s = NodeSet::some(&mut Rng::new(seed, 0), 5);
            sizes.insert(s.nodes.len());
            assert!(s.nodes.windows(2).all(|w| w[0] < w[1]), "{s:?}");
            assert!(s.nodes.iter().all(|&n| n < 5));
        }
        assert_eq!(sizes, [1, 2].into());
    }

    #[test]
    fn each_target_spec_draws_its_share_of_the_cluster() {
        let cases = [
            (Targets::One, 5, 1),
            (Targets::Minority, 5, 2),
            (Targets::Minority, 3, 1),
            (Targets::Minority, 2, 1),
            (Targets::Majority, 5, 3),
            (Targets::Majority, 3, 2),
            (Targets::All, 3, 3),
            (Targets::Primaries, 5, 0),
        ];
        for (t, n, want) in cases {
            let opts = NodeOptions { targets: vec![t] };
            for seed in 0..20 {
                let s = opts.draw(&mut Rng::new(seed, 0), n);
                assert_eq!(s.nodes.len(), want, "{t:?} of {n}: {s:?}");
                assert_eq!(s.target, Some(t));
                assert!(s.nodes.windows(2).all(|w| w[0] < w[1]), "{s:?}");
                assert!(s.nodes.iter().all(|&x| x < n));
            }
        }
        // Every listed spec is drawn.
        let opts = NodeOptions {
            targets: vec![Targets::One, Targets::All],
        };
        let drawn: std::collections::BTreeSet<_> = (0..30)
            .map(|s| opts.draw(&mut Rng::new(s, 0), 5).target)
            .collect();
        assert_eq!(drawn, [Some(Targets::One), Some(Targets::All)].into());
    }

    #[test]
    fn without_targets_the_draw_and_the_json_are_the_old_ones() {
        let a = NodeOptions::default().draw(&mut Rng::new(9, 0), 5);
        assert_eq!(a, NodeSet::some(&mut Rng::new(9, 0), 5));
        let json = serde_json::to_string(&a).unwrap();
        assert!(!json.contains("target"), "{json}");
        let p = NodeSet {
            nodes: vec![],
            target: Some(Targets::Primaries),
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"nodes":[],"target":"primaries"}"#
        );
    }

    #[test]
    fn primaries_resolve_at_start_through_the_target() {
        struct Leader(Vec<usize>);
        impl FaultTarget for Leader {
            fn node_count(&self) -> usize {
                3
            }
            fn node_name(&self, n: usize) -> String {
                format!("n{}", n + 1)
            }
            fn block(&self, _: usize, _: usize) -> Result<(), NemesisError> {
                Ok(())
            }
            fn unblock(&self, _: usize, _: usize) -> Result<(), NemesisError> {
                Ok(())
            }
            fn pause(&self, _: usize) -> Result<(), NemesisError> {
                Ok(())
            }
            fn resume(&self, _: usize) -> Result<(), NemesisError> {
                Ok(())
            }
            fn kill(&self, _: usize) -> Result<(), NemesisError> {
                Ok(())
            }
            fn restart(&self, _: usize) -> Result<(), NemesisError> {
                Ok(())
            }
            fn heal_all(&self) -> Result<(), NemesisError> {
                Ok(())
            }
            fn primaries(&self) -> Result<Vec<usize>, NemesisError> {
                Ok(self.0.clone())
            }
        }
        let names = ["n1", "n2", "n3"].map(String::from);
        let p = NodeSet {
            nodes: vec![],
            target: Some(Targets::Primaries),
        };
        assert_eq!(p.describe(&names), "the primaries");
        let r = p.resolve(&Leader(vec![2])).unwrap();
        assert_eq!(r.nodes, [2]);
        assert_eq!(r.describe(&names), "n3 (primaries)");
        // Resolved once, it stays: the heal acts on the nodes the start hit.
        assert_eq!(r.resolve(&Leader(vec![0])).unwrap(), r);
        let e = p.resolve(&Leader(vec![])).unwrap_err().to_string();
        assert_eq!(
            e,
            "find the primaries: the system names no leader right now"
        );
        // Other specs never ask.
        let one = NodeSet {
            nodes: vec![1],
            target: Some(Targets::One),
        };
        assert_eq!(one.resolve(&Leader(vec![0])).unwrap(), one);
    }
}
