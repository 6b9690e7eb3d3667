//! A loader attached to a real interface inside its own network namespace: the attachment
//! is a pinned BPF link under the test's bpffs root, packets sent over a veth run the chain,
//! and detaching removes the program from the interface. The namespace is unnamed: it and
//! its veth pair vanish with the test.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use eclat_kernel::hike::asm::{call_with, exit};
use eclat_kernel::hike::bench::{Setup, ddos_chain, ids};
use eclat_kernel::hike::packet::bench_frame;
use eclat_kernel::netlink::Netlink;
use eclat_kernel::netns;

const A: u32 = hike::FIRST_CHAIN_ID;

/// Sends `n` copies of `frame` out of interface `ifindex` with a raw packet socket.
fn send_raw(ifindex: u32, frame: &[u8], n: usize) -> std::io::Result<()> {
    // SAFETY: plain socket/sendto/close calls with a zeroed, correctly sized sockaddr_ll and
    // a live frame buffer.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        for _ in 0..n {
            let r = libc::sendto(
                fd,
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            if r < 0 {
                let e = std::io::Error::last_os_error();
                libc::close(fd);
                return Err(e);
            }
        }
        libc::close(fd);
    }
    Ok(())
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn loader_attached_in_a_namespace_runs_chains_on_real_packets() {
    let mut s = Setup::new("eclat-lab-test").expect("HIKe setup");
    let ns = netns::create_unnamed().expect("network namespace");
    let (tx, rx) = netns::in_netns(&ns.fd.as_fd(), || {
        let mut nl = Netlink::open().expect("netlink");
        nl.add_veth("hk0", None, "hk1", None, None, None)
            .expect("veth");
        let a = nl.link_by_name("hk0").unwrap().expect("hk0").index;
        let b = nl.link_by_name("hk1").unwrap().expect("hk1").index;
        nl.set_up(a, true).unwrap();
        nl.set_up(b, true).unwrap();
        (a, b)
    })
    .expect("enter namespace");

    // chain: monitor(9); hike_drop
    let mut c = call_with(ids::MONITOR, &[9]);
    c.extend(call_with(ids::HIKE_DROP, &[]));
    c.push(exit());
    s.classify_to(A, &c).unwrap();
    let pin = s
        .hike
        .attach(
            "hike_default",
            "ip6_simple_classifier",
            rx,
            Some(ns.fd.as_fd()),
            "test/hk1",
        )
        .expect("attach");
    assert!(pin.starts_with(s.root.path()) && pin.exists());

    let xdp_id = |ifindex: u32| {
        netns::in_netns(&ns.fd.as_fd(), || {
            let mut nl = Netlink::open().unwrap();
            nl.links()
                .unwrap()
                .into_iter()
                .find(|l| l.index == ifindex)
                .and_then(|l| l.xdp_prog_id)
        })
        .unwrap()
    };
    assert!(xdp_id(rx).is_some(), "the loader is attached to hk1");

    let mon = |s: &Setup| {
        s.hike
            .percpu_u64_sum("hike_default", "map_pcpu_mon", &9u32.to_ne_bytes())
            .unwrap()
    };
    let frame = bench_frame();
    netns::in_netns(&ns.fd.as_fd(), || send_raw(tx, &frame, 25))
        .unwrap()
        .expect("send");
    wait_for("25 packets counted by monitor(9)", || mon(&s) == 25);

    assert!(s.hike.detach("ip6_simple_classifier", "test/hk1").unwrap());
    assert!(!pin.exists());
    wait_for("hk1 without XDP", || xdp_id(rx).is_none());
    assert!(!s.hike.detach("ip6_simple_classifier", "test/hk1").unwrap());
    assert_eq!(mon(&s), 25);
}

/// The flagship policy with real traffic (lesson 8): a flood from one source over a veth into
/// the loader running the DDoS chain; 10 packets pass (5 per-destination tokens, then 5 per
/// (src,dst)), the 11th blacklists the pair, and from then on 1 in 500 goes to the collector
/// through `l2_redirect` (a second veth pair whose far end runs the plain `xdp_pass`), the rest
/// are dropped. Counted exactly by monitor and by the collector interface's rx counter.
#[test]
fn ddos_chain_on_real_traffic_samples_to_the_collector() {
    let mut s = Setup::new("eclat-lab-test").expect("HIKe setup");
    let ns = netns::create_unnamed().expect("network namespace");
    let nsfd = ns.fd.as_fd();
    let (tx, rx, cl, clt) = netns::in_netns(&nsfd, || {
        for k in [
            "net.ipv6.conf.all.disable_ipv6",
            "net.ipv6.conf.default.disable_ipv6",
        ] {
            netns::write_sysctl(k, "1").unwrap();
        }
        let mut nl = Netlink::open().expect("netlink");
        nl.add_veth("tg0", None, "sut0", None, None, None)
            .expect("veth");
        nl.add_veth("cl0", None, "clt0", None, None, None)
            .expect("veth");
        let idx = |nl: &mut Netlink, n: &str| nl.link_by_name(n).unwrap().expect(n).index;
        let v: Vec<u32> = ["tg0", "sut0", "cl0", "clt0"]
            .iter()
            .map(|n| idx(&mut nl, n))
            .collect();
        for i in &v {
            nl.set_up(*i, true).unwrap();
        }
        (v[0], v[1], v[2], v[3])
    })
    .expect("enter namespace");
    s.hike
        .attach("xdp_pass", "xdp_pass", clt, Some(nsfd), "test/clt0")
        .expect("attach xdp_pass to the collector end");
    s.classify_to(A, &ddos_chain(cl)).unwrap();
    s.hike
        .attach(
            "hike_default",
            "ip6_simple_classifier",
            rx,
            Some(nsfd),
            "test/sut0",
        )
        .expect("attach the loader");
    let rx_of = |ifindex: u32| {
        netns::in_netns(&nsfd, || {
            let mut nl = Netlink::open().unwrap();
            nl.links()
                .unwrap()
                .into_iter()
                .find(|l| l.index == ifindex)
                .map(|l| l.rx_packets)
                .unwrap_or(0)
        })
        .unwrap()
    };
    let clt_before = rx_of(clt);
    let mon = |s: &Setup, ev: u32| {
        s.hike
            .percpu_u64_sum("hike_default", "map_pcpu_mon", &ev.to_ne_bytes())
            .unwrap()
    };
    // the programs' clock stopped: 1100 packets take as long as the machine needs, and no
    // bucket refills meanwhile (with the kernel's clock every 50 ms of the flood let one
    // more packet pass)
    s.hike
        .set_test_clock(std::num::NonZeroU32::new(1000))
        .unwrap();
    let frame = bench_frame();
    netns::in_netns(&nsfd, || send_raw(tx, &frame, 1100))
        .unwrap()
        .expect("send");
    wait_for("1100 packets through the chain", || {
        mon(&s, 0) + mon(&s, 1) + mon(&s, 2) == 1100
    });
    assert_eq!((mon(&s, 0), mon(&s, 1), mon(&s, 2)), (10, 1088, 2));
    wait_for("2 sampled packets at the collector", || {
        rx_of(clt) >= clt_before + 2
    });
    assert_eq!(rx_of(clt), clt_before + 2);
    let _ = cl;
}
