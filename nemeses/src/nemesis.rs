//! The [`Nemesis`] trait: one fault kind, in one file, with its own typed parameters.
//!
//! A nemesis is a *package* (as in Jepsen): it draws a fault's parameters from the seed
//! ([`Nemesis::generate`]), says what that fault is in words ([`Nemesis::describe`]), starts
//! it on a [`FaultTarget`] and heals it. Its parameters are its own serde type
//! ([`Nemesis::Params`]), drawn once; every later step takes that typed value, so nothing
//! decodes them again. A [`Fault`](crate::Fault) carries a nemesis with its parameters as
//! data, whatever the nemesis; [`DynNemesis`] is the object-safe face the registry
//! ([`by_name`](crate::by_name)) hands out, implemented for every nemesis.

use crate::fault::Fault;
use crate::target::{Capability, FaultTarget, NemesisError};
use serde::de::DeserializeOwned;
use serde::{Deserialize as _, Serialize};
use serde_json::Value;
use std::fmt::Debug;
use std::sync::Arc;
use workloads::Rng;

/// One kind of fault.
///
/// ```
/// use nemeses::{Kill, Nemesis, NodeSet};
/// use workloads::Rng;
/// let p: NodeSet = Kill::default().generate(&mut Rng::new(1, 0), 3);
/// let names = ["n1", "n2", "n3"].map(String::from);
/// assert!(Kill::default().describe(&p, &names).starts_with("kill n"));
/// ```
pub trait Nemesis: Send + Sync {
    /// One fault's parameters (which nodes, which shape, ...). The plan file writes them
    /// as JSON (through [`serde_json::Value`], so with sorted keys) and reads them back.
    type Params: Serialize + DeserializeOwned + Debug + Clone + PartialEq + Send + Sync + 'static;

    /// Its name, as given to `--nemesis`.
    fn name(&self) -> &'static str;
    /// Draws one fault's parameters for a cluster of `nodes` nodes. Pure: uses only `rng`.
    fn generate(&self, rng: &mut Rng, nodes: usize) -> Self::Params;
    /// The fault in a few words, e.g. `partition majority-minority: n1 n3 | n2`.
    fn describe(&self, params: &Self::Params, names: &[String]) -> String;
    /// Starts the fault.
    fn start(&self, params: &Self::Params, target: &dyn FaultTarget) -> Result<(), NemesisError>;
    /// Heals it. Idempotent: healing twice, or healing a fault that never started, is fine.
    fn heal(&self, params: &Self::Params, target: &dyn FaultTarget) -> Result<(), NemesisError>;

    /// The fault as it applies now, just before it starts: what the plan could not decide
    /// (the nodes of a `primaries` fault) asked of `target`. The default: `params` as they
    /// are. Heal acts on what this returned.
    fn resolve(
        &self,
        params: &Self::Params,
        _target: &dyn FaultTarget,
    ) -> Result<Self::Params, NemesisError> {
        Ok(params.clone())
    }
    /// Whether, as configured, its faults may target `primaries` (the system must then
    /// have a leader hook: checked when the test is configured).
    fn needs_primaries(&self) -> bool {
        false
    }
    /// What it needs of an environment, for `squall doctor`.
    fn needs(&self) -> Vec<Capability> {
        Vec::new()
    }
    /// Whether its options fit a cluster of `nodes` nodes (a grudge naming `n7` does not
    /// fit three). Checked when the test is configured.
    fn fits(&self, _nodes: usize) -> Result<(), NemesisError> {
        Ok(())
    }

    /// This nemesis as the test's `[name]` table configures it (`options`: a JSON object,
    /// empty when the test has none). A nemesis with options reads them into its own type
    /// with [`read_options`]; the default takes none, and any key is an error naming it.
    fn with_options(&self, options: &Value) -> Result<Self, NemesisError>
    where
        Self: Sized + Clone,
    {
        read_options::<NoOptions>(self.name(), options)?;
        Ok(self.clone())
    }
}

/// The options of a nemesis that has none.
#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoOptions {}

/// `options` (a nemesis's `[name]` table as JSON; null: none) read into its own type `T`
/// (`#[serde(default, deny_unknown_fields)]`): an error names the table and the key.
pub fn read_options<T: DeserializeOwned + Default>(
    nemesis: &str,
    options: &Value,
) -> Result<T, NemesisError> {
    if options.is_null() {
        return Ok(T::default());
    }
    T::deserialize(options).map_err(|e| NemesisError::Options {
        nemesis: nemesis.to_string(),
        cause: e.to_string(),
    })
}

/// A nemesis whatever its parameters' type: what [`by_name`](crate::by_name) returns and a
/// schedule deals from. Every [`Nemesis`] is one; implement [`Nemesis`], not this.
///
/// ```
/// use nemeses::by_name;
/// use workloads::Rng;
/// let kill = by_name("kill").unwrap();
/// let fault = kill.generate(&mut Rng::new(1, 0), 3);
/// let names = ["n1", "n2", "n3"].map(String::from);
/// assert!(fault.describe(&names).starts_with("kill "));
/// assert_eq!(kill.decode(&fault.params_json()).unwrap(), fault);
/// ```
pub trait DynNemesis: Send + Sync {
    /// Its name, as given to `--nemesis`.
    fn name(&self) -> &'static str;
    /// Draws one fault for a cluster of `nodes` nodes ([`Nemesis::generate`]).
    fn generate(&self, rng: &mut Rng, nodes: usize) -> Fault;
    /// The fault whose parameters a plan file holds as `params`; an error says what is wrong.
    fn decode(&self, params: &Value) -> Result<Fault, NemesisError>;
    /// This nemesis configured by its `[name]` table ([`Nemesis::with_options`]).
    fn configure(&self, options: &Value) -> Result<Arc<dyn DynNemesis>, NemesisError>;
    /// [`Nemesis::needs_primaries`].
    fn needs_primaries(&self) -> bool;
    /// [`Nemesis::needs`].
    fn needs(&self) -> Vec<Capability>;
    /// [`Nemesis::fits`].
    fn fits(&self, nodes: usize) -> Result<(), NemesisError>;
}

impl<N: Nemesis + Clone + 'static> DynNemesis for N {
    fn name(&self) -> &'static str {
        Nemesis::name(self)
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> Fault {
        Fault::new(self.clone(), Nemesis::generate(self, rng, nodes))
    }

    fn decode(&self, params: &Value) -> Result<Fault, NemesisError> {
        let p = N::Params::deserialize(params).map_err(|e| NemesisError::Params {
            nemesis: Nemesis::name(self).to_string(),
            cause: e.to_string(),
        })?;
        Ok(Fault::new(self.clone(), p))
    }

    fn configure(&self, options: &Value) -> Result<Arc<dyn DynNemesis>, NemesisError> {
        Ok(Arc::new(Nemesis::with_options(self, options)?))
    }

    fn needs_primaries(&self) -> bool {
        Nemesis::needs_primaries(self)
    }

    fn needs(&self) -> Vec<Capability> {
        Nemesis::needs(self)
    }

    fn fits(&self, nodes: usize) -> Result<(), NemesisError> {
        Nemesis::fits(self, nodes)
    }
}

/// `n1 n3` for nodes `[0, 2]`.
pub(crate) fn node_list(nodes: &[usize], names: &[String]) -> String {
    nodes
        .iter()
        .map(|&i| names.get(i).cloned().unwrap_or_else(|| format!("#{i}")))
        .collect::<Vec<_>>()
        .join(" ")
}
