//! The reference interpreter of chain bytecode: the executable specification of the HIKe VM
//! (hike.md sections 2-4 and 8). Differential tests run the same chains here and in the kernel VM.
//!
//! Semantics fixed here, which the kernel VM must match:
//! - Frames: slot 0 is the bootstrap frame; the entry chain runs in frame 1; at most
//!   [`MAX_FRAMES`] frames, so chains nest 7 deep. A chain call copies the caller's `r0..r4` into
//!   the new frame (`r1` = the callee's own ID), zeroes `r5..r9` and the 128-byte stack, sets
//!   `r10` = [`mmu::FP`]. `exit` pops the frame and copies `r0` to the caller; the caller's other
//!   registers are untouched (so `r6..r9` are preserved; `r1..r5` must be treated as clobbered).
//!   `exit` from the entry chain returns to the bootstrap frame: `XDP_ABORTED`.
//! - A program call leaves every register of the caller as it was except `r0`, which is the
//!   program's return value when it continues the chain.
//! - Burst budget: at most [`BURST_BUDGET`] instructions execute between two program calls (an
//!   `lddw` counts once; the call instruction counts in the burst it ends). Chain calls and returns
//!   do not restart the budget. The 65th instruction of a burst aborts.
//! - Program calls: at most [`MAX_PROGRAM_CALLS`] per packet; the next call aborts. The VM counts
//!   them itself, so the limit does not depend on how many tail calls the kernel side spends.
//! - MMU: `bank:8 | offset:24` 32-bit virtual addresses; any address above 32 bits, bank ZERO,
//!   PRIVATE, or an unknown bank is a fault. PACKET: offset 0 is the length slot (reads give the
//!   packet length, writes are ignored), offsets 1..7 fault, offset 8 + n is packet byte n; n is
//!   refused (not wrapped) above [`mmu::PACKET_MASK`] and every access must end within the packet.
//!   PCPU_SHARED: 4096 bytes. STACK: the active frame's 128 bytes. Memory is little-endian.
//! - ALU: 64-bit, wrapping; `x / 0 = 0`, `x % 0 = x`; shift amounts are taken modulo 64.
//! - Every VM error aborts the packet (`XDP_ABORTED`) with an [`Abort`] reason in the trace.

pub mod models;

use crate::insn::{Insn, call, op};
use crate::layout::mmu;
pub use crate::trace::{AbortReason, TraceEvent, TraceKind};
use crate::{BURST_BUDGET, MAX_FRAMES, MAX_PROGRAMS, STACK_SIZE, XdpAction, is_chain_id};
use std::collections::{BTreeMap, HashMap};

/// Program calls allowed per packet. The kernel allows 33 tail calls per XDP run
/// (`MAX_TAIL_CALL_CNT`); the kernel VM spends two per program call plus one to enter, so both
/// VMs refuse the 17th program call themselves and the limit is exact and explained.
pub const MAX_PROGRAM_CALLS: u32 = crate::MAX_PROGRAM_CALLS;

/// What a program sees besides the caller frame's registers.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub packet: &'a mut Vec<u8>,
    /// The user part of the per-CPU shared memory (4096 bytes; `pkt_info` at offset 0).
    pub shmem: &'a mut [u8],
    /// Set by redirecting programs: the target ifindex of an `XDP_REDIRECT` verdict.
    pub redirect: Option<u32>,
    /// The calling frame's registers r0..r10 at the call (programs may read all of them).
    pub caller_regs: [u64; 11],
}

/// How a program call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ProgramResult {
    /// The program returned an XDP verdict: the VM stops.
    Final(XdpAction),
    /// The program returned `HIKE_XDP_VM` with this value in `r0`: the chain resumes.
    Continue(u64),
}

