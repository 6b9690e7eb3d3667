//! The chain bytecode: exactly `struct bpf_insn`, 8 bytes, little-endian.

/// One eBPF instruction as the kernel lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Insn {
    pub code: u8,
    /// destination register (low nibble of byte 1)
    pub dst: u8,
    /// source register (high nibble of byte 1)
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub const SIZE: usize = 8;

    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Self {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.dst & 0x0f) | ((self.src & 0x0f) << 4);
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }

    pub fn from_bytes(b: [u8; 8]) -> Self {
        Self {
            code: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Decodes a byte slice whose length is a multiple of 8; returns `None` otherwise.
    pub fn decode_all(bytes: &[u8]) -> Option<Vec<Insn>> {
        if !bytes.len().is_multiple_of(Self::SIZE) {
            return None;
        }
        Some(
            bytes
                .chunks_exact(Self::SIZE)
                .map(|c| Insn::from_bytes(c.try_into().expect("chunk of 8")))
                .collect(),
        )
    }

    pub fn encode_all(insns: &[Insn]) -> Vec<u8> {
        insns.iter().flat_map(|i| i.to_bytes()).collect()
    }
}

/// Opcode building blocks (linux/bpf_common.h, linux/bpf.h).
pub mod op {
    // classes
    pub const LD: u8 = 0x00;
    pub const LDX: u8 = 0x01;
    pub const ST: u8 = 0x02;
    pub const STX: u8 = 0x03;
    pub const ALU: u8 = 0x04;
    pub const JMP: u8 = 0x05;
    pub const JMP32: u8 = 0x06;
    pub const ALU64: u8 = 0x07;
    // sizes
    pub const W: u8 = 0x00;
    pub const H: u8 = 0x08;
    pub const B: u8 = 0x10;
    pub const DW: u8 = 0x18;
    // modes
    pub const IMM: u8 = 0x00;
    pub const MEM: u8 = 0x60;
    // sources
    pub const K: u8 = 0x00;
    pub const X: u8 = 0x08;
    // ALU ops
    pub const ADD: u8 = 0x00;
    pub const SUB: u8 = 0x10;
    pub const MUL: u8 = 0x20;
    pub const DIV: u8 = 0x30;
    pub const OR: u8 = 0x40;
    pub const AND: u8 = 0x50;
    pub const LSH: u8 = 0x60;
    pub const RSH: u8 = 0x70;
    pub const NEG: u8 = 0x80;
    pub const MOD: u8 = 0x90;
    pub const XOR: u8 = 0xa0;
    pub const MOV: u8 = 0xb0;
    pub const ARSH: u8 = 0xc0;
    pub const END: u8 = 0xd0;
    // END sources: to little / big endian
    pub const TO_LE: u8 = 0x00;
    pub const TO_BE: u8 = 0x08;
    // JMP ops
    pub const JA: u8 = 0x00;
    pub const JEQ: u8 = 0x10;
    pub const JGT: u8 = 0x20;
    pub const JGE: u8 = 0x30;
    pub const JSET: u8 = 0x40;
    pub const JNE: u8 = 0x50;
    pub const JSGT: u8 = 0x60;
    pub const JSGE: u8 = 0x70;
    pub const CALL: u8 = 0x80;
    pub const EXIT: u8 = 0x90;
    pub const JLT: u8 = 0xa0;
    pub const JLE: u8 = 0xb0;
    pub const JSLT: u8 = 0xc0;
    pub const JSLE: u8 = 0xd0;
    /// `lddw`: BPF_LD | BPF_IMM | BPF_DW, two slots.
    pub const LDDW: u8 = LD | IMM | DW;
}

/// The VM's call helpers: `call imm` with `imm = id << 8`.
pub mod call {
    /// call element, 0 user args
    pub const CALL_0: i32 = 0x11 << 8;
    pub const CALL_1: i32 = 0x12 << 8;
    pub const CALL_2: i32 = 0x13 << 8;
    pub const CALL_3: i32 = 0x14 << 8;

    /// The call helper for `nargs` user arguments (0..=3).
    pub fn for_args(nargs: usize) -> Option<i32> {
        match nargs {
            0 => Some(CALL_0),
            1 => Some(CALL_1),
            2 => Some(CALL_2),
            3 => Some(CALL_3),
            _ => None,
        }
    }

    /// The number of user arguments of a call helper immediate, if it is one.
    pub fn nargs(imm: i32) -> Option<usize> {
        match imm {
            CALL_0 => Some(0),
            CALL_1 => Some(1),
            CALL_2 => Some(2),
            CALL_3 => Some(3),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The VM's call helpers are `call 0x1100` .. `call 0x1400` (hike.md: `imm = id << 8`,
    /// the ids 0x11..0x14 that `chain.h` gives them); `for_args` picks by argument count.
    #[test]
    fn call_helpers_are_the_abis() {
        assert_eq!(
            [call::CALL_0, call::CALL_1, call::CALL_2, call::CALL_3],
            [0x1100, 0x1200, 0x1300, 0x1400]
        );
        for n in 0..=3 {
            assert_eq!(call::for_args(n), Some(0x1100 + 0x100 * n as i32));
        }
        assert_eq!(call::for_args(4), None);
    }

    #[test]
    fn roundtrip_bytes() {
        let i = Insn::new(op::ALU64 | op::MOV | op::K, 3, 7, -5, -123456);
        assert_eq!(Insn::from_bytes(i.to_bytes()), i);
        assert_eq!(i.to_bytes()[1], 0x73);
    }

    #[test]
    fn decode_rejects_ragged() {
        assert!(Insn::decode_all(&[0u8; 9]).is_none());
        assert_eq!(Insn::decode_all(&[0u8; 16]).unwrap().len(), 2);
    }
}
