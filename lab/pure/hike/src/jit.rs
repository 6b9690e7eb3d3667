//! The chain compiler: the VM's second tier. A stored chain the compiler accepts also runs
//! without the interpreter, with the same results (the differential tests run the compiled
//! chain, the interpreted one and the reference interpreter on the same packets).
//!
//! HIKe's cost is in the hops: in the interpreter every program call is two tail calls
//! (VM -> program -> VM) plus the interpretation of the chain's instructions in between. A
//! compiled chain makes it one tail call per program call, as in a pipeline written by hand,
//! and has no code of its own: every call site of the chain gets its own *instance* of the
//! called program, whose hand-over is written for that call site alone. `api.h` gives every
//! HIKe entry point two templates (a marker and padding of `goto +0`), and the control plane
//! stamps the instance's own code over them in its copy of the object before loading it
//! ([`epilogue`], [`prologue`]; `eclat_kernel::hike::stamp`): after the program, copy `r0`
//! into a register, test a register against a constant, then on each way store constants
//! into the frame's registers (arguments, the next program's ID in `r1`) and tail-call the
//! next call site's instance, or abort. The read-only global `__hike_cont` ([`encode_cont`])
//! tells the program it is an instance (the verifier deletes the templates of ordinary
//! programs, and the stamped code's unused padding). The instance of the chain's first call
//! also starts the chain (its prologue sets frame 1 up as the VM would, with the moves
//! before that call): the loader reaches it through slot `n` of `hvm_jit_map` for chain
//! `CHAIN_ID_FLAG | n`, `n` < 128 (`hike_chain_boot`), the other instances live in slots
//! 128..255. Every tail call has a key the verifier knows, so each is a direct jump once
//! JITed.
//!
//! A call of a *verdict program* (one that only returns a constant XDP action, such as
//! `hike_pass` and `hike_drop`: `HIKE_VERDICT_PROG` in `api.h`), other than the chain's first
//! call, is folded into the instance before it: that instance makes the moves, counts the
//! call, and returns the action itself, one tail call fewer, with the same verdict, registers
//! and counters. Which program IDs hold verdict programs is the caller's to say (`verdicts`).
//!
//! What compiles is the code eCLAT writes between calls: at most one `mov rN, r0`, at most
//! one `if rN ==/!= imm goto` (forward), and on each way up to four `mov rN, imm` then a
//! call, or an `exit` (from frame 1: an abort, as in the interpreter). Anything else (other
//! arithmetic, memory accesses, loops, calls of chains, computed calls) keeps the chain
//! interpreted, with the reason ([`Refusal`]). Semantics kept exactly: registers live in
//! frame 1 where the interpreter keeps them; the call limit (16 per packet) and every abort
//! reason are counted as the VM counts them; no burst budget can run out (no loops).
//!
//! Pure: no I/O. The kernel side (`eclat_kernel::hike::jit`) picks the slots, loads the
//! instances, and records which slots a chain owns.

use std::collections::BTreeMap;

use crate::asm;
use crate::insn::{Insn, call, op};
use crate::{MAX_PROGRAM_CALLS, MAX_PROGRAMS};

/// Slots of `hvm_jit_map`.
pub const JIT_SLOTS: u32 = 256;
/// The instance of the first call of chain `CHAIN_ID_FLAG | n` lives in slot `n`, for
/// `n <= ENTRY_MASK` (the loaders' `hike_chain_boot` looks there); chains with a larger `n`
/// are interpreted.
pub const ENTRY_MASK: u32 = 127;
/// The other instances live in slots `FIRST_INSTANCE_SLOT..JIT_SLOTS`.
pub const FIRST_INSTANCE_SLOT: u32 = 128;
/// Moves per way (`HIKE_CONT_MOVES`).
pub const MAX_MOVES: usize = 4;
/// Size of `struct hike_cont`.
pub const CONT_SIZE: usize = 232;
/// The read-only global of every HIKe program that holds its [`Cont`].
pub const CONT_SYMBOL: &str = "__hike_cont";

