//! The [`Workload`] trait: what a workload contributes to a plan.
//!
//! A workload names its operations and their mix; the plan builder (in the `squall` crate)
//! gives them times, workers and phases. Adding a workload is one file implementing this
//! trait plus one line in [`by_name`](crate::by_name).

use crate::client::ClientOp;
use crate::generator::OpGen;

/// Options every workload receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadOptions {
    /// Number of independent keys.
    pub keys: u64,
}

/// A workload: its setup ops, its main op generator, and its final ops.
///
/// ```
/// use workloads::{Rng, Workload, WorkloadOptions};
/// let w = workloads::by_name("cas-register", &WorkloadOptions { keys: 3 }).unwrap();
/// assert_eq!(w.setup().len(), 3); // every key written once before the test phase
/// let mut gen = w.generator();
/// let op = gen.op(&mut Rng::new(7, 0));
/// assert!(op.key < 3);
/// ```
pub trait Workload: Send + Sync {
    /// Its name, e.g. `cas-register`.
    fn name(&self) -> &'static str;
    /// The checker model its histories are checked against, e.g. `cas-register`.
    fn model(&self) -> &'static str;
    /// Ops run once before the test phase (e.g. write every key once).
    fn setup(&self) -> Vec<ClientOp>;
    /// The generator of the test phase's ops.
    fn generator(&self) -> Box<dyn OpGen>;
    /// Ops run once after every fault has healed and the cluster has been quiet (e.g. a
    /// final read of every key).
    fn finals(&self) -> Vec<ClientOp>;
}
