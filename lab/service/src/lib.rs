//! The lab as a Rust API: topologies, maps, plain XDP programs, eCLAT scripts, HIKe chains
//! and modules, traffic and commands in a node's namespace, with typed inputs and typed
//! results (`serde::Serialize`), and nothing about how they are shown: no printing, no
//! argument parsing, no terminal. The course (`eclat-course`) and the three faces (CLI, REPL,
//! TUI) sit on top of it.
//!
//! Every operation is an `async fn` on [`Lab`]. Kernel work is blocking (syscalls through
//! `eclat-kernel`, the only crate that makes them) and runs on tokio's blocking pool; work
//! bound to a network namespace runs on a thread of its own inside `eclat-kernel`
//! (`netns::in_netns`), so a namespace switch never leaks into a pooled thread. Long
//! operations take a [`CancellationToken`]: cancelled, they stop at their next safe point,
//! leave the lab consistent (journal committed or rolled back, nothing half-loaded) and
//! return the [`Stopped`] error, which faces report as "stopped", never as a result.
//!
//! Errors are `anyhow` chains whose messages are written for learners (what happened, where,
//! what to do); the kinds a face acts on are typed and found with `downcast_ref`: [`Stopped`]
//! and [`NeedsRoot`].

pub mod catalog;
pub mod chains;
pub mod classroom;
pub mod cubes;
pub mod doctor;
pub mod draw;
pub mod exec;
mod instance;
mod lab;
pub mod maps;
pub mod modules;
pub mod names;
pub mod scripts;
pub mod store;
pub mod testrun;
pub mod textfile;
pub mod topo;
pub mod topologies;
pub mod trace;
pub mod traffic;
pub mod vm_classroom;
pub mod xdp;

pub use eclat_kernel::LabEnv;
pub use lab::{Lab, Origin, Recovered, ResetReport, ScratchLab};
pub use tokio_util::sync::CancellationToken;

/// A long operation was stopped by its [`CancellationToken`] before it finished. What it had
/// done was undone or committed as a whole; it has no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stopped")]
pub struct Stopped;

/// The operation changes the kernel and this process lacks the privileges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`eclat-lab {what}` changes the kernel (network namespaces, eBPF programs) and needs root \
     (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF).\nRun it with sudo: `sudo eclat-lab {what}`. \
     Reading lessons (`eclat-lab lesson list`) and `eclat-lab doctor` work without root."
)]
pub struct NeedsRoot {
    /// the command, as a learner types it (`topo up`)
    pub what: String,
}

/// Is `e` (or an error it wraps) a [`Stopped`]?
pub fn is_stopped(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<Stopped>().is_some())
}

/// Fails with [`Stopped`] once `cancel` is cancelled: the check at a safe point.
pub fn checkpoint(cancel: &CancellationToken) -> anyhow::Result<()> {
    if cancel.is_cancelled() {
        Err(Stopped.into())
    } else {
        Ok(())
    }
}

/// Do lesson checks and `test` reuse what does not change between runs (the build of a C file
/// within a run of checks; the cached HIKe instance and check lab across runs)? On unless
/// `ECLAT_LAB_CHECK_REUSE=off`, which gives the earlier behaviour: the bench's baseline.
pub fn reuse_enabled() -> bool {
    std::env::var("ECLAT_LAB_CHECK_REUSE").map_or(true, |v| v != "off")
}