/// Offset of `struct hike_cont.link`: how a part of a linked chain finds the per-CPU chain
/// data and shared memory (`HIKE_LINK_*` in `api.h`).
pub const CONT_LINK_OFF: usize = 164;
/// `link` of a linked program's first part: it looks the two up and keeps the pointers in
/// the stack slots [`LINK_CDATA_SLOT`] and [`LINK_SHMEM_SLOT`].
pub const LINK_HEAD: u32 = 1;
/// `link` of a later part (reached by a jump): it reads the pointers there.
pub const LINK_PART: u32 = 2;
/// The stack slots (offsets from `r10`) of the chain data's and the shared memory's pointers.
pub const LINK_CDATA_SLOT: i16 = -512;
pub const LINK_SHMEM_SLOT: i16 = -504;
/// A part's own stack accesses must stay above this offset for the slots to be shared.
pub const LINK_STACK_FLOOR: i16 = -496;

/// Whether a part's code (as in its object: before the verifier) leaves the stack slots of a
/// linked chain alone: every access through `r10` at or above [`LINK_STACK_FLOOR`], and every
/// stack address it takes (`rX = r10; rX += -K`) as well, except the slot accesses of `api.h`,
/// each right after a `goto +0`. `Err` says where it does not.
pub fn link_slots_clear(code: &[Insn]) -> Result<(), String> {
    const FP: u8 = 10;
    let class = |i: &Insn| i.code & 0x07;
    let is_nop = |i: &Insn| *i == asm::ja(0);
    let slots = [LINK_CDATA_SLOT, LINK_SHMEM_SLOT];
    for (k, i) in code.iter().enumerate() {
        let base = match class(i) {
            op::LDX => Some(i.src),
            op::ST | op::STX => Some(i.dst),
            _ => None,
        };
        if base == Some(FP) && i.off < LINK_STACK_FLOOR {
            let api =
                k > 0 && is_nop(&code[k - 1]) && i.code & 0x18 == op::DW && slots.contains(&i.off);
            if !api {
                return Err(format!(
                    "instruction {k} reaches its stack at r10{} (below {LINK_STACK_FLOOR})",
                    i.off
                ));
            }
        }
        if i.code == op::ALU64 | op::MOV | op::X && i.src == FP {
            let add = code
                .get(k + 1)
                .filter(|n| n.code == op::ALU64 | op::ADD | op::K && n.dst == i.dst && n.src == 0);
            match add {
                Some(n) if n.imm >= LINK_STACK_FLOOR as i32 && n.imm <= 0 => {}
                _ => {
                    return Err(format!(
                        "instruction {k} takes a stack address it may use below {LINK_STACK_FLOOR}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Abort reasons, as `vm_abi.h` numbers them (the index in `hvm_stats`).
pub mod reason {
    pub const OPCODE: u32 = 5;
    pub const PROG_ID: u32 = 8;
    pub const BOOTSTRAP: u32 = 10;
}

/// Where a way of the chain goes after its moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// call site `site` of [`Plan::sites`]
    Call { site: usize },
    /// the packet is aborted for this reason
    Abort { reason: u32 },
    /// a call of a verdict program, folded: the packet ends with this XDP action
    Verdict { prog: u32, action: u32 },
}

/// One way through the chain between two calls: moves of constants, then where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Way {
    pub moves: Vec<(u8, i64)>,
    pub next: Next,
}

/// What the chain does after a call (`struct hike_cont`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cont {
    /// `r<save> = r0` first
    pub save: Option<u8>,
    /// (`op::JEQ` or `op::JNE`, register, constant): the second way when it holds
    pub test: Option<(u8, u8, i64)>,
    /// the way when the test does not hold (or there is none), and when it does
    pub ways: (Way, Option<Way>),
}

/// A program call of the chain: the instruction, the program's ID, what follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub pc: usize,
    pub prog: u32,
    pub cont: Cont,
}

/// A compiled chain: how it starts, and its call sites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub chain_id: u32,
    pub entry: Way,
    pub sites: Vec<Site>,
    /// the most program calls a packet can make through the chain
    pub max_calls: u32,
}

impl Plan {
    /// Must the instances count calls against the limit of 16? Only when some path of the
    /// chain makes more (the limit's abort then happens where the interpreter's does).
    pub fn counts_calls(&self) -> bool {
        self.max_calls > MAX_PROGRAM_CALLS
    }
}

/// The most calls a packet can make from `w` on (the chain has no loops).
fn calls_from(w: &Way, sites: &[Site], memo: &mut BTreeMap<usize, u32>) -> u32 {
    let site = match w.next {
        Next::Call { site } => site,
        Next::Verdict { .. } => return 1,
        Next::Abort { .. } => return 0,
    };
    if let Some(&n) = memo.get(&site) {
        return n;
    }
    let c = &sites[site].cont;
    let mut n = calls_from(&c.ways.0, sites, memo);
    if let Some(t) = &c.ways.1 {
        n = n.max(calls_from(t, sites, memo));
    }
    memo.insert(site, n + 1);
    n + 1
}

/// Why a chain stays interpreted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("insn {pc}: a backward jump (a loop: the burst budget bounds it)")]
    BackwardJump { pc: usize },
    #[error("insn {pc}: a memory access (the MMU)")]
    Memory { pc: usize },
    #[error("insn {pc}: a call of a chain")]
    ChainCall { pc: usize },
    #[error("insn {pc}: a call whose program ID is not a constant set before it")]
    ComputedCall { pc: usize },
    #[error("insn {pc}: {why}, which the compiler leaves to the interpreter")]
    Unsupported { pc: usize, why: &'static str },
    #[error("{sites} call sites; {max} instances fit in hvm_jit_map")]
    TooManyCalls { sites: usize, max: u32 },
    #[error("chain IDs above {:#x} have no entry slot in hvm_jit_map", crate::CHAIN_ID_FLAG | ENTRY_MASK)]
    NoEntrySlot,
}

fn unsupported(pc: usize, why: &'static str) -> Refusal {
    Refusal::Unsupported { pc, why }
}

fn jump_target(pc: usize, i: Insn) -> Result<usize, Refusal> {
    if i.off < 0 {
        return Err(Refusal::BackwardJump { pc });
    }
    Ok(pc + 1 + i.off as usize)
}

struct Compiler<'a> {
    insns: &'a [Insn],
    /// program ID -> the XDP action of the verdict program registered under it
    verdicts: &'a BTreeMap<u32, u32>,
    sites: Vec<Site>,
    /// call instruction -> site index (a site is made once, whichever way reaches it)
    site_of: BTreeMap<usize, usize>,
}

impl Compiler<'_> {
    fn at(&self, pc: usize) -> Result<Insn, Refusal> {
        self.insns
            .get(pc)
            .copied()
            .ok_or(unsupported(pc, "a jump past the end"))
    }

    /// The way starting at `pc`: constant moves (and forward `goto`s) up to a call or an exit.
    /// `fold`: a call of a verdict program may end the way (not on the entry way: the chain's
    /// first call needs an instance for the loader to start).
    fn way(&mut self, mut pc: usize, fold: bool) -> Result<Way, Refusal> {
        let mut moves: Vec<(u8, i64)> = Vec::new();
        let mut steps = 0;
        loop {
            steps += 1;
            if steps > crate::MAX_CHAIN_INSNS {
                return Err(unsupported(pc, "a way longer than the chain"));
            }
            let i = self.at(pc)?;
            match (i.code & 0x07, i.code) {
                (_, c) if c == op::ALU64 | op::MOV | op::K => {
                    if i.dst > 9 {
                        return Err(unsupported(pc, "a move into r10"));
                    }
                    if moves.len() == MAX_MOVES {
                        return Err(unsupported(pc, "more than 4 moves between calls"));
                    }
                    moves.push((i.dst, i.imm as i64));
                    pc += 1;
                }
                (_, c) if c == op::JMP | op::JA => pc = jump_target(pc, i)?,
                (_, c) if c == op::JMP | op::EXIT => {
                    return Ok(Way {
                        moves,
                        next: Next::Abort {
                            reason: reason::BOOTSTRAP,
                        },
                    });
                }
                (_, c) if c == op::JMP | op::CALL => {
                    let Some(&(_, id)) = moves.iter().rev().find(|(r, _)| *r == 1) else {
                        return Err(Refusal::ComputedCall { pc });
                    };
                    let id = id as u64;
                    let abort = |reason| Next::Abort { reason };
                    let next = if call::nargs(i.imm).is_none() || i.dst != 0 || i.src != 0 {
                        abort(reason::OPCODE)
                    } else if id >> 32 != 0 || id == 0 {
                        abort(reason::PROG_ID)
                    } else if crate::is_chain_id(id as u32) {
                        return Err(Refusal::ChainCall { pc });
                    } else if id >= MAX_PROGRAMS as u64 {
                        abort(reason::PROG_ID)
                    } else if let Some(&action) = self.verdicts.get(&(id as u32)).filter(|_| fold) {
                        Next::Verdict {
                            prog: id as u32,
                            action,
                        }
                    } else {
                        Next::Call {
                            site: self.site(pc, id as u32)?,
                        }
                    };
                    return Ok(Way { moves, next });
                }
                (op::LDX | op::ST | op::STX, _) => return Err(Refusal::Memory { pc }),
                _ => {
                    return Err(unsupported(
                        pc,
                        "code other than constant moves before a call",
                    ));
                }
            }
        }
    }

    /// The call site of the call at `pc` (made, with its continuation, on first use).
    fn site(&mut self, pc: usize, prog: u32) -> Result<usize, Refusal> {
        if let Some(&s) = self.site_of.get(&pc) {
            return Ok(s);
        }
        let s = self.sites.len();
        let max = JIT_SLOTS - FIRST_INSTANCE_SLOT;
        if s as u32 >= max {
            return Err(Refusal::TooManyCalls { sites: s + 1, max });
        }
        self.site_of.insert(pc, s);
        // a placeholder until the continuation is known (a way may come back to this site)
        self.sites.push(Site {
            pc,
            prog,
            cont: Cont {
                save: None,
                test: None,
                ways: (
                    Way {
                        moves: Vec::new(),
                        next: Next::Abort { reason: 0 },
                    },
                    None,
                ),
            },
        });
        let cont = self.cont(pc + 1)?;
        self.sites[s].cont = cont;
        Ok(s)
    }

    /// What the chain does from `pc`, right after a call.
    fn cont(&mut self, mut pc: usize) -> Result<Cont, Refusal> {
        let mut save = None;
        let i = self.at(pc)?;
        if i.code == op::ALU64 | op::MOV | op::X && i.src == 0 && (1..=9).contains(&i.dst) {
            save = Some(i.dst);
            pc += 1;
        }
        let i = self.at(pc)?;
        let jop = i.code & 0xf0;
        if i.code & 0x07 == op::JMP && i.code & op::X == 0 && (jop == op::JEQ || jop == op::JNE) {
            if i.dst > 9 {
                return Err(unsupported(pc, "a test of r10"));
            }
            let taken = self.way(jump_target(pc, i)?, true)?;
            let fall = self.way(pc + 1, true)?;
            return Ok(Cont {
                save,
                test: Some((jop, i.dst, i.imm as i64)),
                ways: (fall, Some(taken)),
            });
        }
        Ok(Cont {
            save,
            test: None,
            ways: (self.way(pc, true)?, None),
        })
    }
}

