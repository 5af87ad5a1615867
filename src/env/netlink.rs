//! A small synchronous route-netlink client: the few link, address, route and FIB-rule
//! operations the environments need, and nothing else.
//!
//! Why not `rtnetlink`: it is async and spawns its own connection task, while every
//! operation here is one request followed by one acknowledgement, done at setup, at a fault
//! or at teardown. A blocking socket and a sequence number are enough.
//!
//! A netlink socket acts on the network namespace it was *opened* in, for its whole life.
//! [`Netlink::open`] therefore opens in the calling thread's namespace, and callers open
//! sockets only inside squall's namespaces (see [`crate::env::netns::run_in`]); the host's
//! own namespace is never touched.
//!
//! Every request carries `NLM_F_ACK`, so the kernel answers with an `NLMSG_ERROR` message
//! whose code is 0 (success) or a negative errno; a non-zero code becomes an
//! [`EnvError::Io`] naming the operation (`add rule 198.18.1.2 -> 198.18.2.2 in
//! squall-ab12cd-hub: File exists`), so callers can accept `EEXIST`/`ENOENT` where an
//! operation is meant to be idempotent.

use super::EnvError;
use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::RawFd;

/// Receive buffer size: large enough for any single datagram the kernel sends us (it
/// splits dumps into datagrams of at most 32 KiB by default).
const RECV_BUF: usize = 64 * 1024;

/// A FIB rule as seen in a dump: enough to recognise squall's rules and delete them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The rule's priority (`ip rule` shows it first).
    pub priority: u32,
    /// `from` address, if the rule has one.
    pub from: Option<IpAddr>,
    /// `to` address, if the rule has one.
    pub to: Option<IpAddr>,
    /// Whether the rule's action is `blackhole`.
    pub blackhole: bool,
    message: RuleMessage,
}

/// A route-netlink socket bound to the network namespace it was opened in.
pub struct Netlink {
    socket: Socket,
    seq: u32,
    /// The namespace's name, for error messages only.
    ns: String,
}

impl Netlink {
    /// Opens a route-netlink socket in the calling thread's network namespace; `ns` names
    /// that namespace in error messages.
    pub fn open(ns: &str) -> Result<Self, EnvError> {
        let what = || format!("open netlink socket in {ns}");
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| EnvError::io(what(), e))?;
        socket.bind_auto().map_err(|e| EnvError::io(what(), e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| EnvError::io(what(), e))?;
        Ok(Netlink {
            socket,
            seq: 0,
            ns: ns.to_string(),
        })
    }

