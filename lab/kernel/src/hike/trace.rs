//! Reading what the VM reports: the `hvm_trace` ring buffer (its events and the abort reasons
//! are `hike::trace`'s, one vocabulary with the reference interpreter) and `show_pkt_info`'s
//! events.

use std::path::Path;

use aya::maps::{Map, MapData, RingBuf};
pub use hike::trace::{AbortReason, TraceEvent, TraceKind};
use serde::Serialize;

use super::HikeError;

fn open_ringbuf(path: &Path) -> Result<RingBuf<MapData>, HikeError> {
    let md = MapData::from_pin(path).map_err(|e| HikeError::Map {
        map: path.display().to_string(),
        detail: e.to_string(),
    })?;
    RingBuf::try_from(Map::RingBuf(md)).map_err(|e| HikeError::Map {
        map: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// Reads `hvm_trace` (turn tracing on with `Hike::set_trace`).
pub struct TraceReader {
    rb: RingBuf<MapData>,
}

impl TraceReader {
    pub fn open(path: &Path) -> Result<Self, HikeError> {
        Ok(Self {
            rb: open_ringbuf(path)?,
        })
    }
    /// Every event available now.
    pub fn drain(&mut self) -> Vec<TraceEvent> {
        self.drain_raw()
            .iter()
            .filter_map(|b| TraceEvent::decode(b))
            .collect()
    }

    /// Every event available now, as the VM wrote it (`TraceEvent::SIZE` bytes each).
    pub fn drain_raw(&mut self) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        while let Some(item) = self.rb.next() {
            v.push(item.to_vec());
        }
        v
    }
}

impl std::os::fd::AsRawFd for TraceReader {
    /// The ring buffer's fd: readable when events wait (for `epoll`, tokio's `AsyncFd`).
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.rb.as_fd().as_raw_fd()
    }
}

/// One `show_pkt_info` event (`struct pkt_info_event` of programs/info.bpf.c).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PktInfoEvent {
    /// when `show_pkt_info` ran: the kernel's monotonic clock (`bpf_ktime_get_ns`), nanoseconds
    /// since boot
    pub ts_ns: u64,
    /// the cookie the script passed to `show_pkt_info` (its second argument), to tell its call
    /// sites apart
    pub cookie: u64,
    /// which layers were asked for, a bit mask: 1 = L2 (MACs), 2 = L3 (addresses), 4 = L4 (ports)
    pub layers: u32,
    /// the ifindex of the interface the packet arrived on, in the namespace of the node the chain
    /// runs in
    pub ifindex: u32,
    /// the packet's length in bytes, from its Ethernet header to its end, as XDP sees it
    pub len: u32,
    /// the EtherType in host order (`0x86dd` IPv6, `0x0800` IPv4); 0 when the packet is shorter
    /// than an Ethernet header
    pub eth_proto: u16,
    /// the IP next header (IPv6) or protocol (IPv4): 6 TCP, 17 UDP, 58 ICMPv6; 0 when L3 and L4
    /// were not asked for or the packet is not IP
    pub l4_proto: u8,
    /// the IPv6 hop limit or IPv4 TTL; 0 when L3 and L4 were not asked for or the packet is not IP
    pub hop_limit: u8,
    /// the destination MAC, six bytes; zeros unless L2 was asked for
    pub dmac: [u8; 6],
    /// the source MAC, six bytes; zeros unless L2 was asked for
    pub smac: [u8; 6],
    /// the source address, 16 bytes: an IPv6 address, or an IPv4 one in the first 4 bytes (the rest
    /// zero); zeros unless L3 was asked for
    pub saddr: [u8; 16],
    /// the destination address, laid out as `saddr`; zeros unless L3 was asked for
    pub daddr: [u8; 16],
    /// the UDP or TCP source port in host order; 0 unless L4 was asked for and the packet is UDP or
    /// TCP
    pub sport: u16,
    /// the UDP or TCP destination port in host order; 0 unless L4 was asked for and the packet is
    /// UDP or TCP
    pub dport: u16,
}

impl PktInfoEvent {
    pub const SIZE: usize = 88;

    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < Self::SIZE {
            return None;
        }
        let u64_at = |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().expect("8"));
        let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().expect("4"));
        let u16_at = |o: usize| u16::from_ne_bytes(b[o..o + 2].try_into().expect("2"));
        Some(Self {
            ts_ns: u64_at(0),
            cookie: u64_at(8),
            layers: u32_at(16),
            ifindex: u32_at(20),
            len: u32_at(24),
            eth_proto: u16_at(28),
            l4_proto: b[30],
            hop_limit: b[31],
            dmac: b[32..38].try_into().expect("6"),
            smac: b[38..44].try_into().expect("6"),
            saddr: b[44..60].try_into().expect("16"),
            daddr: b[60..76].try_into().expect("16"),
            sport: u16_at(76),
            dport: u16_at(78),
        })
    }
}

impl std::fmt::Display for PktInfoEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] if {} len {}", self.cookie, self.ifindex, self.len)?;
        if self.layers & 1 != 0 {
            write!(
                f,
                " L2 {} > {} type {:#06x}",
                eclat_model::display::mac(&self.smac),
                eclat_model::display::mac(&self.dmac),
                self.eth_proto
            )?;
        }
        if self.layers & 2 != 0 {
            if self.eth_proto == 0x86dd {
                write!(
                    f,
                    " L3 {} > {} nh {} hl {}",
                    std::net::Ipv6Addr::from(self.saddr),
                    std::net::Ipv6Addr::from(self.daddr),
                    self.l4_proto,
                    self.hop_limit
                )?;
            } else if self.eth_proto == 0x0800 {
                let s: [u8; 4] = self.saddr[..4].try_into().expect("4");
                let d: [u8; 4] = self.daddr[..4].try_into().expect("4");
                write!(
                    f,
                    " L3 {} > {} proto {} ttl {}",
                    std::net::Ipv4Addr::from(s),
                    std::net::Ipv4Addr::from(d),
                    self.l4_proto,
                    self.hop_limit
                )?;
            }
        }
        if self.layers & 4 != 0 && (self.sport != 0 || self.dport != 0) {
            write!(f, " L4 {} > {}", self.sport, self.dport)?;
        }
        Ok(())
    }
}

/// Reads `show_pkt_info`'s ring buffer.
pub struct PktInfoReader {
    rb: RingBuf<MapData>,
}

impl PktInfoReader {
    pub fn open(path: &Path) -> Result<Self, HikeError> {
        Ok(Self {
            rb: open_ringbuf(path)?,
        })
    }
    pub fn drain(&mut self) -> Vec<PktInfoEvent> {
        let mut v = Vec::new();
        while let Some(item) = self.rb.next() {
            if let Some(e) = PktInfoEvent::decode(&item) {
                v.push(e);
            }
        }
        v
    }
}