/// Compiles chain `chain_id` (which passed [`crate::validate`]); `verdicts` maps the IDs of
/// verdict programs to their XDP action (0..=4), whose calls are folded. Refuses what it
/// does not handle; never miscompiles.
pub fn compile(
    chain_id: u32,
    insns: &[Insn],
    verdicts: &BTreeMap<u32, u32>,
) -> Result<Plan, Refusal> {
    if chain_id & !crate::CHAIN_ID_FLAG > ENTRY_MASK {
        return Err(Refusal::NoEntrySlot);
    }
    // anything outside the subset, reachable or not, keeps the chain interpreted
    for (pc, i) in insns.iter().enumerate() {
        match i.code & 0x07 {
            op::LDX | op::ST | op::STX => return Err(Refusal::Memory { pc }),
            op::JMP if !matches!(i.code & 0xf0, op::CALL | op::EXIT) && i.off < 0 => {
                return Err(Refusal::BackwardJump { pc });
            }
            _ => {}
        }
    }
    let mut c = Compiler {
        insns,
        verdicts,
        sites: Vec::new(),
        site_of: BTreeMap::new(),
    };
    let entry = c.way(0, false)?;
    if let Next::Abort { .. } = entry.next {
        return Err(unsupported(0, "a chain that ends before its first call"));
    }
    let max_calls = calls_from(&entry, &c.sites, &mut BTreeMap::new());
    Ok(Plan {
        chain_id,
        entry,
        sites: c.sites,
        max_calls,
    })
}

