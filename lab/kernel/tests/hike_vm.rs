//! The HIKe VM in the real kernel (root, BPF_PROG_TEST_RUN): chains, calls, arguments, limits.
//! Each test builds its own HIKe instance under /sys/fs/bpf/eclat-lab-test-<pid>-<n>, removed
//! on drop even when the test fails.

use eclat_kernel::hike::asm::{self, call_with, exit, mov};
use eclat_kernel::hike::bench::{Setup, ids, null_chain};
use eclat_kernel::hike::packet::{bench_frame, ip6, ipv6_udp_frame};
use eclat_kernel::hike::{HikeError, VmError};
use hike::XdpAction;
use hike::insn::op;

const A: u32 = hike::FIRST_CHAIN_ID;
const B: u32 = hike::FIRST_CHAIN_ID + 1;

fn setup() -> Setup {
    Setup::new("eclat-lab-test").expect("HIKe setup (needs root and a BPF-capable kernel)")
}

fn verdict(s: &Setup, pkt: &[u8]) -> XdpAction {
    s.run(pkt)
        .expect("test run")
        .action()
        .expect("an XDP verdict")
}

fn aborts(s: &Setup, reason: VmError) -> u64 {
    s.hike
        .abort_stats()
        .expect("stats")
        .into_iter()
        .find(|(e, _)| *e == reason)
        .map(|(_, n)| n)
        .unwrap_or(0)
}

#[test]
fn chain_pass_and_drop() {
    let mut s = setup();
    s.classify_to(A, &null_chain(0)).unwrap();
    assert_eq!(verdict(&s, &bench_frame()), XdpAction::Pass);
    let mut c = call_with(ids::HIKE_DROP, &[]);
    c.push(exit());
    s.classify_to(A, &c).unwrap();
    assert_eq!(verdict(&s, &bench_frame()), XdpAction::Drop);
}
