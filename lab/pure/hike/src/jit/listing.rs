//! What the chain compiler made of a chain, for people: `chain dis` prints it under the
//! bytecode. Each call site's hand-over is the code stamped into that program's copy (the
//! padding and the guard the verifier deletes left out), in bpftool syntax, with what each
//! instruction means for the chain: `*(u64 *)(r6 + 16) = 500` is the chain's `r2 = 500`.

use std::fmt::Write;

use super::{EPILOGUE_SLOTS, Next, Plan, entry_regs, epi_reg, epilogue_code};
use crate::disasm::insn_text;
use crate::insn::{Insn, op};

/// How the listing names things: a program ID (`hike_default.monitor`), an abort reason.
pub struct Names<'a> {
    pub prog: &'a dyn Fn(u32) -> String,
    pub reason: &'a dyn Fn(u32) -> String,
}

/// The XDP action's name.
fn action_name(a: u32) -> String {
    match a {
        0 => "XDP_ABORTED".into(),
        1 => "XDP_DROP".into(),
        2 => "XDP_PASS".into(),
        3 => "XDP_TX".into(),
        4 => "XDP_REDIRECT".into(),
        _ => format!("action {a}"),
    }
}

/// The compiled form of `plan`: linked into one program (`slot_of` = `None`), or one
/// program instance per call site, site `k`'s in slot `slot_of[k]` of `hvm_jit_map`.
pub fn listing(plan: &Plan, slot_of: Option<&[u32]>, names: &Names<'_>) -> String {
    let mut s = String::new();
    let regs = entry_regs(plan);
    let mut set: Vec<String> = regs[..10]
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != 0)
        .map(|(r, v)| format!("r{r} = {}", imm_text(*v)))
        .collect();
    set.push("r10 = the frame pointer".into());
    set.push("every other register 0".into());
    let first = &plan.sites[0];
    let _ = writeln!(
        s,
        "start: the copy of {} (the call at {}) first sets frame 1 up as the VM would \
         ({})",
        (names.prog)(first.prog),
        first.pc,
        set.join(", ")
    );
    if plan.counts_calls() {
        let _ = writeln!(
            s,
            "calls: a path of this chain can make more than {} program calls, so every \
             hand-over counts them (the interpreter's limit, in the same place)",
            crate::MAX_PROGRAM_CALLS
        );
    }
    let _ = writeln!(
        s,
        "each call's copy of its program ends with this code instead of the return to the VM \
         (r6 = the chain's registers in frame 1, r8 = ctx):"
    );
    // in the chain's order
    let mut order: Vec<usize> = (0..plan.sites.len()).collect();
    order.sort_by_key(|&k| plan.sites[k].pc);
    for k in order {
        let (code, hops) = epilogue_code(plan, k, slot_of.unwrap_or(&[]), slot_of.is_none());
        let _ = writeln!(s, "after {}:", call_at(plan, k, names));
        // the stamped code proper: after the padding and the never-taken guard
        let first = code
            .iter()
            .position(|i| *i != crate::asm::ja(0))
            .map_or(code.len(), |p| p + 1);
        let site = SiteCode {
            plan,
            k,
            code: &code,
            hops: &hops,
            slot_of,
        };
        let mut i = first;
        while i < code.len() {
            let insn = code[i];
            let next = code.get(i + 1).copied();
            let text = match (insn.code, site.hop(i)) {
                (_, Some(to)) => format!("goto <{}>", plan.sites[to].pc),
                (c, _) if c == op::JMP | op::JA && leaves(i, insn) => "goto <abort>".to_string(),
                (c, _) if c == op::JMP | op::CALL => "call bpf_tail_call".to_string(),
                _ => insn_text(insn, next),
            };
            match site.note(i, names) {
                Some(n) => {
                    let _ = writeln!(s, "  {:3}: {text:<26} ; {n}", i - first);
                }
                None => {
                    let _ = writeln!(s, "  {:3}: {text}", i - first);
                }
            }
            i += if insn.code == op::LDDW { 2 } else { 1 };
        }
    }
    s.trim_end().to_string()
}

/// Does the jump at `i` leave the template (to the abort after it)?
fn leaves(i: usize, insn: Insn) -> bool {
    i as i64 + 1 + insn.off as i64 >= EPILOGUE_SLOTS as i64
}

/// `the call at 7 (sampler.ip6_sd_dec2zero)`: call site `k` of `plan`.
fn call_at(plan: &Plan, k: usize, names: &Names<'_>) -> String {
    let site = &plan.sites[k];
    format!("the call at {} ({})", site.pc, (names.prog)(site.prog))
}

fn imm_text(v: i64) -> String {
    if v.unsigned_abs() >= 0x10000 {
        format!("{v:#x}")
    } else {
        v.to_string()
    }
}

/// One call site's stamped code, as the listing reads it.
struct SiteCode<'a> {
    plan: &'a Plan,
    /// the site
    k: usize,
    code: &'a [Insn],
    /// (index in `code` of a jump, the site whose code it reaches): linked form
    hops: &'a [(usize, usize)],
    /// each site's slot of `hvm_jit_map`: instances
    slot_of: Option<&'a [u32]>,
}

