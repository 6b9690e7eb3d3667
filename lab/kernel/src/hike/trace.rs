//! What the VM reports: abort reasons (`hvm_stats`), trace events (`hvm_trace` ring buffer),
//! and `show_pkt_info` events. Mirrors `ebpf-modules/include/hike/vm_abi.h`.

use std::path::Path;

use aya::maps::{Map, MapData, RingBuf};
use serde::Serialize;

use super::HikeError;

/// Why the VM aborted a packet (`enum hvm_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VmError {
    Internal = 1,
    NoChain = 2,
    Depth = 3,
    Budget = 4,
    Opcode = 5,
    Mem = 6,
    Pc = 7,
    ProgId = 8,
    NoProg = 9,
    Bootstrap = 10,
    Reg = 11,
    TailCallLimit = 12,
}

impl VmError {
    pub fn from_code(c: u32) -> Option<Self> {
        use VmError::*;
        Some(match c {
            1 => Internal,
            2 => NoChain,
            3 => Depth,
            4 => Budget,
            5 => Opcode,
            6 => Mem,
            7 => Pc,
            8 => ProgId,
            9 => NoProg,
            10 => Bootstrap,
            11 => Reg,
            12 => TailCallLimit,
            _ => return None,
        })
    }

    /// One line for a learner.
    pub fn explain(self) -> &'static str {
        use VmError::*;
        match self {
            Internal => "internal: no per-CPU chain data",
            NoChain => "unknown chain ID",
            Depth => "chains nested deeper than 8 frames",
            Budget => "64 instructions ran without a program call (burst budget)",
            Opcode => "an instruction outside the chain subset",
            Mem => "memory access out of bounds (MMU: bank, bounds or packet end)",
            Pc => "the PC left the chain",
            ProgId => "program ID 0 or above 255",
            NoProg => "no program registered under the called ID",
            Bootstrap => {
                "the chain returned without a final verdict: drop by default (end it with hike_pass, hike_drop, a redirect or a route)"
            }
            Reg => "a register above r10, or a write to r10",
            TailCallLimit => {
                "more than 16 program calls in one packet (the kernel's tail-call limit)"
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    ChainEnter,
    ChainExit,
    ProgCall,
    ProgReturn,
    Abort,
    Unknown,
}

/// One `struct hvm_trace_event`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TraceEvent {
    pub ts_ns: u64,
    pub kind: TraceKind,
    /// chain or program ID
    pub elem: u32,
    /// chain executing
    pub chain: u32,
    pub pc: u16,
    pub depth: u8,
    pub reason: Option<VmError>,
    /// r0..r4 of the frame
    pub regs: [u64; 5],
}

impl TraceEvent {
    pub const SIZE: usize = 64;

    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < Self::SIZE {
            return None;
        }
        let u64_at = |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().expect("8"));
        let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().expect("4"));
        let kind = match u32_at(8) {
            1 => TraceKind::ChainEnter,
            2 => TraceKind::ChainExit,
            3 => TraceKind::ProgCall,
            4 => TraceKind::ProgReturn,
            5 => TraceKind::Abort,
            _ => TraceKind::Unknown,
        };
        Some(Self {
            ts_ns: u64_at(0),
            kind,
            elem: u32_at(12),
            chain: u32_at(16),
            pc: u16::from_ne_bytes([b[20], b[21]]),
            depth: b[22],
            reason: if kind == TraceKind::Abort {
                VmError::from_code(b[23] as u32)
            } else {
                None
            },
            regs: [u64_at(24), u64_at(32), u64_at(40), u64_at(48), u64_at(56)],
        })
    }
}

impl std::fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.regs;
        match self.kind {
            TraceKind::ChainEnter => write!(
                f,
                "{:>w$}chain {:#x} enter (r2={} r3={})",
                "",
                self.elem,
                r[2],
                r[3],
                w = 2 * self.depth as usize
            ),
            TraceKind::ChainExit => write!(
                f,
                "{:>w$}chain {:#x} exit r0={}",
                "",
                self.elem,
                r[0] as i64,
                w = 2 * self.depth as usize
            ),
            TraceKind::ProgCall => write!(
                f,
                "{:>w$}call prog {} (r2={} r3={} r4={}) at pc {}",
                "",
                self.elem,
                r[2],
                r[3],
                r[4],
                self.pc.saturating_sub(1),
                w = 2 * self.depth as usize
            ),
            TraceKind::ProgReturn => write!(
                f,
                "{:>w$}prog {} returned r0={}",
                "",
                self.elem,
                r[0] as i64,
                w = 2 * self.depth as usize
            ),
            TraceKind::Abort => write!(
                f,
                "ABORTED in chain {:#x} at pc {}: {}",
                self.chain,
                self.pc,
                self.reason.map(|e| e.explain()).unwrap_or("unknown reason")
            ),
            TraceKind::Unknown => write!(f, "unknown trace event"),
        }
    }
}

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
    pub ts_ns: u64,
    pub cookie: u64,
    pub layers: u32,
    pub ifindex: u32,
    pub len: u32,
    pub eth_proto: u16,
    pub l4_proto: u8,
    pub hop_limit: u8,
    pub dmac: [u8; 6],
    pub smac: [u8; 6],
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    pub sport: u16,
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
