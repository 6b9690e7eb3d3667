//! Lesson 4's load balancer in the real kernel: the reference solution's exact output bytes
//! and verdicts by `BPF_PROG_TEST_RUN` (frames and checksums built here, independently of
//! the lab's packet syntax), the backends' counter program on good and damaged frames, and
//! the whole lb-lab topology with real flows, whose checksums the backends' own kernels
//! accept. Each test has its own LabEnv, reset by a guard even when it fails. Run as root.

use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use eclat_kernel::journal::{Journal, Lifetime};
use eclat_kernel::modules::{self, MapWrite, PacketRun};
use eclat_kernel::{LabEnv, bpffs, cleanup, maps, netns, topo, traffic, xdp};
use eclat_model::topology;

const LESSON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../lessons/04-cilium-load-balancer"
);
const BACKENDS: [&str; 3] = ["10.0.1.2", "10.0.2.2", "10.0.3.2"];
const CLIENT: &str = "10.0.0.2";
const VIP: &str = "10.0.100.1";
const RT_MAC: [u8; 6] = [2, 0, 0, 0, 9, 1];
const SUT_MAC: [u8; 6] = [2, 0, 0, 0, 9, 2];

struct Lab {
    env: LabEnv,
    journal: Option<Journal>,
    dir: PathBuf,
}

impl Lab {
    fn new(tag: &str) -> Self {
        assert!(
            eclat_kernel::doctor::privileged(),
            "kernel tests need root (CI runs them as root)"
        );
        let env = LabEnv::for_test(tag);
        let journal = Some(Journal::open(&env.state_dir).unwrap());
        let dir = env.state_dir.join("src");
        std::fs::create_dir_all(&dir).unwrap();
        Lab { env, journal, dir }
    }
    fn j(&mut self) -> &mut Journal {
        self.journal.as_mut().unwrap()
    }
    /// Builds a lesson file (copied out of the repository) and returns its object.
    fn build(&self, kind: &str, file: &str) -> PathBuf {
        let src = self.dir.join(file);
        std::fs::copy(format!("{LESSON}/{kind}/{file}"), &src).unwrap();
        let rep = modules::build(&src, &self.env.state_dir.join("include")).unwrap();
        assert!(rep.accepted(), "{kind}/{file}: {rep:?}");
        PathBuf::from(rep.object)
    }
    fn run(&mut self, object: &Path, writes: &[MapWrite], frames: &[Vec<u8>]) -> Vec<PacketRun> {
        // the scratch directory records itself in the journal, which one holder at a time
        // may have open
        drop(self.journal.take());
        let scratch = bpffs::Scratch::create(&self.env, "run").unwrap();
        let runs =
            modules::run_packets(object, Some("lb_xdp"), writes, frames, scratch.path()).unwrap();
        drop(scratch);
        self.journal = Some(Journal::open(&self.env.state_dir).unwrap());
        runs
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let j = self
            .journal
            .take()
            .or_else(|| Journal::open(&self.env.state_dir).ok());
        if let Some(mut j) = j {
            let _ = cleanup::reset(&self.env, &mut j);
        }
        let _ = std::fs::remove_dir_all(&self.env.state_dir);
    }
}

fn three_backends() -> Vec<MapWrite> {
    let mut w: Vec<MapWrite> = BACKENDS
        .iter()
        .enumerate()
        .map(|(i, b)| MapWrite {
            map: "lb_backends".into(),
            key: i.to_string(),
            value: b.to_string(),
        })
        .collect();
    w.push(MapWrite {
        map: "lb_service".into(),
        key: "0".into(),
        value: "3".into(),
    });
    w
}

/// The Internet checksum of `data`, summed from scratch.
fn inet_sum(data: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in data.chunks(2) {
        s += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An Ethernet + IPv4 + UDP (17) or TCP (6) frame, every checksum computed from scratch.
fn frame(
    macs: ([u8; 6], [u8; 6]),
    src: &str,
    dst: &str,
    proto: u8,
    sport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let (src, dst): (Ipv4Addr, Ipv4Addr) = (src.parse().unwrap(), dst.parse().unwrap());
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&8080u16.to_be_bytes());
    let csum_at = if proto == 17 {
        l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        l4.extend_from_slice(&[0, 0]);
        6
    } else {
        l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        16
    };
    l4.extend_from_slice(payload);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, proto]);
    pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(&l4);
    let c = match inet_sum(&pseudo) {
        0 if proto == 17 => 0xffff,
        c => c,
    };
    l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
    ip[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = inet_sum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut f = Vec::new();
    f.extend_from_slice(&macs.0);
    f.extend_from_slice(&macs.1);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&l4);
    f
}

