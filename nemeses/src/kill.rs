//! Kill: crash one or more nodes (SIGKILL for a process, power-off for a VM) and start them
//! again on heal, on the same data. What was not fsynced is lost, as in a real crash.

use crate::nemesis::Nemesis;
use crate::nodes::{NodeOptions, NodeSet};
use crate::target::{Capability, FaultTarget, NemesisError};
use workloads::Rng;

/// The kill nemesis. Its option, in the test file's `[kill]` table: `targets`
/// ([`NodeOptions`]).
#[derive(Clone, Debug, Default)]
pub struct Kill {
    options: NodeOptions,
}

impl Nemesis for Kill {
    type Params = NodeSet;

    fn name(&self) -> &'static str {
        "kill"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> NodeSet {
        self.options.draw(rng, nodes)
    }

    fn describe(&self, p: &NodeSet, names: &[String]) -> String {
        format!("kill {}", p.describe(names))
    }

    fn start(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        for &n in &p.nodes {
            target.kill(n)?;
        }
        Ok(())
    }

    fn with_options(&self, options: &serde_json::Value) -> Result<Self, NemesisError> {
        Ok(Kill {
            options: crate::nemesis::read_options("kill", options)?,
        })
    }

    fn resolve(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<NodeSet, NemesisError> {
        p.resolve(target)
    }

    fn needs_primaries(&self) -> bool {
        self.options.needs_primaries()
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::Crash]
    }

    fn heal(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        let mut first_err = None;
        for &n in &p.nodes {
            if let Err(e) = target.restart(n) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