/// The program table (`hvm_hprog_map`), supplied by the caller.
pub trait Programs {
    /// Runs program `id` with the caller frame's `r1..r4` (`args[0]` is the program's own ID).
    /// `None` means the slot is empty (the tail call falls through: the packet is aborted).
    fn call(&mut self, id: u32, args: [u64; 4], ctx: &mut Ctx<'_>) -> Option<ProgramResult>;
}

/// The chain store (`hvm_chain_map`), supplied by the caller.
pub trait Chains {
    fn chain(&self, id: u32) -> Option<&[Insn]>;
}

impl Chains for HashMap<u32, Vec<Insn>> {
    fn chain(&self, id: u32) -> Option<&[Insn]> {
        self.get(&id).map(|v| v.as_slice())
    }
}

impl Chains for BTreeMap<u32, Vec<Insn>> {
    fn chain(&self, id: u32) -> Option<&[Insn]> {
        self.get(&id).map(|v| v.as_slice())
    }
}

impl Chains for [(u32, Vec<Insn>)] {
    fn chain(&self, id: u32) -> Option<&[Insn]> {
        self.iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v.as_slice())
    }
}

/// Why a memory access failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Fault {
    /// the address does not fit in 32 bits
    NotAVirtualAddress,
    ZeroBank,
    PrivateBank,
    UnknownBank(u8),
    /// PACKET offsets 1..7 (between the length slot and the first byte)
    PacketHeaderSlot,
    /// past the end of the packet, the 16 KiB window, shared memory or the stack
    OutOfBounds,
}

/// Why the VM aborted the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Abort {
    /// the element ID is a chain ID but no chain is stored under it
    NoSuchChain { id: u32 },
    /// an element ID that is neither a chain nor a program slot (0..255)
    UnknownElement { id: u64 },
    /// the program slot is empty
    MissingProgram { id: u32 },
    /// an opcode outside the chain subset, or a malformed one
    BadInsn { chain: u32, pc: usize, code: u8 },
    /// a register above r10, or a write to r10
    BadRegister { chain: u32, pc: usize, reg: u8 },
    /// `call` with an immediate that is not a VM call helper
    BadCall { chain: u32, pc: usize, imm: i32 },
    /// the PC left the chain (a jump out of range, or falling off the end)
    PcOutOfRange { chain: u32, pc: i64 },
    /// more than BURST_BUDGET instructions without a program call
    BudgetExhausted { chain: u32, pc: usize },
    /// a chain call with all MAX_FRAMES frames in use
    DepthExceeded { chain: u32, pc: usize, callee: u32 },
    /// one program call more than MAX_PROGRAM_CALLS
    TooManyProgramCalls { chain: u32, pc: usize },
    /// a load or store the MMU refused
    MemFault {
        chain: u32,
        pc: usize,
        addr: u64,
        size: u8,
        fault: Fault,
    },
    /// the entry chain returned: drop by default
    ReturnedToBootstrap { chain: u32, r0: u64 },
}

impl Abort {
    /// The reason the kernel VM counts this abort under (`hvm_stats`).
    pub fn reason(&self) -> AbortReason {
        match self {
            Abort::NoSuchChain { .. } => AbortReason::NoChain,
            Abort::UnknownElement { .. } => AbortReason::ProgId,
            Abort::MissingProgram { .. } => AbortReason::NoProg,
            Abort::BadInsn { .. } | Abort::BadCall { .. } => AbortReason::Opcode,
            Abort::BadRegister { .. } => AbortReason::Reg,
            Abort::PcOutOfRange { .. } => AbortReason::Pc,
            Abort::BudgetExhausted { .. } => AbortReason::Budget,
            Abort::DepthExceeded { .. } => AbortReason::Depth,
            Abort::TooManyProgramCalls { .. } => AbortReason::TailCallLimit,
            Abort::MemFault { .. } => AbortReason::Mem,
            Abort::ReturnedToBootstrap { .. } => AbortReason::Bootstrap,
        }
    }

