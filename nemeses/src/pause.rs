//! Pause: freeze one or more nodes (SIGSTOP for a process, `vm.pause` for a VM) and thaw them
//! on heal. A paused node keeps its connections open but answers nothing: clients see
//! timeouts (`info`), peers see a node that stopped mid-sentence.

use crate::nemesis::{node_list, params, Nemesis};
use crate::target::{FaultTarget, NemesisError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use workloads::Rng;

/// The pause nemesis.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pause;

#[derive(Serialize, Deserialize)]
pub(crate) struct Nodes {
    pub(crate) nodes: Vec<usize>,
}

/// One node, or (less often) a minority of nodes.
pub(crate) fn some_nodes(rng: &mut Rng, nodes: usize) -> Value {
    let k = if nodes >= 3 && rng.below(3) == 0 {
        (nodes - 1) / 2
    } else {
        1
    };
    let mut v = rng.sample(nodes, k.max(1));
    v.sort();
    serde_json::json!({ "nodes": v })
}

impl Nemesis for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> Value {
        some_nodes(rng, nodes)
    }

    fn describe(&self, v: &Value, names: &[String]) -> String {
        match params::<Nodes>("pause", v) {
            Ok(p) => format!("pause {}", node_list(&p.nodes, names)),
            Err(e) => e.to_string(),
        }
    }

    fn start(&self, v: &Value, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        for n in params::<Nodes>("pause", v)?.nodes {
            target.pause(n)?;
        }
        Ok(())
    }

    fn heal(&self, v: &Value, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        let mut first_err = None;
        for n in params::<Nodes>("pause", v)?.nodes {
            if let Err(e) = target.resume(n) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
