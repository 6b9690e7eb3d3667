//! Everything in eclat-lab that talks to the kernel: network namespaces and netlink, sysctls,
//! bpffs pins, loading and attaching eBPF objects with aya, map access, `BPF_PROG_TEST_RUN`,
//! and the packet generator. No other crate of the workspace makes a syscall that changes
//! kernel state; this one records every object it creates in the [`journal`] first.

pub mod bpffs;
pub mod classroom;
pub mod cleanup;
pub mod cube;
pub mod doctor;
pub mod env;
pub mod exec;
pub mod hike;
pub mod journal;
pub mod loader;
pub mod maps;
pub mod modules;
pub mod netlink;
pub mod netns;
pub mod nodes;
pub mod objects;
pub mod perms;
pub mod sublab;
pub mod sys;
pub mod topo;
pub mod traffic;
pub mod vagrant;
pub mod xdp;

pub use env::LabEnv;

/// Fault injection for crash tests: when `ECLAT_LAB_CRASH_AT` names this point, the process
/// kills itself with SIGKILL right here, as a learner's `kill -9` or a power cut would. The
/// variable is read once; unset (always, outside tests) this is one atomic load.
pub fn crash_point(name: &str) {
    if crash_at() == Some(name) {
        crash();
    }
}

/// Slowness injection for tests: whether `ECLAT_LAB_SLOW_AT` names `name` (a test makes the
/// lab as slow there as the slowest machine it met, where waiting for something was not
/// enough: say a swap check whose swap is done only after all its traffic is out, as on a
/// box under software emulation).
pub fn slow_at(name: &str) -> bool {
    use std::sync::OnceLock;
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| std::env::var("ECLAT_LAB_SLOW_AT").ok())
        .as_deref()
        == Some(name)
}

/// `ECLAT_LAB_CRASH_AT`, read once.
fn crash_at() -> Option<&'static str> {
    use std::sync::OnceLock;
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| std::env::var("ECLAT_LAB_CRASH_AT").ok())
        .as_deref()
}

fn crash() {
    let _ = nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGKILL);
}

/// Fault injection at every journal write: `ECLAT_LAB_CRASH_AT=journal-write:N` kills the
/// process just before its N-th write to a journal (counted from 1 over the process's life).
/// Every object is recorded before it is created, so the kill before write N comes right
/// after whatever the process created since write N-1: a test that tries N = 1, 2, ... until
/// the command finishes kills it after each of its creations (and before its commit).
pub(crate) fn crash_before_journal_write() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let Some(n) = crash_at().and_then(|a| a.strip_prefix("journal-write:")) else {
        return;
    };
    let this = WRITES.fetch_add(1, Ordering::SeqCst) + 1;
    if n.parse() == Ok(this) {
        crash();
    }
}