    /// Where the kernel VM reports this abort (chain, PC) when the abort itself says: at the
    /// faulting instruction, or past a call that could not be made. `None`: where the VM was.
    fn place(&self) -> Option<(u32, u16)> {
        let pc16 = |pc: usize| pc.min(u16::MAX as usize) as u16;
        Some(match *self {
            Abort::BadInsn { chain, pc, .. }
            | Abort::BadCall { chain, pc, .. }
            | Abort::BadRegister { chain, pc, .. }
            | Abort::MemFault { chain, pc, .. }
            | Abort::BudgetExhausted { chain, pc } => (chain, pc16(pc)),
            Abort::DepthExceeded { chain, pc, .. } | Abort::TooManyProgramCalls { chain, pc } => {
                (chain, pc16(pc + 1))
            }
            Abort::PcOutOfRange { chain, pc } => (chain, pc.clamp(0, u16::MAX as i64) as u16),
            Abort::NoSuchChain { .. }
            | Abort::UnknownElement { .. }
            | Abort::MissingProgram { .. }
            | Abort::ReturnedToBootstrap { .. } => return None,
        })
    }
}

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Abort::NoSuchChain { id } => write!(f, "no chain stored under ID {id:#x}"),
            Abort::UnknownElement { id } => {
                write!(f, "{id:#x} is neither a chain ID nor a program ID")
            }
            Abort::MissingProgram { id } => write!(f, "no program in slot {id}"),
            Abort::BadInsn { chain, pc, code } => {
                write!(
                    f,
                    "chain {chain:#x} insn {pc}: opcode {code:#04x} is not in the chain subset"
                )
            }
            Abort::BadRegister { chain, pc, reg } => {
                write!(
                    f,
                    "chain {chain:#x} insn {pc}: register r{reg} cannot be used here"
                )
            }
            Abort::BadCall { chain, pc, imm } => {
                write!(
                    f,
                    "chain {chain:#x} insn {pc}: call {imm:#x} is not a VM call helper"
                )
            }
            Abort::PcOutOfRange { chain, pc } => {
                write!(f, "chain {chain:#x}: PC {pc} is outside the chain")
            }
            Abort::BudgetExhausted { chain, pc } => write!(
                f,
                "chain {chain:#x} insn {pc}: burst budget of {BURST_BUDGET} instructions exhausted"
            ),
            Abort::DepthExceeded { chain, pc, callee } => write!(
                f,
                "chain {chain:#x} insn {pc}: calling chain {callee:#x} needs more than {MAX_FRAMES} frames"
            ),
            Abort::TooManyProgramCalls { chain, pc } => write!(
                f,
                "chain {chain:#x} insn {pc}: more than {MAX_PROGRAM_CALLS} program calls for one packet"
            ),
            Abort::MemFault {
                chain,
                pc,
                addr,
                size,
                fault,
            } => {
                write!(
                    f,
                    "chain {chain:#x} insn {pc}: {size}-byte access at {addr:#x}: {fault:?}"
                )
            }
            Abort::ReturnedToBootstrap { chain, r0 } => write!(
                f,
                "chain {chain:#x} returned {r0} to the bootstrap frame without a final program: drop by default"
            ),
        }
    }
}

/// The result of running one packet.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub verdict: XdpAction,
    /// set when the VM aborted the packet (not when a program returned XDP_ABORTED)
    pub abort: Option<Abort>,
    pub trace: Vec<TraceEvent>,
    /// the packet bytes after the run
    pub packet: Vec<u8>,
    /// the redirect target, when a program redirected
    pub redirect: Option<u32>,
    /// interpreted instructions, all bursts together
    pub insns_executed: u64,
    pub program_calls: u32,
}

struct Frame<'c> {
    id: u32,
    insns: &'c [Insn],
    pc: usize,
    regs: [u64; 11],
    stack: [u8; STACK_SIZE],
}

