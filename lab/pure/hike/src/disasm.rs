//! A readable disassembler of chain bytecode, in bpftool's syntax (`r1 = 0x40000001 ll`,
//! `r0 = *(u32 *)(r10 - 8)`, `if r0 != 0x0 goto +3`, `call hike_elem_call_2`).
//! The call helpers are named after the original C API: `hike_elem_call_N` takes N arguments,
//! the element ID included, so `hike_elem_call_1` is the call with no user argument (0x11 << 8).

use crate::insn::{Insn, call, op};
use std::fmt::Write;

/// The name of a VM call helper immediate, if it is one.
pub fn call_name(imm: i32) -> Option<&'static str> {
    Some(match call::nargs(imm)? {
        0 => "hike_elem_call_1",
        1 => "hike_elem_call_2",
        2 => "hike_elem_call_3",
        _ => "hike_elem_call_4",
    })
}

fn size_name(code: u8) -> &'static str {
    match code & 0x18 {
        op::B => "u8",
        op::H => "u16",
        op::W => "u32",
        _ => "u64",
    }
}

fn mem(reg: u8, off: i16) -> String {
    if off < 0 {
        format!("r{reg} - {}", -(off as i32))
    } else {
        format!("r{reg} + {off}")
    }
}

/// One instruction as text. `next` is the following slot (the high half of an `lddw`).
pub fn insn_text(insn: Insn, next: Option<Insn>) -> String {
    let (d, s, off, imm) = (insn.dst, insn.src, insn.off, insn.imm);
    let code = insn.code;
    let x = code & op::X != 0;
    match code & 0x07 {
        op::ALU64 => {
            let sym = match code & 0xf0 {
                op::ADD => "+=",
                op::SUB => "-=",
                op::MUL => "*=",
                op::DIV => "/=",
                op::OR => "|=",
                op::AND => "&=",
                op::LSH => "<<=",
                op::RSH => ">>=",
                op::MOD => "%=",
                op::XOR => "^=",
                op::MOV => "=",
                op::ARSH => "s>>=",
                op::NEG => return format!("r{d} = -r{d}"),
                _ => return invalid(insn),
            };
            if x {
                format!("r{d} {sym} r{s}")
            } else if imm.unsigned_abs() >= 0x10000 {
                // element IDs and MMU addresses read better in hex
                let sign = if imm < 0 { "-" } else { "" };
                format!("r{d} {sym} {sign}{:#x}", imm.unsigned_abs())
            } else {
                format!("r{d} {sym} {imm}")
            }
        }
        op::ALU if code & 0xf0 == op::END => {
            let kind = if code & op::TO_BE != 0 { "be" } else { "le" };
            format!("r{d} = {kind}{imm} r{d}")
        }
        op::LD if code == op::LDDW => {
            let hi = next.map(|n| n.imm as u32 as u64).unwrap_or(0);
            let v = (hi << 32) | imm as u32 as u64;
            format!("r{d} = {v:#x} ll")
        }
        op::LDX if code & 0xe0 == op::MEM => {
            format!("r{d} = *({} *)({})", size_name(code), mem(s, off))
        }
        op::ST if code & 0xe0 == op::MEM => {
            format!("*({} *)({}) = {imm}", size_name(code), mem(d, off))
        }
        op::STX if code & 0xe0 == op::MEM => {
            format!("*({} *)({}) = r{s}", size_name(code), mem(d, off))
        }
        op::JMP => {
            let jop = code & 0xf0;
            let sym = match jop {
                op::JA => return format!("goto {off:+}"),
                op::CALL => {
                    return match call_name(imm) {
                        Some(n) if !x && s == 0 => format!("call {n}"),
                        _ => format!("call {imm:#x} (not a VM call helper)"),
                    };
                }
                op::EXIT => return "exit".to_string(),
                op::JEQ => "==",
                op::JGT => ">",
                op::JGE => ">=",
                op::JSET => "&",
                op::JNE => "!=",
                op::JSGT => "s>",
                op::JSGE => "s>=",
                op::JLT => "<",
                op::JLE => "<=",
                op::JSLT => "s<",
                op::JSLE => "s<=",
                _ => return invalid(insn),
            };
            if x {
                format!("if r{d} {sym} r{s} goto {off:+}")
            } else {
                format!("if r{d} {sym} {:#x} goto {off:+}", imm)
            }
        }
        _ => invalid(insn),
    }
}