/// The lesson's flow hash, written again from its description: four rounds of a
/// multiply-xorshift mixer over the 5-tuple as its words sit in memory (little-endian
/// loads on the machines the lab runs on).
fn slot_of(sport: u16, proto: u8, n: u32) -> u32 {
    fn mix(mut h: u32) -> u32 {
        h ^= h >> 16;
        h = h.wrapping_mul(0x7feb352d);
        h ^= h >> 15;
        h = h.wrapping_mul(0x846ca68b);
        h ^= h >> 16;
        h
    }
    let word = |ip: &str| u32::from_le_bytes(ip.parse::<Ipv4Addr>().unwrap().octets());
    let port = |p: u16| u16::from_le_bytes(p.to_be_bytes()) as u32;
    let mut h = mix(word(CLIENT) ^ 0x9e37_79b9);
    h = mix(h ^ word(VIP));
    h = mix(h ^ ((port(sport) << 16) | port(8080)));
    mix(h ^ proto as u32) % n
}

fn count(run: &PacketRun, map: &str, key: u32) -> u64 {
    let d = run
        .maps
        .iter()
        .find(|d| d.map.name.ends_with(map))
        .unwrap_or_else(|| panic!("no map {map}"));
    d.rows
        .iter()
        .find(|r| r.key_bytes == key.to_ne_bytes())
        .map(|r| match r.value {
            maps::Value::Int(v) => v,
            ref other => panic!("{other:?}"),
        })
        .unwrap_or(0)
}

#[test]
fn the_load_balancer_rewrites_exact_bytes() {
    let mut lab = Lab::new("lbx");
    let obj = lab.build("solution", "lb.bpf.c");
    let to_lb = (SUT_MAC, RT_MAC);
    let back = (RT_MAC, SUT_MAC);

    // every source port 40000..40023 picks the slot the hash says, and leaves exactly the
    // frame a full recomputation gives: MACs swapped, the backend's address, both checksums
    let mut frames = Vec::new();
    let mut want = Vec::new();
    for sport in 40000..40024u16 {
        frames.push(frame(to_lb, CLIENT, VIP, 17, sport, b"lab"));
        let b = BACKENDS[slot_of(sport, 17, 3) as usize];
        want.push(frame(back, CLIENT, b, 17, sport, b"lab"));
    }
    // TCP, and a payload of odd length
    for sport in [40001u16, 40002] {
        frames.push(frame(to_lb, CLIENT, VIP, 6, sport, b"x"));
        let b = BACKENDS[slot_of(sport, 6, 3) as usize];
        want.push(frame(back, CLIENT, b, 6, sport, b"x"));
    }
    let runs = lab.run(&obj, &three_backends(), &frames);
    let mut per_slot = [0u64; 3];
    for (i, (r, w)) in runs.iter().zip(&want).enumerate() {
        assert_eq!(r.verdict, 3, "packet {i}: XDP_TX");
        assert_eq!(&r.output, w, "packet {i}: the rewritten frame");
        per_slot[(0..3)
            .find(|&s| w[30..34] == BACKENDS[s].parse::<Ipv4Addr>().unwrap().octets())
            .unwrap()] += 1;
    }
    // the README's numbers: of the 12 flows 40000..40011, 3 on b1, 5 on b2, 4 on b3
    let first12: Vec<u32> = (40000..40012).map(|p| slot_of(p, 17, 3)).collect();
    assert_eq!(
        [0, 1, 2].map(|s| first12.iter().filter(|&&x| x == s).count()),
        [3, 5, 4]
    );
    let last = runs.last().unwrap();
    assert_eq!(
        [0, 1, 2].map(|s| count(last, "lb_backend_pkts", s)),
        per_slot,
        "per-backend counters"
    );
    assert_eq!(count(last, "lb_stats", 0), runs.len() as u64);

    // a UDP datagram without a checksum keeps 0 there
    let mut nocsum = frame(to_lb, CLIENT, VIP, 17, 40000, b"lab");
    nocsum[40..42].copy_from_slice(&[0, 0]);
    let r = &lab.run(&obj, &three_backends(), &[nocsum])[0];
    assert_eq!((r.verdict, &r.output[40..42]), (3, &[0u8, 0][..]));
    assert_eq!(
        inet_sum(&r.output[14..34]),
        0,
        "the IPv4 header still sums right"
    );

    // not for the service (other address, other port, ICMP, IPv6, a later fragment, a
    // truncated header): passed untouched; for the service with no backend: dropped
    let mut other_port = frame(to_lb, CLIENT, VIP, 17, 40000, b"lab");
    other_port[36..38].copy_from_slice(&9999u16.to_be_bytes());
    let mut fragment = frame(to_lb, CLIENT, VIP, 17, 40000, b"lab");
    fragment[20] = 0x00;
    fragment[21] = 0x10;
    let mut icmp = frame(to_lb, CLIENT, VIP, 17, 40000, b"lab");
    icmp[23] = 1;
    let mut v6 = frame(to_lb, CLIENT, VIP, 17, 40000, b"lab");
    v6[12..14].copy_from_slice(&[0x86, 0xdd]);
    let short = frame(to_lb, CLIENT, VIP, 17, 40000, b"")[..40].to_vec();
    let passes = vec![
        frame(to_lb, CLIENT, "10.0.9.2", 17, 40000, b"lab"),
        other_port,
        fragment,
        icmp,
        v6,
        short,
    ];
    let runs = lab.run(&obj, &three_backends(), &passes);
    for (i, (r, f)) in runs.iter().zip(&passes).enumerate() {
        assert_eq!(
            (r.verdict, &r.output),
            (2, f),
            "case {i}: XDP_PASS, untouched"
        );
    }
    assert_eq!(
        count(runs.last().unwrap(), "lb_stats", 2),
        passes.len() as u64
    );
    let runs = lab.run(&obj, &[], &[frame(to_lb, CLIENT, VIP, 17, 40000, b"lab")]);
    assert_eq!(runs[0].verdict, 1, "no backend: XDP_DROP");
    assert_eq!(count(&runs[0], "lb_stats", 1), 1);
}

