//! A small synchronous rtnetlink client (netlink-packet-route messages over a netlink-sys
//! socket). A socket belongs to the network namespace of the thread that opened it, so
//! [`Netlink::open`] called inside a namespace (see [`crate::netns::in_netns`]) manages that
//! namespace from any thread afterwards. Every request waits for its ACK, so an error is
//! reported against the request that caused it.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::{
    AddressFamily, RouteNetlinkMessage,
    address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope},
    link::{
        InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, LinkXdp,
        State, XdpAttached,
    },
    neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState},
    route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType},
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    #[error("{what}: the kernel said: {err}")]
    Kernel { what: String, err: io::Error },
    #[error("{what}: malformed netlink reply: {detail}")]
    Decode { what: String, detail: String },
}

impl NetlinkError {
    /// The errno the kernel answered with, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Kernel { err, .. } => err.raw_os_error(),
            _ => None,
        }
    }
}

/// One link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Link {
    /// the interface's ifindex, unique within its network namespace only
    pub index: u32,
    /// the interface's name (`enp6s0f0`, `lo`)
    pub name: String,
    /// the interface's hardware address, six bytes; null for a device without a 6-byte address
    pub mac: Option<[u8; 6]>,
    /// `IFF_UP`: the interface is administratively up (`ip link set ... up`)
    pub up: bool,
    /// `IFF_RUNNING`: up, and the operational state is up or *unknown*, which is what a new
    /// device has until the kernel's link watcher first looks at it
    pub running: bool,
    /// the operational state is up (`IFLA_OPERSTATE`): the link watcher has seen the
    /// carrier, and in the same step activated the queueing discipline; until then the
    /// device's queue is `noop`, which drops every packet sent
    pub oper_up: bool,
    /// `IFF_NOARP`: the kernel sends no ARP or neighbour discovery; the lab's links carry it (their
    /// neighbours are static)
    pub noarp: bool,
    /// `IFF_MULTICAST`; the lab's links have it off, so no MLD report or router solicitation leaves
    /// them
    pub multicast: bool,
    /// the link's driver kind from `IFLA_LINKINFO` (`veth`); null for devices that report none
    /// (loopback)
    pub kind: Option<String>,
    /// ID of the XDP program attached, if any.
    pub xdp_prog_id: Option<u32>,
    /// `driver`, `generic` (skb), `offload` or `multi` when a program is attached
    pub xdp_mode: Option<&'static str>,
    /// packets the interface has received since it was created (the kernel's 64-bit counters)
    pub rx_packets: u64,
    /// packets the interface has sent since it was created
    pub tx_packets: u64,
}

/// One address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Addr {
    /// the ifindex of the interface holding the address
    pub index: u32,
    /// the address, IPv4 or IPv6
    pub addr: IpAddr,
    /// its prefix length in bits
    pub prefix_len: u8,
}

/// One neighbour entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Neigh {
    /// the ifindex of the interface the neighbour is reached through
    pub index: u32,
    /// the neighbour's IP address
    pub addr: IpAddr,
    /// the neighbour's MAC; null while the kernel has not resolved it
    pub mac: Option<[u8; 6]>,
    /// true for a static entry (`NUD_PERMANENT`), as the lab adds for every link peer; false for
    /// one the kernel learned
    pub permanent: bool,
}

pub struct Netlink {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

/// Flags every lab link carries: no ARP/ND (static neighbours only) and no multicast, so
/// that no DAD, no router solicitation and no MLD report ever leaves the interface.
pub fn quiet_flags() -> (LinkFlags, LinkFlags) {
    (
        LinkFlags::Noarp,
        LinkFlags::Noarp | LinkFlags::Multicast | LinkFlags::Up,
    )
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Self, NetlinkError> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        // extended ACKs give the kernel's reason in text; best effort.
        let _ = sock.set_ext_ack(true);
        Ok(Self {
            sock,
            seq: 1,
            buf: vec![0u8; 64 * 1024],
        })
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<u32, NetlinkError> {
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        self.seq = self.seq.wrapping_add(1);
        header.sequence_number = self.seq;
        let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        nl.finalize();
        let mut out = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut out);
        self.sock.send(&out, 0)?;
        Ok(self.seq)
    }