/// Runs one packet: the bootstrap frame calls chain `entry`, then the interpreter runs until a
/// final program or an abort. `shmem` is the user part of the shared memory, already filled by
/// the loader (see [`models::fill_pkt_info`]); programs and chains may change it.
pub fn run<C: Chains + ?Sized>(
    chains: &C,
    programs: &mut dyn Programs,
    entry: u32,
    packet: Vec<u8>,
    shmem: &mut [u8],
) -> Outcome {
    let mut packet = packet;
    let mut vm = Vm {
        trace: Vec::new(),
        executed: 0,
        program_calls: 0,
        redirect: None,
        depth: 0,
        regs: [0; 5],
        next_pc: 0,
        chain: 0,
    };
    let result = vm.exec(chains, programs, entry, &mut packet, shmem);
    let (verdict, abort) = match result {
        Ok(v) => (v, None),
        Err(a) => {
            let (chain, pc) = a.place().unwrap_or((vm.chain, vm.next_pc));
            vm.trace.push(TraceEvent {
                ts_ns: 0,
                kind: TraceKind::Abort,
                elem: 0,
                chain,
                pc,
                depth: vm.depth,
                reason: Some(a.reason()),
                regs: vm.regs,
            });
            (XdpAction::Aborted, Some(a))
        }
    };
    Outcome {
        verdict,
        abort,
        trace: vm.trace,
        packet,
        redirect: vm.redirect,
        insns_executed: vm.executed,
        program_calls: vm.program_calls,
    }
}

struct Vm {
    trace: Vec<TraceEvent>,
    executed: u64,
    program_calls: u32,
    redirect: Option<u32>,
    /// the active frame and its r0..r4 when the last instruction started (for an abort's
    /// trace event)
    depth: u8,
    regs: [u64; 5],
    next_pc: u16,
    chain: u32,
}

fn r0_4(regs: &[u64; 11]) -> [u64; 5] {
    [regs[0], regs[1], regs[2], regs[3], regs[4]]
}

fn new_frame<'c>(id: u32, insns: &'c [Insn], caller: &[u64; 11]) -> Frame<'c> {
    let mut regs = [0u64; 11];
    regs[..5].copy_from_slice(&caller[..5]);
    regs[1] = id as u64;
    regs[10] = mmu::FP as u64;
    Frame {
        id,
        insns,
        pc: 0,
        regs,
        stack: [0; STACK_SIZE],
    }
}

impl Vm {
    /// Records a trace event as the kernel VM writes it.
    fn event(
        &mut self,
        kind: TraceKind,
        elem: u32,
        chain: u32,
        pc: usize,
        depth: usize,
        regs: &[u64; 11],
    ) {
        self.trace.push(TraceEvent {
            ts_ns: 0,
            kind,
            elem,
            chain,
            pc: pc.min(u16::MAX as usize) as u16,
            depth: depth as u8,
            reason: None,
            regs: r0_4(regs),
        });
    }

