//! Everything in eclat-lab that talks to the kernel: network namespaces and netlink, sysctls,
//! bpffs pins, loading and attaching eBPF objects with aya, map access, `BPF_PROG_TEST_RUN`,
//! and the packet generator. No other crate of the workspace makes a syscall that changes
//! kernel state; this one records every object it creates in the [`journal`] first.

pub mod bpffs;
pub mod cleanup;
pub mod cube;
pub mod doctor;
pub mod env;
pub mod exec;
pub mod hike;
pub mod journal;
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
pub mod xdp;

pub use env::LabEnv;

/// Fault injection for crash tests: when `ECLAT_LAB_CRASH_AT` names this point, the process
/// kills itself with SIGKILL right here, as a learner's `kill -9` or a power cut would. The
/// variable is read once; unset (always, outside tests) this is one atomic load.
pub fn crash_point(name: &str) {
    use std::sync::OnceLock;
    static AT: OnceLock<Option<String>> = OnceLock::new();
    if AT
        .get_or_init(|| std::env::var("ECLAT_LAB_CRASH_AT").ok())
        .as_deref()
        == Some(name)
    {
        let _ = nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGKILL);
    }
}
