//! Pause: freeze one or more nodes (SIGSTOP for a process, `vm.pause` for a VM) and thaw them
//! on heal. A paused node keeps its connections open but answers nothing: clients see
//! timeouts (`info`), peers see a node that stopped mid-sentence.

use crate::nemesis::{node_list, Nemesis};
use crate::nodes::NodeSet;
use crate::target::{FaultTarget, NemesisError};
use workloads::Rng;

/// The pause nemesis.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pause;

impl Nemesis for Pause {
    type Params = NodeSet;

    fn name(&self) -> &'static str {
        "pause"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> NodeSet {
        NodeSet::some(rng, nodes)
    }

    fn describe(&self, p: &NodeSet, names: &[String]) -> String {
        format!("pause {}", node_list(&p.nodes, names))
    }

    fn start(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        for &n in &p.nodes {
            target.pause(n)?;
        }
        Ok(())
    }

    fn heal(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        let mut first_err = None;
        for &n in &p.nodes {
            if let Err(e) = target.resume(n) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
