//! Kill: crash one or more nodes (SIGKILL for a process, power-off for a VM) and start them
//! again on heal, on the same data. What was not fsynced is lost, as in a real crash.

use crate::nemesis::{node_list, params, Nemesis};
use crate::pause::{some_nodes, Nodes};
use crate::target::{FaultTarget, NemesisError};
use serde_json::Value;
use workloads::Rng;

/// The kill nemesis.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kill;

impl Nemesis for Kill {
    fn name(&self) -> &'static str {
        "kill"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> Value {
        some_nodes(rng, nodes)
    }

    fn describe(&self, v: &Value, names: &[String]) -> String {
        match params::<Nodes>("kill", v) {
            Ok(p) => format!("kill {}", node_list(&p.nodes, names)),
            Err(e) => e.to_string(),
        }
    }

    fn start(&self, v: &Value, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        for n in params::<Nodes>("kill", v)?.nodes {
            target.kill(n)?;
        }
        Ok(())
    }

    fn heal(&self, v: &Value, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        let mut first_err = None;
        for n in params::<Nodes>("kill", v)?.nodes {
            if let Err(e) = target.restart(n) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
