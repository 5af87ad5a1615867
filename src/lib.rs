//! `squall`: Jepsen-style chaos testing of distributed systems, reproducible from a seed.
//!
//! squall is a library first: the `squall` binary is a thin layer over it (`src/main.rs`),
//! and a user's own crate can depend on it to drive the same runs.
//!
//! The flow of one run (see `DESIGN.md` in the project):
//! seed + [`config`] → [`plan`] (pure) → [`run`]: [`env`] (local cluster) + [`systems`]
//! (etcd) → [`runner`] (tokio), recording through [`recorder`] → [`report`] (checker,
//! verdict) → [`store`].
//!
//! - [`cmd`]: the command line ([`main_with`]), one file per subcommand owning its
//!   arguments (`run`, `plan`, `replay`, `soak`, `check`, `clean`, `bench`, `doctor`,
//!   `export`, `report`, `image`); [`cli`]: the subcommands; [`config`]: the test
//!   configuration and duration parsing.
//! - [`plan`]: the seeded plan; [`runner`]: executes it; [`recorder`]: the history file;
//!   [`primaries`]: the fault target of a run, with the system's leader hook.
//! - [`env`]: where nodes run (network namespaces, the hub, faults); [`systems`]: adapters.
//! - [`vm`]: the Cloud Hypervisor environment; [`image`]: its guest images.
//! - [`soak`]: many seeds of a test, summarised (`squall soak`).
//! - [`rerun`]: the rerun line a run prints; [`origins`]: where each value of a test came
//!   from.
//! - [`registry`]: the workloads, systems and nemeses a program knows (a user's crate adds
//!   its own and gets the whole CLI through [`main_with`]).
//! - [`exit`]: exit codes; [`noop`]: a system and a fault target that do nothing (benchmarks,
//!   tests).
//! - [`timer`]: a high-resolution sleep; [`log`]: the run's `squall.log`; [`interrupt`]:
//!   stopping a run (INT, TERM, HUP from its first instant; a history that cannot be written).
//! - [`histogram`]: constant-memory run statistics; [`plan_file`]: `plan.jsonl` written as
//!   the run goes.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod env;
pub mod exit;
pub mod histogram;
pub mod image;
pub mod interrupt;
pub mod log;
pub mod noop;
pub mod origins;
pub mod plan;
pub mod plan_file;
pub mod primaries;
pub mod recorder;
pub mod registry;
pub mod report;
pub mod rerun;
pub mod run;
pub mod runner;
pub mod soak;
pub mod store;
pub mod systems;
pub mod timer;
pub mod vm;

pub use cli::main_with;
