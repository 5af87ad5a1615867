//! `squall doctor`'s nemesis section: for each nemesis the registry knows, whether this
//! host can run it in the chosen environment, and through which backend — from what the
//! nemesis says it needs ([`nemeses::Nemesis::needs`]), each need probed for real in the
//! doctor's throwaway namespace (a blackhole rule added and removed, a link taken down and
//! up, a qdisc kind asked for). A nemesis that declares no needs is reported as unchecked.
//! None of these checks is required: a host that cannot run one nemesis runs the others.

use super::{bad, ok, Check, Scratch};
use crate::env::netlink::Netlink;
use crate::env::netns;
use nemeses::Capability;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// One line per nemesis, under a heading.
/// `vmm`: the VM environment's monitor and whether it was found (`None`: local processes).
pub(super) fn checks(scratch: Option<&Scratch>, vmm: Option<(&str, bool)>) -> Vec<Check> {
    let registry = crate::registry::get();
    let mut probed: BTreeMap<String, Result<String, String>> = BTreeMap::new();
    let mut out = Vec::new();
    for name in registry.nemeses() {
        let Some(n) = registry.nemesis_named(name) else {
            continue;
        };
        let needs = n.needs();
        let label = format!("  {name}");
        if needs.is_empty() {
            out.push(bad(false, &label, "declares no needs: not checked".into()));
            continue;
        }
        let mut backends = Vec::new();
        let mut problems = Vec::new();
        for need in needs {
            let found = probed
                .entry(format!("{need:?}"))
                .or_insert_with(|| probe(need, scratch, vmm));
            match found {
                Ok(b) => backends.push(b.clone()),
                Err(p) => problems.push(p.clone()),
            }
        }
        out.push(if problems.is_empty() {
            ok(false, &label, backends.join("; "))
        } else {
            bad(false, &label, problems.join("; "))
        });
    }
    out
}

/// Whether `need` is met here: the backend that meets it, or what is missing.
fn probe(
    need: Capability,
    scratch: Option<&Scratch>,
    monitor: Option<(&str, bool)>,
) -> Result<String, String> {
    let vm_env = monitor.is_some();
    let link = if vm_env { "TAP" } else { "veth" };
    let vmm = |what: &str| match monitor {
        Some((name, true)) => Ok(format!("{what} ({name})")),
        Some((name, false)) => Err(format!("needs the {name} binary")),
        None => Ok(what.to_string()),
    };
    let s = scratch.ok_or("needs root (network namespaces)")?;
    match need {
        Capability::FibRules => s
            .rule()
            .map(|()| "FIB blackhole rules in the hub (rtnetlink)".into())
            .map_err(|e| e.to_string()),
        Capability::Freeze if vm_env => vmm("the VM paused and resumed"),
        Capability::Freeze => Ok("SIGSTOP / SIGCONT of the node's process".into()),
        Capability::Crash if vm_env => vmm("the VMM killed, a new one boots the VM on its disk"),
        Capability::Crash => Ok("SIGKILL, then the node's command again on its data".into()),
        Capability::LinkState => s
            .link_down_up(if vm_env { "sqdoctort1" } else { "sqdoctorv1" })
            .map(|()| format!("the node's {link} down / up in the hub"))
            .map_err(|e| e.to_string()),
        Capability::PacketShaping => packet_backend(s),
        Capability::Clock if vm_env => Ok(
            "the guest's own clock, set by its init on a command from the hub (bumps; \
             no strobe)"
                .into(),
        ),
        Capability::Clock => crate::env::clock::library().map(|lib| {
            format!(
                "libfaketime ({}) in each node's process: programs that read the time \
                 through libc, not Go programs such as etcd",
                lib.display()
            )
        }),
        Capability::Qdisc(kind) => match s.qdisc(kind) {
            Ok(true) => Ok(format!("{kind} qdisc on the hub side of the node's {link}")),
            Ok(false) => Err(format!("no sch_{kind} in this kernel")),
            Err(e) => Err(e.to_string()),
        },
    }
}

/// The `packet` nemesis's backend here: netem where the kernel has it, else the userspace
/// shaper where an NFQUEUE rule is accepted in the throwaway hub, else why not.
fn packet_backend(s: &Scratch) -> Result<String, String> {
    use crate::env::shaper::{netem::Backend, rules};
    match Backend::choose(matches!(s.qdisc("netem"), Ok(true))) {
        Backend::Userspace => match rules::probe(&s.ns) {
            Ok(()) => Ok(Backend::Userspace.describe()),
            Err(e) => Err(format!("no sch_netem, and NFQUEUE refused: {e}")),
        },
        Backend::Unsupported(why) => Err(why),
        b => Ok(b.describe()),
    }
}