    /// Reads replies to `seq` until the ACK/DONE; returns the inner messages of a dump.
    fn recv_until_done(
        &mut self,
        seq: u32,
        what: &str,
        dump: bool,
    ) -> Result<Vec<RouteNetlinkMessage>, NetlinkError> {
        let mut out = Vec::new();
        loop {
            let n = self.sock.recv(&mut &mut self.buf[..], 0)?;
            let mut off = 0;
            while off < n {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..n])
                    .map_err(|e| NetlinkError::Decode {
                        what: what.to_string(),
                        detail: e.to_string(),
                    })?;
                let len = msg.header.length as usize;
                if len == 0 {
                    return Err(NetlinkError::Decode {
                        what: what.to_string(),
                        detail: "zero-length message".into(),
                    });
                }
                off += (len + 3) & !3;
                if msg.header.sequence_number != seq {
                    continue; // a late answer to something else
                }
                match msg.payload {
                    NetlinkPayload::Error(e) => match e.code {
                        None => return Ok(out),
                        Some(code) => {
                            return Err(NetlinkError::Kernel {
                                what: what.to_string(),
                                err: io::Error::from_raw_os_error(-code.get()),
                            });
                        }
                    },
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::InnerMessage(m) => {
                        out.push(m);
                        if !dump {
                            // a non-dump request answered with a message: keep reading for the ACK
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        what: &str,
    ) -> Result<(), NetlinkError> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        self.recv_until_done(seq, what, false).map(|_| ())
    }

    fn dump(
        &mut self,
        msg: RouteNetlinkMessage,
        what: &str,
    ) -> Result<Vec<RouteNetlinkMessage>, NetlinkError> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_DUMP)?;
        self.recv_until_done(seq, what, true)
    }

    /// Creates a quiet veth pair: `name` here, `peer` in the namespace `peer_ns` (if given),
    /// with the interface indexes in `ifindex` (name's, peer's) if given.
    pub fn add_veth(
        &mut self,
        name: &str,
        mac: Option<[u8; 6]>,
        peer: &str,
        peer_mac: Option<[u8; 6]>,
        peer_ns: Option<BorrowedFd<'_>>,
        ifindex: Option<(u32, u32)>,
    ) -> Result<(), NetlinkError> {
        let (flags, mask) = quiet_flags();
        let mut peer_msg = LinkMessage::default();
        if let Some((_, p)) = ifindex {
            peer_msg.header.index = p;
        }
        peer_msg.header.flags = flags;
        peer_msg.header.change_mask = mask;
        peer_msg
            .attributes
            .push(LinkAttribute::IfName(peer.to_string()));
        if let Some(m) = peer_mac {
            peer_msg.attributes.push(LinkAttribute::Address(m.to_vec()));
        }
        if let Some(fd) = peer_ns {
            peer_msg
                .attributes
                .push(LinkAttribute::NetNsFd(fd.as_raw_fd()));
        }
        let mut msg = LinkMessage::default();
        if let Some((i, _)) = ifindex {
            msg.header.index = i;
        }
        msg.header.flags = flags;
        msg.header.change_mask = mask;
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(m) = mac {
            msg.attributes.push(LinkAttribute::Address(m.to_vec()));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("create veth {name} <-> {peer}"),
        )
    }