impl SiteCode<'_> {
    /// The site the jump at `i` reaches, in the linked form.
    fn hop(&self, i: usize) -> Option<usize> {
        self.hops.iter().find(|(at, _)| *at == i).map(|(_, to)| *to)
    }

    /// The constant last moved into `reg` before instruction `i` (`r0` = an abort reason or
    /// an XDP action, `r3` = a tail call's slot).
    fn last_mov(&self, i: usize, reg: u8) -> Option<u32> {
        self.code[..i]
            .iter()
            .rev()
            .find(|p| p.dst == reg && p.code == op::ALU64 | op::MOV | op::K)
            .map(|p| p.imm as u32)
    }

    /// The site the tail call at `i` goes to, and its slot.
    fn tail_call(&self, i: usize) -> Option<(usize, u32)> {
        let slot = self.last_mov(i, 3)?;
        let site = self.slot_of?.iter().position(|s| *s == slot)?;
        Some((site, slot))
    }

    /// The verdict program whose call this site folds into returning `action`.
    fn folded(&self, action: u32) -> Option<u32> {
        let ways = &self.plan.sites[self.k].cont.ways;
        [Some(&ways.0), ways.1.as_ref()]
            .into_iter()
            .flatten()
            .find_map(|w| match w.next {
                Next::Verdict { prog, action: a } if a == action => Some(prog),
                _ => None,
            })
    }

    /// The program that the way through instruction `i` goes on to: the first jump to
    /// another site's code, tail call or folded verdict after `i`.
    fn next_prog(&self, i: usize) -> Option<u32> {
        for j in i + 1..self.code.len() {
            if let Some(to) = self.hop(j) {
                return Some(self.plan.sites[to].prog);
            }
            let insn = self.code[j];
            if insn.code == op::JMP | op::CALL {
                return Some(self.plan.sites[self.tail_call(j)?.0].prog);
            }
            if insn.code == op::JMP | op::EXIT {
                return self.folded(self.last_mov(j, 0)?);
            }
            if insn.code == op::JMP | op::JA && leaves(j, insn) {
                return None;
            }
        }
        None
    }

    /// What instruction `i` means for the chain.
    fn note(&self, i: usize, names: &Names<'_>) -> Option<String> {
        use epi_reg::*;
        let (plan, code) = (self.plan, self.code);
        let insn = code[i];
        let reg_of = |off: i16| (off >= 0 && off % 8 == 0).then_some(off / 8);
        let call_at = |k: usize| call_at(plan, k, names);
        let class = insn.code & 0x07;
        if class == op::ST && insn.dst == REGS {
            let r = reg_of(insn.off)?;
            let v = imm_text(insn.imm as i64);
            // r1 on a way that goes on to a call: that program's ID
            let called = (r == 1)
                .then(|| self.next_prog(i))
                .flatten()
                .filter(|p| *p as i64 == insn.imm as i64);
            return Some(match called {
                Some(p) => format!("r{r} = {v} ({})", (names.prog)(p)),
                None => format!("r{r} = {v}"),
            });
        }
        if class == op::STX && insn.dst == REGS {
            // the value comes from the instruction that last set the stored register: a
            // load of another of the chain's registers (`r<save> = r0`), or a 64-bit constant
            let j = code[..i]
                .iter()
                .rposition(|p| p.dst == insn.src && p.code != 0)?;
            let from = code[j];
            let value = if from.code & 0x07 == op::LDX && from.src == REGS {
                format!("r{}", reg_of(from.off)?)
            } else if from.code == op::LDDW {
                let hi = code.get(j + 1).map_or(0, |h| h.imm as u32 as u64);
                imm_text(((hi << 32) | from.imm as u32 as u64) as i64)
            } else {
                return None;
            };
            return reg_of(insn.off).map(|r| format!("r{r} = {value}"));
        }
        if class == op::LDX && insn.src == REGS {
            return reg_of(insn.off).map(|r| format!("r{} = the chain's r{r}", insn.dst));
        }
        if class == op::LDX && insn.src == CDATA && insn.off == CALLS_OFF {
            return Some("the program calls made so far".into());
        }
        if insn.code == op::JMP | op::CALL {
            let (site, slot) = self.tail_call(i)?;
            return Some(format!("to {} (slot {slot})", call_at(site)));
        }
        if let Some(site) = self.hop(i) {
            return Some(format!("straight on to {}", call_at(site)));
        }
        if insn.code == op::ALU64 | op::MOV | op::X && insn.dst == 1 && insn.src == CTX {
            return Some("r1 = ctx, as a program expects at its start".into());
        }
        if insn.code == op::ALU64 | op::MOV | op::X && insn.dst == 2 && insn.src == JIT_MAP {
            return Some("r2 = hvm_jit_map".into());
        }
        if let Some((jop, reg, imm)) = plan.sites[self.k].cont.test
            && class == op::JMP
            && insn.code & 0xf0 == jop
        {
            let sym = if jop == op::JEQ { "==" } else { "!=" };
            return Some(format!("the chain's test: r{reg} {sym} {}", imm_text(imm)));
        }
        if class == op::JMP && insn.code & 0xf0 == op::JGE && insn.dst == 1 {
            return Some(format!(
                "{} calls made already: the limit",
                crate::MAX_PROGRAM_CALLS
            ));
        }
        if class == op::STX && insn.dst == CDATA && insn.off == CALLS_OFF {
            return Some("one call more".into());
        }
        if insn.code == op::JMP | op::JA && leaves(i, insn) {
            let reason = self.last_mov(i, 0).unwrap_or(0);
            return Some(format!("abort: {}", (names.reason)(reason)));
        }
        if insn.code == op::JMP | op::EXIT {
            let action = self.last_mov(i, 0)?;
            return Some(match self.folded(action) {
                Some(p) => format!(
                    "{}: the call of {} folded into this one",
                    action_name(action),
                    (names.prog)(p)
                ),
                None => action_name(action),
            });
        }
        None
    }
}
