//! What the HIKe VM reports, one vocabulary for the kernel VM and the reference interpreter:
//! why a packet was aborted ([`AbortReason`], the index of `hvm_stats`) and the trace events
//! ([`TraceEvent`], a record of the `hvm_trace` ring buffer). Mirrors
//! `ebpf-modules/include/hike/vm_abi.h` (`enum hvm_error`, `struct hvm_trace_event`).

use serde::Serialize;

/// Why the VM aborted a packet (`enum hvm_error`; the code is the index of `hvm_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbortReason {
    /// no per-CPU chain data
    Internal = 1,
    /// unknown chain ID (or a non-chain ID to start)
    NoChain = 2,
    /// more than 7 nested chains
    Depth = 3,
    /// 64 instructions without a program call
    Budget = 4,
    /// an instruction outside the chain subset (a bad call helper included)
    Opcode = 5,
    /// an MMU fault: bank, bounds or packet end
    Mem = 6,
    /// the PC left the chain
    Pc = 7,
    /// program ID 0, or above 255, or above 32 bits
    ProgId = 8,
    /// an empty program slot
    NoProg = 9,
    /// the entry chain returned: drop by default
    Bootstrap = 10,
    /// a register above r10, or a write to r10
    Reg = 11,
    /// more than 16 program calls for one packet
    TailCallLimit = 12,
}

impl AbortReason {
    pub const ALL: [AbortReason; 12] = [
        Self::Internal,
        Self::NoChain,
        Self::Depth,
        Self::Budget,
        Self::Opcode,
        Self::Mem,
        Self::Pc,
        Self::ProgId,
        Self::NoProg,
        Self::Bootstrap,
        Self::Reg,
        Self::TailCallLimit,
    ];

    pub fn from_code(c: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == c)
    }

    /// The `enum hvm_error` value (the index of `hvm_stats`).
    pub fn code(self) -> u32 {
        self as u32
    }

    /// One line for a learner.
    pub fn explain(self) -> &'static str {
        use AbortReason::*;
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

impl std::fmt::Display for AbortReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.explain())
    }
}

/// `enum hvm_event_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    ChainEnter,
    ChainExit,
    ProgCall,
    ProgReturn,
    Abort,
    Unknown,
}

impl TraceKind {
    pub fn from_code(c: u32) -> Self {
        match c {
            1 => Self::ChainEnter,
            2 => Self::ChainExit,
            3 => Self::ProgCall,
            4 => Self::ProgReturn,
            5 => Self::Abort,
            _ => Self::Unknown,
        }
    }
}

/// One trace event (`struct hvm_trace_event`, 64 bytes): what the kernel VM writes to
/// `hvm_trace`, and what the reference interpreter records (with `ts_ns` 0: it has no clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TraceEvent {
    /// when the VM wrote the event: the kernel's monotonic clock (`bpf_ktime_get_ns`, nanoseconds
    /// since boot); 0 from the reference interpreter, which has no clock
    pub ts_ns: u64,
    /// what happened: `chain_enter`, `chain_exit`, `prog_call`, `prog_return`, `abort`, or
    /// `unknown` for a code this version does not know
    pub kind: TraceKind,
    /// the chain (enter, exit) or program (call, return) concerned; 0 for an abort
    pub elem: u32,
    /// the chain executing
    pub chain: u32,
    /// the PC as the VM holds it: the index of the next instruction (after a call, the
    /// instruction after it)
    pub pc: u16,
    /// the frame: 1 = the entry chain
    pub depth: u8,
    /// for an abort
    pub reason: Option<AbortReason>,
    /// r0..r4 of the frame
    pub regs: [u64; 5],
}

impl TraceEvent {
    pub const SIZE: usize = 64;