    /// Brings a link up or down.
    pub fn set_up(&mut self, index: u32, up: bool) -> Result<(), NetlinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
        msg.header.change_mask = LinkFlags::Up;
        self.request(
            RouteNetlinkMessage::SetLink(msg),
            0,
            &format!("set link {index} up={up}"),
        )
    }

    pub fn del_link(&mut self, index: u32) -> Result<(), NetlinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.request(
            RouteNetlinkMessage::DelLink(msg),
            0,
            &format!("delete link {index}"),
        )
    }

    /// Adds an address; IPv6 addresses skip duplicate address detection.
    pub fn add_addr(
        &mut self,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetlinkError> {
        let mut msg = AddressMessage::default();
        msg.header.index = index;
        msg.header.prefix_len = prefix_len;
        msg.header.scope = AddressScope::Universe;
        match addr {
            IpAddr::V4(v4) => {
                msg.header.family = AddressFamily::Inet;
                msg.attributes.push(AddressAttribute::Local(addr));
                msg.attributes.push(AddressAttribute::Address(addr));
                if prefix_len < 31 {
                    let mask = u32::MAX.checked_shr(prefix_len as u32).unwrap_or(0);
                    let brd = std::net::Ipv4Addr::from(u32::from(v4) | mask);
                    msg.attributes.push(AddressAttribute::Broadcast(brd));
                }
            }
            IpAddr::V6(_) => {
                msg.header.family = AddressFamily::Inet6;
                msg.attributes.push(AddressAttribute::Address(addr));
                msg.attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add address {addr}/{prefix_len} on link {index}"),
        )
    }

    /// Adds a permanent neighbour entry.
    pub fn add_neigh(
        &mut self,
        index: u32,
        addr: IpAddr,
        mac: [u8; 6],
    ) -> Result<(), NetlinkError> {
        let mut msg = NeighbourMessage::default();
        msg.header.ifindex = index;
        msg.header.state = NeighbourState::Permanent;
        msg.header.kind = RouteType::Unicast;
        let (family, na) = match addr {
            IpAddr::V4(a) => (AddressFamily::Inet, NeighbourAddress::Inet(a)),
            IpAddr::V6(a) => (AddressFamily::Inet6, NeighbourAddress::Inet6(a)),
        };
        msg.header.family = family;
        msg.attributes.push(NeighbourAttribute::Destination(na));
        msg.attributes
            .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
        self.request(
            RouteNetlinkMessage::NewNeighbour(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add neighbour {addr} on link {index}"),
        )
    }

    /// Adds a route in the main table: `dst/len` via `gateway` (or directly) out of `index`.
    pub fn add_route(
        &mut self,
        dst: IpAddr,
        prefix_len: u8,
        gateway: Option<IpAddr>,
        index: Option<u32>,
    ) -> Result<(), NetlinkError> {
        let mut msg = RouteMessage::default();
        let conv = |a: IpAddr| match a {
            IpAddr::V4(a) => RouteAddress::Inet(a),
            IpAddr::V6(a) => RouteAddress::Inet6(a),
        };
        msg.header.address_family = if dst.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        msg.header.destination_prefix_length = prefix_len;
        msg.header.table = 254; // RT_TABLE_MAIN
        msg.header.protocol = RouteProtocol::Static;
        msg.header.scope = if gateway.is_some() {
            RouteScope::Universe
        } else {
            RouteScope::Link
        };
        msg.header.kind = RouteType::Unicast;
        if prefix_len > 0 {
            msg.attributes.push(RouteAttribute::Destination(conv(dst)));
        }
        if let Some(gw) = gateway {
            msg.attributes.push(RouteAttribute::Gateway(conv(gw)));
        }
        if let Some(i) = index {
            msg.attributes.push(RouteAttribute::Oif(i));
        }
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add route {dst}/{prefix_len}"),
        )
    }

    pub fn links(&mut self) -> Result<Vec<Link>, NetlinkError> {
        let msgs = self.dump(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            "list links",
        )?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from(l)),
                _ => None,
            })
            .collect())
    }

    pub fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, NetlinkError> {
        Ok(self.links()?.into_iter().find(|l| l.name == name))
    }

    pub fn addrs(&mut self) -> Result<Vec<Addr>, NetlinkError> {
        let msgs = self.dump(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            "list addresses",
        )?;
        let mut out = Vec::new();
        for m in msgs {
            if let RouteNetlinkMessage::NewAddress(a) = m {
                let ip = a.attributes.iter().find_map(|at| match at {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                });
                if let Some(addr) = ip {
                    out.push(Addr {
                        index: a.header.index,
                        addr,
                        prefix_len: a.header.prefix_len,
                    });
                }
            }
        }
        Ok(out)
    }

    pub fn neighbours(&mut self) -> Result<Vec<Neigh>, NetlinkError> {
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut req = NeighbourMessage::default();
            req.header.family = family;
            for m in self.dump(RouteNetlinkMessage::GetNeighbour(req), "list neighbours")? {
                if let RouteNetlinkMessage::NewNeighbour(n) = m {
                    let mut addr = None;
                    let mut mac = None;
                    for at in &n.attributes {
                        match at {
                            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                                addr = Some(IpAddr::V4(*a))
                            }
                            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                                addr = Some(IpAddr::V6(*a))
                            }
                            NeighbourAttribute::LinkLayerAddress(l) if l.len() == 6 => {
                                mac = Some([l[0], l[1], l[2], l[3], l[4], l[5]])
                            }
                            _ => {}
                        }
                    }
                    if let Some(addr) = addr {
                        out.push(Neigh {
                            index: n.header.ifindex,
                            addr,
                            mac,
                            permanent: n.header.state == NeighbourState::Permanent,
                        });
                    }
                }
            }
        }
        Ok(out)
    }
}