/// `struct hike_cont` of site `site` of `plan`, for its instance: the slot of each site's
/// instance in `slot_of`. Site 0 is the chain's first call: its instance also starts the
/// chain (the entry moves).
pub fn encode_cont(plan: &Plan, site: usize, slot_of: &[u32]) -> [u8; CONT_SIZE] {
    let cont = &plan.sites[site].cont;
    let mut b = [0u8; CONT_SIZE];
    let put32 = |b: &mut [u8; CONT_SIZE], off: usize, v: u32| {
        b[off..off + 4].copy_from_slice(&v.to_le_bytes())
    };
    put32(&mut b, 0, 1);
    put32(&mut b, 4, cont.save.unwrap_or(0) as u32);
    if let Some((jop, reg, imm)) = cont.test {
        put32(&mut b, 8, if jop == op::JEQ { 1 } else { 2 });
        put32(&mut b, 12, reg as u32);
        b[16..24].copy_from_slice(&imm.to_le_bytes());
    }
    let first = (site == 0).then_some(&plan.entry);
    let ways = [Some(&cont.ways.0), cont.ways.1.as_ref(), first];
    for (k, w) in ways.into_iter().enumerate() {
        let Some(w) = w else { continue };
        let base = [24, 88, 168][k];
        let (kind, slot) = match w.next {
            Next::Call { site } => (1, slot_of[site]),
            Next::Abort { reason } => (2, reason),
            Next::Verdict { action, .. } => (3, action),
        };
        put32(&mut b, base, kind);
        put32(&mut b, base + 4, slot);
        put32(&mut b, base + 8, w.moves.len() as u32);
        for (j, (reg, imm)) in w.moves.iter().enumerate() {
            put32(&mut b, base + 12 + 4 * j, *reg as u32);
            b[base + 32 + 8 * j..][..8].copy_from_slice(&imm.to_le_bytes());
        }
    }
    put32(&mut b, 152, plan.counts_calls() as u32);
    if site == 0 {
        put32(&mut b, 156, 1);
        put32(&mut b, 160, plan.chain_id);
    }
    b
}

