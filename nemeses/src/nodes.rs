//! [`NodeSet`]: the parameters of a fault that acts on some nodes one by one (pause, kill),
//! and how such a set is drawn.

use serde::{Deserialize, Serialize};
use workloads::Rng;

/// The nodes a fault acts on, numbered from 0, in increasing order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSet {
    /// The nodes.
    pub nodes: Vec<usize>,
}

impl NodeSet {
    /// One node, or (less often, on three nodes or more) a minority of them.
    pub fn some(rng: &mut Rng, nodes: usize) -> NodeSet {
        let k = if nodes >= 3 && rng.below(3) == 0 {
            (nodes - 1) / 2
        } else {
            1
        };
        let mut v = rng.sample(nodes, k.max(1));
        v.sort();
        NodeSet { nodes: v }
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
}