    fn exec<'c, C: Chains + ?Sized>(
        &mut self,
        chains: &'c C,
        programs: &mut dyn Programs,
        entry: u32,
        packet: &mut Vec<u8>,
        shmem: &mut [u8],
    ) -> Result<XdpAction, Abort> {
        // a loader starts chains only: anything else is "no chain" (as the kernel VM says)
        if !is_chain_id(entry) {
            return Err(Abort::NoSuchChain { id: entry });
        }
        let insns = chains
            .chain(entry)
            .ok_or(Abort::NoSuchChain { id: entry })?;
        // frames[0] is the bootstrap frame: it only holds the registers of the initial call.
        let boot = [0u64; 11];
        let mut frames: Vec<Frame<'c>> = Vec::with_capacity(MAX_FRAMES);
        frames.push(Frame {
            id: 0,
            insns: &[],
            pc: 0,
            regs: boot,
            stack: [0; STACK_SIZE],
        });
        frames.push(new_frame(entry, insns, &boot));
        let regs = frames[1].regs;
        self.event(TraceKind::ChainEnter, entry, entry, 0, 1, &regs);
        let mut burst: u32 = 0;
        loop {
            let depth = frames.len() - 1;
            let f = frames.last_mut().expect("at least the bootstrap frame");
            let chain = f.id;
            let pc = f.pc;
            self.depth = depth as u8;
            self.regs = r0_4(&f.regs);
            self.next_pc = (pc + 1).min(u16::MAX as usize) as u16;
            self.chain = chain;
            if pc >= f.insns.len() {
                return Err(Abort::PcOutOfRange {
                    chain,
                    pc: pc as i64,
                });
            }
            if burst >= BURST_BUDGET {
                return Err(Abort::BudgetExhausted { chain, pc });
            }
            burst += 1;
            self.executed += 1;
            let insn = f.insns[pc];
            f.pc += 1;
            let bad = Abort::BadInsn {
                chain,
                pc,
                code: insn.code,
            };
            let (d, s) = (insn.dst as usize, insn.src as usize);
            let bad_reg = |reg: usize| Abort::BadRegister {
                chain,
                pc,
                reg: reg as u8,
            };
            if d > 10 {
                return Err(bad_reg(d));
            }
            if s > 10 {
                return Err(bad_reg(s));
            }
            let k = insn.imm as i64 as u64;
            let code = insn.code;
            match code & 0x07 {
                op::ALU64 => {
                    if d == 10 {
                        return Err(bad_reg(d));
                    }
                    let b = if code & op::X != 0 { f.regs[s] } else { k };
                    let a = f.regs[d];
                    f.regs[d] = match code & 0xf0 {
                        op::ADD => a.wrapping_add(b),
                        op::SUB => a.wrapping_sub(b),
                        op::MUL => a.wrapping_mul(b),
                        op::DIV => a.checked_div(b).unwrap_or(0),
                        op::OR => a | b,
                        op::AND => a & b,
                        op::LSH => a << (b & 63),
                        op::RSH => a >> (b & 63),
                        op::NEG if code & op::X == 0 => a.wrapping_neg(),
                        op::MOD => a.checked_rem(b).unwrap_or(a),
                        op::XOR => a ^ b,
                        op::MOV => b,
                        op::ARSH => ((a as i64) >> (b & 63)) as u64,
                        _ => return Err(bad),
                    };
                }
                op::ALU => {
                    if code & 0xf0 != op::END {
                        return Err(bad);
                    }
                    if d == 10 {
                        return Err(bad_reg(d));
                    }
                    let a = f.regs[d];
                    let be = code & op::TO_BE != 0;
                    f.regs[d] = match (insn.imm, be) {
                        (16, false) => a & 0xffff,
                        (32, false) => a & 0xffff_ffff,
                        (64, false) => a,
                        (16, true) => (a as u16).swap_bytes() as u64,
                        (32, true) => (a as u32).swap_bytes() as u64,
                        (64, true) => a.swap_bytes(),
                        _ => return Err(bad),
                    };
                }
                op::LD => {
                    if code != op::LDDW || insn.src != 0 {
                        return Err(bad);
                    }
                    if d == 10 {
                        return Err(bad_reg(d));
                    }
                    let Some(hi) = f.insns.get(pc + 1) else {
                        return Err(bad);
                    };
                    f.regs[d] = ((hi.imm as u32 as u64) << 32) | insn.imm as u32 as u64;
                    f.pc += 1;
                }
                op::LDX | op::ST | op::STX => {
                    if code & 0xe0 != op::MEM {
                        return Err(bad);
                    }
                    let size: u8 = match code & 0x18 {
                        op::B => 1,
                        op::H => 2,
                        op::W => 4,
                        _ => 8,
                    };
                    let class = code & 0x07;
                    let base = if class == op::LDX {
                        f.regs[s]
                    } else {
                        f.regs[d]
                    };
                    let addr = base.wrapping_add(insn.off as i64 as u64);
                    let fault = |fault| Abort::MemFault {
                        chain,
                        pc,
                        addr,
                        size,
                        fault,
                    };
                    let mut mem = Mmu {
                        packet: &mut *packet,
                        shmem: &mut *shmem,
                        stack: &mut f.stack,
                    };
                    if class == op::LDX {
                        if d == 10 {
                            return Err(bad_reg(d));
                        }
                        f.regs[d] = mem.read(addr, size).map_err(fault)?;
                    } else {
                        let v = if class == op::ST { k } else { f.regs[s] };
                        mem.write(addr, size, v).map_err(fault)?;
                    }
                }
                op::JMP => {
                    let jop = code & 0xf0;
                    match jop {
                        op::CALL => {
                            if call::nargs(insn.imm).is_none() || code & op::X != 0 {
                                return Err(Abort::BadCall {
                                    chain,
                                    pc,
                                    imm: insn.imm,
                                });
                            }
                            let target = f.regs[1];
                            if target > u32::MAX as u64 {
                                return Err(Abort::UnknownElement { id: target });
                            }
                            let id = target as u32;
                            if is_chain_id(id) {
                                let insns = chains.chain(id).ok_or(Abort::NoSuchChain { id })?;
                                if depth + 1 >= MAX_FRAMES {
                                    return Err(Abort::DepthExceeded {
                                        chain,
                                        pc,
                                        callee: id,
                                    });
                                }
                                let regs = f.regs;
                                let nf = new_frame(id, insns, &regs);
                                self.event(TraceKind::ChainEnter, id, id, 0, depth + 1, &nf.regs);
                                frames.push(nf);
                            } else if id != 0 && id < MAX_PROGRAMS {
                                if self.program_calls >= MAX_PROGRAM_CALLS {
                                    return Err(Abort::TooManyProgramCalls { chain, pc });
                                }
                                self.program_calls += 1;
                                let regs = f.regs;
                                self.event(TraceKind::ProgCall, id, chain, pc + 1, depth, &regs);
                                let regs = [f.regs[1], f.regs[2], f.regs[3], f.regs[4]];
                                let mut ctx = Ctx {
                                    packet: &mut *packet,
                                    shmem: &mut *shmem,
                                    redirect: None,
                                    caller_regs: f.regs,
                                };
                                let result = programs
                                    .call(id, regs, &mut ctx)
                                    .ok_or(Abort::MissingProgram { id })?;
                                let redirect = ctx.redirect;
                                match result {
                                    ProgramResult::Final(v) => {
                                        if v == XdpAction::Redirect {
                                            self.redirect = redirect;
                                        }
                                        return Ok(v);
                                    }
                                    ProgramResult::Continue(r0) => {
                                        f.regs[0] = r0;
                                        burst = 0;
                                        let regs = f.regs;
                                        self.event(
                                            TraceKind::ProgReturn,
                                            id,
                                            chain,
                                            pc + 1,
                                            depth,
                                            &regs,
                                        );
                                    }
                                }
                            } else {
                                return Err(Abort::UnknownElement { id: target });
                            }
                        }
                        op::EXIT => {
                            if code & op::X != 0 {
                                return Err(bad);
                            }
                            let r0 = f.regs[0];
                            let regs = f.regs;
                            self.event(TraceKind::ChainExit, chain, chain, pc + 1, depth, &regs);
                            if frames.len() <= 2 {
                                return Err(Abort::ReturnedToBootstrap { chain, r0 });
                            }
                            frames.pop();
                            if let Some(caller) = frames.last_mut() {
                                caller.regs[0] = r0;
                            }
                        }
                        _ => {
                            let b = if code & op::X != 0 { f.regs[s] } else { k };
                            let a = f.regs[d];
                            let taken = match jop {
                                op::JA if code & op::X == 0 => true,
                                op::JEQ => a == b,
                                op::JGT => a > b,
                                op::JGE => a >= b,
                                op::JSET => a & b != 0,
                                op::JNE => a != b,
                                op::JSGT => (a as i64) > (b as i64),
                                op::JSGE => (a as i64) >= (b as i64),
                                op::JLT => a < b,
                                op::JLE => a <= b,
                                op::JSLT => (a as i64) < (b as i64),
                                op::JSLE => (a as i64) <= (b as i64),
                                _ => return Err(bad),
                            };
                            if taken {
                                let target = f.pc as i64 + insn.off as i64;
                                if target < 0 || target >= f.insns.len() as i64 {
                                    return Err(Abort::PcOutOfRange { chain, pc: target });
                                }
                                f.pc = target as usize;
                            }
                        }
                    }
                }
                _ => return Err(bad),
            }
        }
    }
}