fn invalid(insn: Insn) -> String {
    let b = insn.to_bytes();
    format!(
        ".insn {:02x} {:02x} {:02x} {:02x} {:02x} {:02x} {:02x} {:02x} (invalid in a chain)",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

impl std::fmt::Display for Insn {
    /// The instruction in bpftool syntax (an `lddw` shows its low half only).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&insn_text(*self, None))
    }
}

/// One line per instruction (the second slot of an `lddw` gets no line of its own):
/// `(slot index, text)`.
pub fn disasm_lines(insns: &[Insn]) -> Vec<(usize, String)> {
    let mut out = Vec::with_capacity(insns.len());
    let mut i = 0;
    while i < insns.len() {
        let insn = insns[i];
        let next = insns.get(i + 1).copied();
        out.push((i, insn_text(insn, next)));
        i += if insn.code == op::LDDW { 2 } else { 1 };
    }
    out
}

/// The whole listing, `  3: text`, with an optional annotation per slot index appended as
/// `  ; annotation` (e.g. the eCLAT source line the instruction came from).
pub fn disasm(insns: &[Insn], annotate: Option<&dyn Fn(usize) -> Option<String>>) -> String {
    let lines = disasm_lines(insns);
    let mut out = String::new();
    for (i, text) in lines {
        let note = annotate.and_then(|f| f(i));
        match note {
            Some(n) => {
                let _ = writeln!(out, "{i:4}: {text:<28}  ; {n}");
            }
            None => {
                let _ = writeln!(out, "{i:4}: {text}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Of the 32-bit ALU class, only the byte swaps (`END`) are chain instructions: an
    /// `add32` reads as invalid, not as a byte swap.
    #[test]
    fn only_byte_swaps_of_the_32_bit_alu_class_read_as_instructions() {
        let swap = Insn::new(op::ALU | op::END | op::TO_BE, 1, 0, 0, 16);
        assert_eq!(insn_text(swap, None), "r1 = be16 r1");
        let add32 = Insn::new(op::ALU | op::ADD | op::K, 1, 0, 0, 5);
        assert_eq!(insn_text(add32, None), invalid(add32));
    }

    /// The hand-assembler (`asm`, used by the chain compiler, the tests and the lessons)
    /// writes the instruction it is named after: each reads back as its bpftool text.
    #[test]
    fn the_hand_assembler_writes_what_it_names() {
        use crate::asm::*;
        let one = [
            (mov(2, -3), "r2 = -3"),
            (mov_r(2, 3), "r2 = r3"),
            (alu(op::ADD, 2, 5), "r2 += 5"),
            (alu(op::MUL, 2, 5), "r2 *= 5"),
            (alu_r(op::SUB, 2, 3), "r2 -= r3"),
            (alu_r(op::XOR, 2, 3), "r2 ^= r3"),
            (ldx(op::W, 1, 6, 8), "r1 = *(u32 *)(r6 + 8)"),
            (ldx(op::DW, 1, 10, -8), "r1 = *(u64 *)(r10 - 8)"),
            (stx(op::DW, 6, 16, 1), "*(u64 *)(r6 + 16) = r1"),
            (stx(op::B, 6, 1, 1), "*(u8 *)(r6 + 1) = r1"),
            (st(op::H, 10, -2, 7), "*(u16 *)(r10 - 2) = 7"),
            (st(op::DW, 6, 8, -1), "*(u64 *)(r6 + 8) = -1"),
            (jmp(op::JGT, 1, 3, 2), "if r1 > 0x3 goto +2"),
            (jmp(op::JEQ, 1, 3, 2), "if r1 == 0x3 goto +2"),
            (jmp_r(op::JNE, 1, 2, 1), "if r1 != r2 goto +1"),
            (jmp_r(op::JSGT, 1, 2, 1), "if r1 s> r2 goto +1"),
            (ja(4), "goto +4"),
            (exit(), "exit"),
        ];
        for (i, text) in one {
            assert_eq!(insn_text(i, None), text, "{i:?}");
        }
        let [lo, hi] = lddw(3, 0x1234_5678_9abc_def0);
        assert_eq!(insn_text(lo, Some(hi)), "r3 = 0x123456789abcdef0 ll");
        for n in 0..=3 {
            let c = call_elem(n);
            assert_eq!(
                c,
                Insn::new(
                    op::JMP | op::CALL,
                    0,
                    0,
                    0,
                    crate::insn::call::for_args(n).unwrap()
                )
            );
        }
        // a call with constant arguments: r2.. first, then r1 = the ID, then the call
        assert_eq!(
            call_with(9, &[4, 5]),
            vec![mov(2, 4), mov(3, 5), mov(1, 9), call_elem(2)]
        );
        // labels resolve to offsets, forward and backward
        let code = assemble(&[
            Item::Label("top"),
            Item::I(mov(0, 1)),
            Item::Jmp {
                jop: op::JEQ,
                dst: 0,
                imm: 1,
                to: "end",
            },
            Item::I(mov(0, 2)),
            Item::Jmp {
                jop: op::JA,
                dst: 0,
                imm: 0,
                to: "top",
            },
            Item::Label("end"),
            Item::I(exit()),
        ]);
        assert_eq!(
            code,
            vec![mov(0, 1), jmp(op::JEQ, 0, 1, 2), mov(0, 2), ja(-4), exit()]
        );
        assert_eq!(items([exit(), ja(1)]).len(), 2);
    }

    /// Every ALU64 operation and every jump, with an immediate and with a register: each
    /// has its own symbol (a missing arm would print `.insn`, a swapped one the wrong text).
    #[test]
    fn every_operation_has_its_symbol() {
        let alu = [
            (op::ADD, "+="),
            (op::SUB, "-="),
            (op::MUL, "*="),
            (op::DIV, "/="),
            (op::OR, "|="),
            (op::AND, "&="),
            (op::LSH, "<<="),
            (op::RSH, ">>="),
            (op::MOD, "%="),
            (op::XOR, "^="),
            (op::MOV, "="),
            (op::ARSH, "s>>="),
        ];
        for (o, sym) in alu {
            let k = Insn::new(op::ALU64 | o | op::K, 1, 0, 0, 7);
            assert_eq!(k.to_string(), format!("r1 {sym} 7"));
            let x = Insn::new(op::ALU64 | o | op::X, 1, 2, 0, 0);
            assert_eq!(x.to_string(), format!("r1 {sym} r2"));
        }
        assert_eq!(
            Insn::new(op::ALU64 | op::NEG, 3, 0, 0, 0).to_string(),
            "r3 = -r3"
        );
        // large immediates in hex, with their sign
        assert_eq!(
            Insn::new(op::ALU64 | op::MOV | op::K, 1, 0, 0, 0x10000).to_string(),
            "r1 = 0x10000"
        );
        assert_eq!(
            Insn::new(op::ALU64 | op::MOV | op::K, 1, 0, 0, -0x10000).to_string(),
            "r1 = -0x10000"
        );
        assert_eq!(
            Insn::new(op::ALU64 | op::MOV | op::K, 1, 0, 0, -0xffff).to_string(),
            "r1 = -65535"
        );
        let jumps = [
            (op::JEQ, "=="),
            (op::JGT, ">"),
            (op::JGE, ">="),
            (op::JSET, "&"),
            (op::JNE, "!="),
            (op::JSGT, "s>"),
            (op::JSGE, "s>="),
            (op::JLT, "<"),
            (op::JLE, "<="),
            (op::JSLT, "s<"),
            (op::JSLE, "s<="),
        ];
        for (o, sym) in jumps {
            let k = Insn::new(op::JMP | o | op::K, 1, 0, 2, 5);
            assert_eq!(k.to_string(), format!("if r1 {sym} 0x5 goto +2"));
            let x = Insn::new(op::JMP | o | op::X, 1, 2, -1, 0);
            assert_eq!(x.to_string(), format!("if r1 {sym} r2 goto -1"));
        }
        assert_eq!(
            Insn::new(op::JMP | op::JA, 0, 0, 4, 0).to_string(),
            "goto +4"
        );
        assert_eq!(
            Insn::new(op::ALU | op::END | op::TO_LE, 2, 0, 0, 32).to_string(),
            "r2 = le32 r2"
        );
        // a call is a VM call helper only with an immediate and no source register
        let helper = call::CALL_1;
        assert_eq!(
            Insn::new(op::JMP | op::CALL, 0, 0, 0, helper).to_string(),
            "call hike_elem_call_2"
        );
        for (x, src) in [(op::X, 0), (op::K, 1)] {
            assert_eq!(
                Insn::new(op::JMP | op::CALL | x, 0, src, 0, helper).to_string(),
                format!("call {helper:#x} (not a VM call helper)")
            );
        }
        assert_eq!(
            Insn::new(op::ST | op::MEM | op::B, 10, 0, -1, 9).to_string(),
            "*(u8 *)(r10 - 1) = 9"
        );
        assert!(
            Insn::new(op::JMP32 | op::JEQ, 0, 0, 0, 0)
                .to_string()
                .contains("invalid")
        );
    }

    #[test]
    fn bpftool_like_syntax() {
        let prog = [
            Insn::new(op::LDDW, 1, 0, 0, 0x4000_0001),
            Insn::new(0, 0, 0, 0, 0),
            Insn::new(op::LDX | op::MEM | op::W, 0, 10, -8, 0),
            Insn::new(op::JMP | op::JNE | op::K, 0, 0, 3, 0),
            Insn::new(op::JMP | op::CALL, 0, 0, 0, call::CALL_1),
            Insn::new(op::ALU64 | op::ARSH | op::K, 2, 0, 0, 3),
            Insn::new(op::STX | op::MEM | op::DW, 10, 6, -16, 0),
            Insn::new(op::ALU | op::END | op::TO_BE, 3, 0, 0, 16),
            Insn::new(op::JMP | op::JSLT | op::X, 3, 4, -2, 0),
            Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0),
            Insn::new(0xff, 0, 0, 0, 0),
        ];
        let text = disasm(&prog, Some(&|i| (i == 4).then(|| "line 7".to_string())));
        let expected = "   0: r1 = 0x40000001 ll
   2: r0 = *(u32 *)(r10 - 8)
   3: if r0 != 0x0 goto +3
   4: call hike_elem_call_2         ; line 7
   5: r2 s>>= 3
   6: *(u64 *)(r10 - 16) = r6
   7: r3 = be16 r3
   8: if r3 s< r4 goto -2
   9: exit
  10: .insn ff 00 00 00 00 00 00 00 (invalid in a chain)
";
        assert_eq!(text, expected);
    }
}
