//! The [`Nemesis`] trait: one fault kind, in one file.
//!
//! A nemesis is a *package* (as in Jepsen): it draws a fault's parameters from the seed
//! ([`Nemesis::generate`]), says what that fault is in words ([`Nemesis::describe`]), starts
//! it on a [`FaultTarget`] and heals it. Its parameters are plain JSON so that a plan can
//! carry any nemesis's faults and a run can replay them.

use crate::target::{FaultTarget, NemesisError};
use serde_json::Value;
use workloads::Rng;

/// One kind of fault.
///
/// ```
/// use nemeses::{by_name, Nemesis};
/// use workloads::Rng;
/// let kill = by_name("kill").unwrap();
/// let params = kill.generate(&mut Rng::new(1, 0), 3);
/// let names = ["n1", "n2", "n3"].map(String::from);
/// assert!(kill.describe(&params, &names).starts_with("kill "));
/// ```
pub trait Nemesis: Send + Sync {
    /// Its name, as given to `--nemesis`.
    fn name(&self) -> &'static str;
    /// Draws one fault's parameters for a cluster of `nodes` nodes. Pure: uses only `rng`.
    fn generate(&self, rng: &mut Rng, nodes: usize) -> Value;
    /// The fault in a few words, e.g. `partition majority-minority: n1 n3 | n2`.
    fn describe(&self, params: &Value, names: &[String]) -> String;
    /// Starts the fault.
    fn start(&self, params: &Value, target: &dyn FaultTarget) -> Result<(), NemesisError>;
    /// Heals it. Idempotent: healing twice, or healing a fault that never started, is fine.
    fn heal(&self, params: &Value, target: &dyn FaultTarget) -> Result<(), NemesisError>;
}

/// Decodes a nemesis's parameters; a malformed plan entry is an error, not a panic.
pub(crate) fn params<T: serde::de::DeserializeOwned>(
    nemesis: &str,
    v: &Value,
) -> Result<T, NemesisError> {
    serde_json::from_value(v.clone()).map_err(|e| NemesisError::Failed {
        what: format!("{nemesis} parameters {v}"),
        cause: e.to_string(),
    })
}

/// `n1 n3` for nodes `[0, 2]`.
pub(crate) fn node_list(nodes: &[usize], names: &[String]) -> String {
    nodes
        .iter()
        .map(|&i| names.get(i).cloned().unwrap_or_else(|| format!("#{i}")))
        .collect::<Vec<_>>()
        .join(" ")
}
