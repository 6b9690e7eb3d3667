//! The default HIKe programs, loaders and raw baselines in the real kernel, each against its
//! documented behaviour (hike.md section 7), plus what their BTF says (signatures, maps,
//! constants). Every test has its own bpffs root, removed on drop; the FIB test also its own
//! network namespace.

mod support;

use eclat_kernel::hike::asm::{self, call_with, exit, mov, stx};
use eclat_kernel::hike::bench::{Setup, ddos_chain, ids, pipeline_chain};
use eclat_kernel::hike::packet::{
    ExtHeader, bench_frame, ip6, ipv4_udp_frame, ipv6_ext_udp_frame, ipv6_hbh_udp_frame,
};
use eclat_kernel::netns;
use hike::catalog::{IntType, ProgramKind};
use hike::insn::op;
use hike::{Insn, XdpAction};
use support::*;

fn mon(s: &Setup, ev: u32) -> u64 {
    s.hike
        .percpu_u64_sum("hike_default", "map_pcpu_mon", &ev.to_ne_bytes())
        .unwrap()
}

#[test]
fn monitor_counts_events_and_continues() {
    let mut s = setup();
    let (v, r0, _) = run_r0(&mut s, &r0_of(ids::MONITOR, &[7]), &bench_frame());
    assert_eq!((v, r0), (XdpAction::Pass, 0));
    for _ in 0..4 {
        s.run(&bench_frame()).unwrap();
    }
    assert_eq!(mon(&s, 7), 5);
    assert_eq!(mon(&s, 8), 0);
}

#[test]
fn ip6_hset_srcdst_blacklists_pairs() {
    let mut s = setup();
    let p = frame_sd("12:1::1", "fc01::2");
    let q = frame_sd("12:1::9", "fc01::2");
    let enoent = -(libc::ENOENT as i64);
    assert_eq!(
        run_r0(&mut s, &r0_of(ids::IP6_HSET_SRCDST, &[0]), &p).1,
        enoent
    );
    assert_eq!(run_r0(&mut s, &r0_of(ids::IP6_HSET_SRCDST, &[1]), &p).1, 0);
    assert_eq!(run_r0(&mut s, &r0_of(ids::IP6_HSET_SRCDST, &[0]), &p).1, 0);
    assert_eq!(run_r0(&mut s, &r0_of(ids::IP6_HSET_SRCDST, &[2]), &p).1, 0);
    assert_eq!(
        run_r0(&mut s, &r0_of(ids::IP6_HSET_SRCDST, &[0]), &q).1,
        enoent
    );
    // an expired entry (timestamp 11 s ago) is absent, and LOOKUP_AND_CLEAN removes it
    let mut key = ip6("12:1::1").unwrap().to_vec();
    key.extend(ip6("fc01::2").unwrap());
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    let now_ns = now.tv_sec() as u64 * 1_000_000_000 + now.tv_nsec() as u64;
    let mut val = (now_ns - 11_000_000_000).to_ne_bytes().to_vec();
    val.extend(10_000_000_000u64.to_ne_bytes());
    s.hike
        .map_update("hike_default", "ip6_hset_srcdst_map", &key, &val)
        .unwrap();
    assert_eq!(
        run_r0(&mut s, &r0_of(ids::IP6_HSET_SRCDST, &[2]), &p).1,
        enoent
    );
    assert!(
        s.hike
            .map_lookup("hike_default", "ip6_hset_srcdst_map", &key, 16)
            .unwrap()
            .is_none()
    );
}

#[test]
fn lse_and_meters() {
    let mut s = setup();
    let p = frame_sd("12:1::1", "fc01::2");
    clock(&s, 1000);
    assert_eq!(
        run_r0(&mut s, &r0_of(ids::LSE, &[]), &p).1,
        -1,
        "all ones on the first packet"
    );
    clock(&s, 1250);
    let second = run_r0(&mut s, &r0_of(ids::LSE, &[]), &p).1;
    assert_eq!(second, 250_000_000, "ns since the flow's previous packet");
    for n in 1..=3 {
        assert_eq!(run_r0(&mut s, &r0_of(ids::IP6_DST_METER, &[]), &p).1, n);
    }
    assert_eq!(run_r0(&mut s, &r0_of(ids::IP6_SD_METER, &[]), &p).1, 1);
    let other = frame_sd("12:1::5", "fc01::2");
    assert_eq!(run_r0(&mut s, &r0_of(ids::IP6_SD_METER, &[]), &other).1, 1);
    assert_eq!(run_r0(&mut s, &r0_of(ids::IP6_DST_METER, &[]), &other).1, 4);
}

