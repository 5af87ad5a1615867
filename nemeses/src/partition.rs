//! Network partitions, as directed blocks between nodes.
//!
//! A partition is a set of `(from, to)` pairs: packets from `from` to `to` are dropped (in
//! the local and VM environments, a FIB `blackhole` rule in the hub). Shapes, as in Jepsen:
//! - `majority-minority`: a random split into a majority and a minority, cut both ways;
//! - `isolate`: one random node cut off from all others;
//! - `majorities-ring`: every node sees a majority, but no two nodes see the same majority
//!   (each node keeps links to its ring neighbours only; needs ≥ 5 nodes to differ from a
//!   plain split, and degenerates to `majority-minority` below that).
//!
//! Clients (in the hub) still reach every node: only node-to-node traffic is cut.
//!
//! Its option, in the test file's `[partition]` table (or `-o partition.shapes=[...]`):
//! `shapes`, the shapes drawn from (default: all three, in the order above).

use crate::nemesis::{node_list, Nemesis};
use crate::target::{FaultTarget, NemesisError};
use serde::{Deserialize, Serialize};
use workloads::Rng;

/// The partition nemesis.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partition {
    options: PartitionOptions,
}

/// The partition nemesis's options (its `[partition]` table).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartitionOptions {
    /// The shapes a partition is drawn from, each as likely (listing one twice makes it
    /// twice as likely).
    pub shapes: Vec<Shape>,
}

impl Default for PartitionOptions {
    fn default() -> Self {
        PartitionOptions {
            shapes: Shape::ALL.to_vec(),
        }
    }
}

/// A partition's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// A majority and a minority, cut from each other both ways.
    MajorityMinority,
    /// One node cut off from all others.
    Isolate,
    /// Every node sees a different majority.
    MajoritiesRing,
}

impl Shape {
    /// The shapes, in the order they are drawn from (part of the plan: do not reorder).
    const ALL: [Shape; 3] = [
        Shape::MajorityMinority,
        Shape::Isolate,
        Shape::MajoritiesRing,
    ];

    /// Its name, as the plan gives it, e.g. `majority-minority`.
    pub fn name(self) -> &'static str {
        match self {
            Shape::MajorityMinority => "majority-minority",
            Shape::Isolate => "isolate",
            Shape::MajoritiesRing => "majorities-ring",
        }
    }
}

/// One partition's parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionParams {
    /// Its shape.
    pub shape: Shape,
    /// Node groups, for describing the fault; nodes in different groups cannot talk. A
    /// majorities ring has one group: the ring's order.
    pub groups: Vec<Vec<usize>>,
    /// Directed `(from, to)` blocks.
    pub blocks: Vec<(usize, usize)>,
}

fn cut(groups: &[Vec<usize>]) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    for (i, a) in groups.iter().enumerate() {
        for (j, b) in groups.iter().enumerate() {
            if i != j {
                for &x in a {
                    for &y in b {
                        blocks.push((x, y));
                    }
                }
            }
        }
    }
    blocks.sort();
    blocks
}

impl Nemesis for Partition {
    type Params = PartitionParams;

    fn name(&self) -> &'static str {
        "partition"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> PartitionParams {
        let shapes = &self.options.shapes;
        let mut shape = shapes[rng.below(shapes.len() as u64) as usize];
        if shape == Shape::MajoritiesRing && nodes < 5 {
            shape = Shape::MajorityMinority;
        }
        let order = rng.sample(nodes, nodes);
        let (groups, blocks) = match shape {
            Shape::Isolate => {
                let mut rest = order[1..].to_vec();
                rest.sort();
                let g = vec![vec![order[0]], rest];
                let b = cut(&g);
                (g, b)
            }
            Shape::MajoritiesRing => {
                // Node order[i] keeps links to the `reach` nodes on each side of it around
                // the ring: with n = 2m + 1 and reach = ceil(m / 2), its view (itself
                // included, 2·reach + 1 nodes) is a majority, and no two views are equal.
                let n = nodes;
                let m = n / 2;
                let reach = m.div_ceil(2);
                let mut blocks = Vec::new();
                for i in 0..n {
                    for j in 0..n {
                        if i == j {
                            continue;
                        }
                        let d = (j + n - i) % n;
                        let dist = d.min(n - d);
                        if dist > reach {
                            blocks.push((order[i], order[j]));
                        }
                    }
                }
                blocks.sort();
                let mut ring = order.clone();
                ring.dedup();
                (vec![ring], blocks)
            }
            Shape::MajorityMinority => {
                let minority = (nodes - 1) / 2;
                let mut a = order[..nodes - minority].to_vec();
                let mut b = order[nodes - minority..].to_vec();
                a.sort();
                b.sort();
                let g = vec![a, b];
                let b = cut(&g);
                (g, b)
            }
        };
        PartitionParams {
            shape,
            groups,
            blocks,
        }
    }

