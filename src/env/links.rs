//! Faults on a node's link, for every environment: the hub side of the link (a veth for a
//! process, a TAP for a VM) goes down and up (`isolate`), or gets a `tbf` qdisc (`bandwidth`).
//! Both act inside the hub namespace only, through the hub's netlink socket, so deleting the
//! hub — at teardown or by `squall clean` after a crash — takes them with it; the final
//! heal-all undoes them explicitly ([`Hub::heal_links`]).

use super::hub::{failed, Hub};
use nemeses::{NemesisError, RateLimit};

impl Hub {
    /// Node `node`'s link down (`up = false`) or up. Idempotent.
    pub fn link_state(&self, node: usize, up: bool) -> Result<(), NemesisError> {
        let verb = if up { "link up" } else { "link down" };
        let (link, name) = self.link(node, verb)?;
        self.with(|nl| {
            if up {
                nl.set_up(&link)
            } else {
                nl.set_down(&link)
            }
        })
        .map_err(|e| failed(format!("{verb} {name} ({link})"), e))
    }

    /// A `tbf` qdisc of `limit` as the root of node `node`'s link in the hub: what the link
    /// carries towards the node is shaped. A second call replaces the first.
    pub fn rate_limit(&self, node: usize, limit: &RateLimit) -> Result<(), NemesisError> {
        let (link, name) = self.link(node, "rate limit")?;
        let burst = limit.burst_bytes;
        self.with(|nl| nl.set_tbf(&link, limit.rate_bytes(), burst, limit.limit_bytes()))
            .map_err(|e| failed(format!("rate limit {name} ({link})"), e))
    }

    /// Undoes [`Hub::rate_limit`]: the link's default qdisc again. Idempotent.
    pub fn unlimit(&self, node: usize) -> Result<(), NemesisError> {
        let (link, name) = self.link(node, "unlimit")?;
        self.with(|nl| nl.del_root_qdisc(&link))
            .map_err(|e| failed(format!("unlimit {name} ({link})"), e))
    }

    /// Every node's link up and unshaped (heal-all). Every link is attempted; the first
    /// error is returned.
    pub fn heal_links(&self) -> Result<(), NemesisError> {
        let mut result = Ok(());
        for node in 0..self.links().len() {
            result = result.and(self.unlimit(node));
            result = result.and(self.link_state(node, true));
        }
        result
    }
}
