//! Isolate: a node's link down, and up again on heal (the seed document's `ip link set
//! ch-tapN down`). The hub side of the node's link goes down — its veth for a process, its
//! TAP for a VM — so the node hears no one and no one hears it, clients included (they see
//! timeouts: `info`). Unlike the partition shape `isolate` (blackhole rules between nodes),
//! the node's own link state changes: the node's side loses its carrier, as when a cable is
//! pulled.
//!
//! Its option, in the test file's `[isolate]` table: `targets` ([`NodeOptions`]).

use crate::nemesis::Nemesis;
use crate::nodes::{NodeOptions, NodeSet};
use crate::target::{Capability, FaultTarget, NemesisError};
use workloads::Rng;

/// The isolate nemesis.
#[derive(Clone, Debug, Default)]
pub struct Isolate {
    options: NodeOptions,
}

impl Nemesis for Isolate {
    type Params = NodeSet;

    fn name(&self) -> &'static str {
        "isolate"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> NodeSet {
        self.options.draw(rng, nodes)
    }

    fn describe(&self, p: &NodeSet, names: &[String]) -> String {
        format!("isolate {}: link down", p.describe(names))
    }

    fn start(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        for &n in &p.nodes {
            target.link_down(n)?;
        }
        Ok(())
    }

    fn heal(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        let mut first_err = None;
        for &n in &p.nodes {
            if let Err(e) = target.link_up(n) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn with_options(&self, options: &serde_json::Value) -> Result<Self, NemesisError> {
        Ok(Isolate {
            options: crate::nemesis::read_options("isolate", options)?,
        })
    }

    fn resolve(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<NodeSet, NemesisError> {
        p.resolve(target)
    }

    fn needs_primaries(&self) -> bool {
        self.options.needs_primaries()
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::LinkState]
    }
}
