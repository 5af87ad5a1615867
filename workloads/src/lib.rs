//! Workloads and the client contract.

pub mod client;

pub use client::{BoxFuture, Client, ClientOp, OpFn, OpValue, Outcome};
