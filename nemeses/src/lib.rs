//! Faults and the environments they act on.

pub mod target;

pub use target::{FaultTarget, NemesisError};