    /// Sends `msg` with `NLM_F_REQUEST | NLM_F_ACK | flags` and waits for the kernel's
    /// acknowledgement. `what` names the operation in the error.
    pub fn request(
        &mut self,
        what: &str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(), EnvError> {
        let seq = self.send(what, msg, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        self.receive(what, seq, |payload| match payload {
            // The acknowledgement: code 0 is success, anything else a negative errno.
            NetlinkPayload::Error(e) => match e.code {
                None => Ok(true),
                Some(_) => Err(e.to_io()),
            },
            // Replies other than the ACK (there are none for the requests made here) are
            // ignored.
            _ => Ok(false),
        })
    }

    /// Sends a dump request and collects every message of the (multipart) answer.
    pub fn dump(
        &mut self,
        what: &str,
        msg: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, EnvError> {
        let seq = self.send(what, msg, NLM_F_REQUEST | NLM_F_DUMP)?;
        let mut out = Vec::new();
        self.receive(what, seq, |payload| match payload {
            NetlinkPayload::InnerMessage(m) => {
                out.push(m);
                Ok(false)
            }
            NetlinkPayload::Done(_) => Ok(true),
            NetlinkPayload::Error(e) => match e.code {
                None => Ok(true),
                Some(_) => Err(e.to_io()),
            },
            _ => Ok(false),
        })?;
        Ok(out)
    }

    fn send(&mut self, what: &str, msg: RouteNetlinkMessage, flags: u16) -> Result<u32, EnvError> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        let sent = self.socket.send(&buf, 0).map_err(|e| self.error(what, e))?;
        if sent != buf.len() {
            return Err(self.error(what, io::Error::other("short netlink write")));
        }
        Ok(self.seq)
    }

    /// Reads datagrams until `handle` returns `Ok(true)` for a message answering `seq`.
    fn receive(
        &mut self,
        what: &str,
        seq: u32,
        mut handle: impl FnMut(NetlinkPayload<RouteNetlinkMessage>) -> io::Result<bool>,
    ) -> Result<(), EnvError> {
        let mut buf: Vec<u8> = Vec::with_capacity(RECV_BUF);
        loop {
            buf.clear();
            self.socket
                .recv(&mut buf, 0)
                .map_err(|e| self.error(what, e))?;
            let mut offset = 0;
            while offset < buf.len() {
                let bytes = &buf[offset..];
                let header = NetlinkBuffer::new_checked(bytes)
                    .map_err(|e| self.error(what, io::Error::other(e.to_string())))?;
                let (len, msg_seq) = (header.length() as usize, header.sequence_number());
                if len == 0 || len > bytes.len() {
                    return Err(self.error(what, io::Error::other("malformed netlink reply")));
                }
                // Messages are 4-byte aligned within a datagram.
                offset += (len + 3) & !3;
                // A late answer to an earlier request that failed half-way: not ours.
                if msg_seq != seq {
                    continue;
                }
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[..len])
                    .map_err(|e| self.error(what, io::Error::other(e.to_string())))?;
                if handle(msg.payload).map_err(|e| self.error(what, e))? {
                    return Ok(());
                }
            }
        }
    }

    fn error(&self, what: &str, cause: io::Error) -> EnvError {
        EnvError::io(format!("{what} in {}", self.ns), cause)
    }

    /// Every link of the namespace as `(index, name)`.
    pub fn links(&mut self) -> Result<Vec<(u32, String)>, EnvError> {
        let msgs = self.dump(
            "list links",
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
        )?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => {
                    let name = link.attributes.iter().find_map(|a| match a {
                        LinkAttribute::IfName(n) => Some(n.clone()),
                        _ => None,
                    })?;
                    Some((link.header.index, name))
                }
                _ => None,
            })
            .collect())
    }

    /// The index of link `name`.
    pub fn link_index(&mut self, name: &str) -> Result<u32, EnvError> {
        self.links()?
            .into_iter()
            .find(|(_, n)| n == name)
            .map(|(i, _)| i)
            .ok_or_else(|| {
                self.error(
                    &format!("find link {name}"),
                    io::Error::from_raw_os_error(libc::ENODEV),
                )
            })
    }

    /// Creates a veth pair: `name` here, `peer` created directly in the namespace open as
    /// `peer_ns_fd` (`ip link add NAME type veth peer name PEER netns NS`). Both ends start
    /// down.
    pub fn add_veth(&mut self, name: &str, peer: &str, peer_ns_fd: RawFd) -> Result<(), EnvError> {
        let mut peer_msg = LinkMessage::default();
        peer_msg
            .attributes
            .push(LinkAttribute::IfName(peer.to_string()));
        peer_msg.attributes.push(LinkAttribute::NetNsFd(peer_ns_fd));
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        self.request(
            &format!("add veth {name} (peer {peer})"),
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Sets link `name` up (`ip link set NAME up`).
    pub fn set_up(&mut self, name: &str) -> Result<(), EnvError> {
        let index = self.link_index(name)?;
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.request(
            &format!("set link {name} up"),
            RouteNetlinkMessage::SetLink(msg),
            0,
        )
    }

    /// Adds `addr/prefix_len` to link `name` (`ip addr add ADDR/LEN dev NAME`); this also
    /// installs the connected route of that prefix.
    pub fn add_address(
        &mut self,
        name: &str,
        addr: Ipv4Addr,
        prefix_len: u8,
    ) -> Result<(), EnvError> {
        let index = self.link_index(name)?;
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = prefix_len;
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Local(addr.into()));
        msg.attributes.push(AddressAttribute::Address(addr.into()));
        self.request(
            &format!("add address {addr}/{prefix_len} to {name}"),
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Adds a default route via `gateway` in the main table (`ip route add default via GW`).
    pub fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<(), EnvError> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Static;
        msg.header.scope = RouteScope::Universe;
        msg.header.kind = RouteType::Unicast;
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        self.request(
            &format!("add default route via {gateway}"),
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    fn blackhole_rule(priority: u32, from: Ipv4Addr, to: Ipv4Addr) -> RuleMessage {
        let mut msg = RuleMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.src_len = 32;
        msg.header.dst_len = 32;
        msg.header.action = RuleAction::Blackhole;
        msg.attributes.push(RuleAttribute::Priority(priority));
        msg.attributes.push(RuleAttribute::Source(from.into()));
        msg.attributes.push(RuleAttribute::Destination(to.into()));
        msg
    }

    /// Adds the FIB rule `priority PRIO from FROM to TO blackhole`. Returns the kernel's
    /// error as is (`EEXIST` if the same rule exists).
    pub fn add_blackhole_rule(
        &mut self,
        priority: u32,
        from: Ipv4Addr,
        to: Ipv4Addr,
    ) -> Result<(), EnvError> {
        // NLM_F_EXCL: without it the kernel happily adds a duplicate rule, and one delete
        // would then not heal the partition.
        self.request(
            &format!("add rule {from} -> {to} blackhole"),
            RouteNetlinkMessage::NewRule(Self::blackhole_rule(priority, from, to)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Deletes the rule [`Netlink::add_blackhole_rule`] added (`ENOENT` if there is none).
    pub fn del_blackhole_rule(
        &mut self,
        priority: u32,
        from: Ipv4Addr,
        to: Ipv4Addr,
    ) -> Result<(), EnvError> {
        self.request(
            &format!("delete rule {from} -> {to} blackhole"),
            RouteNetlinkMessage::DelRule(Self::blackhole_rule(priority, from, to)),
            0,
        )
    }

    /// Every IPv4 FIB rule of the namespace.
    pub fn rules(&mut self) -> Result<Vec<Rule>, EnvError> {
        let mut query = RuleMessage::default();
        query.header.family = AddressFamily::Inet;
        let msgs = self.dump("list rules", RouteNetlinkMessage::GetRule(query))?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRule(message) => {
                    let mut rule = Rule {
                        priority: 0,
                        from: None,
                        to: None,
                        blackhole: message.header.action == RuleAction::Blackhole,
                        message: message.clone(),
                    };
                    for a in &message.attributes {
                        match a {
                            RuleAttribute::Priority(p) => rule.priority = *p,
                            RuleAttribute::Source(ip) => rule.from = Some(*ip),
                            RuleAttribute::Destination(ip) => rule.to = Some(*ip),
                            _ => {}
                        }
                    }
                    Some(rule)
                }
                _ => None,
            })
            .collect())
    }

    /// Deletes a rule found by [`Netlink::rules`].
    pub fn del_rule(&mut self, rule: &Rule) -> Result<(), EnvError> {
        let from = rule.from.map_or("all".to_string(), |a| a.to_string());
        let to = rule.to.map_or("all".to_string(), |a| a.to_string());
        self.request(
            &format!("delete rule {} {from} -> {to}", rule.priority),
            RouteNetlinkMessage::DelRule(rule.message.clone()),
            0,
        )
    }
}

// Added for the VM environment and `squall doctor`.
impl Netlink {
    /// Sets link `name` down (`ip link set NAME down`): isolates whatever is behind it.
    pub fn set_down(&mut self, name: &str) -> Result<(), EnvError> {
        let index = self.link_index(name)?;
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::empty();
        msg.header.change_mask = LinkFlags::Up;
        self.request(
            &format!("set link {name} down"),
            RouteNetlinkMessage::SetLink(msg),
            0,
        )
    }

    /// Whether the kernel knows queueing discipline `kind` (`tbf`, `netem`, ...): asks for
    /// a root qdisc of that kind on link `name` *without parameters*. The kernel looks the
    /// kind up first (loading `sch_<kind>` if it can) and answers `ENOENT` ("Specified
    /// qdisc kind is unknown") when it has none; a known kind then rejects the missing
    /// parameters with `EINVAL`, and nothing is created. `Ok(true)`: known; `Ok(false)`:
    /// unknown; other errors as they come.
    pub fn qdisc_supported(&mut self, name: &str, kind: &str) -> Result<bool, EnvError> {
        use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage};
        let index = self.link_index(name)?;
        let mut msg = TcMessage::with_index(index as i32);
        msg.header.parent = TcHandle::ROOT;
        msg.attributes.push(TcAttribute::Kind(kind.to_string()));
        let result = self.request(
            &format!("probe qdisc {kind} on {name}"),
            RouteNetlinkMessage::NewQueueDiscipline(msg.clone()),
            NLM_F_CREATE | NLM_F_EXCL,
        );
        match result {
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(false),
            Err(e) if e.errno() == Some(libc::EINVAL) => Ok(true),
            Err(e) => Err(e),
            Ok(()) => {
                // A kind that needs no parameters was created: remove it again.
                let _ = self.request(
                    &format!("delete qdisc {kind} on {name}"),
                    RouteNetlinkMessage::DelQueueDiscipline(msg),
                    0,
                );
                Ok(true)
            }
        }
    }
}

/// `struct tc_ratespec` (linux/pkt_sched.h): 12 bytes.
fn ratespec(rate: u32) -> [u8; 12] {
    const TC_LINKLAYER_ETHERNET: u8 = 1;
    let mut b = [0u8; 12];
    // cell_log 0, linklayer: Ethernet (so the kernel needs no rate table), overhead 0,
    // cell_align 0, mpu 0, then the rate in bytes per second.
    b[1] = TC_LINKLAYER_ETHERNET;
    b[8..12].copy_from_slice(&rate.to_ne_bytes());
    b
}

// The bandwidth nemesis's qdisc.
impl Netlink {
    /// Replaces the root qdisc of link `name` by `tbf` (`tc qdisc replace dev NAME root tbf
    /// rate R burst B limit L`): `rate` in bytes per second, `burst` (the bucket) and
    /// `limit` (the queue behind it) in bytes. Idempotent: a second call replaces the first.
    ///
    /// The options are the kernel's own (`TCA_TBF_PARMS`, a `struct tc_tbf_qopt`, plus
    /// `TCA_TBF_BURST` in bytes and `TCA_TBF_RATE64` above 4 GB/s): with the rate's link
    /// layer given, the kernel computes its tables itself (no `TCA_TBF_RTAB`, which only
    /// `tc` computes).
    pub fn set_tbf(
        &mut self,
        name: &str,
        rate: u64,
        burst: u32,
        limit: u32,
    ) -> Result<(), EnvError> {
        use netlink_packet_core::DefaultNla;
        use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage, TcOption};
        const TCA_TBF_PARMS: u16 = 1;
        const TCA_TBF_RATE64: u16 = 4;
        const TCA_TBF_BURST: u16 = 6;
        const NSEC_PER_TICK: u64 = 64; // PSCHED_SHIFT 6
        let index = self.link_index(name)?;
        let rate32 = u32::try_from(rate).unwrap_or(u32::MAX);
        // struct tc_tbf_qopt { rate, peakrate: tc_ratespec; limit, buffer, mtu: u32 }.
        let mut parms = Vec::with_capacity(36);
        parms.extend_from_slice(&ratespec(rate32));
        parms.extend_from_slice(&ratespec(0));
        parms.extend_from_slice(&limit.to_ne_bytes());
        // The bucket as time at `rate`, in scheduler ticks (TCA_TBF_BURST overrides it).
        let buffer_ns = u64::from(burst) * 1_000_000_000 / rate.max(1);
        let ticks = u32::try_from(buffer_ns / NSEC_PER_TICK).unwrap_or(u32::MAX);
        parms.extend_from_slice(&ticks.to_ne_bytes());
        parms.extend_from_slice(&0u32.to_ne_bytes());
        let mut options = vec![
            TcOption::Other(DefaultNla::new(TCA_TBF_PARMS, parms)),
            TcOption::Other(DefaultNla::new(TCA_TBF_BURST, burst.to_ne_bytes().to_vec())),
        ];
        if rate > u64::from(u32::MAX) {
            options.push(TcOption::Other(DefaultNla::new(
                TCA_TBF_RATE64,
                rate.to_ne_bytes().to_vec(),
            )));
        }
        let mut msg = TcMessage::with_index(index as i32);
        msg.header.parent = TcHandle::ROOT;
        msg.attributes.push(TcAttribute::Kind("tbf".into()));
        msg.attributes.push(TcAttribute::Options(options));
        self.request(
            &format!("set tbf on {name}"),
            RouteNetlinkMessage::NewQueueDiscipline(msg),
            NLM_F_CREATE | netlink_packet_core::NLM_F_REPLACE,
        )
    }

    /// Removes the root qdisc of link `name` (`tc qdisc del dev NAME root`), back to the
    /// link's default. Idempotent: a link with its default qdisc is left as it is.
    pub fn del_root_qdisc(&mut self, name: &str) -> Result<(), EnvError> {
        use netlink_packet_route::tc::{TcHandle, TcMessage};
        let index = self.link_index(name)?;
        let mut msg = TcMessage::with_index(index as i32);
        msg.header.parent = TcHandle::ROOT;
        match self.request(
            &format!("delete root qdisc on {name}"),
            RouteNetlinkMessage::DelQueueDiscipline(msg),
            0,
        ) {
            // "Cannot delete qdisc with handle of zero": nothing but the default is there.
            Err(e) if matches!(e.errno(), Some(libc::ENOENT) | Some(libc::EINVAL)) => Ok(()),
            r => r,
        }
    }
}