/// Instructions of the epilogue template of `api.h` that an instance's own epilogue replaces:
/// the marker (`r0 = EPILOGUE_MAGIC ll`, two slots) and `HIKE_EPILOGUE_PAD` = 56 `goto +0`.
pub const EPILOGUE_SLOTS: usize = 58;
/// The marker's constant (`HIKE_EPILOGUE_MAGIC`, "HKE_EPIL").
pub const EPILOGUE_MAGIC: u64 = 0x4c49_5045_5f45_4b48;

/// Registers the template sets before its stamped part (`__hike_stamped_epilogue`).
pub mod epi_reg {
    /// `&frames[1].regs[0]`: register `n` of the chain's frame is at `8 * n`
    pub const REGS: u8 = 6;
    /// the per-CPU chain data (`struct hike_cdata`): `calls` at `CALLS_OFF`
    pub const CDATA: u8 = 7;
    pub const CTX: u8 = 8;
    /// `hvm_jit_map`
    pub const JIT_MAP: u8 = 9;
    pub const CALLS_OFF: i16 = 8;
}

const BPF_FUNC_TAIL_CALL: i32 = 12;
/// `HVM_ERR_NO_PROG` and `HVM_ERR_TAIL_CALL_LIMIT`
const REASON_NO_PROG: i32 = 9;
const REASON_CALL_LIMIT: i32 = 12;

/// Where a jump of the epilogue goes, before the layout is known.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    /// out of the template: `r0` holds an abort reason
    End,
    Way1,
    Limit,
}

#[derive(Default)]
struct Emitter {
    code: Vec<(Insn, Option<Label>)>,
    way1: Option<usize>,
    limit: Option<usize>,
    /// linked: a call jumps to the next site's code in the same program (`hops`) instead
    /// of tail-calling its instance
    linked: bool,
    /// (index in `code` of a `goto`, the site it must reach), for the linker
    hops: Vec<(usize, usize)>,
}

