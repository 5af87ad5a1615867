//! Network partitions, as directed blocks between nodes.
//!
//! A partition is a set of `(from, to)` pairs: packets from `from` to `to` are dropped (in
//! the local and VM environments, a FIB `blackhole` rule in the hub). Shapes, as in Jepsen:
//! - `majority-minority`: a random split into a majority and a minority, cut both ways;
//! - `isolate`: one random node cut off from all others;
//! - `majorities-ring`: every node sees a majority, but no two nodes see the same majority
//!   (each node keeps links to its ring neighbours only; needs ≥ 5 nodes to differ from a
//!   plain split, and degenerates to `majority-minority` below that);
//! - `one-way`: a random split, cut in one direction only — packets from the first group to
//!   the second are dropped, the other way they flow (a node that hears but is not heard,
//!   or the reverse);
//! - `bridge`: two halves cut from each other, and one node between them that sees both
//!   (needs ≥ 3 nodes; degenerates to `majority-minority` below that);
//! - `grudge`: the user's own, from the `grudge` option (below), the same every time.
//!
//! Clients (in the hub) still reach every node: only node-to-node traffic is cut.
//!
//! Its options, in the test file's `[partition]` table (or `-o partition.KEY=...`):
//! - `shapes`: the shapes drawn from (default: the first three, in the order above; with a
//!   `grudge`, just `grudge`);
//! - `grudge`: a table `{ n1 = ["n2"], n2 = ["n1", "n3"] }`, read as Jepsen reads a grudge:
//!   each node *does not hear from* the nodes listed — `n1 = ["n2"]` drops packets from n2
//!   to n1, and nothing else. Names are the nodes' (`n1`..`nN`).

use crate::nemesis::{node_list, Nemesis};
use crate::target::Capability;
use crate::target::{FaultTarget, NemesisError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use workloads::Rng;

/// The partition nemesis.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partition {
    options: PartitionOptions,
}

/// The partition nemesis's options (its `[partition]` table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionOptions {
    /// The shapes a partition is drawn from, each as likely (listing one twice makes it
    /// twice as likely).
    pub shapes: Vec<Shape>,
    /// The `grudge` shape's blocks, `(from, to)`, sorted (empty: no grudge given).
    pub grudge: Vec<(usize, usize)>,
}

impl Default for PartitionOptions {
    fn default() -> Self {
        PartitionOptions {
            shapes: Shape::ALL.to_vec(),
            grudge: Vec::new(),
        }
    }
}

/// The `[partition]` table as written.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Table {
    shapes: Option<Vec<Shape>>,
    grudge: Option<BTreeMap<String, Vec<String>>>,
}

/// `n3` → 2.
fn node_index(name: &str) -> Option<usize> {
    let k: usize = name.strip_prefix('n')?.parse().ok()?;
    (k >= 1 && name == format!("n{k}")).then(|| k - 1)
}

