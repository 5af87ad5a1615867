//! Kill: crash one or more nodes (SIGKILL for a process, power-off for a VM) and start them
//! again on heal, on the same data. What was not fsynced is lost, as in a real crash.

use crate::nemesis::{node_list, Nemesis};
use crate::nodes::NodeSet;
use crate::target::{FaultTarget, NemesisError};
use workloads::Rng;

/// The kill nemesis.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kill;

impl Nemesis for Kill {
    type Params = NodeSet;

    fn name(&self) -> &'static str {
        "kill"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> NodeSet {
        NodeSet::some(rng, nodes)
    }

    fn describe(&self, p: &NodeSet, names: &[String]) -> String {
        format!("kill {}", node_list(&p.nodes, names))
    }

    fn start(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        for &n in &p.nodes {
            target.kill(n)?;
        }
        Ok(())
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
