//! Faults, their schedules, and the environments they act on.
//!
//! - [`target`]: [`FaultTarget`], the few primitives an environment offers (block a link,
//!   pause, kill, ...), and [`NemesisError`].
//! - [`nemesis`]: the [`Nemesis`] trait — one fault kind per file, with its own typed
//!   parameters: [`partition`] (six shapes, a user's grudge among them), [`pause`],
//!   [`kill`], [`isolate`] (a node's link down), [`bandwidth`] (a `tbf` rate limit); and
//!   [`nodes`], the node sets and target specs (`one | minority | majority | all |
//!   primaries`) the node faults act on. Register a new one in [`by_name`]; [`DynNemesis`]
//!   is what the registry hands out. [`packet`]: delay, loss, duplication, reordering and
//!   corruption between nodes. [`clock`]: the nodes' wall clocks bumped or strobed.
//! - [`fault`]: [`Fault`], one fault as data (a nemesis and its parameters), and
//!   [`decode`], the way back from a plan file's `fault` and `params`.
//! - [`schedule`]: when faults start and heal, with healthy windows between them.
//! - [`guard`]: [`FaultGuard`], a fault in force that heals on drop.

pub mod bandwidth;
pub mod clock;
pub mod fault;
pub mod guard;
pub mod isolate;
pub mod kill;
pub mod nemesis;
pub mod nodes;
pub mod packet;
pub mod partition;
pub mod pause;
pub mod schedule;
pub mod target;

pub use bandwidth::{Bandwidth, BandwidthParams};
pub use clock::{Clock, ClockChange, ClockParams};
pub use fault::{decode, Fault};
pub use guard::FaultGuard;
pub use isolate::Isolate;
pub use kill::Kill;
pub use nemesis::{read_options, DynNemesis, Nemesis};
pub use nodes::{NodeOptions, NodeSet, Targets};
pub use packet::{Behaviour, Direction, Packet, PacketOptions, PacketParams};
pub use partition::{Partition, PartitionOptions, PartitionParams, Shape};
pub use pause::Pause;
pub use schedule::{schedule, Overlapping, PlannedFault, Schedule, ScheduleOptions};
pub use target::{Capability, FaultTarget, NemesisError, RateLimit};

use std::sync::Arc;

/// The names [`by_name`] knows, in the order `--help` lists them.
pub const NAMES: &[&str] = &[
    "partition",
    "pause",
    "kill",
    "isolate",
    "bandwidth",
    "packet",
    "clock",
];

/// The nemesis called `name`, or `None`.
pub fn by_name(name: &str) -> Option<Arc<dyn DynNemesis>> {
    match name {
        "partition" => Some(Arc::new(Partition::default())),
        "pause" => Some(Arc::new(Pause::default())),
        "kill" => Some(Arc::new(Kill::default())),
        "isolate" => Some(Arc::new(Isolate::default())),
        "bandwidth" => Some(Arc::new(Bandwidth::default())),
        "packet" => Some(Arc::new(Packet::default())),
        "clock" => Some(Arc::new(Clock::default())),
        _ => None,
    }
}
