//! Shared by the kernel tests of HIKe programs: a scratch HIKe instance with every module
//! registered ([`setup`]), chains that record a program's r0 in the packet ([`r0_of`],
//! [`run_r0`]), crafted frames, and a network namespace of the test's own with a veth pair
//! and routes ([`RoutedNs`]), removed on drop even when the test panics.
#![allow(dead_code)]

use std::net::IpAddr;

use aya::programs::Xdp;
use aya_obj::programs::XdpAttachType;
use eclat_kernel::hike::asm::{call_with, exit, mov, stx};
use eclat_kernel::hike::bench::{Setup, ids};
use eclat_kernel::hike::packet::{ip6, ipv6_udp_frame};
use eclat_kernel::hike::test_run_from;
use eclat_kernel::netlink::Netlink;
use eclat_kernel::{LabEnv, netns};
use hike::insn::op;
use hike::{Insn, XdpAction};

/// The chain ID the tests store and point `ip6_simple_classifier` at.
pub const A: u32 = hike::FIRST_CHAIN_ID;
/// The MMU address of the first packet byte.
pub const PKT: i32 = 0x0100_0008;

/// A scratch HIKe instance with the VM, the default packages and the benchmark's programs
/// registered (`eclat_kernel::hike::bench::REGISTERED`).
pub fn setup() -> Setup {
    Setup::new("eclat-lab-test").expect("HIKe setup (needs root and a BPF-capable kernel)")
}

/// Sets the clock the programs read (`hike/clock.h`) to `ms` milliseconds, where it stays
/// until set again: token buckets refill, and blacklist entries expire, by exactly what the
/// test says, however long the machine takes between runs.
pub fn clock(s: &Setup, ms: u32) {
    s.hike
        .set_test_clock(Some(
            std::num::NonZeroU32::new(ms).expect("a clock of 0 is the kernel's"),
        ))
        .expect("setting the test clock");
}

/// Calls program `id` with `args`, writes its r0 into packet bytes 16..24, then passes.
pub fn r0_of(id: u32, args: &[i32]) -> Vec<Insn> {
    let mut v = call_with(id, args);
    v.extend([mov(1, PKT), stx(op::DW, 1, 16, 0)]);
    v.extend(call_with(ids::HIKE_PASS, &[]));
    v.push(exit());
    v
}

/// The r0 that a chain of [`r0_of`] wrote into an output packet.
pub fn r0_in(packet: &[u8]) -> i64 {
    i64::from_le_bytes(packet[16..24].try_into().unwrap())
}

/// Runs the chain on `pkt` and returns (verdict, r0 recorded by `r0_of`, output packet).
pub fn run_r0(s: &mut Setup, chain: &[Insn], pkt: &[u8]) -> (XdpAction, i64, Vec<u8>) {
    s.classify_to(A, chain).unwrap();
    let out = s.run(pkt).unwrap();
    (out.action().unwrap(), r0_in(&out.packet), out.packet)
}

/// An IPv6/UDP frame from `src` to `dst`, ports 1000 -> 2000, 32 bytes of zeros.
pub fn frame_sd(src: &str, dst: &str) -> Vec<u8> {
    ipv6_udp_frame(ip6(src).unwrap(), ip6(dst).unwrap(), 1000, 2000, &[0u8; 32])
}

/// The pinned XDP program `package.name` of a set-up instance (to run it from a namespace).
pub fn pinned(s: &Setup, package: &str, name: &str) -> Xdp {
    Xdp::from_pin(s.hike.prog_pin(package, name), XdpAttachType::Interface)
        .expect("the program's pin")
}

/// A named network namespace of one test (`<prefix>fib` of a fresh test `LabEnv`), removed
/// on drop, also when the test panics; its interfaces, routes and neighbours go with it.
pub struct TestNs {
    name: String,
    ns: netns::Unnamed,
}

impl TestNs {
    pub fn new(tag: &str) -> Self {
        let name = LabEnv::for_test(tag).ns_name("fib");
        let ns = netns::create_unnamed().expect("network namespace");
        netns::register(&name, &ns).expect("name the namespace");
        Self { name, ns }
    }

    /// Runs `f` on a thread inside the namespace.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        netns::in_netns(&self.ns.fd, f).expect("enter the test namespace")
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        if let Err(e) = netns::unregister(&self.name, self.ns.ino) {
            eprintln!("could not remove namespace {}: {e}", self.name);
        }
    }
}

pub const IN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0a, 0x01];
pub const OUT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0b, 0x01];

fn v6(a: &str) -> IpAddr {
    IpAddr::from(ip6(a).unwrap())
}

/// A test namespace where packets are routed: a veth pair in0 (`IN_MAC`) <-> out0
/// (`OUT_MAC`), both up, IPv6 forwarding on, `fd00::1/64` on out0. Add routes with
/// [`RoutedNs::route`]; run a loader as if the packet arrived on in0 with
/// [`RoutedNs::run_on_in0`].
pub struct RoutedNs {
    pub ns: TestNs,
    pub in0: u32,
    pub out0: u32,
}

impl RoutedNs {
    pub fn new(tag: &str) -> Self {
        let ns = TestNs::new(tag);
        let (in0, out0) = ns.run(|| {
            let mut nl = Netlink::open().expect("netlink");
            nl.add_veth("in0", Some(IN_MAC), "out0", Some(OUT_MAC), None, None)
                .expect("veth");
            let index = |nl: &mut Netlink, n: &str| nl.link_by_name(n).unwrap().expect(n).index;
            let (in0, out0) = (index(&mut nl, "in0"), index(&mut nl, "out0"));
            nl.set_up(in0, true).unwrap();
            nl.set_up(out0, true).unwrap();
            netns::write_sysctl("net.ipv6.conf.all.forwarding", "1").unwrap();
            nl.add_addr(out0, v6("fd00::1"), 64).unwrap();
            (in0, out0)
        });
        assert_ne!(in0, out0);
        Self { ns, in0, out0 }
    }

    /// A route to `prefix/len` out of out0, through `via` if given; and a permanent
    /// neighbour (the next hop's MAC) when `neigh` is given.
    pub fn route(&self, prefix: &str, len: u8, via: Option<&str>, neigh: Option<(&str, [u8; 6])>) {
        let out0 = self.out0;
        self.ns.run(|| {
            let mut nl = Netlink::open().expect("netlink");
            nl.add_route(v6(prefix), len, via.map(v6), Some(out0))
                .unwrap();
            if let Some((addr, mac)) = neigh {
                nl.add_neigh(out0, v6(addr), mac).unwrap();
            }
        });
    }

    /// Runs `loader` on `frame` as received on in0: (verdict, output packet).
    pub fn run_on_in0(&self, loader: &Xdp, frame: &[u8]) -> (XdpAction, Vec<u8>) {
        let in0 = self.in0;
        let out = self
            .ns
            .run(|| test_run_from(loader, frame, 1, in0))
            .expect("test run");
        (out.action().unwrap(), out.packet)
    }
}

/// What a routed packet must look like: destination MAC `dmac`, source MAC out0's, hop limit
/// one less, nothing else changed.
pub fn routed(frame: &[u8], dmac: [u8; 6]) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[0..6].copy_from_slice(&dmac);
    f[6..12].copy_from_slice(&OUT_MAC);
    f[21] -= 1;
    f
}