/// The MMU over one packet, the shared memory and the active frame's stack.
struct Mmu<'a> {
    packet: &'a mut Vec<u8>,
    shmem: &'a mut [u8],
    stack: &'a mut [u8; STACK_SIZE],
}

enum Place {
    LenSlot,
    Packet(usize),
    Shmem(usize),
    Stack(usize),
}

impl Mmu<'_> {
    fn place(&self, addr: u64, size: u8) -> Result<Place, Fault> {
        if addr > u32::MAX as u64 {
            return Err(Fault::NotAVirtualAddress);
        }
        let addr = addr as u32;
        let off = mmu::offset(addr) as usize;
        let size = size as usize;
        match mmu::bank(addr) {
            mmu::BANK_ZERO => Err(Fault::ZeroBank),
            mmu::BANK_PRIVATE => Err(Fault::PrivateBank),
            mmu::BANK_PACKET => {
                if off == 0 {
                    return Ok(Place::LenSlot);
                }
                let Some(n) = off.checked_sub(8) else {
                    return Err(Fault::PacketHeaderSlot);
                };
                if n > mmu::PACKET_MASK as usize || n + size > self.packet.len() {
                    return Err(Fault::OutOfBounds);
                }
                Ok(Place::Packet(n))
            }
            mmu::BANK_PCPU_SHARED => {
                let limit = (mmu::PCPU_SHARED_SIZE as usize).min(self.shmem.len());
                if off + size > limit {
                    return Err(Fault::OutOfBounds);
                }
                Ok(Place::Shmem(off))
            }
            mmu::BANK_STACK => {
                if off + size > STACK_SIZE {
                    return Err(Fault::OutOfBounds);
                }
                Ok(Place::Stack(off))
            }
            b => Err(Fault::UnknownBank(b)),
        }
    }

    fn read(&mut self, addr: u64, size: u8) -> Result<u64, Fault> {
        let n = size as usize;
        let bytes: &[u8] = match self.place(addr, size)? {
            Place::LenSlot => {
                let len = self.packet.len() as u64;
                return Ok(if n == 8 {
                    len
                } else {
                    len & ((1u64 << (8 * n)) - 1)
                });
            }
            Place::Packet(o) => &self.packet[o..o + n],
            Place::Shmem(o) => &self.shmem[o..o + n],
            Place::Stack(o) => &self.stack[o..o + n],
        };
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(bytes);
        Ok(u64::from_le_bytes(buf))
    }

    fn write(&mut self, addr: u64, size: u8, v: u64) -> Result<(), Fault> {
        let n = size as usize;
        let src = v.to_le_bytes();
        let dst: &mut [u8] = match self.place(addr, size)? {
            Place::LenSlot => return Ok(()),
            Place::Packet(o) => &mut self.packet[o..o + n],
            Place::Shmem(o) => &mut self.shmem[o..o + n],
            Place::Stack(o) => &mut self.stack[o..o + n],
        };
        dst.copy_from_slice(&src[..n]);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