/// A grudge table (node → the nodes it does not hear from) as sorted `(from, to)` blocks.
fn grudge_blocks(table: &BTreeMap<String, Vec<String>>) -> Result<Vec<(usize, usize)>, String> {
    let index = |name: &str| {
        node_index(name).ok_or_else(|| format!("grudge: {name:?} is not a node name (n1, n2, ...)"))
    };
    let mut blocks = Vec::new();
    for (to, froms) in table {
        let t = index(to)?;
        for from in froms {
            let f = index(from)?;
            if f == t {
                return Err(format!("grudge: {to} cannot hold a grudge against itself"));
            }
            blocks.push((f, t));
        }
    }
    blocks.sort();
    blocks.dedup();
    if blocks.is_empty() {
        return Err("grudge: no node holds a grudge (name at least one pair)".into());
    }
    Ok(blocks)
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
    /// Two groups, cut in one direction only.
    OneWay,
    /// Two halves cut from each other, and one node that sees both.
    Bridge,
    /// The user's own, from the `grudge` option.
    Grudge,
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
            Shape::OneWay => "one-way",
            Shape::Bridge => "bridge",
            Shape::Grudge => "grudge",
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
        if (shape == Shape::MajoritiesRing && nodes < 5) || (shape == Shape::Bridge && nodes < 3) {
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
            Shape::OneWay => {
                // A split as `majority-minority`'s, then a direction: the first group is
                // not heard by the second.
                let minority = ((nodes - 1) / 2).max(1);
                let mut a = order[..nodes - minority].to_vec();
                let mut b = order[nodes - minority..].to_vec();
                a.sort();
                b.sort();
                let (from, to) = if rng.below(2) == 0 { (a, b) } else { (b, a) };
                let mut blocks: Vec<(usize, usize)> = from
                    .iter()
                    .flat_map(|&x| to.iter().map(move |&y| (x, y)))
                    .collect();
                blocks.sort();
                (vec![from, to], blocks)
            }
            Shape::Bridge => {
                // order[0] bridges; the rest split in two halves.
                let rest = &order[1..];
                let half = rest.len() / 2;
                let mut a = rest[..half].to_vec();
                let mut b = rest[half..].to_vec();
                a.sort();
                b.sort();
                let blocks = cut(&[a.clone(), b.clone()]);
                (vec![a, vec![order[0]], b], blocks)
            }
            Shape::Grudge => {
                let mut groups: Vec<usize> = self
                    .options
                    .grudge
                    .iter()
                    .flat_map(|&(a, b)| [a, b])
                    .collect();
                groups.sort();
                groups.dedup();
                (vec![groups], self.options.grudge.clone())
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
            Shape::OneWay => format!(
                "partition one-way: {} -> {} dropped ({} -> {} flows)",
                node_list(&p.groups[0], names),
                node_list(&p.groups[1], names),
                node_list(&p.groups[1], names),
                node_list(&p.groups[0], names),
            ),
            Shape::Bridge => format!(
                "partition bridge: {} | {} | {} ({} sees both)",
                node_list(&p.groups[0], names),
                node_list(&p.groups[1], names),
                node_list(&p.groups[2], names),
                node_list(&p.groups[1], names),
            ),
            Shape::Grudge => format!(
                "partition grudge: {} dropped",
                p.blocks
                    .iter()
                    .map(|&(a, b)| format!(
                        "{} -> {}",
                        node_list(&[a], names),
                        node_list(&[b], names)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
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
        let table: Table = crate::nemesis::read_options("partition", options)?;
        let bad = |cause: String| NemesisError::Options {
            nemesis: "partition".into(),
            cause,
        };
        let grudge = match &table.grudge {
            Some(g) => grudge_blocks(g).map_err(bad)?,
            None => Vec::new(),
        };
        let shapes = match table.shapes {
            Some(s) => s,
            None if !grudge.is_empty() => vec![Shape::Grudge],
            None => Shape::ALL.to_vec(),
        };
        if shapes.is_empty() {
            return Err(bad("shapes = []: name at least one shape".into()));
        }
        if shapes.contains(&Shape::Grudge) && grudge.is_empty() {
            return Err(bad(
                "shapes names \"grudge\" but no grudge is given (grudge = { n1 = [\"n2\"] })"
                    .into(),
            ));
        }
        Ok(Partition {
            options: PartitionOptions { shapes, grudge },
        })
    }

    fn fits(&self, nodes: usize) -> Result<(), NemesisError> {
        match self.options.grudge.iter().flat_map(|&(a, b)| [a, b]).max() {
            Some(m) if m >= nodes => Err(NemesisError::Options {
                nemesis: "partition".into(),
                cause: format!("grudge names n{} but the cluster has {nodes} nodes", m + 1),
            }),
            _ => Ok(()),
        }
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::FibRules]
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

    fn with(options: serde_json::Value) -> Partition {
        Partition::default().with_options(&options).unwrap()
    }

    #[test]
    fn one_way_blocks_only_one_direction() {
        let p1 = with(serde_json::json!({"shapes": ["one-way"]}));
        let mut directions = std::collections::BTreeSet::new();
        for n in [2usize, 3, 5] {
            for seed in 0..30 {
                let p = p1.generate(&mut Rng::new(seed, 0), n);
                assert_eq!(p.shape, Shape::OneWay);
                let (from, to) = (&p.groups[0], &p.groups[1]);
                assert_eq!(from.len() + to.len(), n);
                directions.insert(from.len() < to.len());
                // Every pair from -> to is cut, and no pair the other way.
                assert_eq!(p.blocks.len(), from.len() * to.len());
                for &(a, b) in &p.blocks {
                    assert!(from.contains(&a) && to.contains(&b), "{p:?}");
                    assert!(!p.blocks.contains(&(b, a)), "{p:?}");
                }
            }
        }
        // Both directions occur: a minority not heard, and a minority that hears no one.
        assert_eq!(directions.len(), 2);
        let names = ["n1", "n2", "n3"].map(String::from);
        let p = PartitionParams {
            shape: Shape::OneWay,
            groups: vec![vec![1], vec![0, 2]],
            blocks: vec![(1, 0), (1, 2)],
        };
        assert_eq!(
            p1.describe(&p, &names),
            "partition one-way: n2 -> n1 n3 dropped (n1 n3 -> n2 flows)"
        );
    }

    #[test]
    fn bridges_node_sees_both_halves_which_do_not_see_each_other() {
        let b = with(serde_json::json!({"shapes": ["bridge"]}));
        for n in [3usize, 4, 5, 7] {
            for seed in 0..30 {
                let p = b.generate(&mut Rng::new(seed, 0), n);
                assert_eq!(p.shape, Shape::Bridge);
                let (a, mid, c) = (&p.groups[0], &p.groups[1], &p.groups[2]);
                assert_eq!(mid.len(), 1);
                assert_eq!(a.len() + c.len() + 1, n);
                assert!(!a.is_empty() && !c.is_empty());
                let m = mid[0];
                // The bridge is never cut, either way.
                assert!(p.blocks.iter().all(|&(x, y)| x != m && y != m), "{p:?}");
                // The halves are cut both ways, completely.
                for &x in a {
                    for &y in c {
                        assert!(p.blocks.contains(&(x, y)) && p.blocks.contains(&(y, x)));
                    }
                }
                assert_eq!(p.blocks.len(), 2 * a.len() * c.len());
            }
        }
        // Two nodes cannot be bridged: a plain split.
        let p = b.generate(&mut Rng::new(1, 0), 2);
        assert_eq!(p.shape, Shape::MajorityMinority);
    }

    #[test]
    fn a_grudge_is_the_table_every_time() {
        let g = with(serde_json::json!({"grudge": {"n1": ["n2"], "n3": ["n1", "n2"]}}));
        let names = ["n1", "n2", "n3"].map(String::from);
        for seed in 0..10 {
            let p = g.generate(&mut Rng::new(seed, 0), 3);
            assert_eq!(p.shape, Shape::Grudge);
            // n1 does not hear from n2; n3 from n1 and n2. Nothing else.
            assert_eq!(p.blocks, [(0, 2), (1, 0), (1, 2)]);
            assert_eq!(
                g.describe(&p, &names),
                "partition grudge: n1 -> n3, n2 -> n1, n2 -> n3 dropped"
            );
        }
        // With other shapes, the grudge is one of them.
        let mixed =
            with(serde_json::json!({"grudge": {"n1": ["n2"]}, "shapes": ["grudge", "isolate"]}));
        let shapes: std::collections::BTreeSet<_> = (0..20)
            .map(|s| mixed.generate(&mut Rng::new(s, 0), 3).shape)
            .collect();
        assert_eq!(shapes, [Shape::Isolate, Shape::Grudge].into());
        assert!(g.fits(3).is_ok());
        assert_eq!(
            g.fits(2).unwrap_err().to_string(),
            "[partition]: grudge names n3 but the cluster has 2 nodes"
        );
    }

    #[test]
    fn a_wrong_grudge_says_what_is_wrong() {
        for (opts, want) in [
            (
                serde_json::json!({"grudge": {"n1": ["n1"]}}),
                "[partition]: grudge: n1 cannot hold a grudge against itself",
            ),
            (
                serde_json::json!({"grudge": {"node1": ["n2"]}}),
                "[partition]: grudge: \"node1\" is not a node name (n1, n2, ...)",
            ),
            (
                serde_json::json!({"grudge": {"n1": ["n02"]}}),
                "[partition]: grudge: \"n02\" is not a node name (n1, n2, ...)",
            ),
            (
                serde_json::json!({"grudge": {"n1": []}}),
                "[partition]: grudge: no node holds a grudge (name at least one pair)",
            ),
            (
                serde_json::json!({"shapes": ["grudge"]}),
                "[partition]: shapes names \"grudge\" but no grudge is given",
            ),
            (
                serde_json::json!({"grudge": {"n1": "n2"}}),
                "[partition]: invalid type: string \"n2\", expected a sequence",
            ),
        ] {
            let e = Partition::default()
                .with_options(&opts)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(want), "{opts}: {e}");
        }
    }

    #[test]
    fn the_default_shapes_are_still_the_first_three() {
        // New shapes are opt-in: the default plan does not change.
        assert_eq!(Partition::default(), with(serde_json::json!({})));
        assert_eq!(Partition::default().options.shapes, Shape::ALL);
    }
}
