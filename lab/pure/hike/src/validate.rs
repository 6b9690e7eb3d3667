//! The store-time check of a chain (hike.md section 3): only the chain subset of eBPF, at most
//! 64 slots, jumps inside the chain, VM call helpers only, valid registers, `r10` read-only.
//! The lab runs this before writing a chain into `hvm_chain_map`; the reference VM does not
//! rely on it (it checks everything again at run time and never panics).

use crate::MAX_CHAIN_INSNS;
use crate::insn::{Insn, call, op};

/// Why a chain was refused. `index` is the slot of the offending instruction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidateError {
    #[error("the chain is empty")]
    Empty,
    #[error(
        "the chain needs {slots} instruction slots, the limit is {MAX_CHAIN_INSNS} (`lddw` takes 2)"
    )]
    TooLong { slots: usize },
    #[error("insn {index}: opcode {code:#04x} is not allowed in a chain: {why}")]
    Opcode {
        index: usize,
        code: u8,
        why: &'static str,
    },
    #[error("insn {index}: register r{reg} does not exist (r0..r10)")]
    Register { index: usize, reg: u8 },
    #[error("insn {index}: r10 (the frame pointer) is read-only")]
    WritesFp { index: usize },
    #[error("insn {index}: jump to {target} is outside the chain (0..{len})")]
    JumpOutOfRange {
        index: usize,
        target: i64,
        len: usize,
    },
    #[error("insn {index}: jump to {target} lands in the second half of an `lddw`")]
    JumpIntoLddw { index: usize, target: usize },
    #[error("insn {index}: `call {imm:#x}` is not a VM call helper (only 0x11..0x14 << 8)")]
    Call { index: usize, imm: i32 },
    #[error("insn {index}: `lddw` is missing its second slot")]
    TruncatedLddw { index: usize },
    #[error("insn {index}: malformed second slot of `lddw` (must be all zero but imm)")]
    LddwSecondSlot { index: usize },
    #[error(
        "insn {index}: `lddw` with a pseudo source (map fd, BTF id...) is not allowed: chains cannot use maps"
    )]
    LddwPseudo { index: usize },
    #[error("insn {index}: shift by {imm} is out of range (0..63)")]
    Shift { index: usize, imm: i32 },
    #[error("insn {index}: byte swap width {imm} is invalid (16, 32 or 64)")]
    SwapWidth { index: usize, imm: i32 },
    #[error(
        "insn {last}: the last instruction may fall off the end of the chain (end with `exit` or `goto`)"
    )]
    FallsOffEnd { last: usize },
}

/// Checks a chain; returns the first problem found, in instruction order.
pub fn validate(insns: &[Insn]) -> Result<(), ValidateError> {
    if insns.is_empty() {
        return Err(ValidateError::Empty);
    }
    if insns.len() > MAX_CHAIN_INSNS {
        return Err(ValidateError::TooLong { slots: insns.len() });
    }
    // Pass 1: mark second halves of lddw.
    let mut second = vec![false; insns.len()];
    let mut i = 0;
    while i < insns.len() {
        if insns[i].code == op::LDDW {
            if i + 1 >= insns.len() {
                return Err(ValidateError::TruncatedLddw { index: i });
            }
            second[i + 1] = true;
            i += 2;
        } else {
            i += 1;
        }
    }
    let mut i = 0;
    let mut last = 0;
    while i < insns.len() {
        check_one(insns, i, &second)?;
        last = i;
        i += if insns[i].code == op::LDDW { 2 } else { 1 };
    }
    let code = insns[last].code;
    if code != (op::JMP | op::EXIT) && code != (op::JMP | op::JA) {
        return Err(ValidateError::FallsOffEnd { last });
    }
    Ok(())
}

fn reg(index: usize, r: u8) -> Result<(), ValidateError> {
    if r > 10 {
        Err(ValidateError::Register { index, reg: r })
    } else {
        Ok(())
    }
}

fn dst_writable(index: usize, r: u8) -> Result<(), ValidateError> {
    reg(index, r)?;
    if r == 10 {
        Err(ValidateError::WritesFp { index })
    } else {
        Ok(())
    }
}

