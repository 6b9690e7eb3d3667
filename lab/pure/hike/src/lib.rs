//! HIKe facts shared by the compiler, the kernel side and the lab: the chain bytecode
//! (`struct bpf_insn`), element IDs, the layouts of the system maps, and the limits.
//! This crate does no I/O and never panics on untrusted input.
//!
//! - [`insn`]: `Insn`, opcode constants, the VM's call helpers.
//! - [`mod@validate`]: the store-time check of a chain (the lab runs it before `hvm_chain_map`).
//! - [`disasm`]: bpftool-like listings, with caller-supplied annotations.
//! - [`vm`]: the reference interpreter (the executable specification of the HIKe VM) and, in
//!   [`vm::models`], Rust models of the default programs and of the simple classifier.
//! - [`catalog`]: program/loader signatures for the compiler; [`catalog::Catalog::reference`]
//!   mirrors the default packages for pure tests.
//! - [`layout`]: byte layouts of the system maps and the MMU addresses.
//! - [`jit`]: the chain compiler, the VM's second tier (chains as eBPF programs).
//! - [`suggest`]: "did you mean ...?" for every name a learner types.
//! - [`trace`]: what the VM reports, one vocabulary for the kernel VM and the reference
//!   interpreter: abort reasons and trace events.

pub mod asm;
pub mod catalog;
pub mod disasm;
pub mod insn;
pub mod jit;
pub mod layout;
pub mod suggest;
pub mod trace;
pub mod validate;
pub mod vm;

pub use insn::Insn;
pub use validate::{ValidateError, validate};

/// Bit 30 of an element ID marks a chain; otherwise the ID is a program ID 0..255.
pub const CHAIN_ID_FLAG: u32 = 1 << 30;
/// First chain ID handed out by the allocator (the original eCLAT started here too).
pub const FIRST_CHAIN_ID: u32 = CHAIN_ID_FLAG | 1;
/// Program slots in `hvm_hprog_map`.
pub const MAX_PROGRAMS: u32 = 256;
/// Stored chains in `hvm_chain_map`.
pub const MAX_CHAINS: u32 = 128;
/// Instruction slots per chain (`lddw` takes two).
pub const MAX_CHAIN_INSNS: usize = 64;
/// Interpreted instructions per burst; the budget restarts after each program call.
pub const BURST_BUDGET: u32 = 64;
/// Frames in the per-CPU chain-data, slot 0 being the bootstrap frame.
pub const MAX_FRAMES: usize = 8;
/// Bytes of stack per chain frame.
pub const STACK_SIZE: usize = 128;
/// At most this many user arguments to a program call.
pub const MAX_PROG_ARGS: usize = 3;
/// At most this many user arguments to a chain.
pub const MAX_CHAIN_ARGS: usize = 2;
/// Program calls per packet: the reference VM and the kernel VM both refuse the 17th.
/// In the kernel VM each program call costs two tail calls (VM -> program, program -> VM,
/// both constant-key) and the loader's entry into the VM one: 1 + 2 * 16 = 33, the kernel's
/// `MAX_TAIL_CALL_CNT`. See `vm` for the exact accounting.
pub const MAX_PROGRAM_CALLS: u32 = 16;
/// Return value of a program that wants the VM to resume the calling chain.
pub const HIKE_XDP_VM: u64 = 104;

/// Is this element ID a chain?
pub fn is_chain_id(id: u32) -> bool {
    id & CHAIN_ID_FLAG != 0
}

/// XDP verdicts (`enum xdp_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum XdpAction {
    Aborted = 0,
    Drop = 1,
    Pass = 2,
    Tx = 3,
    Redirect = 4,
}

impl XdpAction {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::Aborted,
            1 => Self::Drop,
            2 => Self::Pass,
            3 => Self::Tx,
            4 => Self::Redirect,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Aborted => "ABORTED",
            Self::Drop => "DROP",
            Self::Pass => "PASS",
            Self::Tx => "TX",
            Self::Redirect => "REDIRECT",
        }
    }
    /// Parses `PASS`, `xdp_pass`, `XDP_DROP`, or a number 0..4.
    pub fn parse(s: &str) -> Option<Self> {
        let up = s.trim().to_ascii_uppercase();
        let up = up.strip_prefix("XDP_").unwrap_or(&up);
        match up {
            "ABORTED" => Some(Self::Aborted),
            "DROP" => Some(Self::Drop),
            "PASS" => Some(Self::Pass),
            "TX" => Some(Self::Tx),
            "REDIRECT" => Some(Self::Redirect),
            n => n.parse::<u32>().ok().and_then(Self::from_u32),
        }
    }
}

impl std::fmt::Display for XdpAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every verdict by number, by name and through Display, and what is not one.
    #[test]
    fn xdp_actions_convert_both_ways() {
        let all = [
            (0, "ABORTED", XdpAction::Aborted),
            (1, "DROP", XdpAction::Drop),
            (2, "PASS", XdpAction::Pass),
            (3, "TX", XdpAction::Tx),
            (4, "REDIRECT", XdpAction::Redirect),
        ];
        for (n, name, a) in all {
            assert_eq!(XdpAction::from_u32(n), Some(a));
            assert_eq!(a as u32, n);
            assert_eq!(a.name(), name);
            assert_eq!(a.to_string(), name);
            assert_eq!(XdpAction::parse(name), Some(a));
            assert_eq!(
                XdpAction::parse(&format!(" xdp_{} ", name.to_lowercase())),
                Some(a)
            );
            assert_eq!(XdpAction::parse(&n.to_string()), Some(a));
        }
        assert_eq!(XdpAction::from_u32(5), None);
        assert_eq!(XdpAction::parse("5"), None);
        assert_eq!(XdpAction::parse("XDP_"), None);
        assert_eq!(XdpAction::parse("pas"), None);
    }

    #[test]
    fn chain_ids_have_bit_30() {
        assert!(is_chain_id(FIRST_CHAIN_ID));
        assert_eq!(FIRST_CHAIN_ID, 0x4000_0001);
        assert!(!is_chain_id(MAX_PROGRAMS - 1));
    }
}
