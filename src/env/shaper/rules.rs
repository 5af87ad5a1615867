//! The hub's NFQUEUE rules: which forwarded packets go to the userspace shaper.
//!
//! One rule per shaped link, in the hub namespace's `FORWARD` chain (so only node-to-node
//! traffic: a client's packets start or end in the hub, on `OUTPUT`/`INPUT`, and are never
//! queued):
//!
//! ```text
//! iptables-nft -w -A FORWARD -s 198.18.1.2 -d 198.18.2.2 -m comment --comment squall-packet
//!              -j NFQUEUE --queue-num 1 --queue-bypass
//! ```
//!
//! `iptables-nft` because this kernel has NFQUEUE only as an xtables target (through nft's
//! xt compatibility), not as nft's own `queue` expression. `--queue-bypass`: with no
//! shaper listening (a run killed with `kill -9` before its heal) packets flow unshaped
//! instead of being dropped. The rules live in the hub namespace, so deleting it (teardown,
//! `squall clean`) deletes them; the host's own tables are never touched.

use crate::env::names::node_addr;
use crate::env::{netns, EnvError};
use std::process::Command;

/// The program that writes the rules.
pub const IPTABLES: &str = "iptables-nft";
/// The comment every squall rule carries.
pub const COMMENT: &str = "squall-packet";

/// The rule's arguments for packets from node `from` to node `to` into queue `queue`, after
/// `-A` (add) or `-D` (delete).
pub fn rule(op: &str, from: usize, to: usize, queue: u16) -> Vec<String> {
    let queue = queue.to_string();
    let (a, b) = (node_addr(from).to_string(), node_addr(to).to_string());
    [
        "-w",
        op,
        "FORWARD",
        "-s",
        &a,
        "-d",
        &b,
        "-m",
        "comment",
        "--comment",
        COMMENT,
        "-j",
        "NFQUEUE",
        "--queue-num",
        &queue,
        "--queue-bypass",
    ]
    .map(String::from)
    .to_vec()
}

/// Runs `iptables-nft args` inside namespace `ns`; its stderr is the error.
pub fn iptables(ns: &str, args: &[String]) -> Result<(), EnvError> {
    let what = format!("{IPTABLES} {}", args.join(" "));
    let out = netns::run_in(ns, || {
        Command::new(IPTABLES)
            .args(args)
            .output()
            .map_err(|e| EnvError::io(what.clone(), e))
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(EnvError::Invalid(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Adds the rules of `links` into `queue` in hub `ns`; on error removes those added.
pub fn add(ns: &str, links: &[(usize, usize)], queue: u16) -> Result<(), EnvError> {
    for (i, &(a, b)) in links.iter().enumerate() {
        if let Err(e) = iptables(ns, &rule("-A", a, b, queue)) {
            let _ = remove(ns, &links[..i], queue);
            return Err(e);
        }
    }
    Ok(())
}

/// Removes the rules of `links` into `queue` (every one attempted; one already gone is
/// fine).
pub fn remove(ns: &str, links: &[(usize, usize)], queue: u16) -> Result<(), EnvError> {
    let mut result = Ok(());
    for &(a, b) in links {
        match iptables(ns, &rule("-D", a, b, queue)) {
            Err(EnvError::Invalid(m))
                if m.contains("does a matching rule exist") || m.contains("Bad rule") => {}
            r => result = result.and(r),
        }
    }
    result
}

/// Checks that namespace `ns` (a throwaway one) accepts an NFQUEUE rule: adds one, then
/// deletes it.
pub fn probe(ns: &str) -> Result<(), EnvError> {
    iptables(ns, &rule("-A", 0, 1, 1))?;
    iptables(ns, &rule("-D", 0, 1, 1))
}

/// Whether `iptables-nft` is installed (on `PATH`).
pub fn installed() -> bool {
    Command::new(IPTABLES)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_queues_one_directed_forwarded_link_and_bypasses_without_a_listener() {
        assert_eq!(
            rule("-A", 0, 1, 3).join(" "),
            "-w -A FORWARD -s 198.18.1.2 -d 198.18.2.2 -m comment --comment squall-packet \
             -j NFQUEUE --queue-num 3 --queue-bypass"
        );
    }
}