#[test]
fn token_bucket_monitors_allow_a_burst_of_five() {
    let mut s = setup();
    let p = frame_sd("12:1::1", "fc01::2");
    for prog in [ids::IP6_DST_TBMON, ids::IP6_SD_TBMON] {
        s.classify_to(A, &r0_of(prog, &[])).unwrap();
        let run = |n: usize| -> Vec<i64> {
            (0..n)
                .map(|_| {
                    let out = s.run(&p).unwrap();
                    i64::from_le_bytes(out.packet[16..24].try_into().unwrap())
                })
                .collect()
        };
        // the clock stopped: 5 tokens, then out of profile
        clock(&s, 1000);
        assert_eq!(run(8), vec![0, 0, 0, 0, 0, -1, -1, -1], "program {prog}");
        // 20 tokens/s: 49 ms refill less than a token, 50 ms exactly one
        clock(&s, 1049);
        assert_eq!(run(1), vec![-1], "program {prog}, 49 ms later");
        clock(&s, 1099);
        assert_eq!(run(2), vec![0, -1], "program {prog}, 50 ms after that");
        // a bucket fills up to 5 tokens, never more, however long it waited
        clock(&s, 60_000);
        assert_eq!(
            run(6),
            vec![0, 0, 0, 0, 0, -1],
            "program {prog}, a minute later"
        );
    }
}

#[test]
fn dec2zero_samples_one_in_n() {
    let mut s = setup();
    let p = frame_sd("12:1::1", "fc01::2");
    s.classify_to(A, &r0_of(ids::IP6_SD_DEC2ZERO, &[3]))
        .unwrap();
    let got: Vec<i64> = (0..7)
        .map(|_| {
            let out = s.run(&p).unwrap();
            i64::from_le_bytes(out.packet[16..24].try_into().unwrap())
        })
        .collect();
    assert_eq!(got, vec![2, 1, 0, 2, 1, 0, 2]);
}

#[test]
fn final_programs_and_redirects() {
    let mut s = setup();
    let p = bench_frame();
    let fin = |id: u32, args: &[i32]| {
        let mut v = call_with(id, args);
        v.push(exit());
        v
    };
    s.classify_to(A, &fin(ids::L2_REDIRECT, &[0])).unwrap();
    assert_eq!(s.run(&p).unwrap().action(), Some(XdpAction::Drop));
    s.classify_to(A, &fin(ids::L2_REDIRECT, &[1])).unwrap();
    assert_eq!(s.run(&p).unwrap().action(), Some(XdpAction::Redirect));
    // l2xcon: no entry for the ingress ifindex -> drop
    s.classify_to(A, &fin(ids::L2XCON, &[])).unwrap();
    assert_eq!(s.run(&p).unwrap().action(), Some(XdpAction::Drop));
    // ip6_kroute: no route for fc01::2 in this namespace's FIB from test-run's ingress: pass
    s.classify_to(A, &fin(ids::IP6_KROUTE, &[])).unwrap();
    assert_eq!(s.run(&p).unwrap().action(), Some(XdpAction::Pass));
}

/// `ip6_kroute` routes through the FIB of the namespace the packet arrives in: a veth pair
/// in0 <-> out0 in the test's own namespace, forwarding on, routes out of out0 (direct and
/// through a gateway) with permanent neighbours. The chain {ip6_kroute} runs under
/// `BPF_PROG_TEST_RUN` with the packet received on in0; documented behaviour (hike.md 7):
/// redirect with the hop limit decremented and the MACs rewritten (destination = the
/// neighbour, source = the egress interface); PASS to the kernel when it cannot.
#[test]
fn ip6_kroute_redirects_through_the_fib() {
    const NEIGH_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0c, 0x02];
    const GW_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0d, 0x02];
    let mut s = setup();
    let mut c = call_with(ids::IP6_KROUTE, &[]);
    c.push(exit());
    s.classify_to(A, &c).unwrap();
    let loader = pinned(&s, "hike_default", "ip6_simple_classifier");

    let net = RoutedNs::new("kroute");
    // fc01::/64 on out0's link; 2001:db8:7::/48 through the gateway fd00::2;
    // fc02::/64 on out0's link without a neighbour for fc02::2
    net.route("fc01::", 64, None, Some(("fc01::2", NEIGH_MAC)));
    net.route(
        "2001:db8:7::",
        48,
        Some("fd00::2"),
        Some(("fd00::2", GW_MAC)),
    );
    net.route("fc02::", 64, None, None);
    let to = |dst: &str, hop_limit: u8| {
        let mut f = frame_sd("12:1::1", dst);
        f[21] = hop_limit;
        f
    };

    let direct = to("fc01::2", 64);
    assert_eq!(
        net.run_on_in0(&loader, &direct),
        (XdpAction::Redirect, routed(&direct, NEIGH_MAC)),
        "a route on the link and a neighbour: redirect to it"
    );
    let via_gw = to("2001:db8:7::5", 2);
    assert_eq!(
        net.run_on_in0(&loader, &via_gw),
        (XdpAction::Redirect, routed(&via_gw, GW_MAC)),
        "a route through a gateway: the gateway's MAC"
    );
    for (what, frame) in [
        ("a route but no neighbour", to("fc02::2", 64)),
        ("no route", to("fc03::2", 64)),
        (
            "hop limit 1: the kernel answers time exceeded",
            to("fc01::2", 1),
        ),
    ] {
        assert_eq!(
            net.run_on_in0(&loader, &frame),
            (XdpAction::Pass, frame.clone()),
            "{what}: pass, unchanged"
        );
    }
    net.ns
        .run(|| netns::write_sysctl("net.ipv6.conf.in0.forwarding", "0"))
        .unwrap();
    assert_eq!(
        net.run_on_in0(&loader, &direct),
        (XdpAction::Pass, direct.clone()),
        "forwarding off on the ingress interface: pass, unchanged"
    );
}

