//! The chain compiler: the VM's second tier. A stored chain the compiler accepts also runs
//! without the interpreter, with the same results (the differential tests run the compiled
//! chain, the interpreted one and the reference interpreter on the same packets).
//!
//! HIKe's cost is in the hops: in the interpreter every program call is two tail calls
//! (VM -> program -> VM) plus the interpretation of the chain's instructions in between. A
//! compiled chain makes it one tail call per program call, as in a pipeline written by hand,
//! and has no code of its own: every call site of the chain gets its own *instance* of the
//! called program, loaded with its [`Cont`] in the read-only global `__hike_cont` (`api.h`):
//! what the chain does after that call. The program's epilogue reads it, and the verifier,
//! which knows the values, keeps only the code the instance uses: copy `r0` into a register,
//! test a register against a constant, then on each way move constants into registers
//! (arguments, the next program's ID in `r1`) and tail-call the next call site's instance, or
//! abort. The instance of the chain's first call also starts the chain (its prologue sets
//! frame 1 up as the VM would and makes the moves before that call): the loader reaches it
//! through slot `n` of `hvm_jit_map` for chain `CHAIN_ID_FLAG | n`, `n` < 128
//! (`hike_chain_boot`), the other instances live in slots 128..255. Every tail call has a key the verifier knows, so each is a direct
//! jump once JITed.
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

#[cfg(test)]
mod tests;
