//! The models, one per file, and the interning of JSON values they share.
//!
//! - [`register`]: a read/write register.
//! - [`cas_register`]: a read/write/compare-and-set register.
//! - [`intern`]: JSON values to small integers, so states hash and compare cheaply.

pub mod cas_register;
pub mod intern;
pub mod register;

pub use cas_register::CasRegister;
pub use intern::Interner;
pub use register::{Register, RegisterOp};
