//! The models, one per file, and the interning of JSON values they share.
//!
//! - [`register`]: a read/write register.
//! - [`cas_register`]: a read/write/compare-and-set register.
//! - [`kv`]: one key of a key-value store: a register that also takes `append`.
//! - [`multi_register`]: registers read and written by transactions of micro-ops.
//! - [`mutex`]: a lock: `acquire` / `release`.
//! - [`intern`]: JSON values to small integers, so states hash and compare cheaply.

pub mod cas_register;
pub mod intern;
pub mod kv;
pub mod multi_register;
pub mod mutex;
pub mod register;

pub use cas_register::CasRegister;
pub use intern::Interner;
pub use kv::{Kv, KvOp, KvState};
pub use multi_register::{MicroOp, MultiRegister};
pub use mutex::{Mutex, MutexOp};
pub use register::{Register, RegisterOp};
