//! Faults, their schedules, and the environments they act on.
//!
//! - [`target`]: [`FaultTarget`], the few primitives an environment offers (block a link,
//!   pause, kill, ...), and [`NemesisError`].
//! - [`nemesis`]: the [`Nemesis`] trait — one fault kind per file, with its own typed
//!   parameters: [`partition`], [`pause`], [`kill`], [`packet`] (and [`nodes`], the node sets the last
//!   two act on). Register a new one in [`by_name`]; [`DynNemesis`] is what the registry
//!   hands out.
//! - [`fault`]: [`Fault`], one fault as data (a nemesis and its parameters), and
//!   [`decode`], the way back from a plan file's `fault` and `params`.
//! - [`schedule`]: when faults start and heal, with healthy windows between them.
//! - [`guard`]: [`FaultGuard`], a fault in force that heals on drop.

pub mod fault;
pub mod guard;
pub mod kill;
pub mod nemesis;
pub mod nodes;
pub mod packet;
pub mod partition;
pub mod pause;
pub mod schedule;
pub mod target;

pub use fault::{decode, Fault};
pub use guard::FaultGuard;
pub use kill::Kill;
pub use nemesis::{read_options, DynNemesis, Nemesis};
pub use nodes::NodeSet;
pub use packet::{Behaviour, Direction, Packet, PacketOptions, PacketParams, Targets};
pub use partition::{Partition, PartitionOptions, PartitionParams, Shape};
pub use pause::Pause;
pub use schedule::{schedule, PlannedFault, Schedule, ScheduleOptions};
pub use target::{FaultTarget, NemesisError};

use std::sync::Arc;

/// The names [`by_name`] knows, in the order `--help` lists them.
pub const NAMES: &[&str] = &["partition", "pause", "kill", "packet"];

/// The nemesis called `name`, or `None`.
pub fn by_name(name: &str) -> Option<Arc<dyn DynNemesis>> {
    match name {
        "partition" => Some(Arc::new(Partition::default())),
        "pause" => Some(Arc::new(Pause)),
        "kill" => Some(Arc::new(Kill)),
        "packet" => Some(Arc::new(Packet::default())),
        _ => None,
    }
}
