//! `squall shrink RUN_DIR`: a failing run's plan made smaller while it still fails, on the
//! real cluster — delta debugging over its faults, then its time line and its ops — each
//! candidate run a few times, because a real cluster is not deterministic.
//!
//! - [`ddmin`]: Zeller's delta debugging over a list of parts.
//! - [`candidate`]: a candidate (what is kept of the plan), written as a plan file
//!   `squall run --plan` takes.
//! - [`trial`]: a candidate's runs, as child processes, under a budget of runs.
//! - [`search`]: the order of the search and the best plan so far.
//! - [`account`]: what shrinking found and cost (`faults 6 → 1, ...`).
//!
//! The command (its options, the result's rerun line) is [`crate::cmd::shrink`].

pub mod account;
pub mod candidate;
pub mod ddmin;
pub mod search;
pub mod trial;

pub use account::Account;
pub use candidate::{Cut, Parts, Size};
pub use ddmin::{ddmin, Minimized, Outcome};
pub use search::Search;
pub use trial::{Budget, Runner};
