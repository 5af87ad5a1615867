//! Pause: freeze one or more nodes (SIGSTOP for a process, `vm.pause` for a VM) and thaw them
//! on heal. A paused node keeps its connections open but answers nothing: clients see
//! timeouts (`info`), peers see a node that stopped mid-sentence.

use crate::nemesis::Nemesis;
use crate::nodes::{NodeOptions, NodeSet};
use crate::target::{Capability, FaultTarget, NemesisError};
use workloads::Rng;

/// The pause nemesis. Its option, in the test file's `[pause]` table: `targets`
/// ([`NodeOptions`]).
#[derive(Clone, Debug, Default)]
pub struct Pause {
    options: NodeOptions,
}

impl Nemesis for Pause {
    type Params = NodeSet;

    fn name(&self) -> &'static str {
        "pause"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> NodeSet {
        self.options.draw(rng, nodes)
    }

    fn describe(&self, p: &NodeSet, names: &[String]) -> String {
        format!("pause {}", p.describe(names))
    }

    fn start(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        for &n in &p.nodes {
            target.pause(n)?;
        }
        Ok(())
    }

    fn with_options(&self, options: &serde_json::Value) -> Result<Self, NemesisError> {
        Ok(Pause {
            options: crate::nemesis::read_options("pause", options)?,
        })
    }

    fn resolve(&self, p: &NodeSet, target: &dyn FaultTarget) -> Result<NodeSet, NemesisError> {
        p.resolve(target)
    }

    fn needs_primaries(&self) -> bool {
        self.options.needs_primaries()
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::Freeze]
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