#[test]
fn set_ecn_marks_ce() {
    let mut s = setup();
    let p = bench_frame();
    s.classify_to(A, &pipeline_chain()).unwrap();
    let before = mon(&s, 0);
    let out = s.run(&p).unwrap();
    assert_eq!(out.action(), Some(XdpAction::Pass));
    assert_eq!(out.packet[15] & 0x30, 0x30, "ECN = CE");
    let mut expect = p.clone();
    expect[15] |= 0x30;
    assert_eq!(out.packet, expect);
    assert_eq!(mon(&s, 0), before + 1);
}

#[test]
fn app_cfg_store_and_load() {
    let mut s = setup();
    let p = bench_frame();
    let enoent = -(libc::ENOENT as i64);
    assert_eq!(
        run_r0(&mut s, &r0_of(ids::APP_CFG_LOAD, &[5]), &p).1,
        enoent
    );
    assert_eq!(
        run_r0(&mut s, &r0_of(ids::APP_CFG_STORE, &[5, 77]), &p).1,
        0
    );
    assert_eq!(run_r0(&mut s, &r0_of(ids::APP_CFG_LOAD, &[5]), &p).1, 77);
}

/// What `ip6_find_udp` leaves: (r0, pkt_info.dataoff, pkt_info.thoff).
type Answer = (i64, u32, u32);

/// A chain that calls `ip6_find_udp`, then writes its r0 into packet bytes 16..24 and
/// `pkt_info.dataoff` / `thoff` (shared memory offsets 0 and 12) into bytes 24..28 / 28..32.
fn find_udp_chain() -> Vec<Insn> {
    let mut c = call_with(ids::IP6_FIND_UDP, &[]);
    c.extend([
        mov(1, PKT),
        stx(op::DW, 1, 16, 0),
        mov(2, 0x0300_0000),
        asm::ldx(op::W, 3, 2, 0),
        stx(op::W, 1, 24, 3),
        asm::ldx(op::W, 3, 2, 12),
        stx(op::W, 1, 28, 3),
    ]);
    c.extend(call_with(ids::HIKE_PASS, &[]));
    c.push(exit());
    c
}

/// What `ip6_find_udp` left for `frame` (the chain of [`find_udp_chain`] must be stored):
/// (r0, dataoff, thoff).
fn find_udp(s: &Setup, frame: &[u8]) -> Answer {
    let out = s.run(frame).unwrap();
    assert_eq!(out.action(), Some(XdpAction::Pass));
    let p = &out.packet;
    (
        i64::from_le_bytes(p[16..24].try_into().unwrap()),
        u32::from_le_bytes(p[24..28].try_into().unwrap()),
        u32::from_le_bytes(p[28..32].try_into().unwrap()),
    )
}

/// How many extension headers `ip6_find_udp` walks through before it gives up.
const MAX_EXT_HEADERS: usize = 6;

/// Where the UDP header of an Ethernet + IPv6 frame starts, found here from RFC 8200 alone
/// (independently of the program and of the reference model): follow the next header fields
/// through at most [`MAX_EXT_HEADERS`] hop-by-hop, routing, fragment and destination options
/// headers. A header's length comes from the header itself: 8 bytes for a fragment header
/// (its second byte is reserved), `8 * (Hdr Ext Len + 1)` for the others. `None` when the chain
/// reaches anything else, is longer than the limit, or the UDP header is not all in the frame.
fn udp_offset(frame: &[u8]) -> Option<usize> {
    let mut next = frame[20];
    let mut off = 54;
    let mut walked = 0;
    loop {
        match next {
            17 => return (off + 8 <= frame.len()).then_some(off),
            0 | 43 | 44 | 60 if walked < MAX_EXT_HEADERS => {
                let header = frame.get(off..off + 2)?;
                if next == 44 {
                    // RFC 8200 4.5: a 13-bit offset, then 2 reserved bits and the M flag;
                    // only the fragment at offset 0 holds the upper-layer header
                    let field = frame.get(off + 2..off + 4)?;
                    if u16::from_be_bytes([field[0], field[1]]) >> 3 != 0 {
                        return None;
                    }
                }
                let len = match next {
                    44 => 8,
                    _ => 8 * (header[1] as usize + 1),
                };
                next = header[0];
                off += len;
                walked += 1;
            }
            _ => return None,
        }
    }
}

