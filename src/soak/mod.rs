//! `squall soak`: many seeds of one test, each a full `squall run` with its own store, in
//! parallel where the host allows, resumable, summarised for a person (a table, findings
//! grouped by anomaly, `index.html`) and for machines (`soak.json`, JUnit XML); sharded over
//! an existing engine (Kubernetes Indexed Jobs, CI matrices) and merged back.
//!
//! - [`seeds`]: which seeds (`--seeds 1..200`, `--count N`, `--for 8h`).
//! - [`shard`]: `--shard I/N`, or the engine's environment.
//! - [`parallel`]: how many runs at once by default, from the host.
//! - [`layout`]: the soak folder; [`record`]: one seed as its run left it.
//! - [`pool`]: the runs as child processes; [`progress`]: the progress line.
//! - [`signature`]: anomaly signatures; [`finding`]: failures grouped by them;
//!   [`summary`]: soak.json, the table, the exit code; [`junit`], [`html`]: the other
//!   renderings; [`write`]: all of them into the soak folder; [`merge`]: joining soaks.
//!
//! The command itself (its options, the loop over seeds) is [`crate::cmd::soak`].

pub mod finding;
pub mod html;
pub mod junit;
pub mod layout;
pub mod merge;
pub mod parallel;
pub mod pool;
pub mod progress;
pub mod record;
pub mod seeds;
pub mod shard;
pub mod signature;
pub mod summary;
pub mod write;

pub use finding::Finding;
pub use layout::SoakDir;
pub use record::SeedRecord;
pub use seeds::Seeds;
pub use shard::Shard;
pub use signature::Signature;
pub use summary::Summary;