impl Emitter {
    fn put(&mut self, i: Insn) {
        self.code.push((i, None));
    }
    fn jump(&mut self, i: Insn, to: Label) {
        self.code.push((i, Some(to)));
    }
    /// `dst = imm` (64-bit): one `mov` when the constant fits 32 bits signed, else `lddw`.
    fn mov_imm(&mut self, dst: u8, imm: i64) {
        match i32::try_from(imm) {
            Ok(v) => self.put(asm::mov(dst, v)),
            Err(_) => asm::lddw(dst, imm as u64)
                .into_iter()
                .for_each(|i| self.put(i)),
        }
    }
    fn reg_off(reg: u8) -> i16 {
        8 * reg as i16
    }
    /// Register `reg` of the chain's frame = `imm`: one store of a 32-bit constant (sign
    /// extended, as the chain's `mov` does), else the constant through `r1`.
    fn store_reg(&mut self, reg: u8, imm: i64) {
        use epi_reg::REGS;
        match i32::try_from(imm) {
            Ok(v) => self.put(asm::st(op::DW, REGS, Self::reg_off(reg), v)),
            Err(_) => {
                self.mov_imm(1, imm);
                self.put(asm::stx(op::DW, REGS, Self::reg_off(reg), 1));
            }
        }
    }
    /// One way: abort, or moves, the call count, then the folded verdict or the tail call.
    fn way(&mut self, w: &Way, count: bool, slot_of: &[u32]) {
        use epi_reg::*;
        if let Next::Abort { reason } = w.next {
            self.mov_imm(0, reason as i64);
            self.jump(asm::ja(0), Label::End);
            return;
        }
        for &(reg, imm) in &w.moves {
            self.store_reg(reg, imm);
        }
        if count {
            self.put(asm::ldx(op::W, 1, CDATA, CALLS_OFF));
            self.jump(
                asm::jmp(op::JGE, 1, MAX_PROGRAM_CALLS as i32, 0),
                Label::Limit,
            );
            self.put(asm::alu(op::ADD, 1, 1));
            self.put(asm::stx(op::W, CDATA, CALLS_OFF, 1));
        }
        match w.next {
            Next::Verdict { action, .. } => {
                self.mov_imm(0, action as i64);
                self.put(asm::exit());
            }
            Next::Call { site } if self.linked => {
                // the next program's code starts as an entry point does: r1 = ctx
                self.put(asm::mov_r(1, CTX));
                self.hops.push((self.code.len(), site));
                self.put(asm::ja(0));
            }
            Next::Call { site } => {
                self.put(asm::mov_r(1, CTX));
                self.put(asm::mov_r(2, JIT_MAP));
                self.mov_imm(3, slot_of[site] as i64);
                self.put(Insn::new(op::JMP | op::CALL, 0, 0, 0, BPF_FUNC_TAIL_CALL));
                // the slot was empty: the tail call fell through
                self.mov_imm(0, REASON_NO_PROG as i64);
                self.jump(asm::ja(0), Label::End);
            }
            Next::Abort { .. } => unreachable!("handled above"),
        }
    }
}

/// The epilogue of site `site`'s instance, stamped over the template of `api.h`
/// ([`EPILOGUE_SLOTS`] instructions; the stamped code runs with the registers of
/// [`epi_reg`]): what the chain does after that call, written out for that call alone, as
/// `struct hike_cont` describes it ([`encode_cont`]). Leading `goto +0` fill the unused
/// slots (every instruction must be reachable for the verifier's first pass; it deletes
/// them). Every way ends the packet (`exit`), tail-calls the next instance, or leaves an
/// abort reason in `r0` and jumps out of the template.
pub fn epilogue(plan: &Plan, site: usize, slot_of: &[u32]) -> Vec<Insn> {
    epilogue_code(plan, site, slot_of, false).0
}

/// The epilogue of site `site` when the chain's sites are linked into one program: a call
/// jumps to the next site's code (`r1` = ctx, as the program expects at its start) instead
/// of tail-calling. Also returns, for each such jump, its index in the epilogue and the
/// site whose code it must reach (the linker sets the offset).
pub fn linked_epilogue(plan: &Plan, site: usize) -> (Vec<Insn>, Vec<(usize, usize)>) {
    epilogue_code(plan, site, &[], true)
}

