//! Hand-assembling eBPF (chains for tests, benchmarks and lessons; the code the chain
//! compiler stamps): one function per instruction shape, named after the eBPF mnemonic.

use crate::Insn;
use crate::insn::{call, op};

/// `dst = imm` (64-bit, sign-extended)
pub fn mov(dst: u8, imm: i32) -> Insn {
    Insn::new(op::ALU64 | op::MOV | op::K, dst, 0, 0, imm)
}
/// `dst = src`
pub fn mov_r(dst: u8, src: u8) -> Insn {
    Insn::new(op::ALU64 | op::MOV | op::X, dst, src, 0, 0)
}
/// `dst op= imm` for an ALU64 op (`op::ADD`, `op::MUL`, ...)
pub fn alu(aop: u8, dst: u8, imm: i32) -> Insn {
    Insn::new(op::ALU64 | aop | op::K, dst, 0, 0, imm)
}
/// `dst op= src`
pub fn alu_r(aop: u8, dst: u8, src: u8) -> Insn {
    Insn::new(op::ALU64 | aop | op::X, dst, src, 0, 0)
}
/// `lddw dst, imm64` (two slots)
pub fn lddw(dst: u8, imm: u64) -> [Insn; 2] {
    [
        Insn::new(op::LDDW, dst, 0, 0, imm as u32 as i32),
        Insn::new(0, 0, 0, 0, (imm >> 32) as u32 as i32),
    ]
}
/// `dst = *(size *)(src + off)`, size = `op::B/H/W/DW`
pub fn ldx(size: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(op::LDX | op::MEM | size, dst, src, off, 0)
}
/// `*(size *)(dst + off) = src`
pub fn stx(size: u8, dst: u8, off: i16, src: u8) -> Insn {
    Insn::new(op::STX | op::MEM | size, dst, src, off, 0)
}
/// `*(size *)(dst + off) = imm`
pub fn st(size: u8, dst: u8, off: i16, imm: i32) -> Insn {
    Insn::new(op::ST | op::MEM | size, dst, 0, off, imm)
}
/// `if dst <jop> imm goto +off`
pub fn jmp(jop: u8, dst: u8, imm: i32, off: i16) -> Insn {
    Insn::new(op::JMP | jop | op::K, dst, 0, off, imm)
}
/// `if dst <jop> src goto +off`
pub fn jmp_r(jop: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(op::JMP | jop | op::X, dst, src, off, 0)
}
/// `goto +off`
pub fn ja(off: i16) -> Insn {
    Insn::new(op::JMP | op::JA, 0, 0, off, 0)
}
/// `call` of the element in r1 with `nargs` user arguments in r2..
pub fn call_elem(nargs: usize) -> Insn {
    Insn::new(
        op::JMP | op::CALL,
        0,
        0,
        0,
        call::for_args(nargs).expect("0..=3 user arguments"),
    )
}
pub fn exit() -> Insn {
    Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0)
}

/// `r2.. = args; r1 = id; call`: a call of element `id` with constant arguments (the
/// order eCLAT emits: `mov r1` right before `call`, which the VM executes as one step).
pub fn call_with(id: u32, args: &[i32]) -> Vec<Insn> {
    let mut v = Vec::new();
    for (i, a) in args.iter().enumerate() {
        v.push(mov(2 + i as u8, *a));
    }
    v.push(mov(1, id as i32));
    v.push(call_elem(args.len()));
    v
}

/// One item of a chain with labels: an instruction, a label, or a jump to a label.
#[derive(Debug, Clone)]
pub enum Item {
    I(Insn),
    Label(&'static str),
    /// `if dst <jop> imm goto label` (`op::JA` for an unconditional jump)
    Jmp {
        jop: u8,
        dst: u8,
        imm: i32,
        to: &'static str,
    },
}

/// Items from instructions.
pub fn items(v: impl IntoIterator<Item = Insn>) -> Vec<Item> {
    v.into_iter().map(Item::I).collect()
}

/// Resolves labels into jump offsets. Panics on an unknown label (assembler input is code
/// written by us, not user input).
pub fn assemble(items: &[Item]) -> Vec<Insn> {
    let mut pos = std::collections::HashMap::new();
    let mut n = 0usize;
    for it in items {
        match it {
            Item::Label(l) => {
                pos.insert(*l, n);
            }
            _ => n += 1,
        }
    }
    let mut out = Vec::with_capacity(n);
    for it in items {
        match it {
            Item::I(i) => out.push(*i),
            Item::Label(_) => {}
            Item::Jmp { jop, dst, imm, to } => {
                let target = *pos.get(to).unwrap_or_else(|| panic!("unknown label {to}"));
                let off = target as i64 - (out.len() as i64 + 1);
                out.push(jmp(*jop, *dst, *imm, off as i16));
            }
        }
    }
    out
}
