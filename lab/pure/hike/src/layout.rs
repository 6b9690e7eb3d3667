//! Byte layouts of the system maps' values and of the shared-memory contract (hike.md section 5).

/// `struct hike_chain`: offsets in bytes.
pub mod chain {
    pub const CHAIN_ID: usize = 0;
    pub const NINSN: usize = 4;
    pub const UPC: usize = 6;
    pub const REGS: usize = 8;
    /// 32 bytes of padding after the eleven registers; our VM keeps a store generation here.
    pub const PAD: usize = 96;
    /// In a stored chain the stack is unused: its first 32 bytes hold the bitmap of the
    /// `hvm_jit_map` slots of the chain's compiled form (bit k: slot k; see `jit`).
    pub const JIT_SLOTS: usize = 128;
    pub const STACK: usize = 128;
    pub const INSNS: usize = 256;
    pub const SIZE: usize = 768;
}

/// Per-CPU chain data: u16 active frame index, padding to 16, then 8 frames.
pub mod cdata {
    pub const ACTIVE: usize = 0;
    pub const FRAMES: usize = 16;
    pub const SIZE: usize = FRAMES + super::super::MAX_FRAMES * super::chain::SIZE;
}

/// Per-CPU shared memory: 4096 user bytes then 4096 reserved for the VM.
pub mod shmem {
    pub const USER_SIZE: usize = 4096;
    pub const SIZE: usize = 8192;
    /// `pkt_info`: four s32 header offsets then a 48-byte scratch area.
    pub const DATAOFF: usize = 0;
    pub const MHOFF: usize = 4;
    pub const NHOFF: usize = 8;
    pub const THOFF: usize = 12;
    pub const SCRATCH: usize = 16;
    pub const SCRATCH_SIZE: usize = 48;
    /// Value of an unset header offset.
    pub const UNSET: i32 = 0x3fff;
}

/// The MMU's virtual addresses: `bank:8 | offset:24`.
pub mod mmu {
    pub const BANK_ZERO: u8 = 0;
    pub const BANK_PACKET: u8 = 1;
    pub const BANK_PRIVATE: u8 = 2;
    pub const BANK_PCPU_SHARED: u8 = 3;
    pub const BANK_STACK: u8 = 4;
    /// Reading here gives the packet length; writes are ignored.
    pub const PACKET_LEN: u32 = 0x0100_0000;
    /// The first packet byte.
    pub const PACKET_DATA: u32 = 0x0100_0008;
    /// Packet offsets are masked to 16 KiB.
    pub const PACKET_MASK: u32 = 0x3fff;
    pub const PCPU_SHARED: u32 = 0x0300_0000;
    pub const PCPU_SHARED_SIZE: u32 = 4096;
    /// The frame pointer: the end of the active frame's 128-byte stack.
    pub const FP: u32 = 0x0400_0080;
    pub const STACK_BASE: u32 = 0x0400_0000;

    pub fn bank(addr: u32) -> u8 {
        (addr >> 24) as u8
    }
    pub fn offset(addr: u32) -> u32 {
        addr & 0x00ff_ffff
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_match_the_spec() {
        assert_eq!(super::chain::SIZE, 768);
        assert_eq!(super::cdata::SIZE, 6160);
    }
}