/// The answer `ip6_find_udp` must give: r0 = 17 with dataoff = thoff = the UDP header, or
/// r0 = -ENOENT with pkt_info as the loader left it (both at the end of the IPv6 header).
fn expected_find_udp(frame: &[u8]) -> Answer {
    match udp_offset(frame) {
        Some(off) => (17, off as u32, off as u32),
        None => (-(libc::ENOENT as i64), 54, 54),
    }
}

/// The reference VM's model of `ip6_find_udp` (hike::vm::models) on `frame`, after the
/// loader's model filled `pkt_info`: (r0, dataoff, thoff).
fn model_find_udp(frame: &[u8]) -> Answer {
    use hike::vm::{Ctx, ProgramResult, Programs, models};
    let mut m = models::Models::new();
    assert!(m.register(1, "ip6_find_udp"));
    let mut packet = frame.to_vec();
    let mut shmem = vec![0u8; 4096];
    models::fill_pkt_info(&packet, &mut shmem);
    let mut ctx = Ctx {
        packet: &mut packet,
        shmem: &mut shmem,
        redirect: None,
        caller_regs: [0; 11],
    };
    let Some(ProgramResult::Continue(r0)) = m.call(1, [1, 0, 0, 0], &mut ctx) else {
        panic!("the model of ip6_find_udp continues the chain");
    };
    let word = |off: usize| u32::from_le_bytes(shmem[off..off + 4].try_into().unwrap());
    (r0 as i64, word(0), word(12))
}

fn ext_frame(headers: &[ExtHeader], payload: &[u8]) -> Vec<u8> {
    ipv6_ext_udp_frame(
        ip6("12:1::1").unwrap(),
        ip6("fc01::2").unwrap(),
        1,
        53,
        headers,
        payload,
    )
}