#[test]
fn the_starter_balances_nothing() {
    let mut lab = Lab::new("lbs");
    let obj = lab.build("starter", "lb.bpf.c");
    let f = frame((SUT_MAC, RT_MAC), CLIENT, VIP, 17, 40000, b"lab");
    let r = &lab.run(&obj, &three_backends(), std::slice::from_ref(&f))[0];
    assert_eq!((r.verdict, &r.output), (2, &f));
}

#[test]
fn draining_keeps_old_flows_and_places_new_ones_elsewhere() {
    let mut lab = Lab::new("lbd");
    let obj = lab.build("solution", "lb_drain.bpf.c");
    let f = |sport| frame((SUT_MAC, RT_MAC), CLIENT, VIP, 17, sport, b"lab");
    let dst = |r: &PacketRun| Ipv4Addr::new(r.output[30], r.output[31], r.output[32], r.output[33]);
    // 40000 hashes to slot 1 (b2); 40013 too. Only 40000 is seen before slot 1 drains.
    assert_eq!((slot_of(40000, 17, 3), slot_of(40013, 17, 3)), (1, 1));
    let mut w = three_backends();
    let runs = lab.run(&obj, &w, &[f(40000)]);
    assert_eq!(dst(&runs[0]).to_string(), "10.0.2.2");
    // a fresh object: 40013 is new while slot 1 drains
    w.push(MapWrite {
        map: "lb_drain".into(),
        key: "1".into(),
        value: "1".into(),
    });
    let runs = lab.run(&obj, &w, &[f(40013), f(40013)]);
    let first = dst(&runs[0]);
    assert_ne!(
        first.to_string(),
        "10.0.2.2",
        "a new flow avoids the draining backend"
    );
    assert_eq!(dst(&runs[1]), first, "and keeps the backend it got");
}

