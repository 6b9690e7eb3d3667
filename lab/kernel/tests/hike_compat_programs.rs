//! The programs and the loader that scripts written for the original eCLAT import (issue 21),
//! in the real kernel with `BPF_PROG_TEST_RUN`, each against the behaviour its source and the
//! book document: exact verdicts, return values, packet bytes and map contents on crafted
//! packets. Each test has its own bpffs root (and, for routing, its own network namespace),
//! removed on drop.

mod support;

use eclat_kernel::hike::asm::{call_with, exit};
use eclat_kernel::hike::bench::{Setup, ids};
use eclat_kernel::hike::packet::{
    ExtHeader, bench_frame, ip6, ipv4_udp_frame, ipv6_ext_udp_frame, ipv6_udp_frame,
};
use hike::XdpAction;
use hike::catalog::ProgramKind;
use support::*;

const UDP_PORT: u32 = 23;
const IP6_ALT_MARK: u32 = 24;
const DPI: u32 = 25;
const HELLO: u32 = 26;
const COLLECTOR: u32 = 27;
const PAOLO_ADV_USID: u32 = 28;
const PAOLO_CHADDR: u32 = 29;
const PAOLO_KROUTE: u32 = 30;

/// (package, program, ID) registered on top of [`setup`]'s.
const COMPAT: &[(&str, &str, u32)] = &[
    ("mynet", "udp_port", UDP_PORT),
    ("alt_mark", "ip6_alt_mark", IP6_ALT_MARK),
    ("tutorial", "dpi", DPI),
    ("eip", "hello", HELLO),
    ("stamp", "collector", COLLECTOR),
    ("routingpaolo", "paolo_adv_usid", PAOLO_ADV_USID),
    ("routingpaolo", "paolo_chaddr", PAOLO_CHADDR),
    ("routingpaolo", "paolo_kroute", PAOLO_KROUTE),
];

const OBJECTS: &[&str] = &[
    "programs/mynet.o",
    "programs/net.o",
    "programs/alt_mark.o",
    "programs/tutorial.o",
    "programs/eip.o",
    "programs/stamp.o",
    "programs/routingpaolo.o",
    "loaders/basic.o",
];

fn compat() -> Setup {
    let mut s = setup();
    for o in OBJECTS {
        s.hike
            .load_embedded(o)
            .unwrap_or_else(|e| panic!("{o}: {e}"));
    }
    for (pkg, name, id) in COMPAT {
        s.hike.register(*id, pkg, name).unwrap();
    }
    s
}

const ENOENT: i64 = -(libc::ENOENT as i64);
const EINVAL: i64 = -(libc::EINVAL as i64);

fn udp6(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    ipv6_udp_frame(
        ip6("12:1::1").unwrap(),
        ip6("fc01::2").unwrap(),
        sport,
        dport,
        payload,
    )
}

/// r0 of `chain` (an [`r0_of`] chain) for each frame, run through `ip6_simple_classifier`.
fn r0s(s: &mut Setup, chain: &[hike::Insn], frames: &[Vec<u8>]) -> Vec<i64> {
    s.classify_to(A, chain).unwrap();
    frames
        .iter()
        .map(|f| {
            let out = s.run(f).unwrap();
            assert_eq!(out.action(), Some(XdpAction::Pass));
            r0_in(&out.packet)
        })
        .collect()
}

/// r0 of `chain` (an [`r0_of`] chain) for an IPv4/UDP frame to port 2000, run through the UDP
/// port classifier (`ip6_simple_classifier` passes IPv4).
fn r0_ipv4(s: &mut Setup, chain: &[hike::Insn]) -> i64 {
    s.hike.store_chain(A, chain).unwrap();
    s.hike
        .set_loader_chain(
            "hike_default",
            "udp_dport_classifier_map",
            &2000u16.to_ne_bytes(),
            A,
        )
        .unwrap();
    let v4 = ipv4_udp_frame([10, 12, 1, 1], [10, 12, 1, 2], 5, 2000, &[0; 8]);
    let out = s
        .hike
        .test_run("hike_default", "udp_dport_classifier", &v4, 1)
        .unwrap();
    assert_eq!(out.action(), Some(XdpAction::Pass));
    r0_in(&out.packet)
}

