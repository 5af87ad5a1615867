//! Packet faults in the hub: the `packet` nemesis's two backends, behind one
//! [`Shapers`] per run.
//!
//! - [`netem`]: the kernel's `netem` qdisc on the hub side of the destination's link, where
//!   the kernel has `sch_netem`;
//! - otherwise the userspace shaper: [`rules`] queue the shaped links' forwarded packets
//!   (NFQUEUE, through `iptables-nft` in the hub namespace) to a verdict loop
//!   ([`queue::Shaper`], a thread in the hub) that decides each packet's fate from the
//!   fault's seed ([`decide`]).
//!
//! `SQUALL_PACKET_BACKEND=userspace` forces the userspace shaper where netem exists. Only
//! forwarded node-to-node packets are shaped; clients in the hub never are. A fault is
//! healed by [`Shapers::unshape`] (rules removed first, then held packets released), by
//! [`Shapers::heal_all`] (heal-all, teardown), and by deleting the hub namespace (its rules
//! and qdiscs go with it; `squall clean` after a `kill -9`).

pub mod decide;
pub mod netem;
pub mod queue;
pub mod rules;

use super::hub::{failed, lock, Hub};
use super::EnvError;
use nemeses::{NemesisError, PacketParams};
use netem::Backend;
use std::sync::{Mutex, OnceLock};

/// One packet fault in force.
struct Active {
    params: PacketParams,
    how: How,
}

enum How {
    Netem { heal: Vec<Vec<String>> },
    Userspace { queue: u16, shaper: queue::Shaper },
}

/// The packet faults in force in one hub.
#[derive(Default)]
pub struct Shapers {
    backend: OnceLock<Backend>,
    active: Mutex<Vec<Active>>,
}

impl Shapers {
    /// The backend this hub uses (probed once, in the hub).
    pub fn backend(&self, hub: &Hub) -> Backend {
        self.backend
            .get_or_init(|| {
                let forced = std::env::var("SQUALL_PACKET_BACKEND").ok();
                let netem = forced.as_deref() != Some("userspace")
                    && hub
                        .with(|nl| nl.qdisc_supported("lo", "netem"))
                        .unwrap_or(false);
                Backend::choose(netem)
            })
            .clone()
    }

    /// Starts fault `p`; `links[i]` is node `i`'s hub-side link. Idempotent.
    pub fn shape(&self, hub: &Hub, links: &[String], p: &PacketParams) -> Result<(), NemesisError> {
        let what = "packet".to_string();
        if let Some(&(a, b)) = p
            .links
            .iter()
            .find(|&&(a, b)| a >= links.len() || b >= links.len() || a == b)
        {
            return Err(failed(
                what,
                EnvError::Invalid(format!("no link {a} -> {b}")),
            ));
        }
        let mut active = lock(&self.active);
        if active.iter().any(|a| a.params == *p) {
            return Ok(());
        }
        let ns = hub.name();
        let how = match self.backend(hub) {
            Backend::Unsupported(why) => {
                return Err(NemesisError::Unsupported(format!("packet ({why})")))
            }
            Backend::Netem => {
                let cmds = netem::commands(&p.links, &p.behaviour, |i| links[i].clone());
                let heal = netem::heal_commands(&p.links, |i| links[i].clone());
                for c in &cmds {
                    if let Err(e) = netem::tc(ns, c) {
                        for h in &heal {
                            let _ = netem::tc(ns, h);
                        }
                        return Err(failed(what, e));
                    }
                }
                How::Netem { heal }
            }
            Backend::Userspace => {
                let queue = (1..=u16::MAX)
                    .find(|q| {
                        !active
                            .iter()
                            .any(|a| matches!(a.how, How::Userspace { queue, .. } if queue == *q))
                    })
                    .ok_or_else(|| {
                        failed(what.clone(), EnvError::Invalid("no free queue".into()))
                    })?;
                // The listener first, then the rules that feed it.
                let shaper = queue::Shaper::start(ns, queue, p.behaviour, p.seed)
                    .map_err(|e| failed(what.clone(), e))?;
                rules::add(ns, &p.links, queue).map_err(|e| failed(what.clone(), e))?;
                How::Userspace { queue, shaper }
            }
        };
        tracing::info!(run = hub.run_id(), behaviour = %p.behaviour.describe(), links = p.links.len(), "packet fault in force");
        active.push(Active {
            params: p.clone(),
            how,
        });
        Ok(())
    }

    /// Heals fault `p` (idempotent: a fault not in force is fine).
    pub fn unshape(&self, hub: &Hub, p: &PacketParams) -> Result<(), NemesisError> {
        let found = {
            let mut active = lock(&self.active);
            active
                .iter()
                .position(|a| a.params == *p)
                .map(|i| active.remove(i))
        };
        match found {
            Some(a) => heal(hub, a),
            None => Ok(()),
        }
    }

    /// Heals every packet fault in force.
    pub fn heal_all(&self, hub: &Hub) -> Result<(), NemesisError> {
        let all: Vec<Active> = lock(&self.active).drain(..).collect();
        let mut result = Ok(());
        for a in all {
            result = result.and(heal(hub, a));
        }
        result
    }
}

fn heal(hub: &Hub, a: Active) -> Result<(), NemesisError> {
    let what = || "heal packet".to_string();
    let ns = hub.name();
    match a.how {
        How::Netem { heal } => {
            let mut result = Ok(());
            for cmd in heal {
                result = result.and(netem::tc(ns, &cmd).map_err(|e| failed(what(), e)));
            }
            result
        }
        How::Userspace { queue, mut shaper } => {
            // Rules first, so nothing new is queued; then the held packets go.
            let result = rules::remove(ns, &a.params.links, queue).map_err(|e| failed(what(), e));
            shaper.stop();
            tracing::info!(run = hub.run_id(), counts = %shaper.counts.summary(), "packet fault healed");
            result
        }
    }
}