fn check_one(insns: &[Insn], index: usize, second: &[bool]) -> Result<(), ValidateError> {
    let insn = insns[index];
    let code = insn.code;
    let bad = |why| Err(ValidateError::Opcode { index, code, why });
    match code & 0x07 {
        op::ALU64 => {
            let alu = code & 0xf0;
            reg(index, insn.src)?;
            dst_writable(index, insn.dst)?;
            match alu {
                op::ADD
                | op::SUB
                | op::MUL
                | op::DIV
                | op::OR
                | op::AND
                | op::MOD
                | op::XOR
                | op::MOV => Ok(()),
                op::LSH | op::RSH | op::ARSH => {
                    if code & op::X == 0 && !(0..64).contains(&insn.imm) {
                        return Err(ValidateError::Shift {
                            index,
                            imm: insn.imm,
                        });
                    }
                    Ok(())
                }
                op::NEG => {
                    if code & op::X != 0 {
                        return bad("`neg` takes no source register");
                    }
                    Ok(())
                }
                op::END => bad(
                    "64-bit byte swap (ISA v4) is not in the chain subset; use the 32-bit class END",
                ),
                _ => bad("unknown ALU64 operation"),
            }
        }
        op::ALU => {
            if code & 0xf0 != op::END {
                return bad("32-bit ALU is not in the chain subset (only the byte-swap END op)");
            }
            dst_writable(index, insn.dst)?;
            if !matches!(insn.imm, 16 | 32 | 64) {
                return Err(ValidateError::SwapWidth {
                    index,
                    imm: insn.imm,
                });
            }
            Ok(())
        }
        op::LD => {
            if code != op::LDDW {
                return bad("legacy packet loads (ABS/IND) are not in the chain subset");
            }
            dst_writable(index, insn.dst)?;
            if insn.src != 0 {
                return Err(ValidateError::LddwPseudo { index });
            }
            let next = insns[index + 1];
            if next.code != 0 || next.dst != 0 || next.src != 0 || next.off != 0 {
                return Err(ValidateError::LddwSecondSlot { index: index + 1 });
            }
            Ok(())
        }
        op::LDX => {
            if code & 0xe0 != op::MEM {
                return bad("only MEM loads are allowed");
            }
            reg(index, insn.src)?;
            dst_writable(index, insn.dst)
        }
        op::ST | op::STX => {
            if code & 0xe0 != op::MEM {
                return bad("only MEM stores are allowed (no atomics)");
            }
            reg(index, insn.src)?;
            reg(index, insn.dst)
        }
        op::JMP => {
            let jop = code & 0xf0;
            match jop {
                op::CALL => {
                    if code & op::X != 0 || insn.src != 0 {
                        return bad("only `call imm` of a VM call helper is allowed");
                    }
                    if call::nargs(insn.imm).is_none() {
                        return Err(ValidateError::Call {
                            index,
                            imm: insn.imm,
                        });
                    }
                    Ok(())
                }
                op::EXIT => {
                    if code & op::X != 0 {
                        return bad("malformed exit");
                    }
                    Ok(())
                }
                op::JA
                | op::JEQ
                | op::JGT
                | op::JGE
                | op::JSET
                | op::JNE
                | op::JSGT
                | op::JSGE
                | op::JLT
                | op::JLE
                | op::JSLT
                | op::JSLE => {
                    if jop == op::JA && code & op::X != 0 {
                        return bad("malformed goto");
                    }
                    reg(index, insn.dst)?;
                    reg(index, insn.src)?;
                    let target = index as i64 + 1 + insn.off as i64;
                    if target < 0 || target >= insns.len() as i64 {
                        return Err(ValidateError::JumpOutOfRange {
                            index,
                            target,
                            len: insns.len(),
                        });
                    }
                    if second[target as usize] {
                        return Err(ValidateError::JumpIntoLddw {
                            index,
                            target: target as usize,
                        });
                    }
                    Ok(())
                }
                _ => bad("unknown jump operation"),
            }
        }
        op::JMP32 => bad("JMP32 is not in the chain subset (build with -mcpu=v2)"),
        _ => bad("unknown instruction class"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 32-bit jump is refused with the way out (clang's `-mcpu=v2`).
    #[test]
    fn jmp32_is_refused_with_the_way_out() {
        let j32 = Insn::new(crate::insn::op::JMP32 | crate::insn::op::JEQ, 1, 0, 0, 0);
        let exit = Insn::new(crate::insn::op::JMP | crate::insn::op::EXIT, 0, 0, 0, 0);
        let err = validate(&[j32, exit]).unwrap_err();
        assert!(format!("{err}").contains("-mcpu=v2"), "{err}");
    }

    fn exit() -> Insn {
        Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0)
    }
    fn mov(dst: u8, imm: i32) -> Insn {
        Insn::new(op::ALU64 | op::MOV | op::K, dst, 0, 0, imm)
    }

    #[test]
    fn accepts_a_minimal_chain() {
        assert_eq!(validate(&[mov(0, 0), exit()]), Ok(()));
    }

    #[test]
    fn refuses_65_slots_but_accepts_64() {
        let mut v = vec![mov(0, 1); 63];
        v.push(exit());
        assert_eq!(validate(&v), Ok(()));
        v.insert(0, mov(0, 2));
        assert_eq!(validate(&v), Err(ValidateError::TooLong { slots: 65 }));
    }

    #[test]
    fn refuses_the_forbidden() {
        let alu32 = Insn::new(op::ALU | op::ADD | op::K, 0, 0, 0, 1);
        assert!(matches!(
            validate(&[alu32, exit()]),
            Err(ValidateError::Opcode { index: 0, .. })
        ));
        let jmp32 = Insn::new(op::JMP32 | op::JEQ | op::K, 0, 0, 0, 1);
        assert!(matches!(
            validate(&[jmp32, exit()]),
            Err(ValidateError::Opcode { index: 0, .. })
        ));
        let helper = Insn::new(op::JMP | op::CALL, 0, 0, 0, 1);
        assert_eq!(
            validate(&[helper, exit()]),
            Err(ValidateError::Call { index: 0, imm: 1 })
        );
        assert_eq!(
            validate(&[mov(10, 1), exit()]),
            Err(ValidateError::WritesFp { index: 0 })
        );
        assert_eq!(
            validate(&[mov(11, 1), exit()]),
            Err(ValidateError::Register { index: 0, reg: 11 })
        );
        let far = Insn::new(op::JMP | op::JA, 0, 0, 5, 0);
        assert!(matches!(
            validate(&[far, exit()]),
            Err(ValidateError::JumpOutOfRange {
                index: 0,
                target: 6,
                ..
            })
        ));
        assert_eq!(
            validate(&[mov(0, 0)]),
            Err(ValidateError::FallsOffEnd { last: 0 })
        );
        let map = Insn::new(op::LDDW, 1, 1, 0, 3);
        assert_eq!(
            validate(&[map, Insn::default(), exit()]),
            Err(ValidateError::LddwPseudo { index: 0 })
        );
        assert_eq!(validate(&[]), Err(ValidateError::Empty));
    }

    #[test]
    fn lddw_takes_two_slots_and_cannot_be_jumped_into() {
        let ld = Insn::new(op::LDDW, 1, 0, 0, 1);
        let ok = [ld, Insn::new(0, 0, 0, 0, 2), exit()];
        assert_eq!(validate(&ok), Ok(()));
        let into = [
            Insn::new(op::JMP | op::JA, 0, 0, 1, 0),
            ld,
            Insn::default(),
            exit(),
        ];
        assert_eq!(
            validate(&into),
            Err(ValidateError::JumpIntoLddw {
                index: 0,
                target: 2
            })
        );
        assert_eq!(
            validate(&[mov(0, 0), ld]),
            Err(ValidateError::TruncatedLddw { index: 1 })
        );
        // the second slot holds only the upper half of the immediate: any other field set
        // is refused, each on its own
        for second in [
            Insn::new(op::ALU64, 0, 0, 0, 2),
            Insn::new(0, 1, 0, 0, 2),
            Insn::new(0, 0, 1, 0, 2),
            Insn::new(0, 0, 0, 1, 2),
        ] {
            assert_eq!(
                validate(&[ld, second, exit()]),
                Err(ValidateError::LddwSecondSlot { index: 1 }),
                "{second:?}"
            );
        }
    }

    #[test]
    fn accepts_calls_and_byte_swaps() {
        for imm in [call::CALL_0, call::CALL_1, call::CALL_2, call::CALL_3] {
            let c = Insn::new(op::JMP | op::CALL, 0, 0, 0, imm);
            assert_eq!(validate(&[c, exit()]), Ok(()));
        }
        let be = Insn::new(op::ALU | op::END | op::TO_BE, 3, 0, 0, 16);
        assert_eq!(validate(&[be, exit()]), Ok(()));
        let bad = Insn::new(op::ALU | op::END | op::TO_BE, 3, 0, 0, 8);
        assert_eq!(
            validate(&[bad, exit()]),
            Err(ValidateError::SwapWidth { index: 0, imm: 8 })
        );
    }
}