/// `n` u64 of the value at u32 key `key` of an array map (not per-CPU).
fn u64s(s: &Setup, package: &str, map: &str, key: u32, n: usize) -> Vec<u64> {
    let v = s
        .hike
        .map_lookup(package, map, &key.to_ne_bytes(), 8 * n)
        .unwrap()
        .expect("an array has every key");
    v.chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn their_btf_describes_programs_aliases_and_the_loader() {
    let s = compat();
    let cat = s.hike.catalog();
    let udp_port = cat.program("mynet", "udp_port").unwrap();
    assert_eq!(
        udp_port
            .params
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["port"]
    );
    assert_eq!(
        cat.program("routingpaolo", "paolo_kroute").unwrap().kind,
        ProgramKind::Final
    );
    let dpi = cat.program("tutorial", "dpi").unwrap();
    assert_eq!(dpi.params.len(), 2);
    // programs.mynet and programs.net name the default programs: an import resolves to the
    // program itself (its package is the real one), no copy was loaded
    for pkg in ["mynet", "net"] {
        for (real, name) in [
            ("hike_default", "hike_drop"),
            ("hike_default", "monitor"),
            ("meter", "ip6_sd_tbmon"),
            ("sampler", "ip6_sd_dec2zero"),
        ] {
            let p = cat
                .program(pkg, name)
                .unwrap_or_else(|| panic!("{pkg}.{name}"));
            assert_eq!((p.package.as_str(), p.name.as_str()), (real, name));
        }
        assert_eq!(cat.aliases.iter().filter(|a| a.package == pkg).count(), 11);
    }
    assert!(cat.dangling_aliases().is_empty());
    let aliases: Vec<String> = cat
        .aliases_of("hike_default", "monitor")
        .map(|a| format!("{}.{}", a.package, a.name))
        .collect();
    assert_eq!(aliases, ["mynet.monitor", "net.monitor"]);
    // net.o has no program of its own: no program was pinned for it
    let net = s.root.path().join("progs/net");
    assert!(!net.exists() || std::fs::read_dir(&net).unwrap().next().is_none());
    assert!(s.root.path().join("progs/mynet/udp_port").exists());
    assert!(s.root.path().join("maps/basic/ip6_sc/ipv6_sc_map").exists());
    let l = cat.loader("basic", "ip6_sc").unwrap();
    assert_eq!(
        (l.maps[0].name.as_str(), l.maps[0].max_entries),
        ("ipv6_sc_map", 1)
    );
}

/// `loaders.basic`'s `ip6_sc`: every IPv6 packet to the chain in `ipv6_sc_map[0]`, anything
/// else (and everything while no chain is set) passes.
#[test]
fn ip6_sc_sends_ipv6_to_its_chain() {
    let mut s = compat();
    let mut drop = call_with(ids::HIKE_DROP, &[]);
    drop.push(exit());
    s.hike.store_chain(A, &drop).unwrap();
    let run = |f: &[u8]| {
        s.hike
            .test_run("basic", "ip6_sc", f, 1)
            .unwrap()
            .action()
            .unwrap()
    };
    let v4 = ipv4_udp_frame([10, 12, 1, 1], [10, 12, 1, 2], 5, 2000, &[0; 8]);
    assert_eq!(run(&bench_frame()), XdpAction::Pass, "no chain yet");
    s.hike
        .set_loader_chain("basic", "ipv6_sc_map", &0u32.to_ne_bytes(), A)
        .unwrap();
    assert_eq!(run(&bench_frame()), XdpAction::Drop);
    assert_eq!(run(&udp6(1, 9, b"x")), XdpAction::Drop);
    assert_eq!(run(&v4), XdpAction::Pass, "IPv4 is not classified");
    let mut arp = bench_frame();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(run(&arp), XdpAction::Pass);
}

#[test]
fn udp_port_tests_the_destination_port() {
    let mut s = compat();
    let chain = r0_of(UDP_PORT, &[2000]);
    let mut icmp = udp6(1000, 2000, &[0; 8]);
    icmp[20] = 58;
    let hbh = ipv6_ext_udp_frame(
        ip6("12:1::1").unwrap(),
        ip6("fc01::2").unwrap(),
        1000,
        2000,
        &[ExtHeader::options(0, 8)],
        &[0; 8],
    );
    let mut short = udp6(1000, 2000, &[]);
    short.truncate(54 + 6);
    assert_eq!(
        r0s(
            &mut s,
            &chain,
            &[
                udp6(1000, 2000, &[0; 8]),
                udp6(2000, 2001, &[0; 8]),
                udp6(2000, 2002, &[]),
                icmp,
                hbh,
                short,
            ]
        ),
        [1, 0, 0, 0, 0, 0],
        "to 2000 / to 2001 / to 2002 / ICMPv6 / UDP behind a hop-by-hop header (not \
         looked for) / a UDP header cut short"
    );
    // a port above 65535 never matches
    assert_eq!(
        r0s(
            &mut s,
            &r0_of(UDP_PORT, &[65536 + 2000]),
            &[udp6(1000, 2000, &[])]
        ),
        [0]
    );
    // IPv4
    assert_eq!(r0_ipv4(&mut s, &chain), 1);
    assert_eq!(r0_ipv4(&mut s, &r0_of(UDP_PORT, &[2001])), 0);
}

/// RFC 9341 counting point: the colour is the flow label's lowest bit; packets and IPv6
/// bytes are counted per colour.
#[test]
fn ip6_alt_mark_counts_per_color() {
    let mut s = compat();
    let colored = |c: u8, payload: usize| {
        let mut f = udp6(1, 2, &vec![0u8; payload]);
        f[17] = 0xa4 | c; // a flow label with other bits set too
        f
    };
    let frames = [
        colored(0, 10),
        colored(1, 0),
        colored(0, 30),
        colored(1, 5),
        colored(1, 0),
    ];
    assert_eq!(
        r0s(&mut s, &r0_of(IP6_ALT_MARK, &[]), &frames),
        [0, 1, 0, 1, 1]
    );
    let counter = |s: &Setup, color: u32| {
        let v = u64s(s, "alt_mark", "ip6_alt_mark_map", color, 2);
        (v[0], v[1])
    };
    // an IPv6 packet is 40 + 8 (UDP) + payload bytes
    assert_eq!(counter(&s, 0), (2, 48 + 10 + 48 + 30));
    assert_eq!(counter(&s, 1), (3, 48 + 48 + 5 + 48));
    assert_eq!(r0_ipv4(&mut s, &r0_of(IP6_ALT_MARK, &[])), EINVAL);
    assert_eq!(
        (counter(&s, 0).0, counter(&s, 1).0),
        (2, 3),
        "IPv4 is not counted"
    );
}

fn set_pattern(s: &Setup, id: u32, len: u32, bytes: &[u8]) {
    let mut v = [0u8; 8].to_vec();
    v[..bytes.len()].copy_from_slice(bytes);
    v.extend(len.to_ne_bytes());
    v.extend([0; 4]);
    s.hike
        .map_update("tutorial", "dpi_patterns", &id.to_ne_bytes(), &v)
        .unwrap();
}

fn hits(s: &Setup, id: u32) -> u64 {
    u64s(s, "tutorial", "dpi_hits", id, 1)[0]
}

#[test]
fn dpi_finds_the_lowest_numbered_pattern_in_the_window() {
    let mut s = compat();
    set_pattern(&s, 1, 3, b"GET");
    set_pattern(&s, 2, 6, b"attack");
    set_pattern(&s, 3, 8, b"\0\x01bin\0\0\xff"); // 8 bytes, zeros inside
    set_pattern(&s, 4, 9, b"toolong"); // a length above 8: never used
    set_pattern(&s, 5, 3, b"ab\0"); // ends with a zero byte
    set_pattern(&s, 0, 2, b"xx"); // entry 0 is not a pattern (ID 0 means none)
    let whole = r0_of(DPI, &[0, 64]);
    let mut icmp = udp6(1, 2, b"attack");
    icmp[20] = 58;
    let long: Vec<u8> = (0..100u8).map(|i| b'.' + i % 3).collect();
    let mut far = long.clone();
    far[70..76].copy_from_slice(b"attack"); // past the 64-byte window
    let mut edge = long.clone();
    edge[58..64].copy_from_slice(b"attack"); // the window's last 6 bytes
    let mut cut = long.clone();
    cut[60..64].copy_from_slice(b"atta"); // "ck" would come after the window
    cut[64..66].copy_from_slice(b"ck");
    assert_eq!(
        r0s(
            &mut s,
            &whole,
            &[
                udp6(1, 2, b"an attack here"),
                udp6(1, 2, b"attack then GET /"),
                udp6(1, 2, b"xx\0\x01bin\0\0\xffyy"),
                udp6(1, 2, b"\0\x01bin\0\0"), // 7 of its 8 bytes, then the packet ends
                udp6(1, 2, b"toolong!"),
                udp6(1, 2, b"xx"),
                udp6(1, 2, b""),
                udp6(1, 2, b"attac"),
                icmp,
                udp6(1, 2, &far),
                udp6(1, 2, &edge),
                udp6(1, 2, &cut),
                // the zeros after the bytes read are not packet bytes: no match there
                udp6(1, 2, b"xxab"),
                udp6(1, 2, b"xxab\0"),
            ]
        ),
        [2, 1, 3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 5],
    );
    assert_eq!((hits(&s, 1), hits(&s, 2), hits(&s, 3)), (1, 2, 1));
    assert_eq!((hits(&s, 0), hits(&s, 4), hits(&s, 5)), (0, 0, 1));
    // the window: offset and length into the payload
    let p = udp6(1, 2, b"xxattackyy");
    for (offset, length, want) in [(2, 6, 2), (2, 5, 0), (3, 64, 0), (10, 64, 0), (0, 0, 0)] {
        assert_eq!(
            r0s(
                &mut s,
                &r0_of(DPI, &[offset, length]),
                std::slice::from_ref(&p)
            ),
            [want],
            "dpi({offset}, {length})"
        );
    }
}

/// A hop-by-hop header of `options` (type, length, data...), padded with PadN to a multiple
/// of 8 bytes.
fn hbh(options: &[u8]) -> ExtHeader {
    let mut bytes = vec![0, 0];
    bytes.extend_from_slice(options);
    let pad = (8 - bytes.len() % 8) % 8;
    match pad {
        0 => {}
        1 => bytes.push(0),
        n => {
            bytes.push(1);
            bytes.push(n as u8 - 2);
            bytes.extend(std::iter::repeat_n(0, n - 2));
        }
    }
    bytes[1] = (bytes.len() / 8 - 1) as u8;
    ExtHeader { proto: 0, bytes }
}

fn with_headers(headers: &[ExtHeader]) -> Vec<u8> {
    ipv6_ext_udp_frame(
        ip6("12:1::1").unwrap(),
        ip6("fc01::2").unwrap(),
        1,
        2,
        headers,
        &[0; 8],
    )
}

#[test]
fn hello_recognises_the_eip_option_and_counts() {
    let mut s = compat();
    let frames = [
        with_headers(&[hbh(&[0x3e, 4, 1, 2, 3, 4])]),
        with_headers(&[hbh(&[0, 0, 0x1e, 1, 9, 0x3e, 2, 7, 7])]), // Pad1s, another option
        with_headers(&[hbh(&[0, 0x3e, 2, 7, 7])]),                // one Pad1 before it
        with_headers(&[ExtHeader::options(0, 16)]),               // only experimental 0x1e
        with_headers(&[hbh(&[0x3e, 9, 1, 2, 3, 4])]),             // its data runs past the header
        with_headers(&[ExtHeader::options(60, 8), hbh(&[0x3e, 0])]), // not right after IPv6
        udp6(1, 2, &[0x3e, 4, 1, 2, 3, 4]),                       // no extension header
    ];
    assert_eq!(
        r0s(&mut s, &r0_of(HELLO, &[]), &frames),
        [1, 1, 1, 0, 0, 0, 0]
    );
    let count = |s: &Setup, k: u32| u64s(s, "eip", "eip_hello_map", k, 1)[0];
    assert_eq!((count(&s, 0), count(&s, 1)), (3, 4));
    assert_eq!(r0_ipv4(&mut s, &r0_of(HELLO, &[])), EINVAL);
    assert_eq!((count(&s, 0), count(&s, 1)), (3, 4), "IPv4 is not counted");
}

fn stamp_payload(seq: u32, ts: u64, len: usize) -> Vec<u8> {
    let mut p = seq.to_be_bytes().to_vec();
    p.extend(ts.to_be_bytes());
    p.resize(len, 0);
    p
}

fn monotonic_ns() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

#[test]
fn collector_counts_stamp_sessions_and_records_timestamps() {
    let mut s = compat();
    let chain = r0_of(COLLECTOR, &[]);
    let before = monotonic_ns();
    let got = r0s(
        &mut s,
        &chain,
        &[
            udp6(5000, 862, &stamp_payload(1, 0x1111, 44)),
            udp6(5000, 862, &stamp_payload(2, 0x2222, 44)),
            udp6(5001, 862, &stamp_payload(9, 0x9999, 60)), // another session
            udp6(5000, 862, &stamp_payload(3, 0x0102_0304_0506_0708, 50)),
            udp6(5000, 862, &stamp_payload(4, 0x4444, 43)), // too short for STAMP
            udp6(5000, 863, &stamp_payload(5, 0x5555, 44)), // not port 862
        ],
    );
    let after = monotonic_ns();
    assert_eq!(got, [1, 2, 1, 3, 0, 0]);
    let session = |sport: u16| {
        let mut k = ip6("12:1::1").unwrap().to_vec();
        k.extend(ip6("fc01::2").unwrap());
        k.extend(sport.to_ne_bytes());
        k.extend(862u16.to_ne_bytes());
        k.extend([0; 4]);
        let v = s
            .hike
            .map_lookup("stamp", "stamp_sessions", &k, 32)
            .unwrap()
            .expect("a recorded session");
        let u64_at = |o: usize| u64::from_ne_bytes(v[o..o + 8].try_into().unwrap());
        let seq = u32::from_ne_bytes(v[24..28].try_into().unwrap());
        (u64_at(0), u64_at(8), u64_at(16), seq)
    };
    let (packets, tx, rx, seq) = session(5000);
    assert_eq!((packets, tx, seq), (3, 0x0102_0304_0506_0708, 3));
    assert!(
        (before..=after).contains(&rx),
        "{before} <= {rx} <= {after}"
    );
    let (packets, tx, rx2, seq) = session(5001);
    assert_eq!((packets, tx, seq), (1, 0x9999, 9));
    assert!(rx2 <= rx && rx2 >= before);
}

/// A frame to `dst` with the IPv6 source 12:1::1 (UDP 1000 -> 2000, 32 zero bytes).
fn to(dst: &str) -> Vec<u8> {
    frame_sd("12:1::1", dst)
}

fn da(frame: &[u8]) -> std::net::Ipv6Addr {
    std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&frame[38..54]).unwrap())
}

