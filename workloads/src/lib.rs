//! Workloads: what clients do to the system under test, and the client contract.
//!
//! - [`client`]: [`Op`] (an op as data: `f` and a JSON value), [`Outcome`] and the [`Client`]
//!   trait each system adapter
//!   implements (and the rule for classifying outcomes honestly).
//! - [`rng`]: [`Rng`], the seeded ChaCha8 stream plans are made from.
//! - [`generator`]: small pure generators — [`Mix`], [`Stagger`], [`Limit`], [`Once`],
//!   [`Phases`]; [`WorkerStream`] and [`Merged`] draw each worker's ops and merge them lazily
//!   ([`per_worker`] does it whole).
//! - [`workload`]: the [`Workload`] trait; one file per workload ([`cas_register`], [`set`],
//!   [`bank`]), each owning its typed ops.

pub mod bank;
pub mod cas_register;
pub mod client;
pub mod generator;
pub mod rng;
pub mod set;
pub mod workload;

pub use bank::{Bank, BankOp};
pub use cas_register::{CasRegister, CasRegisterOptions, RegisterOp, Values};
pub use client::{BoxFuture, Client, Op, Outcome};
pub use generator::{
    per_worker, Limit, Merged, Mix, Once, OpGen, Phases, PlannedOp, Stagger, Timed, WorkerStream,
};
pub use rng::Rng;
pub use set::{Set, SetOp};
pub use workload::{Workload, WorkloadError, WorkloadOptions};

/// The names of the workloads [`by_name`] knows.
pub const NAMES: &[&str] = &["cas-register", "set", "bank"];

/// The workload called `name` with `opts`; an error if there is none or its options are
/// wrong.
pub fn by_name(name: &str, opts: &WorkloadOptions) -> Result<Box<dyn Workload>, WorkloadError> {
    Ok(match name {
        "cas-register" => Box::new(CasRegister::new(opts)?),
        "set" => {
            opts.none(name)?;
            Box::new(Set::new(opts))
        }
        "bank" => Box::new(Bank::new(opts)?),
        _ => return Err(WorkloadError::Unknown(name.to_string())),
    })
}