#[test]
fn ip6_find_udp_walks_extension_headers() {
    let mut s = setup();
    s.classify_to(A, &find_udp_chain()).unwrap();
    let enoent = -(libc::ENOENT as i64);
    let hbh = ipv6_hbh_udp_frame(ip6("12:1::1").unwrap(), ip6("fc01::2").unwrap(), 1, 53);
    assert_eq!(find_udp(&s, &hbh), (17, 62, 62));
    assert_eq!(find_udp(&s, &bench_frame()), (17, 54, 54));
    let icmp = {
        let mut f = bench_frame();
        f[20] = 58;
        f
    };
    assert_eq!(find_udp(&s, &icmp), (enoent, 54, 54));

    use ExtHeader as H;
    let cases: Vec<(&str, Vec<H>, Option<usize>, Answer)> = vec![
        (
            // a later fragment of a datagram has no UDP header, whatever follows the header
            "fragment at offset 185 (8-byte units) -> UDP",
            vec![H::fragment_at(0, 185, 7)],
            None,
            (enoent, 54, 54),
        ),
        (
            // the hop-by-hop header's length must not be taken as a fragment header's
            "hop-by-hop (16 bytes) -> fragment -> UDP",
            vec![H::options(0, 16), H::fragment(0, 7)],
            None,
            (17, 78, 78),
        ),
        (
            // the fragment header's reserved byte is not a length
            "fragment (reserved byte 0x11) -> UDP",
            vec![H::fragment(0x11, 7)],
            None,
            (17, 62, 62),
        ),
        (
            "routing (24 bytes) -> destination options (8 bytes) -> UDP",
            vec![H::routing(24), H::options(60, 8)],
            None,
            (17, 86, 86),
        ),
        (
            "destination options (16) -> fragment (reserved 0xff) -> destination options (40) -> UDP",
            vec![H::options(60, 16), H::fragment(0xff, 1), H::options(60, 40)],
            None,
            (17, 118, 118),
        ),
        (
            "six extension headers (the limit) -> UDP",
            vec![
                H::options(0, 8),
                H::routing(16),
                H::fragment(3, 2),
                H::options(60, 8),
                H::options(60, 8),
                H::options(60, 8),
            ],
            None,
            (17, 110, 110),
        ),
        (
            "seven extension headers (over the limit) -> UDP",
            vec![H::options(60, 8); 7],
            None,
            (enoent, 54, 54),
        ),
        (
            "hop-by-hop (16 bytes), the frame ends after 10 of its bytes",
            vec![H::options(0, 16)],
            Some(54 + 10),
            (enoent, 54, 54),
        ),
        (
            "hop-by-hop (8 bytes) -> UDP, the frame ends after 4 bytes of UDP header",
            vec![H::options(0, 8)],
            Some(54 + 8 + 4),
            (enoent, 54, 54),
        ),
        (
            "fragment -> routing, the frame ends after 1 byte of the routing header",
            vec![H::fragment(0, 9), H::routing(8)],
            Some(54 + 8 + 1),
            (enoent, 54, 54),
        ),
    ];
    let mut wrong = Vec::new();
    for (what, headers, keep, want) in &cases {
        let mut f = ext_frame(headers, &[0xab; 8]);
        if let Some(keep) = keep {
            f.truncate(*keep);
        }
        assert_eq!(expected_find_udp(&f), *want, "the test's walker: {what}");
        let got = find_udp(&s, &f);
        if got != *want {
            wrong.push(format!(
                "{what}: (r0, dataoff, thoff) = {got:?}, expected {want:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `ip6_find_udp` (the kernel program and the reference VM's model) against the walker of
/// this file on generated header chains: random kinds, lengths, orders, reserved bytes, final
/// protocols and truncations, from a fixed seed.
#[test]
fn ip6_find_udp_agrees_with_an_independent_walker() {
    let mut s = setup();
    s.classify_to(A, &find_udp_chain()).unwrap();
    // splitmix64: deterministic, no dependency
    let mut state = 0x2024_0603_5eed_u64;
    let mut rnd = move |n: u64| {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    };
    let (mut found, mut not_found) = (0, 0);
    let mut wrong = Vec::new();
    for case in 0..400 {
        let n = rnd(MAX_EXT_HEADERS as u64 + 3) as usize;
        let mut headers = Vec::new();
        for _ in 0..n {
            // mostly short headers, now and then up to 320 bytes
            let most = if rnd(8) == 0 { 40 } else { 6 };
            let len = 8 * (1 + rnd(most) as usize);
            headers.push(match rnd(4) {
                0 => ExtHeader::options(0, len),
                1 => ExtHeader::routing(len),
                // a first fragment mostly, now and then a later one
                2 => ExtHeader::fragment_at(
                    rnd(256) as u8,
                    if rnd(4) == 0 { rnd(8192) as u16 } else { 0 },
                    rnd(1 << 32) as u32,
                ),
                _ => ExtHeader::options(60, len),
            });
        }
        // now and then a header a walker must stop at (ICMPv6, TCP, no next header)
        if n > 0 && rnd(8) == 0 {
            let i = rnd(n as u64) as usize;
            headers[i].proto = [58, 6, 59][rnd(3) as usize];
        }
        let payload = vec![0x5a; rnd(24) as usize];
        let mut f = ext_frame(&headers, &payload);
        // now and then a frame cut short, but never inside the IPv6 header
        if rnd(5) == 0 {
            let keep = 56 + rnd((f.len() - 56) as u64) as usize;
            f.truncate(keep);
        }
        let want = expected_find_udp(&f);
        if want.0 == 17 {
            found += 1;
        } else {
            not_found += 1;
        }
        let kinds: Vec<(u8, usize)> = headers.iter().map(|h| (h.proto, h.bytes.len())).collect();
        let got = find_udp(&s, &f);
        let model = model_find_udp(&f);
        if got != want || model != want {
            wrong.push(format!(
                "case {case}: headers (proto, bytes) {kinds:?}, frame of {} bytes: \
                 (r0, dataoff, thoff) = {got:?} (kernel), {model:?} (model), expected {want:?}",
                f.len()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of 400 chains disagree, the first ones:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(8)].join("\n")
    );
    // the generator reaches both answers often
    assert!(
        found > 100 && not_found > 50,
        "{found} found, {not_found} not"
    );
}

#[test]
fn show_pkt_info_feeds_the_ring_buffer() {
    let mut s = setup();
    let mut reader = s.hike.pkt_info_reader().unwrap();
    let mut c = call_with(ids::SHOW_PKT_INFO, &[7, 42]);
    c.extend(call_with(ids::HIKE_PASS, &[]));
    c.push(exit());
    s.classify_to(A, &c).unwrap();
    let p = frame_sd("12:1::1", "fc01::2");
    assert_eq!(s.run(&p).unwrap().action(), Some(XdpAction::Pass));
    let ev = reader.drain();
    assert_eq!(ev.len(), 1, "{ev:?}");
    let e = &ev[0];
    assert_eq!(
        (e.cookie, e.layers, e.eth_proto, e.l4_proto),
        (42, 7, 0x86dd, 17)
    );
    assert_eq!(e.saddr, ip6("12:1::1").unwrap());
    assert_eq!(e.daddr, ip6("fc01::2").unwrap());
    assert_eq!((e.sport, e.dport), (1000, 2000));
    let line = e.to_string();
    assert!(
        line.contains("12:1::1 > fc01::2") && line.contains("L4 1000 > 2000"),
        "{line}"
    );
}

#[test]
fn loaders_pick_chains_and_pass_the_rest() {
    let mut s = setup();
    let mut pass = call_with(ids::HIKE_PASS, &[]);
    pass.push(exit());
    let mut drop = call_with(ids::HIKE_DROP, &[]);
    drop.push(exit());
    s.hike.store_chain(A, &drop).unwrap();
    s.hike.store_chain(A + 1, &pass).unwrap();
    // per destination
    s.hike
        .set_loader_chain(
            "hike_default",
            "ip6_dst_classifier_map",
            &ip6("fc01::2").unwrap(),
            A,
        )
        .unwrap();
    let run = |name: &str, p: &[u8]| {
        s.hike
            .test_run("hike_default", name, p, 1)
            .unwrap()
            .action()
            .unwrap()
    };
    assert_eq!(
        run("ip6_dst_classifier", &frame_sd("12:1::1", "fc01::2")),
        XdpAction::Drop
    );
    assert_eq!(
        run("ip6_dst_classifier", &frame_sd("12:1::1", "fc01::3")),
        XdpAction::Pass
    );
    // UDP destination port, IPv6 and IPv4
    s.hike
        .set_loader_chain(
            "hike_default",
            "udp_dport_classifier_map",
            &2000u16.to_ne_bytes(),
            A,
        )
        .unwrap();
    assert_eq!(
        run("udp_dport_classifier", &frame_sd("12:1::1", "fc01::2")),
        XdpAction::Drop
    );
    let v4 = ipv4_udp_frame([10, 12, 1, 1], [10, 12, 1, 2], 5, 2000, &[0; 8]);
    assert_eq!(run("udp_dport_classifier", &v4), XdpAction::Drop);
    let v4other = ipv4_udp_frame([10, 12, 1, 1], [10, 12, 1, 2], 5, 2001, &[0; 8]);
    assert_eq!(run("udp_dport_classifier", &v4other), XdpAction::Pass);
    // simple classifier without a chain configured: pass
    assert_eq!(
        run("ip6_simple_classifier", &bench_frame()),
        XdpAction::Pass
    );
}

/// The flagship: the DDoS chain and the hand-written program make the same decision for
/// every packet of a flood and of a slow flow (lesson 8, experiment 4 of the original).
/// A linked chain's programs read the test clock where every part finds the configuration,
/// in place (`hike/clock.h`, `__hike_config`): with the clock stopped, a flow blacklisted at
/// its 11th packet stays blacklisted however long the machine takes; moved on by 10 s (the
/// blacklist's timeout), its next packet passes again (the entry expired, the buckets
/// refilled), which the kernel's own clock, a few milliseconds further, could not give.
#[test]
fn a_linked_chain_follows_the_test_clock() {
    let mut s = setup();
    s.classify_to(A, &ddos_chain(1)).unwrap();
    assert!(
        matches!(
            s.hike.tier(A),
            Some(eclat_kernel::hike::tier::Tier::Compiled { linked: true, .. })
        ),
        "{:?}",
        s.hike.tier(A)
    );
    let flood = frame_sd("12:1::1", "fc01::2");
    clock(&s, 1000);
    let burst: Vec<XdpAction> = (0..12)
        .map(|_| s.run(&flood).unwrap().action().unwrap())
        .collect();
    assert!(
        burst[..10].iter().all(|v| *v == XdpAction::Pass),
        "{burst:?}"
    );
    assert_eq!(burst[10..], [XdpAction::Drop, XdpAction::Drop], "{burst:?}");
    // 9.999 s later: still on the blacklist
    clock(&s, 1000 + 9_999);
    assert_eq!(s.run(&flood).unwrap().action(), Some(XdpAction::Drop));
    // 10 s after it was blacklisted: off it, and the destination's bucket full again
    clock(&s, 1000 + 10_001);
    assert_eq!(s.run(&flood).unwrap().action(), Some(XdpAction::Pass));
}

#[test]
fn ddos_chain_matches_the_hand_written_program() {
    let mut s = setup();
    s.classify_to(A, &ddos_chain(1)).unwrap();
    s.hike
        .map_update("ddos", "ddos_cfg", &0u32.to_ne_bytes(), &1u32.to_ne_bytes())
        .unwrap();
    let flood = frame_sd("12:1::1", "fc01::2");
    let mut chain_v = Vec::new();
    let mut raw_v = Vec::new();
    for _ in 0..1200 {
        chain_v.push(s.run(&flood).unwrap().action().unwrap());
        raw_v.push(
            s.hike
                .test_run("ddos", "ddos_raw", &flood, 1)
                .unwrap()
                .action()
                .unwrap(),
        );
    }
    assert_eq!(chain_v, raw_v);
    // 5 in profile for the destination, 5 more for the pair, then blacklisted: the 11th is
    // the one that gets blacklisted
    assert!(
        chain_v[..10].iter().all(|v| *v == XdpAction::Pass),
        "{:?}",
        &chain_v[..12]
    );
    assert_eq!(chain_v[10], XdpAction::Drop);
    let redirects = chain_v
        .iter()
        .filter(|v| **v == XdpAction::Redirect)
        .count();
    assert_eq!(
        redirects, 2,
        "1 in 500 of the blacklisted flow goes to the collector"
    );
    let drops = chain_v.iter().filter(|v| **v == XdpAction::Drop).count();
    assert_eq!(mon(&s, 1), drops as u64);
    assert_eq!(mon(&s, 2), 2);
    assert_eq!(mon(&s, 0), 10);
    let raw_mon = |ev: u32| {
        s.hike
            .percpu_u64_sum("ddos", "ddos_mon", &ev.to_ne_bytes())
            .unwrap()
    };
    assert_eq!((raw_mon(0), raw_mon(1), raw_mon(2)), (10, drops as u64, 2));
}

#[test]
fn btf_catalog_describes_signatures_maps_and_constants() {
    let mut s = setup();
    let cat = s.hike.catalog();
    let monitor = cat.program("hike_default", "monitor").expect("monitor");
    assert_eq!(monitor.kind, ProgramKind::Continue);
    assert_eq!(monitor.params.len(), 1);
    assert_eq!(
        (monitor.params[0].name.as_str(), monitor.params[0].ty),
        ("event", IntType::U32)
    );
    assert_eq!(monitor.maps.len(), 1);
    let m = &monitor.maps[0];
    assert_eq!(
        (m.name.as_str(), m.map_type.as_str(), m.max_entries),
        ("map_pcpu_mon", "percpu_hash", 64)
    );
    assert_eq!((m.key.size, m.value.size), (4, 8));
    for f in [
        "hike_pass",
        "hike_drop",
        "l2_redirect",
        "l2xcon",
        "ip6_kroute",
    ] {
        assert_eq!(
            cat.program("hike_default", f).unwrap().kind,
            ProgramKind::Final,
            "{f}"
        );
    }
    let store = cat.program("hike_default", "app_cfg_store").unwrap();
    let names: Vec<&str> = store.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["key", "value"]);
    let add3 = cat.program("bench", "hike_add3").unwrap();
    assert_eq!(add3.params.len(), 3);
    let hset = cat.program("hike_default", "ip6_hset_srcdst").unwrap();
    let key = &hset.maps[0].key;
    assert_eq!(key.size, 32);
    let fields: Vec<(&str, u32, u32)> = key
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.offset, f.size))
        .collect();
    assert_eq!(fields, [("saddr", 0, 16), ("daddr", 16, 16)]);
    let value = &hset.maps[0].value;
    assert_eq!(value.fields[1].name, "timeout_ns");
    assert_eq!(value.fields[1].int, Some(IntType::U64));
    let loader = cat.loader("hike_default", "ip6_simple_classifier").unwrap();
    assert_eq!(loader.maps[0].name, "ipv6_simple_classifier_map");
    let c = |n: &str| cat.constants.iter().find(|c| c.name == n).map(|c| c.value);
    assert_eq!(c("HIKE_EV_DROP"), Some(1));
    assert_eq!(c("HIKE_HSET_LOOKUP_AND_CLEAN"), Some(2));
    assert_eq!(c("HIKE_TB_OUT_PROFILE"), Some(-1));
    // decoding a key for display
    let mut k = ip6("12:1::1").unwrap().to_vec();
    k.extend(ip6("fc01::2").unwrap());
    assert_eq!(
        eclat_model::display::format(key, &k),
        "{saddr: 12:1::1, daddr: fc01::2}"
    );
    // pins in the original's shape
    let root = s.root.path();
    for p in [
        "maps/system/hvm_hprog_map",
        "maps/system/hvm_chain_map",
        "maps/system/hvm_cdata_map",
        "maps/system/hvm_shmem_map",
        "maps/system/hvm_jit_map",
        "progs/hike_default/monitor",
        "progs/hike_vm/hike_vm",
        "maps/hike_default/monitor/map_pcpu_mon",
        "maps/hike_default/ip6_simple_classifier/ipv6_simple_classifier_map",
    ] {
        assert!(root.join(p).exists(), "{p}");
    }
    // every HIKe program is registered, and the VM holds slot 0
    let reg = s.hike.registered().unwrap();
    assert_eq!(reg.len(), eclat_kernel::hike::bench::REGISTERED.len() + 1);
    assert_eq!(reg[0].0, 0);
    assert_eq!(s.hike.free_program_id().unwrap(), Some(23));
    // IDs are reused after unregistering
    s.hike.unregister(ids::MONITOR).unwrap();
    assert_eq!(s.hike.free_program_id().unwrap(), Some(ids::MONITOR));
}

#[test]
fn unload_removes_pins_but_registered_programs_keep_running() {
    let mut s = setup();
    let root = s.root.path().to_path_buf();
    let mut c = call_with(ids::HIKE_ECHO, &[5]);
    c.extend(call_with(ids::HIKE_PASS, &[]));
    c.push(exit());
    s.classify_to(A, &c).unwrap();
    assert!(s.hike.unload("programs/bench.o").unwrap());
    assert!(!root.join("progs/bench").exists());
    assert!(!s.hike.unload("programs/bench.o").unwrap());
    // programs and loaders of hike_default share a package: unloading one keeps the other
    assert!(s.hike.unload("loaders/hike_default.o").unwrap());
    assert!(
        !root
            .join("progs/hike_default/ip6_simple_classifier")
            .exists()
    );
    assert!(root.join("progs/hike_default/monitor").exists());
    assert!(root.join("maps/hike_default/monitor/map_pcpu_mon").exists());
    s.hike.load_embedded("loaders/hike_default.o").unwrap();
    s.classify_to(A, &c).unwrap();
    // hike_echo is still in its slot: the chain still runs
    assert_eq!(
        s.run(&bench_frame()).unwrap().action(),
        Some(XdpAction::Pass)
    );
    // once unregistered, calls to it abort
    s.hike.unregister(ids::HIKE_ECHO).unwrap();
    assert_eq!(
        s.run(&bench_frame()).unwrap().action(),
        Some(XdpAction::Aborted)
    );
    assert!(s.hike.unload("vm/hike_vm.o").is_err());
    assert!(root.join("maps/system/hvm_hprog_map").exists());
}

#[test]
fn committed_objects_match_their_sources() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ebpf-modules");
    let out = std::process::Command::new(dir.join("check.sh"))
        .output()
        .expect("run ebpf-modules/check.sh (needs make, clang-19, llvm-strip-19)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A second control plane on the same root (a later `eclat-lab` command) finds the VM, the
/// system maps, the registered programs and the stored chains through the pins.
#[test]
fn a_second_process_reuses_the_pinned_instance() {
    let mut s = setup();
    let mut c = call_with(ids::MONITOR, &[3]);
    c.extend(call_with(ids::HIKE_DROP, &[]));
    c.push(exit());
    let generation = s.hike.store_chain(A + 5, &c).unwrap();
    let mut again = eclat_kernel::hike::Hike::open(s.root.path()).expect("reopen");
    assert!(again.loads().is_empty(), "the VM was not loaded again");
    let chains = again.chains().unwrap();
    let stored = chains
        .iter()
        .find(|x| x.id == A + 5)
        .expect("chain visible");
    assert_eq!((stored.generation, &stored.insns), (generation, &c));
    assert_eq!(
        again.registered().unwrap().len(),
        s.hike.registered().unwrap().len()
    );
    // programs by pin: register hike_pass from the first process's pin under another ID
    again.register(100, "hike_default", "hike_pass").unwrap();
    let mut c = call_with(100, &[]);
    c.push(exit());
    s.classify_to(A, &c).unwrap();
    assert_eq!(
        s.run(&bench_frame()).unwrap().action(),
        Some(XdpAction::Pass)
    );
    // and test runs by pin
    let out = again
        .test_run("hike_default", "ip6_simple_classifier", &bench_frame(), 1)
        .unwrap();
    assert_eq!(out.action(), Some(XdpAction::Pass));
}

/// `empty_maps` (between the groups of packets of one `test`, a lesson's verdict checks):
/// what the packets left in the maps is gone, the loader's entry with it, while the stored
/// chain and the registered programs stay: the entry written again, the same packet counts
/// from zero, through the same chain.
#[test]
fn emptied_maps_keep_the_chains_and_programs() {
    let mut s = setup();
    let mut c = call_with(ids::MONITOR, &[7]);
    c.extend(call_with(ids::HIKE_PASS, &[]));
    c.push(exit());
    s.classify_to(A, &c).unwrap();
    for _ in 0..3 {
        s.run(&bench_frame()).unwrap();
    }
    assert_eq!(mon(&s, 7), 3);
    let registered = s.hike.registered().unwrap();
    s.hike.empty_maps().unwrap();
    assert_eq!(mon(&s, 7), 0, "the counter was not emptied");
    assert_eq!(s.hike.registered().unwrap(), registered);
    let stored = s.hike.chains().unwrap();
    assert!(
        stored.iter().any(|x| x.id == A && x.insns == c),
        "the chain went"
    );
    s.hike
        .set_loader_chain(
            "hike_default",
            "ipv6_simple_classifier_map",
            &0u32.to_ne_bytes(),
            A,
        )
        .unwrap();
    assert_eq!(
        s.run(&bench_frame()).unwrap().action(),
        Some(XdpAction::Pass)
    );
    assert_eq!(mon(&s, 7), 1);
}
