//! The [`Workload`] trait: what a workload contributes to a plan.
//!
//! A workload names its operations and their mix; the plan builder (in the `squall` crate)
//! gives them times, workers and phases. Adding a workload is one file implementing this
//! trait plus one line in [`by_name`](crate::by_name).

use crate::client::Op;
use crate::generator::OpGen;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Options every workload receives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadOptions {
    /// Number of independent keys.
    pub keys: u64,
    /// The workload's own options: the test file's table named after it (`[bank]`), as a
    /// JSON object (null or empty: none). A workload reads it into its own type with
    /// [`WorkloadOptions::own`].
    pub options: serde_json::Value,
}

impl WorkloadOptions {
    /// `keys` keys and no options of the workload's own.
    pub fn keys(keys: u64) -> Self {
        WorkloadOptions {
            keys,
            options: serde_json::Value::Null,
        }
    }

    /// The workload `workload`'s own options read into `T` (give it
    /// `#[serde(default, deny_unknown_fields)]`, so a missing key takes its default and a
    /// misspelt one is an error naming it).
    pub fn own<T: DeserializeOwned + Default>(&self, workload: &str) -> Result<T, WorkloadError> {
        match &self.options {
            serde_json::Value::Null => Ok(T::default()),
            v => T::deserialize(v).map_err(|e| WorkloadError::Options {
                workload: workload.to_string(),
                cause: e.to_string(),
            }),
        }
    }

    /// Checks that the workload `workload`, which has no options of its own, was given none.
    pub fn none(&self, workload: &str) -> Result<(), WorkloadError> {
        self.own::<NoOptions>(workload).map(|_| ())
    }
}

/// The options of a workload that has none: any key is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoOptions {}

/// A workload that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// No workload has this name.
    #[error("unknown workload {0:?}")]
    Unknown(String),
    /// Its options are wrong.
    #[error("[{workload}]: {cause}")]
    Options {
        /// The workload.
        workload: String,
        /// What is wrong.
        cause: String,
    },
}

/// A workload: its setup ops, its main op generator, and its final ops.
///
/// ```
/// use workloads::{Rng, Workload, WorkloadOptions};
/// let w = workloads::by_name("cas-register", &WorkloadOptions::keys(3)).unwrap();
/// assert_eq!(w.setup().len(), 3); // every key written once before the test phase
/// let mut gen = w.generator(0, 5); // worker 0 of 5
/// let op = gen.op(&mut Rng::new(7, 0));
/// assert!(op.value[0].as_u64().unwrap() < 3); // a register op's value is [key value]
/// ```
pub trait Workload: Send + Sync {
    /// Its name, e.g. `cas-register`.
    fn name(&self) -> &'static str;
    /// The checker model its histories are checked against, e.g. `cas-register`.
    fn model(&self) -> &'static str;
    /// The vocabulary of its ops — `register` ([`crate::RegisterOp`]), `set`
    /// ([`crate::SetOp`]), `bank` ([`crate::BankOp`]) or a user's own — which a system's
    /// client must speak to run it (several workloads may share one: a cas-register with
    /// another mix is still register ops).
    fn ops(&self) -> &'static str;
    /// Ops run once before the test phase (e.g. write every key once).
    fn setup(&self) -> Vec<Op>;
    /// The generator of worker `worker`'s test-phase ops (of `workers`): a workload whose
    /// values must be unique across workers (a set's elements) draws them from the worker's
    /// own share.
    fn generator(&self, worker: usize, workers: usize) -> Box<dyn OpGen>;
    /// Ops run once after every fault has healed and the cluster has been quiet (e.g. a
    /// final read of every key).
    fn finals(&self) -> Vec<Op>;
    /// The checkers a run of this workload is judged by (composed: invalid > unknown >
    /// valid), e.g. linearizability over its model and Jepsen's stats.
    fn checker(&self) -> Box<dyn checkers::Checker>;
}