#[test]
fn paolo_adv_usid_shifts_the_usid_container() {
    let mut s = compat();
    let chain = r0_of(PAOLO_ADV_USID, &[]);
    s.classify_to(A, &chain).unwrap();
    let mut f = to("fc00:0:1:2:3::");
    let mut seen = Vec::new();
    for _ in 0..4 {
        let out = s.run(&f).unwrap();
        assert_eq!(out.action(), Some(XdpAction::Pass));
        seen.push((r0_in(&out.packet), da(&out.packet).to_string()));
        // everything but the address (and r0's record) is unchanged
        let mut expect = f.clone();
        expect[38..54].copy_from_slice(&out.packet[38..54]);
        expect[16..24].copy_from_slice(&out.packet[16..24]);
        assert_eq!(out.packet, expect);
        f = out.packet;
    }
    assert_eq!(
        seen,
        [
            (2, "fc00:0:2:3::".to_string()),
            (3, "fc00:0:3::".to_string()),
            (0, "fc00::".to_string()),
            (0, "fc00::".to_string()),
        ]
    );
    let full = to("fc00:0:1:2:3:4:5:6");
    let (_, r0, out) = run_r0(&mut s, &chain, &full);
    assert_eq!((r0, da(&out).to_string()), (2, "fc00:0:2:3:4:5:6:0".into()));
    assert_eq!(r0_ipv4(&mut s, &chain), EINVAL);
}

