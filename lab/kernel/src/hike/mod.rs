//! HIKe in the kernel: the control plane of our VM and modules (`ebpf-modules/`).
//!
//! - [`Hike`]: loads the VM and objects, shares the system maps through pins under a
//!   caller-given bpffs root (`maps/system/hvm_*`, `progs/<pkg>/<name>`,
//!   `maps/<pkg>/<owner>/<map>`), registers programs by ID, stores chains, configures and
//!   attaches loaders;
//! - [`meta`]: an object's XDP programs, BTF-recorded signatures/maps/constants and C chains;
//! - [`test_run`], [`test_run_from`]: `BPF_PROG_TEST_RUN` (verdict, duration, output packet),
//!   optionally as if received on a given interface;
//! - [`jit`]: compiled chains, the VM's second tier (installed when a chain is stored);
//! - [`bench`]: the performance suite's measurements;
//! - [`packet`] and [`asm`]: crafted packets and hand-assembled chains for tests and benches.

/// Hand-assembling eBPF: lives in the pure crate (the chain compiler uses it too).
pub use hike::asm;
pub mod bench;
mod chains;
pub mod feed;
pub mod jit;
mod link;
pub mod packet;
pub mod runtime;
pub mod stamp;
pub mod tier;
pub mod trace;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aya::programs::{TestRun, TestRunOptions, Xdp};
use serde::Serialize;

pub use runtime::{Hike, LoadedObject, ProgramLoad, StoredChain, VM_PROG_ID};
/// The former name of [`AbortReason`] (one definition, in `hike::trace`), for callers not yet
/// moved to it.
pub use trace::AbortReason as VmError;
pub use trace::{AbortReason, PktInfoEvent, PktInfoReader, TraceEvent, TraceKind, TraceReader};

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
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
}

pub use crate::loader::kernel_btf;
pub(crate) use crate::loader::with_object_loader;

/// `s` as a `&'static str`, each distinct string leaked once (map names for the shared
/// loader: a bounded set).
pub(crate) fn intern(s: &str) -> &'static str {
    static SET: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut set = SET.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = set.get(s) {
        return k;
    }
    let k: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(k);
    k
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
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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
    test_run_from(prog, packet, repeat, 0)
}

/// [`test_run`] with the packet received on interface `ingress_ifindex` (queue 0) of the
/// calling thread's network namespace: what `ctx->ingress_ifindex` reads and whose FIB and
/// neighbours `bpf_fib_lookup` consults. 0 = the default, the namespace's loopback.
pub fn test_run_from(
    prog: &Xdp,
    packet: &[u8],
    repeat: u32,
    ingress_ifindex: u32,
) -> Result<TestRunOutput, HikeError> {
    // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index,
    // egress_ifindex; the kernel wants data_end = the packet's length and no metadata
    let xdp_md: Vec<u8> = [0, packet.len() as u32, 0, ingress_ifindex, 0, 0]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .collect();
    let mut out = vec![0u8; packet.len() + 512];
    let r = prog
        .test_run(TestRunOptions {
            data_in: Some(packet),
            data_out: Some(&mut out),
            ctx_in: (ingress_ifindex != 0).then_some(&xdp_md[..]),
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

/// Removes the scratch roots `<prefix>-<pid>-<n>` of processes that no longer exist (a bench
/// or test killed before it could drop its root). Only names of exactly that shape, and only
/// when no process `<pid>` is alive: a live one may still be using its root.
fn sweep_dead_scratch_roots(prefix: &str) {
    let Ok(dir) = std::fs::read_dir(crate::env::BPFFS_MOUNT) else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|r| r.strip_prefix('-'))
        else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('-') else {
            continue;
        };
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if numeric(pid) && numeric(n) && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A unique per-test/per-bench root under /sys/fs/bpf, removed when dropped; roots left by
/// killed processes are swept by the next one made with the same prefix.
pub struct ScratchRoot {
    path: PathBuf,
}

impl ScratchRoot {
    /// `/sys/fs/bpf/<prefix>-<pid>-<n>`
    pub fn new(prefix: &str) -> Result<Self, HikeError> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        ensure_bpffs()?;
        sweep_dead_scratch_roots(prefix);
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

/// The catalog of every embedded HIKe package (`programs/*.o`, `loaders/*.o`), read from the
/// objects' BTF without loading anything: no root needed (the compiler's imports).
pub fn embedded_catalog() -> Result<hike::catalog::Catalog, HikeError> {
    let mut metas = Vec::new();
    for path in crate::objects::list() {
        if !(path.starts_with("programs/") || path.starts_with("loaders/")) {
            continue;
        }
        let data = object(&path)?;
        metas.push(
            eclat_model::meta::read(&runtime::package_of(&path), data).map_err(|e| {
                HikeError::Object {
                    object: path.clone(),
                    detail: e.to_string(),
                }
            })?,
        );
    }
    Ok(eclat_model::meta::catalog(&metas))
}

#[cfg(test)]
mod tests {
    use hike::catalog::ProgramKind;

    #[test]
    fn embedded_catalog_lists_the_default_packages() {
        let c = super::embedded_catalog().unwrap();
        for (pkg, name) in [
            ("hike_default", "hike_pass"),
            ("hike_default", "monitor"),
            ("meter", "ip6_sd_tbmon"),
            ("sampler", "ip6_sd_dec2zero"),
            ("info", "show_pkt_info"),
        ] {
            assert!(c.program(pkg, name).is_some(), "{pkg}.{name}");
        }
        assert_eq!(
            c.program("hike_default", "l2_redirect").unwrap().kind,
            ProgramKind::Final
        );
        let info = c.program("info", "show_pkt_info").unwrap();
        let params: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(params, ["layers", "cookie"]);
        assert!(c.loader("hike_default", "udp_dport_classifier").is_some());
        assert!(
            c.constants
                .iter()
                .any(|k| k.name == "HIKE_TB_BUCKET" && k.value == 5)
        );
    }

    #[test]
    fn chain_values_round_trip() {
        let insns = super::asm::call_with(5, &[1, 2]);
        let slots = [5, 128, 129, 255];
        let v = super::runtime::encode_chain(hike::FIRST_CHAIN_ID, 77, &insns, &slots);
        assert_eq!(v.len(), hike::layout::chain::SIZE);
        let c = super::runtime::decode_chain(&v).unwrap();
        assert_eq!(
            (c.id, c.generation, c.insns, c.jit_slots),
            (hike::FIRST_CHAIN_ID, 77, insns, slots.to_vec())
        );
    }

    #[test]
    fn btf_reader_rejects_garbage() {
        assert!(eclat_model::btf::Btf::parse(&[0u8; 10]).is_err());
        assert!(eclat_model::btf::Btf::parse(&[0u8; 32]).is_err());
    }
}
