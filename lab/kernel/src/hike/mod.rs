//! HIKe in the kernel: the control plane of our VM and modules (`ebpf-modules/`).
//!
//! - [`Hike`]: loads the VM and objects, shares the system maps through pins under a
//!   caller-given bpffs root (`maps/system/hvm_*`, `progs/<pkg>/<name>`,
//!   `maps/<pkg>/<owner>/<map>`), registers programs by ID, stores chains, configures and
//!   attaches loaders;
//! - [`meta`]: an object's XDP programs, BTF-recorded signatures/maps/constants and C chains;
//! - [`test_run`]: `BPF_PROG_TEST_RUN` (verdict, duration, output packet);
//! - [`bench`]: the performance suite's measurements;
//! - [`packet`] and [`asm`]: crafted packets and hand-assembled chains for tests and benches.

pub mod asm;
pub mod bench;
pub mod btf;
pub mod display;
pub mod meta;
pub mod packet;
pub mod runtime;
mod sysc;
pub mod trace;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aya::programs::{TestRun, TestRunOptions, Xdp};
use serde::Serialize;

pub use runtime::{Hike, LoadedObject, ProgramLoad, StoredChain, VM_PROG_ID};
pub use trace::{PktInfoEvent, PktInfoReader, TraceEvent, TraceReader, VmError};

#[derive(Debug, thiserror::Error)]
pub enum HikeError {
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("bpffs: {0}")]
    Bpffs(String),
    #[error("no embedded object {0} (rebuild ebpf-modules with make)")]
    NoObject(String),
    #[error("object {object}: {detail}")]
    Object { object: String, detail: String },
    #[error("program {program}: {detail}")]
    Program { program: String, detail: String },
    #[error("the verifier rejected {program}: {detail}")]
    Verifier {
        program: String,
        detail: String,
        verifier_log: String,
    },
    #[error("no program {program}: {detail}")]
    NoProgram { program: String, detail: String },
    #[error("no map {map} is loaded")]
    NoMap { map: String },
    #[error("map {map}: {detail}")]
    Map { map: String, detail: String },
    #[error("ID {id:#x} is not valid here (programs 1..255; chains have bit 30 set)")]
    BadId { id: u32 },
    #[error(
        "chain {id:#x} needs {len} instruction slots; the limit is {} (`lddw` takes 2)",
        hike::MAX_CHAIN_INSNS
    )]
    ChainTooLong { id: u32, len: usize },
    #[error("chain {id:#x} refused: {reason}")]
    InvalidChain {
        id: u32,
        reason: hike::validate::ValidateError,
    },
    #[error("attach {program} to ifindex {ifindex}: {detail}")]
    Attach {
        program: String,
        ifindex: u32,
        detail: String,
    },
    #[error("test run: {0}")]
    TestRun(String),
}

/// Mounts bpffs at /sys/fs/bpf if nothing is mounted there.
pub fn ensure_bpffs() -> Result<(), HikeError> {
    crate::bpffs::ensure_mounted()
        .map(|_| ())
        .map_err(|e| HikeError::Bpffs(e.to_string()))
}

/// An embedded object by its path below `ebpf-modules/obj`.
pub fn object(path: &str) -> Result<&'static [u8], HikeError> {
    crate::objects::get(path).ok_or_else(|| HikeError::NoObject(path.into()))
}

/// The store-time check (hike::validate), plus the slot limit.
pub fn validate_chain(insns: &[hike::Insn]) -> Result<(), hike::validate::ValidateError> {
    hike::validate::validate(insns)
}

/// What one `BPF_PROG_TEST_RUN` returned.
#[derive(Debug, Clone, Serialize)]
pub struct TestRunOutput {
    /// the program's return value (an XDP verdict for XDP programs)
    pub verdict: u32,
    /// mean time per run as the kernel measured it
    pub duration: Duration,
    /// the packet after the program ran (trimmed to the size the kernel reported)
    pub packet: Vec<u8>,
}

impl TestRunOutput {
    pub fn action(&self) -> Option<hike::XdpAction> {
        hike::XdpAction::from_u32(self.verdict)
    }
}

/// `BPF_PROG_TEST_RUN` on an XDP program (aya's `TestRun`).
pub fn test_run(prog: &Xdp, packet: &[u8], repeat: u32) -> Result<TestRunOutput, HikeError> {
    let mut out = vec![0u8; packet.len() + 512];
    let r = prog
        .test_run(TestRunOptions {
            data_in: Some(packet),
            data_out: Some(&mut out),
            repeat: repeat.max(1),
            ..TestRunOptions::new()
        })
        .map_err(|e| HikeError::TestRun(e.to_string()))?;
    out.truncate(r.data_size_out as usize);
    Ok(TestRunOutput {
        verdict: r.return_value,
        duration: r.duration,
        packet: out,
    })
}

/// A unique per-test/per-bench root under /sys/fs/bpf, removed when dropped.
pub struct ScratchRoot {
    path: PathBuf,
}

impl ScratchRoot {
    /// `/sys/fs/bpf/<prefix>-<pid>-<n>`
    pub fn new(prefix: &str) -> Result<Self, HikeError> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        ensure_bpffs()?;
        let path = PathBuf::from(crate::env::BPFFS_MOUNT).join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).map_err(|err| HikeError::Io {
            path: path.clone(),
            err,
        })?;
        Ok(Self { path })
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchRoot {
    fn drop(&mut self) {
        // bpffs: pins are files and directories; removing them drops the references
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