#[test]
fn paolo_chaddr_rewrites_the_macs_from_its_map() {
    let mut s = compat();
    let chain = r0_of(PAOLO_CHADDR, &[]);
    let f = to("fc01::2");
    let (v, r0, out) = run_r0(&mut s, &chain, &f);
    assert_eq!((v, r0), (XdpAction::Pass, ENOENT), "not configured");
    assert_eq!(out[..16], f[..16], "MACs unchanged");
    let macs = [2, 0xaa, 0, 0, 0, 1, 2, 0xbb, 0, 0, 0, 2];
    s.hike
        .map_update(
            "routingpaolo",
            "paolo_chaddr_map",
            &0u32.to_ne_bytes(),
            &macs,
        )
        .unwrap();
    let (v, r0, out) = run_r0(&mut s, &chain, &f);
    assert_eq!((v, r0), (XdpAction::Pass, 0));
    let mut expect = f.clone();
    expect[..12].copy_from_slice(&macs);
    expect[16..24].copy_from_slice(&out[16..24]);
    assert_eq!(out, expect);
}

/// The uSID step a chain composes: advance the active uSID, then route the new destination
/// through the FIB of the namespace the packet arrived in (`paolo_kroute`, final).
#[test]
fn a_usid_chain_advances_and_routes_through_the_fib() {
    const NEXT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0e, 0x02];
    let mut s = compat();
    let mut c = call_with(PAOLO_ADV_USID, &[]);
    c.extend(call_with(PAOLO_KROUTE, &[]));
    c.push(exit());
    s.classify_to(A, &c).unwrap();
    let loader = pinned(&s, "hike_default", "ip6_simple_classifier");
    let net = RoutedNs::new("usid");
    // the next node's uSID 2 lives behind fd00::2
    net.route(
        "fc00:0:2::",
        48,
        Some("fd00::2"),
        Some(("fd00::2", NEXT_MAC)),
    );
    let f = to("fc00:0:1:2::");
    let mut shifted = f.clone();
    shifted[38..54].copy_from_slice(&ip6("fc00:0:2::").unwrap());
    assert_eq!(
        net.run_on_in0(&loader, &f),
        (XdpAction::Redirect, routed(&shifted, NEXT_MAC))
    );
    // no route for uSID 3: the kernel gets the packet (with its address advanced)
    let g = to("fc00:0:1:3::");
    let mut shifted = g.clone();
    shifted[38..54].copy_from_slice(&ip6("fc00:0:3::").unwrap());
    assert_eq!(net.run_on_in0(&loader, &g), (XdpAction::Pass, shifted));
    // paolo_kroute alone, outside the namespace: no route, pass unchanged
    let mut k = call_with(PAOLO_KROUTE, &[]);
    k.push(exit());
    s.classify_to(A, &k).unwrap();
    let out = s.run(&f).unwrap();
    assert_eq!((out.action(), out.packet), (Some(XdpAction::Pass), f));
}