    fn describe(&self, p: &PartitionParams, names: &[String]) -> String {
        match p.shape {
            Shape::MajoritiesRing => format!(
                "partition majorities-ring: ring {} ({} one-way blocks)",
                node_list(&p.groups.concat(), names),
                p.blocks.len()
            ),
            shape => format!(
                "partition {}: {}",
                shape.name(),
                p.groups
                    .iter()
                    .map(|g| node_list(g, names))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        }
    }

    fn start(&self, p: &PartitionParams, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        for &(a, b) in &p.blocks {
            target.block(a, b)?;
        }
        Ok(())
    }

    fn with_options(&self, options: &serde_json::Value) -> Result<Self, NemesisError> {
        let options: PartitionOptions = crate::nemesis::read_options("partition", options)?;
        if options.shapes.is_empty() {
            return Err(NemesisError::Options {
                nemesis: "partition".into(),
                cause: "shapes = []: name at least one shape".into(),
            });
        }
        Ok(Partition { options })
    }

    fn heal(&self, p: &PartitionParams, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        let mut first_err = None;
        for &(a, b) in &p.blocks {
            if let Err(e) = target.unblock(a, b) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(seed: u64, n: usize) -> PartitionParams {
        Partition::default().generate(&mut Rng::new(seed, 0), n)
    }

    #[test]
    fn every_shape_blocks_only_between_distinct_nodes_and_leaves_a_majority_connected() {
        for n in [3usize, 5, 7] {
            let mut shapes = std::collections::BTreeSet::new();
            for seed in 0..60 {
                let p = gen(seed, n);
                shapes.insert(p.shape);
                assert!(p.blocks.iter().all(|&(a, b)| a != b && a < n && b < n));
                assert!(!p.blocks.is_empty());
                // Some node still reaches a majority (itself included).
                let best = (0..n)
                    .map(|i| {
                        1 + (0..n)
                            .filter(|&j| j != i && !p.blocks.contains(&(i, j)))
                            .count()
                    })
                    .max()
                    .unwrap();
                assert!(best > n / 2, "{:?} n={n}: {:?}", p.shape, p.blocks);
            }
            assert!(shapes.contains(&Shape::Isolate) && shapes.contains(&Shape::MajorityMinority));
            if n >= 5 {
                assert!(shapes.contains(&Shape::MajoritiesRing));
            }
        }
    }

    #[test]
    fn majority_minority_on_three_nodes_cuts_one_node_both_ways() {
        let p = gen(3, 3);
        assert_eq!(p.groups.iter().map(Vec::len).sum::<usize>(), 3);
        assert_eq!(p.blocks.len(), 4);
    }

    #[test]
    fn majorities_ring_gives_each_node_a_different_majority() {
        let seed = (0..100)
            .find(|&s| gen(s, 5).shape == Shape::MajoritiesRing)
            .unwrap();
        let p = gen(seed, 5);
        let mut views = Vec::new();
        for i in 0..5 {
            let mut v: Vec<usize> = (0..5)
                .filter(|&j| j == i || !p.blocks.contains(&(i, j)))
                .collect();
            v.sort();
            assert_eq!(v.len(), 3, "node {i} sees {v:?}");
            views.push(v);
        }
        views.sort();
        views.dedup();
        assert_eq!(views.len(), 5);
    }
}