    /// Decodes one record of the ring buffer (native byte order); `None` if it is short.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let b = b.get(..Self::SIZE)?;
        let u64_at = |o: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[o..o + 8]);
            u64::from_ne_bytes(w)
        };
        let u32_at = |o: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&b[o..o + 4]);
            u32::from_ne_bytes(w)
        };
        let kind = TraceKind::from_code(u32_at(8));
        Some(Self {
            ts_ns: u64_at(0),
            kind,
            elem: u32_at(12),
            chain: u32_at(16),
            pc: u16::from_ne_bytes([b[20], b[21]]),
            depth: b[22],
            reason: if kind == TraceKind::Abort {
                AbortReason::from_code(b[23] as u32)
            } else {
                None
            },
            regs: [u64_at(24), u64_at(32), u64_at(40), u64_at(48), u64_at(56)],
        })
    }

    /// The record as the kernel VM writes it (the inverse of [`Self::decode`]).
    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        let kind = match self.kind {
            TraceKind::ChainEnter => 1u32,
            TraceKind::ChainExit => 2,
            TraceKind::ProgCall => 3,
            TraceKind::ProgReturn => 4,
            TraceKind::Abort => 5,
            TraceKind::Unknown => 0,
        };
        b[0..8].copy_from_slice(&self.ts_ns.to_ne_bytes());
        b[8..12].copy_from_slice(&kind.to_ne_bytes());
        b[12..16].copy_from_slice(&self.elem.to_ne_bytes());
        b[16..20].copy_from_slice(&self.chain.to_ne_bytes());
        b[20..22].copy_from_slice(&self.pc.to_ne_bytes());
        b[22] = self.depth;
        b[23] = self.reason.map_or(0, |r| r.code() as u8);
        for (i, r) in self.regs.iter().enumerate() {
            b[24 + 8 * i..32 + 8 * i].copy_from_slice(&r.to_ne_bytes());
        }
        b
    }
}

impl std::fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.regs;
        let w = 2 * self.depth as usize;
        match self.kind {
            TraceKind::ChainEnter => write!(
                f,
                "{:>w$}chain {:#x} enter (r2={} r3={})",
                "", self.elem, r[2], r[3]
            ),
            TraceKind::ChainExit => write!(
                f,
                "{:>w$}chain {:#x} exit r0={}",
                "", self.elem, r[0] as i64
            ),
            TraceKind::ProgCall => write!(
                f,
                "{:>w$}call prog {} (r2={} r3={} r4={}) at pc {}",
                "",
                self.elem,
                r[2],
                r[3],
                r[4],
                self.pc.saturating_sub(1)
            ),
            TraceKind::ProgReturn => write!(
                f,
                "{:>w$}prog {} returned r0={}",
                "", self.elem, r[0] as i64
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_vm_abi() {
        for r in AbortReason::ALL {
            assert_eq!(AbortReason::from_code(r.code()), Some(r));
        }
        assert_eq!(AbortReason::from_code(0), None);
        assert_eq!(AbortReason::from_code(13), None);
        // the values of enum hvm_error in vm_abi.h
        assert_eq!(AbortReason::Bootstrap.code(), 10);
        assert_eq!(AbortReason::TailCallLimit.code(), 12);
        // what a learner reads: each reason explained, and shown as its explanation
        for r in AbortReason::ALL {
            assert!(!r.explain().is_empty(), "{r:?}");
            assert_eq!(r.to_string(), r.explain());
        }
    }

    #[test]
    fn events_round_trip_through_the_record() {
        let e = TraceEvent {
            ts_ns: 77,
            kind: TraceKind::Abort,
            elem: 0,
            chain: 0x4000_0001,
            pc: 9,
            depth: 2,
            reason: Some(AbortReason::Mem),
            regs: [1, 2, 3, 4, u64::MAX],
        };
        assert_eq!(TraceEvent::decode(&e.encode()), Some(e.clone()));
        assert_eq!(TraceEvent::decode(&e.encode()[..63]), None);
        assert_eq!(
            e.to_string(),
            "ABORTED in chain 0x40000001 at pc 9: memory access out of bounds (MMU: bank, bounds or packet end)"
        );
        let call = TraceEvent {
            kind: TraceKind::ProgCall,
            elem: 3,
            pc: 5,
            depth: 1,
            reason: None,
            ..e
        };
        assert_eq!(
            call.to_string(),
            "  call prog 3 (r2=3 r3=4 r4=18446744073709551615) at pc 4"
        );
    }
}
