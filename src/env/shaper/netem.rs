//! The `netem` backend: the kernel shapes, where it has `sch_netem`.
//!
//! A packet from node A to node B leaves the hub on B's link, so the shaping sits on the
//! hub side of B's link: a `prio` root qdisc with a fourth band that the default priomap
//! never uses, `netem` on that band, and a `u32` filter per shaped source sending A's
//! packets into it. Everything else on the link — clients in the hub talking to B, nodes
//! not shaped — keeps the usual three bands, unshaped. Healing deletes the root qdisc.
//!
//! netem draws its own randomness (the kernel's), so on such a host the *kinds* and rates
//! of faults follow the plan but not each packet's fate; the userspace shaper's do.
//! These are `tc` commands (iproute2), run inside the hub namespace.

use super::rules;
use crate::env::names::node_addr;
use crate::env::{netns, EnvError};
use nemeses::Behaviour;
use std::collections::BTreeMap;
use std::process::Command;

/// The `tc` argument lists that shape `links` (directed `(from, to)`) as `b`; `link(i)` is
/// node `i`'s hub-side link name. One group per destination node.
pub fn commands(
    links: &[(usize, usize)],
    b: &Behaviour,
    link: impl Fn(usize) -> String,
) -> Vec<Vec<String>> {
    let mut by_dest: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(from, to) in links {
        by_dest.entry(to).or_default().push(from);
    }
    let mut out = Vec::new();
    for (to, froms) in by_dest {
        let dev = link(to);
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        out.push(s(&[
            "qdisc", "add", "dev", &dev, "root", "handle", "1:", "prio", "bands", "4", "priomap",
            "1", "2", "2", "2", "1", "2", "0", "0", "1", "1", "1", "1", "1", "1", "1", "1",
        ]));
        let mut netem = s(&[
            "qdisc", "add", "dev", &dev, "parent", "1:4", "handle", "40:", "netem",
        ]);
        netem.extend(netem_args(b));
        out.push(netem);
        for from in froms {
            let src = format!("{}/32", node_addr(from));
            out.push(s(&[
                "filter", "add", "dev", &dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                "match", "ip", "src", &src, "flowid", "1:4",
            ]));
        }
    }
    out
}

/// The `tc` argument lists that heal what [`commands`] did.
pub fn heal_commands(links: &[(usize, usize)], link: impl Fn(usize) -> String) -> Vec<Vec<String>> {
    let mut dests: Vec<usize> = links.iter().map(|&(_, to)| to).collect();
    dests.sort();
    dests.dedup();
    dests
        .into_iter()
        .map(|to| {
            ["qdisc", "del", "dev", &link(to), "root"]
                .map(String::from)
                .to_vec()
        })
        .collect()
}

/// netem's own arguments for `b`, e.g. `delay 50ms 10ms loss 20% duplicate 20%`.
pub fn netem_args(b: &Behaviour) -> Vec<String> {
    let mut a = Vec::new();
    if b.delay_ms > 0 {
        a.extend(["delay".into(), format!("{}ms", b.delay_ms)]);
        if b.jitter_ms > 0 {
            a.push(format!("{}ms", b.jitter_ms));
        }
    }
    for (name, p) in [
        ("loss", b.loss),
        ("duplicate", b.duplicate),
        ("reorder", b.reorder),
        ("corrupt", b.corrupt),
    ] {
        if p > 0 {
            a.extend([name.to_string(), format!("{p}%")]);
        }
    }
    a
}

/// Runs `tc args` inside namespace `ns`.
pub fn tc(ns: &str, args: &[String]) -> Result<(), EnvError> {
    let what = format!("tc {}", args.join(" "));
    let out = netns::run_in(ns, || {
        Command::new("tc")
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

/// How this host shapes packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The kernel's `netem` qdisc.
    Netem,
    /// squall's userspace shaper behind NFQUEUE rules.
    Userspace,
    /// Neither: why.
    Unsupported(String),
}

impl Backend {
    /// Chooses: netem where the kernel has it (`netem`: the probe's answer), else the
    /// userspace shaper where `iptables-nft` is installed.
    pub fn choose(netem: bool) -> Backend {
        if netem {
            Backend::Netem
        } else if rules::installed() {
            Backend::Userspace
        } else {
            Backend::Unsupported(format!(
                "no sch_netem, and no {} for the userspace shaper (apt-get install iptables)",
                rules::IPTABLES
            ))
        }
    }

    /// In a few words, as `squall doctor` prints it.
    pub fn describe(&self) -> String {
        match self {
            Backend::Netem => "netem".into(),
            Backend::Userspace => "userspace shaper (NFQUEUE; no sch_netem)".into(),
            Backend::Unsupported(why) => format!("unsupported: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netem_sits_on_the_destinations_hub_link_behind_a_filter_per_source() {
        let b = Behaviour {
            delay_ms: 50,
            jitter_ms: 10,
            loss: 20,
            ..Behaviour::default()
        };
        let link = |i: usize| format!("sqabch{}", i + 1);
        let cmds: Vec<String> = commands(&[(0, 1), (2, 1), (1, 0)], &b, link)
            .iter()
            .map(|c| c.join(" "))
            .collect();
        assert_eq!(
            cmds,
            [
                "qdisc add dev sqabch1 root handle 1: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1",
                "qdisc add dev sqabch1 parent 1:4 handle 40: netem delay 50ms 10ms loss 20%",
                "filter add dev sqabch1 parent 1: protocol ip prio 1 u32 match ip src 198.18.2.2/32 flowid 1:4",
                "qdisc add dev sqabch2 root handle 1: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1",
                "qdisc add dev sqabch2 parent 1:4 handle 40: netem delay 50ms 10ms loss 20%",
                "filter add dev sqabch2 parent 1: protocol ip prio 1 u32 match ip src 198.18.1.2/32 flowid 1:4",
                "filter add dev sqabch2 parent 1: protocol ip prio 1 u32 match ip src 198.18.3.2/32 flowid 1:4",
            ]
        );
        let heal: Vec<String> = heal_commands(&[(0, 1), (2, 1), (1, 0)], link)
            .iter()
            .map(|c| c.join(" "))
            .collect();
        assert_eq!(
            heal,
            ["qdisc del dev sqabch1 root", "qdisc del dev sqabch2 root"]
        );
    }

    #[test]
    fn netem_arguments_name_each_behaviour_in_force() {
        let b = Behaviour {
            delay_ms: 50,
            jitter_ms: 0,
            duplicate: 20,
            reorder: 20,
            corrupt: 5,
            ..Behaviour::default()
        };
        assert_eq!(
            netem_args(&b).join(" "),
            "delay 50ms duplicate 20% reorder 20% corrupt 5%"
        );
    }
}
