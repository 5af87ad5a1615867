//! Environments: where the nodes run. `local` (processes in network namespaces) is the
//! default; each environment implements [`nemeses::FaultTarget`].

pub mod local;
pub mod netlink;
pub mod netns;