#[test]
fn the_backend_counter_checks_checksums() {
    let mut lab = Lab::new("lbb");
    let env = lab.env.clone();
    xdp::load(&env, lab.j(), "lb_backend", Lifetime::Persistent).unwrap();
    let pin = env.bpffs_root.join("progs/lab/lb_backend");
    use aya::programs::{TestRun, TestRunOptions, Xdp};
    let prog = Xdp::from_pin(&pin, aya_obj::programs::XdpAttachType::Interface).unwrap();
    let run = |f: &[u8]| {
        let opts = TestRunOptions {
            data_in: Some(f),
            repeat: 1,
            ..Default::default()
        };
        prog.test_run(opts).unwrap().return_value
    };
    let bad = |k: u32| {
        let m = maps::find(&env, "lb_rx_bad").unwrap();
        let d = maps::dump(&m, 10).unwrap();
        match &d.rows[k as usize].value {
            maps::Value::Int(v) => *v,
            other => panic!("{other:?}"),
        }
    };
    let back = (RT_MAC, SUT_MAC);
    // good frames of many sizes (odd, over 512 and over 1024 bytes): no complaint
    for n in [0usize, 1, 3, 64, 505, 600, 1100, 1472] {
        let p: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
        assert_eq!(run(&frame(back, CLIENT, "10.0.2.2", 17, 40000, &p)), 2);
    }
    assert_eq!((bad(0), bad(1)), (0, 0), "good frames");
    let good = frame(back, CLIENT, "10.0.2.2", 17, 40000, &[9u8; 1101]);
    let mut ipbad = good.clone();
    ipbad[24] ^= 0x40;
    run(&ipbad);
    assert_eq!((bad(0), bad(1)), (1, 0), "a damaged IPv4 header checksum");
    let mut udpbad = good.clone();
    udpbad[1000] ^= 1;
    run(&udpbad);
    assert_eq!((bad(0), bad(1)), (1, 1), "a damaged byte of the payload");
    // per flow: (backend address in host order, source port) -> packets
    let m = maps::find(&env, "lb_rx_flows").unwrap();
    let d = maps::dump(&m, 100).unwrap();
    let mut key = "10.0.2.2".parse::<Ipv4Addr>().unwrap().octets().to_vec();
    key.extend_from_slice(&40000u16.to_ne_bytes());
    key.extend_from_slice(&[0, 0]);
    let row = d
        .rows
        .iter()
        .find(|r| r.key_bytes == key)
        .expect("the flow's row");
    assert!(matches!(row.value, maps::Value::Int(10)), "{:?}", row.value);
}

/// `(backend, source port) -> packets` from the backends' shared map.
fn flows_at_backends(env: &LabEnv) -> std::collections::BTreeMap<(Ipv4Addr, u16), u64> {
    let m = maps::find(env, "lb_rx_flows").unwrap();
    maps::dump(&m, 10_000)
        .unwrap()
        .rows
        .iter()
        .map(|r| {
            let k = &r.key_bytes;
            let a = Ipv4Addr::new(k[0], k[1], k[2], k[3]);
            let p = u16::from_ne_bytes([k[4], k[5]]);
            let maps::Value::Int(v) = r.value else {
                panic!("{:?}", r.value)
            };
            ((a, p), v)
        })
        .collect()
}

/// A counter of the UDP line of `/proc/net/snmp` in `node`'s namespace (read by a thread
/// inside it).
fn udp_snmp(env: &LabEnv, node: &str, field: &str) -> u64 {
    let ns = netns::open(&env.ns_name(node)).unwrap();
    let text = netns::in_netns(&ns.as_fd(), || {
        std::fs::read_to_string("/proc/thread-self/net/snmp").unwrap()
    })
    .unwrap();
    let mut lines = text.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (lines.next().unwrap(), lines.next().unwrap());
    let i = names.split_whitespace().position(|n| n == field).unwrap();
    values.split_whitespace().nth(i).unwrap().parse().unwrap()
}