impl Scratch {
    /// Adds and removes a blackhole rule in the throwaway hub.
    fn rule(&self) -> Result<(), crate::env::EnvError> {
        let ns = &self.ns;
        let (a, b) = (Ipv4Addr::new(198, 18, 1, 2), Ipv4Addr::new(198, 18, 2, 2));
        netns::run_in(ns, || {
            let mut nl = Netlink::open(ns)?;
            nl.add_blackhole_rule(crate::env::names::RULE_PRIORITY, a, b)?;
            nl.del_blackhole_rule(crate::env::names::RULE_PRIORITY, a, b)
        })
    }

    /// Takes link `name` of the throwaway hub (made by an earlier check) down and up.
    fn link_down_up(&self, name: &str) -> Result<(), crate::env::EnvError> {
        let ns = &self.ns;
        netns::run_in(ns, || {
            let mut nl = Netlink::open(ns)?;
            nl.set_down(name)?;
            nl.set_up(name)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_nemesis_is_probed_here_and_names_its_backend() {
        // SAFETY: geteuid(2) cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root (network namespaces)");
            return;
        }
        let s = Scratch::new().unwrap();
        s.veth().unwrap();
        s.tap().unwrap();
        let lines = |vmm: Option<(&str, bool)>| -> Vec<(bool, String)> {
            checks(Some(&s), vmm)
                .into_iter()
                .map(|c| (c.ok, format!("{}: {}", c.label.trim(), c.detail)))
                .collect()
        };
        let local = lines(None);
        let want = [
            "bandwidth: tbf qdisc on the hub side of the node's veth",
            "isolate: the node's veth down / up in the hub",
            "kill: SIGKILL, then the node's command again on its data",
            "partition: FIB blackhole rules in the hub (rtnetlink)",
            "pause: SIGSTOP / SIGCONT of the node's process",
        ];
        let (packet, others): (Vec<_>, Vec<_>) = local
            .into_iter()
            .partition(|(_, l)| l.starts_with("packet:"));
        let (clock, others): (Vec<_>, Vec<_>) = others
            .into_iter()
            .partition(|(_, l)| l.starts_with("clock:"));
        // libfaketime (.ci/run installs it) or the line that says how to get it.
        let expected = match crate::env::clock::library() {
            Ok(lib) => (
                true,
                format!(
                    "clock: libfaketime ({}) in each node's process: programs that read the \
                     time through libc, not Go programs such as etcd",
                    lib.display()
                ),
            ),
            Err(_) => (
                false,
                "clock: libfaketime not installed (apt-get install -y libfaketime)".into(),
            ),
        };
        assert_eq!(clock, [expected], "{clock:?}");
        assert_eq!(
            others,
            want.map(|w| (true, w.to_string())).to_vec(),
            "{others:?}"
        );
        // A kernel with sch_netem uses it; without (this host), the userspace shaper, which
        // .ci/run's iptables makes available; with neither, packet cannot run, and says so.
        let netem = matches!(s.qdisc("netem"), Ok(true));
        let expected = if netem {
            (true, "packet: netem".to_string())
        } else if crate::env::shaper::rules::installed() {
            (
                true,
                "packet: userspace shaper (NFQUEUE; no sch_netem)".to_string(),
            )
        } else {
            eprintln!("note: no sch_netem and no iptables-nft: packet is expected to be refused");
            (
                false,
                packet.first().map(|p| p.1.clone()).unwrap_or_default(),
            )
        };
        assert_eq!(packet, [expected], "{packet:?}");
        // VMs without the cloud-hypervisor binary: the VMM's faults cannot run.
        let vm = lines(Some(("cloud-hypervisor", false)));
        assert!(vm.contains(&(true, "isolate: the node's TAP down / up in the hub".into())));
        assert!(vm.contains(&(false, "pause: needs the cloud-hypervisor binary".into())));
        // With QEMU found: its pause and its power cut.
        let vm = lines(Some(("qemu-system-x86_64", true)));
        assert!(
            vm.contains(&(
                true,
                "pause: the VM paused and resumed (qemu-system-x86_64)".into()
            )),
            "{vm:?}"
        );
        // Without a namespace to probe in, nothing is claimed.
        assert!(checks(None, None).iter().all(|c| !c.ok && !c.required));
    }
}