fn epilogue_code(
    plan: &Plan,
    site: usize,
    slot_of: &[u32],
    linked: bool,
) -> (Vec<Insn>, Vec<(usize, usize)>) {
    use epi_reg::*;
    let cont = &plan.sites[site].cont;
    let count = plan.counts_calls();
    let mut e = Emitter {
        linked,
        ..Emitter::default()
    };
    // never taken (the verifier knows r6 is not NULL, and deletes it), but it keeps the code
    // after the template reachable when every way ends in exit or a tail call
    e.jump(asm::jmp(op::JEQ, REGS, 0, 0), Label::End);
    if let Some(save) = cont.save {
        e.put(asm::ldx(op::DW, 1, REGS, 0));
        e.put(asm::stx(op::DW, REGS, Emitter::reg_off(save), 1));
    }
    if let (Some((jop, reg, imm)), Some(_)) = (cont.test, &cont.ways.1) {
        // r1 still holds r<save> (= r0) when the test reads it
        if cont.save != Some(reg) {
            e.put(asm::ldx(op::DW, 1, REGS, Emitter::reg_off(reg)));
        }
        match i32::try_from(imm) {
            Ok(v) => e.jump(asm::jmp(jop, 1, v, 0), Label::Way1),
            Err(_) => {
                e.mov_imm(2, imm);
                e.jump(asm::jmp_r(jop, 1, 2, 0), Label::Way1);
            }
        }
    }
    e.way(&cont.ways.0, count, slot_of);
    if let Some(w1) = &cont.ways.1 {
        e.way1 = Some(e.code.len());
        e.way(w1, count, slot_of);
    }
    if e.code.iter().any(|(_, l)| *l == Some(Label::Limit)) {
        e.limit = Some(e.code.len());
        e.mov_imm(0, REASON_CALL_LIMIT as i64);
        e.jump(asm::ja(0), Label::End);
    }
    assert!(
        e.code.len() <= EPILOGUE_SLOTS,
        "an epilogue of {} instructions (the template has {EPILOGUE_SLOTS})",
        e.code.len()
    );
    let pad = EPILOGUE_SLOTS - e.code.len();
    let mut out = vec![asm::ja(0); pad];
    for (k, (mut i, label)) in e.code.iter().copied().enumerate() {
        if let Some(l) = label {
            let at = pad + k;
            let to = match l {
                Label::End => EPILOGUE_SLOTS,
                Label::Way1 => pad + e.way1.expect("a test has a second way"),
                Label::Limit => pad + e.limit.expect("made when used"),
            };
            i.off = (to - at - 1) as i16;
        }
        out.push(i);
    }
    let hops = e.hops.iter().map(|&(k, site)| (pad + k, site)).collect();
    (out, hops)
}

/// Instructions of the prologue template of `api.h` that the first instance's own prologue
/// replaces: the marker (`r0 = PROLOGUE_MAGIC ll`) and 32 `goto +0`.
pub const PROLOGUE_SLOTS: usize = 34;
/// The prologue marker's constant (`HIKE_PROLOGUE_MAGIC`, "HKE_PROL").
pub const PROLOGUE_MAGIC: u64 = 0x4c4f_5250_5f45_4b48;

/// The registers of frame 1 when the chain makes its first call: the VM's start (r0 = 0,
/// r1 = the chain's ID, r2..r9 = 0, r10 = the frame pointer) with the entry's moves applied.
pub fn entry_regs(plan: &Plan) -> [i64; 11] {
    let mut regs = [0i64; 11];
    regs[1] = plan.chain_id as i64;
    regs[10] = crate::layout::mmu::FP as i64;
    for &(r, imm) in &plan.entry.moves {
        regs[r as usize] = imm;
    }
    regs
}

/// The prologue of the chain's first instance, stamped over the template of `api.h`
/// ([`PROLOGUE_SLOTS`] instructions, `r6` = frame 1's registers): the stores of
/// [`entry_regs`], after leading `goto +0`.
pub fn prologue(plan: &Plan) -> Vec<Insn> {
    let mut e = Emitter::default();
    for (r, imm) in entry_regs(plan).into_iter().enumerate() {
        e.store_reg(r as u8, imm);
    }
    let code: Vec<Insn> = e.code.into_iter().map(|(i, _)| i).collect();
    assert!(
        code.len() <= PROLOGUE_SLOTS,
        "a prologue of {} instructions",
        code.len()
    );
    let mut out = vec![asm::ja(0); PROLOGUE_SLOTS - code.len()];
    out.extend(code);
    out
}

mod listing;
pub use listing::{Names, listing};

#[cfg(test)]
mod tests;