#[test]
fn real_flows_reach_one_backend_each_with_checksums_the_kernel_accepts() {
    let mut lab = Lab::new("lbe");
    let env = lab.env.clone();
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../netns/lb-lab.toml"
    ))
    .unwrap();
    let t = topology::parse(&src, "lb-lab.toml").unwrap();
    topo::up(&env, lab.j(), &t, &src, Lifetime::Persistent).unwrap();
    // what the topology file attaches (the service does this after `topo up`)
    for end in t.links.iter().flat_map(|l| [&l.a, &l.b]) {
        if let Some(p) = &end.xdp {
            xdp::attach(
                &env,
                lab.j(),
                p,
                &end.node,
                &end.dev,
                false,
                Lifetime::Persistent,
            )
            .unwrap();
        }
    }
    let obj = lab.build("solution", "lb.bpf.c");
    xdp::load_object(&env, lab.j(), &obj, "lb", Lifetime::Persistent).unwrap();
    for w in three_backends() {
        maps::set(&maps::find(&env, &w.map).unwrap(), &w.key, &w.value).unwrap();
    }
    xdp::attach(
        &env,
        lab.j(),
        "lb_xdp",
        "sut",
        "eth0",
        false,
        Lifetime::Persistent,
    )
    .unwrap();
    let no_ports: Vec<u64> = ["b1", "b2", "b3"]
        .iter()
        .map(|b| udp_snmp(&env, b, "NoPorts"))
        .collect();

    let spec = traffic::Spec {
        from: "client".into(),
        to: Some(VIP.parse().unwrap()),
        kind: traffic::Kind::Flows {
            port: 8080,
            payload: 64,
            flows: 12,
            sport: 40000,
        },
        count: Some(240),
        rate: None,
        reply_wait: Duration::from_millis(100),
    };
    let rep = traffic::send(
        &env,
        &spec,
        &AtomicU64::new(0),
        &tokio_util::sync::CancellationToken::new(),
    )
    .unwrap();
    assert_eq!(rep.sent, 240, "{rep:?}");

    // XDP counts before the stack: wait until all 240 arrived (or 5 s)
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut seen = flows_at_backends(&env);
    while seen.values().sum::<u64>() < 240 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        seen = flows_at_backends(&env);
    }
    // every flow whole at the backend its hash names
    let mut want = std::collections::BTreeMap::new();
    for sport in 40000..40012u16 {
        let b: Ipv4Addr = BACKENDS[slot_of(sport, 17, 3) as usize].parse().unwrap();
        want.insert((b, sport), 20u64);
    }
    assert_eq!(seen, want);
    let bad = maps::dump(&maps::find(&env, "lb_rx_bad").unwrap(), 10).unwrap();
    assert!(
        bad.rows
            .iter()
            .all(|r| matches!(r.value, maps::Value::Int(0))),
        "{bad:?}"
    );
    // and each backend's own UDP stack took every datagram (no listener: NoPorts), none
    // refused for its checksum
    let mut delivered = 0;
    for (i, b) in ["b1", "b2", "b3"].iter().enumerate() {
        assert_eq!(udp_snmp(&env, b, "InCsumErrors"), 0, "{b}");
        delivered += udp_snmp(&env, b, "NoPorts") - no_ports[i];
    }
    assert_eq!(delivered, 240);
}

/// Lesson 4 loads lb.bpf.c and then lb_drain.bpf.c, both with a program `lb_xdp`: while both
/// are loaded (a learner who skipped `xdp unload lb`), `xdp attach lb_xdp` said "unknown
/// program `lb_xdp`; did you mean `lb_xdp`?". It says which ones the name could be, and the
/// longer name picks one.
#[test]
fn a_program_name_two_objects_share_is_ambiguous_not_unknown() {
    let mut lab = Lab::new("lbtwo");
    let env = lab.env.clone();
    let src = std::fs::read_to_string(format!(
        "{}/../../netns/lb-lab.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let t = topology::parse(&src, "lb-lab.toml").unwrap();
    topo::up(&env, lab.j(), &t, &src, Lifetime::Persistent).unwrap();
    let lb = lab.build("solution", "lb.bpf.c");
    xdp::load_object(&env, lab.j(), &lb, "lb", Lifetime::Persistent).unwrap();
    let drain = lab.build("solution", "lb_drain.bpf.c");
    xdp::load_object(&env, lab.j(), &drain, "lb_drain", Lifetime::Persistent).unwrap();
    let attach = |lab: &mut Lab, name: &str| {
        xdp::attach(
            &env,
            lab.j(),
            name,
            "sut",
            "eth0",
            false,
            Lifetime::Persistent,
        )
    };
    let e = attach(&mut lab, "lb_xdp").unwrap_err().to_string();
    assert!(
        e.contains("names several programs") && e.contains("lb_drain/lb_xdp"),
        "{e}"
    );
    assert!(!e.contains("unknown program"), "{e}");
    let r = attach(&mut lab, "lb_drain/lb_xdp").unwrap();
    assert_eq!((r.node.as_str(), r.dev.as_str()), ("sut", "eth0"));
}