impl Link {
    /// A packet sent now leaves: a veth must be operationally up (`running` alone is true a
    /// moment too early for a new one: see [`Link::running`]); a device without a carrier
    /// of its own (loopback) stays "unknown" for good, and is ready when running.
    pub fn ready(&self) -> bool {
        self.running && (self.oper_up || self.kind.as_deref() != Some("veth"))
    }
}

fn link_from(l: LinkMessage) -> Link {
    let mut name = String::new();
    let mut mac = None;
    let mut kind = None;
    let mut xdp_prog_id = None;
    let mut xdp_mode = None;
    let mut oper_up = false;
    let (mut rx_packets, mut tx_packets) = (0, 0);
    for at in &l.attributes {
        match at {
            LinkAttribute::IfName(n) => name = n.clone(),
            LinkAttribute::OperState(st) => oper_up = *st == State::Up,
            LinkAttribute::Address(a) if a.len() == 6 => {
                mac = Some([a[0], a[1], a[2], a[3], a[4], a[5]])
            }
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        kind = Some(k.to_string());
                    }
                }
            }
            LinkAttribute::Stats64(st) => {
                rx_packets = st.rx_packets;
                tx_packets = st.tx_packets;
            }
            LinkAttribute::Xdp(xs) => {
                for x in xs {
                    match x {
                        LinkXdp::ProgId(id) if *id != 0 => xdp_prog_id = Some(*id),
                        LinkXdp::Attached(a) => {
                            xdp_mode = match a {
                                XdpAttached::Driver => Some("driver"),
                                XdpAttached::SocketBuffer => Some("generic"),
                                XdpAttached::Hardware => Some("offload"),
                                XdpAttached::Multiple => Some("multi"),
                                _ => None,
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let f = l.header.flags;
    Link {
        index: l.header.index,
        name,
        mac,
        up: f.contains(LinkFlags::Up),
        running: f.contains(LinkFlags::Running),
        oper_up,
        noarp: f.contains(LinkFlags::Noarp),
        multicast: f.contains(LinkFlags::Multicast),
        kind,
        xdp_prog_id,
        xdp_mode,
        rx_packets,
        tx_packets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_veth_is_not_ready_until_operationally_up() {
        let link = |kind: Option<&str>, running, oper_up| Link {
            index: 2,
            name: "eth0".into(),
            mac: None,
            up: true,
            running,
            oper_up,
            noarp: true,
            multicast: false,
            kind: kind.map(str::to_string),
            xdp_prog_id: None,
            xdp_mode: None,
            rx_packets: 0,
            tx_packets: 0,
        };
        // up, state still "unknown": IFF_RUNNING already, but its queue drops packets
        assert!(!link(Some("veth"), true, false).ready());
        assert!(link(Some("veth"), true, true).ready());
        assert!(!link(Some("veth"), false, false).ready());
        // loopback never leaves "unknown"
        assert!(link(None, true, false).ready());
    }
}
