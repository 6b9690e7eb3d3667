//! Real-kernel tests of the lab's foundation: topologies in their own namespaces, the
//! counter program, exact counts, quiet links, refusal to touch what is not the lab's.
//! Every test has its own LabEnv (namespace prefix, bpffs root, state dir) and a guard that
//! resets it even when the test fails. Run as root (CI does).

use std::net::IpAddr;
use std::os::fd::AsFd;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use eclat_kernel::journal::{Journal, Lifetime};
use eclat_kernel::netlink::Netlink;
use eclat_kernel::{LabEnv, cleanup, maps, netns, topo, traffic, xdp};
use eclat_model::topology::{self, Topology};

struct Lab {
    env: LabEnv,
    journal: Option<Journal>,
}

impl Lab {
    fn new(tag: &str) -> Self {
        assert!(
            eclat_kernel::doctor::privileged(),
            "kernel tests need root (CI runs them as root)"
        );
        let env = LabEnv::for_test(tag);
        let journal = Some(Journal::open(&env.state_dir).unwrap());
        Lab { env, journal }
    }
    fn j(&mut self) -> &mut Journal {
        self.journal.as_mut().unwrap()
    }
    fn up(&mut self, file: &str) -> Topology {
        let src =
            std::fs::read_to_string(format!("{}/../../netns/{file}", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let t = topology::parse(&src, file).unwrap();
        let env = self.env.clone();
        topo::up(&env, self.j(), &t, &src, Lifetime::Persistent).unwrap();
        t
    }
    fn send(
        &self,
        from: &str,
        to: &str,
        kind: traffic::Kind,
        count: u64,
        rate: Option<f64>,
    ) -> traffic::Report {
        let spec = traffic::Spec {
            from: from.into(),
            to: Some(to.parse().unwrap()),
            kind,
            count: Some(count),
            rate,
            reply_wait: Duration::from_secs(2),
        };
        traffic::send(
            &self.env,
            &spec,
            &AtomicU64::new(0),
            &tokio_util::sync::CancellationToken::new(),
        )
        .unwrap()
    }
    fn counter(&self) -> u64 {
        let m = maps::find(&self.env, "pkt_count").unwrap();
        match &maps::dump(&m, 10).unwrap().rows[0].value {
            maps::Value::Int(v) => *v,
            other => panic!("{other:?}"),
        }
    }
    fn ns_with_prefix(&self) -> Vec<String> {
        netns::list()
            .into_iter()
            .filter(|n| n.starts_with(&self.env.ns_prefix))
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // (a test may have handed the journal to a HIKe instance, dropped before the guard)
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

#[test]
fn hike_lab_up_ping_status_down() {
    let mut lab = Lab::new("up");
    let t0 = Instant::now();
    let t = lab.up("hike-lab.toml");
    eprintln!("topo up took {:?}", t0.elapsed());
    assert_eq!(lab.ns_with_prefix().len(), 3);

    // every address of sut and clt answers from its neighbour
    for (from, to) in [
        ("tg", "fc01::2"),
        ("tg", "fc01::3"),
        ("tg", "12:1::2"),
        ("tg", "12:2::2"),
        ("tg", "10.12.1.2"),
        ("tg", "10.12.2.2"),
        ("clt", "cafe::1"),
        ("sut", "cafe::2"),
    ] {
        let r = lab.send(from, to, traffic::Kind::Icmp, 2, None);
        assert_eq!((r.sent, r.replies), (2, Some(2)), "{from} -> {to}: {r:?}");
    }

    let st = topo::status(&lab.env).unwrap();
    assert_eq!(st.topology.as_deref(), Some("hike-lab"));
    // `topo::up` builds what is the kernel crate's; xdp_pass on clt:veth0 is attached by
    // the service's `topo up`: until then the status names it, and only it, as missing
    assert!(!st.complete);
    assert_eq!(
        topo::xdp_gaps(&lab.env, &t),
        vec![(
            "clt".to_string(),
            "veth0".to_string(),
            "xdp_pass".to_string()
        )]
    );
    for n in &st.nodes {
        let rest: Vec<&String> = n
            .problems
            .iter()
            .filter(|p| !p.contains("has no XDP program"))
            .collect();
        assert!(n.present && rest.is_empty(), "{n:?}");
        for i in &n.interfaces {
            assert!(i.up && i.quiet, "{}:{} {i:?}", n.node, i.dev);
        }
    }
    let sut = st.nodes.iter().find(|n| n.node == "sut").unwrap();
    let e0 = sut.interfaces.iter().find(|i| i.dev == "enp6s0f0").unwrap();
    assert_eq!(e0.mac, "00:00:00:00:02:00");
    assert!(e0.addresses.contains(&"fc01::3/64".to_string()));
    // static neighbours for every address of the peer (tg's enp6s0f0 has 4)
    assert_eq!(e0.neighbours, 4);
    let _ = t;

    // a second `topo up` of the same topology is a no-op
    let src = std::fs::read_to_string(format!(
        "{}/../../netns/hike-lab.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let t2 = topology::parse(&src, "hike-lab.toml").unwrap();
    let env = lab.env.clone();
    assert!(
        topo::up(&env, lab.j(), &t2, &src, Lifetime::Persistent)
            .unwrap()
            .already_up
    );

    let env = lab.env.clone();
    let d = topo::down(&env, lab.j()).unwrap();
    assert_eq!(d.removed.len(), 3);
    assert!(lab.ns_with_prefix().is_empty());
    assert!(
        lab.j()
            .entries()
            .unwrap()
            .iter()
            .all(|e| !matches!(e.res, eclat_kernel::journal::Resource::Netns { .. }))
    );
}

#[test]
fn a_second_topology_file_works_too() {
    let mut lab = Lab::new("pair");
    let t = lab.up("pair.toml");
    assert_eq!(t.nodes.len(), 2);
    let r = lab.send("h1", "fd00::2", traffic::Kind::Icmp, 3, None);
    assert_eq!(r.replies, Some(3));
    let r = lab.send("h2", "192.168.77.1", traffic::Kind::Icmp, 3, None);
    assert_eq!(r.replies, Some(3));
}

/// A veth pair with the kernel's defaults in a namespace of the test's own, removed on drop:
/// it sends what a link that is not quiet sends (MLD reports, DAD, router solicitations).
struct ControlLink {
    ns: String,
}

impl ControlLink {
    fn new(env: &LabEnv) -> Self {
        let ns = format!("{}ctl", env.ns_prefix);
        let ip = |args: &[&str]| {
            let o = std::process::Command::new("ip")
                .args(args)
                .output()
                .unwrap();
            assert!(o.status.success(), "ip {args:?}: {o:?}");
        };
        ip(&["netns", "add", &ns]);
        let c = ControlLink { ns };
        let ns = c.ns.as_str();
        ip(&[
            "-n", ns, "link", "add", "c0", "type", "veth", "peer", "name", "c1",
        ]);
        ip(&["-n", ns, "link", "set", "c1", "up"]);
        ip(&["-n", ns, "link", "set", "c0", "up"]);
        c
    }
    /// What c0 has sent, by the kernel's ICMPv6 counters of the interface: (router
    /// solicitations, neighbour solicitations (DAD), MLDv2 reports).
    fn sent(&self) -> (u64, u64, u64) {
        let o = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns, "cat", "/proc/net/dev_snmp6/c0"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        let get = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{name} not in dev_snmp6: {text}"))
        };
        (
            get("Icmp6OutRouterSolicits"),
            get("Icmp6OutNeighborSolicits"),
            get("Icmp6OutMLDv2Reports"),
        )
    }
}

impl Drop for ControlLink {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.ns])
            .status();
    }
}

/// Links say nothing on their own: no DAD, no router solicitation, no MLD report. How long
/// to watch is not a guess: a control link with the kernel's defaults, made after the lab's,
/// is watched until it has sent each of the three (its interface's ICMPv6 counters): by then
/// every lab link has had as long to do the same, on a loaded machine too.
#[test]
fn links_are_quiet() {
    let mut lab = Lab::new("quiet");
    lab.up("hike-lab.toml");
    let control = ControlLink::new(&lab.env);
    let snapshot = |lab: &Lab| -> Vec<(String, u64, u64)> {
        let mut v = Vec::new();
        for node in ["tg", "sut", "clt"] {
            let fd = netns::open(&lab.env.ns_name(node)).unwrap();
            let links =
                netns::in_netns(&fd.as_fd(), || Netlink::open().unwrap().links().unwrap()).unwrap();
            for l in links.into_iter().filter(|l| l.name != "lo") {
                v.push((format!("{node}:{}", l.name), l.rx_packets, l.tx_packets));
            }
        }
        v
    };
    let t0 = Instant::now();
    loop {
        let (rs, ns, mld) = control.sent();
        if rs > 0 && ns > 0 && mld > 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the control link sent {rs} router solicitations, {ns} neighbour solicitations and \
             {mld} MLD reports in 60 s: the kernel's defaults changed?"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for (name, rx, tx) in snapshot(&lab) {
        assert_eq!((rx, tx), (0, 0), "{name} saw traffic nobody sent");
    }
}

#[test]
fn counter_counts_exactly_and_drop_stops_ping() {
    let mut lab = Lab::new("count");
    lab.up("hike-lab.toml");
    let env = lab.env.clone();
    let rep = xdp::attach(
        &env,
        lab.j(),
        "xdp_counter",
        "sut",
        "enp6s0f0",
        false,
        Lifetime::Persistent,
    )
    .unwrap();
    assert!(!rep.load.already_loaded);
    assert_eq!(lab.counter(), 0);

    // as fast as the generator goes, 2000 datagrams: exactly 2000 counted
    let r = lab.send(
        "tg",
        "fc01::2",
        traffic::Kind::Udp {
            port: 5000,
            payload: 64,
        },
        2000,
        None,
    );
    assert_eq!(r.sent, 2000, "{r:?}");
    assert_eq!(lab.counter(), 2000);

    // paced ICMP: requests counted, replies not (XDP sees only ingress)
    let r = lab.send("tg", "fc01::2", traffic::Kind::Icmp, 20, Some(200.0));
    assert_eq!(r.replies, Some(20));
    assert_eq!(lab.counter(), 2020);

    // IPv4 counts too
    let r = lab.send("tg", "10.12.1.2", traffic::Kind::Icmp, 5, None);
    assert_eq!(r.replies, Some(5));
    assert_eq!(lab.counter(), 2025);

    // flip to DROP: requests still counted, no reply
    let v = maps::find(&lab.env, "verdict").unwrap();
    maps::set(&v, "0", "DROP").unwrap();
    let mut lab2_replies = lab
        .send("tg", "fc01::2", traffic::Kind::Icmp, 5, None)
        .replies;
    assert_eq!(lab2_replies.take(), Some(0));
    assert_eq!(lab.counter(), 2030);

    // the rate reported is the sending's: 10 requests at 50/s take 180 ms to send, and the
    // 2 s wait for replies that never come is reported apart, not spread over the rate
    let r = lab.send("tg", "fc01::2", traffic::Kind::Icmp, 10, Some(50.0));
    assert_eq!(r.replies, Some(0));
    assert!(
        (40.0..=60.0).contains(&r.achieved_pps),
        "a send rate of about 50/s, not diluted by the wait: {r:?}"
    );
    assert!(r.elapsed_us < 1_500_000, "{r:?}");
    let wait = r.reply_wait_us.expect("ICMP waits for replies");
    assert!((1_900_000..10_000_000).contains(&wait), "{r:?}");
    assert_eq!(lab.counter(), 2040);

    // back to PASS
    maps::set(&v, "0", "PASS").unwrap();
    assert_eq!(
        lab.send("tg", "fc01::2", traffic::Kind::Icmp, 3, None)
            .replies,
        Some(3)
    );

    // the attachment is a pinned link and shows in status
    let st = topo::status(&lab.env).unwrap();
    let sut = st.nodes.iter().find(|n| n.node == "sut").unwrap();
    let e0 = sut.interfaces.iter().find(|i| i.dev == "enp6s0f0").unwrap();
    assert_eq!(e0.xdp_prog.as_deref(), Some("xdp_counter"));
    assert!(e0.xdp_prog_id.is_some());

    // detach: the interface has no XDP program any more, counting stops
    let env = lab.env.clone();
    xdp::detach(&env, lab.j(), "sut", "enp6s0f0").unwrap();
    lab.send(
        "tg",
        "fc01::2",
        traffic::Kind::Udp {
            port: 5000,
            payload: 8,
        },
        10,
        None,
    );
    assert_eq!(lab.counter(), 2043);
    let st = topo::status(&lab.env).unwrap();
    let sut = st.nodes.iter().find(|n| n.node == "sut").unwrap();
    assert!(sut.interfaces.iter().all(|i| i.xdp_prog_id.is_none()));
}

/// The verdict the program returns, checked with BPF_PROG_TEST_RUN on a crafted frame.
#[test]
fn counter_verdicts_by_test_run() {
    use aya::programs::{TestRun, TestRunOptions, Xdp};
    let mut lab = Lab::new("trun");
    let env = lab.env.clone();
    xdp::load(&env, lab.j(), "xdp_counter", Lifetime::Persistent).unwrap();
    let pin = env.bpffs_root.join("progs/lab/xdp_counter");
    let prog = Xdp::from_pin(&pin, aya_obj::programs::XdpAttachType::Interface).unwrap();
    // Ethernet + IPv6 + UDP, 62 bytes
    let mut frame = vec![0u8; 62];
    frame[12] = 0x86;
    frame[13] = 0xdd;
    frame[14] = 0x60;
    frame[20] = 17;
    let run = |frame: &[u8]| {
        let opts = TestRunOptions {
            data_in: Some(frame),
            repeat: 1,
            ..Default::default()
        };
        prog.test_run(opts).unwrap().return_value
    };
    assert_eq!(run(&frame), 2); // XDP_PASS
    let v = maps::find(&env, "verdict").unwrap();
    maps::set(&v, "0", "DROP").unwrap();
    assert_eq!(run(&frame), 1);
    maps::set(&v, "0", "TX").unwrap();
    assert_eq!(run(&frame), 3);
    // REDIRECT has no target in this program: it passes instead
    maps::set(&v, "0", "REDIRECT").unwrap();
    assert_eq!(run(&frame), 2);
    assert_eq!(lab.counter(), 4);
}

/// A namespace with the name a node needs, made by someone else, is never touched.
#[test]
fn refuses_a_foreign_namespace_and_leaves_nothing_half_made() {
    let mut lab = Lab::new("foreign");
    let foreign = lab.env.ns_name("sut");
    let status = std::process::Command::new("ip")
        .args(["netns", "add", &foreign])
        .status()
        .unwrap();
    assert!(status.success());
    struct Del(String);
    impl Drop for Del {
        fn drop(&mut self) {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", &self.0])
                .status();
        }
    }
    let _del = Del(foreign.clone());
    let ino = netns::inode(&foreign).unwrap();

    let src = std::fs::read_to_string(format!(
        "{}/../../netns/hike-lab.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let t = topology::parse(&src, "hike-lab.toml").unwrap();
    let env = lab.env.clone();
    let err = topo::up(&env, lab.j(), &t, &src, Lifetime::Persistent).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&foreign) && msg.contains("did not create"),
        "{msg}"
    );
    // nothing was created, the foreign namespace is untouched, even by reset
    assert_eq!(lab.ns_with_prefix(), vec![foreign.clone()]);
    let rep = cleanup::reset(&env, lab.j()).unwrap();
    assert!(rep.removed.iter().all(|r| !r.contains(&foreign)), "{rep:?}");
    assert_eq!(netns::inode(&foreign), Some(ino));
}

/// A failure half-way through `topo up` (a route the kernel refuses, after namespaces, links
/// and addresses exist) removes everything that was made.
#[test]
fn a_failure_half_way_rolls_back() {
    let mut lab = Lab::new("roll");
    let src = r#"
name = "broken"
[[node]]
name = "a"
[[node]]
name = "b"
[[link]]
a = { node = "a", dev = "eth0", mac = "02:00:00:00:10:01", addresses = ["fd07::1/64"] }
b = { node = "b", dev = "eth0", mac = "02:00:00:00:10:02", addresses = ["fd07::2/64"] }
[[route]]
node = "a"
to = "fd09::/64"
via = "fd08::1"
"#;
    let t = topology::parse(src, "broken.toml").unwrap();
    let env = lab.env.clone();
    let e = topo::up(&env, lab.j(), &t, src, Lifetime::Persistent)
        .unwrap_err()
        .to_string();
    assert!(e.contains("add route fd09::"), "{e}");
    assert!(
        lab.ns_with_prefix().is_empty(),
        "left behind: {:?}",
        lab.ns_with_prefix()
    );
    assert!(lab.j().entries().unwrap().is_empty());
    assert!(eclat_kernel::nodes::current(&lab.env).unwrap().is_none());
}

#[test]
fn unknown_nodes_and_devices_are_clear_errors() {
    let mut lab = Lab::new("unk");
    lab.up("pair.toml");
    let e = eclat_kernel::nodes::resolve_node(&lab.env, "sut")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown node `sut`") && e.contains("h1, h2"),
        "{e}"
    );
    let e = eclat_kernel::nodes::resolve_dev(&lab.env, "h1", "enp6s0f0")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no interface `enp6s0f0`") && e.contains("eth0"),
        "{e}"
    );
    let env = lab.env.clone();
    let e = xdp::attach(
        &env,
        lab.j(),
        "xdp_nope",
        "h1",
        "eth0",
        false,
        Lifetime::Persistent,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("xdp_counter"), "{e}");
    let spec = traffic::Spec {
        from: "h9".into(),
        to: Some("fd00::2".parse::<IpAddr>().unwrap()),
        kind: traffic::Kind::Icmp,
        count: Some(1),
        rate: None,
        reply_wait: Duration::from_millis(10),
    };
    let e = traffic::send(
        &lab.env,
        &spec,
        &AtomicU64::new(0),
        &tokio_util::sync::CancellationToken::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown node `h9`"), "{e}");
}

/// Pins never leave the lab's root.
#[test]
fn pins_stay_under_the_root() {
    let lab = Lab::new("root");
    let outside = std::path::Path::new("/sys/fs/bpf/not-the-lab/x");
    assert!(eclat_kernel::bpffs::check_inside(&lab.env, outside).is_err());
    let sneaky = lab.env.bpffs_root.join("../escape");
    assert!(eclat_kernel::bpffs::check_inside(&lab.env, &sneaky).is_err());
    assert!(
        eclat_kernel::bpffs::check_inside(&lab.env, &lab.env.bpffs_root.join("maps/x")).is_ok()
    );
}

/// The lab's HIKe instance records every directory and pin below its root in the journal
/// before creating it (provisional until the command commits: a kill leaves only recorded
/// leftovers), and forgets the pins it removes.
#[test]
fn a_journaled_hike_instance_records_every_pin_before_it_exists() {
    use std::collections::HashSet;
    use std::path::PathBuf;

    use eclat_kernel::journal::Resource;

    let mut lab = Lab::new("hkj");
    let j = lab.journal.take().unwrap();
    let root = lab.env.bpffs_root.clone();
    let mut h = eclat_kernel::hike::Hike::open_journaled(&root, j).unwrap();
    // a package with maps of its own (maps/meter/<program>/<map>)
    h.load_embedded("programs/meter.o").unwrap();
    let paths = |h: &mut eclat_kernel::hike::Hike| -> HashSet<PathBuf> {
        h.journal()
            .unwrap()
            .entries()
            .unwrap()
            .into_iter()
            .inspect(|e| assert_eq!(e.life, Lifetime::Provisional, "{}", e.res))
            .filter_map(|e| match e.res {
                Resource::Pin { path } | Resource::Dir { path } => Some(path),
                _ => None,
            })
            .collect()
    };
    let known = paths(&mut h);
    assert!(known.contains(&root), "the root itself: {known:?}");
    let mut found = Vec::new();
    eclat_kernel::bpffs::walk(&root, &mut found);
    assert!(
        found
            .iter()
            .any(|(p, _)| p.ends_with("progs/meter/ip6_sd_tbmon")),
        "{found:?}"
    );
    for (p, _) in &found {
        assert!(
            known.contains(p),
            "{} exists but is not in the journal",
            p.display()
        );
    }
    // what the instance removes leaves the journal too
    assert!(h.unload("programs/meter.o").unwrap());
    let known = paths(&mut h);
    assert!(
        !known
            .iter()
            .any(|p| p.starts_with(root.join("progs/meter"))),
        "{known:?}"
    );
}

/// `exec` in a session: a command's lines arrive while it runs (a pseudo-terminal, so a
/// program that buffers a pipe writes each line at once), it runs inside the node (its
/// addresses), Ctrl-C reaches it and what it prints on the way out still arrives, and its
/// exit status is its own.
#[test]
fn exec_streams_lines_from_a_pty_and_passes_ctrl_c() {
    use eclat_kernel::exec::{self, Next};
    let mut lab = Lab::new("exec");
    lab.up("hike-lab.toml");
    let sh = |script: &str| vec!["sh".to_string(), "-c".to_string(), script.to_string()];

    // inside sut: its address is there; the output is a terminal; the exit code passes
    let mut r = exec::spawn(
        &lab.env,
        "sut",
        &sh("ip -6 addr show dev enp6s0f0 | grep -c fc01::2; [ -t 1 ] && echo tty; exit 3"),
    )
    .unwrap();
    let mut lines = Vec::new();
    loop {
        match r.next_line(Duration::from_secs(10)) {
            Next::Line(l) => lines.push(l),
            Next::Closed => break,
            Next::Quiet => panic!("no output within 10 s: {lines:?}"),
        }
    }
    assert_eq!(lines, ["1", "tty"]);
    assert_eq!(r.wait(Duration::from_secs(5)).unwrap().code(), Some(3));

    // a command that closes its output before it exits (ping does) is not hung up on its
    // way out: the end of its output is not the end of its terminal (it used to get SIGHUP,
    // exit status 129, whenever it was still running when the reader saw the end)
    let mut r = exec::spawn(
        &lab.env,
        "tg",
        &sh("echo bye; exec >&- 2>&-; sleep 0.3; exit 4"),
    )
    .unwrap();
    assert_eq!(
        r.next_line(Duration::from_secs(10)),
        Next::Line("bye".into())
    );
    assert_eq!(r.next_line(Duration::from_secs(10)), Next::Closed);
    let st = r.wait(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (
            st.code(),
            std::os::unix::process::ExitStatusExt::signal(&st)
        ),
        (Some(4), None),
        "its own exit status, not a hang-up"
    );

    // a line comes before the command ends; Ctrl-C ends it and its trap still prints
    let mut r = exec::spawn(
        &lab.env,
        "tg",
        &sh("trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.05; done"),
    )
    .unwrap();
    assert_eq!(
        r.next_line(Duration::from_secs(10)),
        Next::Line("ready".into())
    );
    assert!(r.try_wait().is_none(), "still running after its first line");
    r.interrupt();
    assert_eq!(
        r.next_line(Duration::from_secs(10)),
        Next::Line("got-int".into())
    );
    assert_eq!(r.wait(Duration::from_secs(5)).unwrap().code(), Some(7));

    // a command that ignores Ctrl-C is killed after the grace period, with its children
    let r = exec::spawn(
        &lab.env,
        "tg",
        &sh("trap '' INT; echo ready; sleep 30 & wait"),
    )
    .unwrap();
    let mut r = r;
    assert_eq!(
        r.next_line(Duration::from_secs(10)),
        Next::Line("ready".into())
    );
    r.interrupt();
    let t = Instant::now();
    let st = r.wait(Duration::from_millis(300)).unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&st), Some(9));
    assert_eq!(
        r.next_line(Duration::from_secs(5)),
        Next::Closed,
        "its sleep was killed too"
    );

    // bpftool is found where Debian puts it even when the PATH has no sbin
    if eclat_kernel::doctor::tool("bpftool").is_some() {
        let mut r = exec::spawn(&lab.env, "sut", &["bpftool".into(), "version".into()]).unwrap();
        assert!(
            matches!(r.next_line(Duration::from_secs(10)), Next::Line(l) if l.contains("bpftool")),
        );
        assert_eq!(r.wait(Duration::from_secs(5)).unwrap().code(), Some(0));
    }
}

/// `BPF_ENABLE_STATS`: while the descriptor is open the kernel counts a program's runs (one
/// per packet) and their time; closed, the counts stop growing. The sysctl is never written.
#[test]
fn bpf_stats_count_runs_only_while_enabled() {
    let mut lab = Lab::new("stats");
    lab.up("hike-lab.toml");
    let env = lab.env.clone();
    xdp::attach(
        &env,
        lab.j(),
        "xdp_counter",
        "sut",
        "enp6s0f0",
        false,
        Lifetime::Persistent,
    )
    .unwrap();
    let st = topo::status(&env).unwrap();
    let id = st.nodes[1].interfaces[0].xdp_prog_id.expect("attached");
    let sysctl = || std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled").unwrap();
    let before_sysctl = sysctl();
    let udp = || traffic::Kind::Udp {
        port: 5000,
        payload: 64,
    };
    let stats = || eclat_kernel::sys::prog_stats_by_id(id).unwrap().unwrap();
    let (_, runs0) = stats();
    {
        let _on = eclat_kernel::sys::enable_stats().unwrap();
        lab.send("tg", "fc01::2", udp(), 50, None);
        // the packets land asynchronously (veth NAPI): wait for the counter, not a time
        let until = Instant::now() + Duration::from_secs(10);
        while lab.counter() < 50 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        let (ns, runs) = stats();
        assert_eq!(
            runs - runs0,
            50,
            "one run per packet while statistics are on"
        );
        assert!(ns > 0, "run time counted");
        assert_eq!(sysctl(), before_sysctl, "the sysctl is not the switch used");
    }
    let (_, runs_off) = stats();
    lab.send("tg", "fc01::2", udp(), 50, None);
    let until = Instant::now() + Duration::from_secs(10);
    while lab.counter() < 100 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(lab.counter(), 100);
    // (another process of the machine may hold statistics on: then they keep counting)
    if before_sysctl.trim() == "0" && !other_stats_holder() {
        assert_eq!(stats().1, runs_off, "closed: no more counting");
    }
}

/// Does another process hold BPF statistics on (an open `bpf-stats` descriptor)?
fn other_stats_holder() -> bool {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|p| std::fs::read_dir(p.path().join("fd")).ok())
        .flatten()
        .flatten()
        .any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy().contains("bpf-stats"))
        })
}

/// `sys::attached_probes` lists what a process attached (as `bpftool perf` does): a bpftrace
/// program's tracepoint, once bpftrace attached it. bpftrace runs `BEGIN` before attaching
/// the other probes, so the lab's checks wait for this list before they send traffic; then
/// Ctrl-C ends bpftrace and it prints its map.
#[test]
fn a_process_probes_are_listed_once_attached() {
    use std::io::{BufRead, BufReader};
    assert!(eclat_kernel::doctor::privileged(), "kernel tests need root");
    let Some(bpftrace) = eclat_kernel::doctor::tool("bpftrace") else {
        eprintln!("skipped: bpftrace is not installed (doctor says how to install it)");
        return;
    };
    // a fresh machine may have tracefs unmounted: the lab mounts it as a check would
    assert!(
        eclat_kernel::doctor::ensure_tracefs().is_some(),
        "tracefs is not mounted and could not be mounted"
    );
    let mut child = std::process::Command::new(bpftrace)
        .args([
            "-e",
            r#"BEGIN { printf("go\n"); } tracepoint:xdp:xdp_exception { @n = count(); }"#,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut child = Kill(child);
    let pid = child.0.id();
    let mut line = String::new();
    while line.trim() != "go" {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "bpftrace ended first"
        );
    }
    let until = Instant::now() + Duration::from_secs(60);
    let probe = loop {
        let found = eclat_kernel::sys::attached_probes(pid);
        if let Some(p) = found.into_iter().find(|p| p.name == "xdp_exception") {
            break p;
        }
        assert!(Instant::now() < until, "the tracepoint was never listed");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(probe.fd_type, 1, "a tracepoint: {probe:?}");
    assert!(probe.prog_id > 0);
    assert!(
        eclat_kernel::sys::prog_info_by_id(probe.prog_id)
            .unwrap()
            .is_some()
    );
    // bpftrace can miss a Ctrl-C that comes just before it waits for events (seen on a
    // loaded machine): like a user, send another until it ends
    let until = Instant::now() + Duration::from_secs(30);
    let mut next = Instant::now();
    let st = loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < until, "bpftrace did not end on Ctrl-C");
        if Instant::now() >= next {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGINT,
            )
            .unwrap();
            next = Instant::now() + Duration::from_millis(500);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(st.success() && rest.contains("@n: 0"), "{st:?}: {rest}");
    // a process without probes lists none
    assert_eq!(
        eclat_kernel::sys::attached_probes(std::process::id()),
        vec![]
    );
}

/// A folder of a test's own pins below the lab's `maps/` (made here, not through the lab's
/// journal, so the lab's reset leaves it): its pins and folders removed when dropped, the
/// instance's root with them when empty, even after a failure.
struct TestPins(std::path::PathBuf, std::path::PathBuf);

impl TestPins {
    fn new(lab: &Lab, name: &str) -> Self {
        let dir = TestPins(
            lab.env.bpffs_root.join("maps").join(name),
            lab.env.bpffs_root.clone(),
        );
        std::fs::create_dir_all(&dir.0).unwrap();
        dir
    }
}

impl Drop for TestPins {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir(&self.0) {
            for e in rd.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        for d in [self.0.as_path(), &self.1.join("maps"), &self.1] {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// The TUI's panels keep their maps open between readings (`maps::OpenMap`): the pin's
/// identity tells them when the name pins another map (a reload pins its maps anew), and
/// until then a reading needs no pin lookup.
#[test]
fn an_open_map_notices_a_map_pinned_anew_under_its_name() {
    let lab = Lab::new("openmap");
    let dir = TestPins::new(&lab, "openmap-test");
    let pin = dir.0.join("m");
    let create = || {
        let st = std::process::Command::new("bpftool")
            .args(["map", "create"])
            .arg(&pin)
            .args(["type", "array", "key", "4", "value", "8", "entries", "2"])
            .args(["name", "openmap"])
            .status()
            .expect("bpftool (the README's setup installs it)");
        assert!(st.success(), "bpftool map create {}", pin.display());
    };
    let value = |m: &maps::OpenMap| match &m.dump(4).unwrap().rows[0].value {
        maps::Value::Int(v) => *v,
        other => panic!("{other:?}"),
    };
    let base = lab.env.bpffs_root.join("maps");
    create();
    let first = maps::OpenMap::open(maps::map_ref(&pin, &base).unwrap()).unwrap();
    assert!(first.current());
    maps::set(first.map(), "0", "7").unwrap();
    assert_eq!(value(&first), 7);
    std::fs::remove_file(&pin).unwrap();
    assert!(!first.current(), "the map was unpinned");
    create();
    assert!(
        !first.current(),
        "another map is pinned under the same name"
    );
    let second = maps::OpenMap::open(maps::map_ref(&pin, &base).unwrap()).unwrap();
    assert!(second.current());
    assert_eq!(value(&second), 0);
    assert_eq!(value(&first), 7, "the first stays open on its own map");
}

/// `sys::bpf_usage_below` counts what is pinned below a lab's root as bpftool does: the
/// program attached through the lab's pinned link, the maps it uses, and the kernel's memlock
/// bytes of each (bpftool's `bytes_memlock`, read back here by bpftool itself).
#[test]
fn bpf_usage_below_a_root_is_what_bpftool_says() {
    let mut lab = Lab::new("bpfusage");
    lab.up("hike-lab.toml");
    let env = lab.env.clone();
    let before = eclat_kernel::sys::bpf_usage_below(&env.bpffs_root).unwrap();
    xdp::attach(
        &env,
        lab.j(),
        "xdp_counter",
        "sut",
        "enp6s0f0",
        false,
        Lifetime::Persistent,
    )
    .unwrap();
    let st = topo::status(&env).unwrap();
    let id = st.nodes[1].interfaces[0].xdp_prog_id.expect("attached");
    let u = eclat_kernel::sys::bpf_usage_below(&env.bpffs_root).unwrap();
    assert!(u.programs.contains(&id), "{u:?} lacks program {id}");
    assert!(!before.programs.contains(&id), "{before:?}");
    let bpftool = |args: &[String]| -> serde_json::Value {
        let o = std::process::Command::new("bpftool")
            .arg("-j")
            .args(args)
            .output()
            .expect("bpftool (the README's setup installs it)");
        assert!(o.status.success(), "bpftool {args:?}");
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let prog = bpftool(&["prog".into(), "show".into(), "id".into(), id.to_string()]);
    let mut expected = prog["bytes_memlock"].as_u64().unwrap();
    let map_ids: Vec<u32> = prog["map_ids"]
        .as_array()
        .map(|a| a.iter().map(|m| m.as_u64().unwrap() as u32).collect())
        .unwrap_or_default();
    assert!(!map_ids.is_empty(), "xdp_counter uses maps: {prog}");
    for m in &map_ids {
        assert!(u.maps.contains(m), "{u:?} lacks map {m}");
    }
    for m in &u.maps {
        let map = bpftool(&["map".into(), "show".into(), "id".into(), m.to_string()]);
        expected += map["bytes_memlock"].as_u64().unwrap();
    }
    for p in u.programs.iter().filter(|p| **p != id) {
        let p = bpftool(&["prog".into(), "show".into(), "id".into(), p.to_string()]);
        expected += p["bytes_memlock"].as_u64().unwrap();
    }
    assert_eq!(u.memlock_bytes, expected, "{u:?}");
    assert!(u.memlock_bytes > 0);
    // a program reached only through a pinned link counts, with its maps: the attachment's
    // link pinned again alone in a scratch folder of the test's
    let links = bpftool(&["link".into(), "show".into()]);
    let link = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["prog_id"].as_u64() == Some(id as u64))
        .unwrap_or_else(|| panic!("no link of program {id}: {links}"));
    let only = eclat_kernel::hike::ScratchRoot::new("bpfusage").unwrap();
    let pin = only.path().join("link");
    let st = std::process::Command::new("bpftool")
        .args(["link", "pin", "id", &link["id"].to_string()])
        .arg(&pin)
        .status()
        .unwrap();
    assert!(st.success(), "bpftool link pin");
    let l = eclat_kernel::sys::bpf_usage_below(only.path()).unwrap();
    assert_eq!(l.programs, vec![id], "{l:?}");
    let mut want = map_ids.clone();
    want.sort_unstable();
    assert_eq!(l.maps, want, "{l:?}");
}

/// `sys::prog_count` counts the machine's programs as `bpftool prog list` does (give or
/// take the programs other processes load or free meanwhile: compared within a margin).
#[test]
fn prog_count_is_bpftools() {
    let o = std::process::Command::new("bpftool")
        .args(["-j", "prog", "list"])
        .output()
        .expect("bpftool (the README's setup installs it)");
    let listed = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap();
    let listed = listed.as_array().unwrap().len();
    let n = eclat_kernel::sys::prog_count().unwrap();
    assert!(
        n > 0 && n.abs_diff(listed) <= 10,
        "{n} vs bpftool's {listed}"
    );
}

/// `map clear` (and the kept check lab's reset, which clears every map of its instances) zeroes
/// exactly the array entries that are set, found in batches of 256: over more than one
/// batch, at both ends of the array, and in a per-CPU array an entry set on one CPU only.
#[test]
fn clearing_an_array_zeroes_exactly_the_entries_that_are_set() {
    use maps::Walk;
    let lab = Lab::new("aclear");
    let dir = TestPins::new(&lab, "aclear-test");
    let base = lab.env.bpffs_root.join("maps");
    let ncpu = eclat_kernel::sys::possible_cpus();
    // (type, value size, max entries, the entries set)
    let cases: &[(&str, u32, u32, &[u32])] = &[
        ("array", 8, 600, &[0, 1, 255, 256, 257, 511, 512, 599]),
        ("array", 4, 300, &[]),
        ("percpu_array", 4, 300, &[3, 299]),
    ];
    for (i, &(ty, vs, max, set)) in cases.iter().enumerate() {
        let pin = dir.0.join(format!("c{i}"));
        let st = std::process::Command::new("bpftool")
            .args(["map", "create"])
            .arg(&pin)
            .args(["type", ty, "key", "4", "value", &vs.to_string()])
            .args(["entries", &max.to_string(), "name", &format!("aclear{i}")])
            .status()
            .expect("bpftool (the README's setup installs it)");
        assert!(st.success(), "bpftool map create {ty}");
        let m = maps::map_ref(&pin, &base).unwrap();
        let data = aya::maps::MapData::from_pin(&pin).unwrap();
        let len = if m.per_cpu() {
            (vs as usize).div_ceil(8) * 8 * ncpu
        } else {
            vs as usize
        };
        for &k in set {
            let mut value = vec![0u8; len];
            // one byte of the value; in a per-CPU array, the last CPU's only
            let at = if m.per_cpu() {
                len - (vs as usize).div_ceil(8) * 8
            } else {
                0
            };
            value[at] = 1 + (k % 200) as u8;
            eclat_kernel::sys::update(data.fd().as_fd(), &k.to_ne_bytes(), &value).unwrap();
        }
        let c = maps::clear(&m).unwrap();
        assert_eq!(c.cleared, set.len(), "{ty} of {max}: the entries set");
        let rows = maps::dump_with(&m, 100_000, Walk::KeyByKey).unwrap().rows;
        assert_eq!(rows.len(), max as usize);
        for r in &rows {
            assert!(
                r.value_bytes.iter().all(|b| *b == 0)
                    && r.per_cpu.iter().all(|v| v.iter().all(|b| *b == 0)),
                "{ty}: {:?} left set",
                r.key
            );
        }
    }
}

/// `map dump` and the TUI's panels read a map in batches (`BPF_MAP_LOOKUP_BATCH`) where its
/// type has them: for every map type the lab shows, and limits below, at and above a batch
/// (256) and the map's size, the rows are those of the key-by-key walk; a program array
/// (no batch lookup) is read key by key.
#[test]
fn a_batched_dump_reads_what_the_key_walk_reads() {
    use maps::Walk;
    let lab = Lab::new("batch");
    let dir = TestPins::new(&lab, "batch-test");
    let base = lab.env.bpffs_root.join("maps");
    // (type, key size, value size, max entries, entries written)
    let cases: &[(&str, u32, u32, u32, u32)] = &[
        ("array", 4, 8, 300, 300),
        ("percpu_array", 4, 4, 10, 10),
        ("hash", 16, 12, 1024, 600),
        ("percpu_hash", 4, 8, 64, 5),
        ("lru_hash", 8, 8, 512, 40),
        ("hash", 4, 4, 64, 0),
        ("prog_array", 4, 4, 8, 0),
    ];
    for (i, &(ty, ks, vs, max, n)) in cases.iter().enumerate() {
        let pin = dir.0.join(format!("m{i}"));
        let st = std::process::Command::new("bpftool")
            .args(["map", "create"])
            .arg(&pin)
            .args(["type", ty])
            .args(["key", &ks.to_string(), "value", &vs.to_string()])
            .args(["entries", &max.to_string(), "name", &format!("batch{i}")])
            .status()
            .expect("bpftool (the README's setup installs it)");
        assert!(st.success(), "bpftool map create {ty}");
        let m = maps::map_ref(&pin, &base).unwrap();
        let data = aya::maps::MapData::from_pin(&pin).unwrap();
        let ncpu = if m.per_cpu() {
            eclat_kernel::sys::possible_cpus()
        } else {
            1
        };
        for k in 0..n {
            // distinct keys and values, spread over the key's bytes
            let key: Vec<u8> = (0..ks)
                .map(|b| (k.wrapping_mul(2654435761) >> (b % 4 * 8)) as u8 ^ b as u8)
                .collect();
            let key = if ty.ends_with("array") {
                k.to_ne_bytes().to_vec()
            } else {
                key
            };
            let stride = (vs as usize).div_ceil(8) * 8;
            let mut value = vec![
                0u8;
                if m.per_cpu() {
                    stride * ncpu
                } else {
                    vs as usize
                }
            ];
            for (j, b) in value.iter_mut().enumerate() {
                *b = (k as usize * 7 + j) as u8;
            }
            eclat_kernel::sys::update(data.fd().as_fd(), &key, &value).unwrap();
        }
        let all = maps::dump_with(&m, 100_000, Walk::KeyByKey).unwrap().rows;
        let expect = if ty.ends_with("array") && ty != "prog_array" {
            max
        } else {
            n
        };
        assert_eq!(all.len(), expect as usize, "{ty}: the key walk");
        let shown = |r: &maps::Row| {
            (
                r.key_bytes.clone(),
                r.value_bytes.clone(),
                r.per_cpu.clone(),
            )
        };
        let mut want: Vec<_> = all.iter().map(shown).collect();
        want.sort();
        for limit in [1usize, 7, 64, 256, 257, 1000, 100_000] {
            let got = maps::dump_with(&m, limit, Walk::Batched).unwrap().rows;
            assert_eq!(got.len(), all.len().min(limit), "{ty}, limit {limit}");
            let mut got: Vec<_> = got.iter().map(shown).collect();
            got.sort();
            if limit >= all.len() {
                assert_eq!(got, want, "{ty}, limit {limit}");
            } else {
                assert!(
                    got.iter().all(|r| want.binary_search(r).is_ok()),
                    "{ty}, limit {limit}: a row the key walk does not have"
                );
                got.dedup();
                assert_eq!(
                    got.len(),
                    all.len().min(limit),
                    "{ty}, limit {limit}: duplicates"
                );
            }
        }
        // the per-CPU values are summed the same way
        if m.per_cpu() && n > 0 {
            assert_eq!(
                maps::dump(&m, 1).unwrap().rows[0].per_cpu.len(),
                ncpu,
                "{ty}"
            );
        }
    }
}

/// A TUI session that ends takes its topology with it; what a shell attached in its
/// namespaces meanwhile (a persistent link, which the session's end keeps) went with the
/// devices, so its pin goes too: `xdp list` said `sut:enp6s0f0 <- udp_dport_classifier`
/// after the namespaces were gone.
#[test]
fn a_sessions_end_forgets_what_was_attached_in_its_namespaces() {
    let mut lab = Lab::new("sessend");
    let src = std::fs::read_to_string(format!(
        "{}/../../netns/hike-lab.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let t = topology::parse(&src, "hike-lab.toml").unwrap();
    let env = lab.env.clone();
    topo::up(&env, lab.j(), &t, &src, Lifetime::Session).unwrap();
    xdp::attach(
        &env,
        lab.j(),
        "xdp_counter",
        "sut",
        "enp6s0f0",
        false,
        Lifetime::Persistent,
    )
    .unwrap();
    assert_eq!(xdp::attachments(&env).len(), 1);
    cleanup::end_session(&env, lab.j()).unwrap();
    assert!(
        lab.ns_with_prefix().is_empty(),
        "the session's namespaces go"
    );
    let left: Vec<String> = xdp::attachments(&env)
        .iter()
        .map(|a| format!("{}:{} <- {}", a.node, a.dev, a.program))
        .collect();
    assert!(left.is_empty(), "attached where nothing is: {left:?}");
    // the persistent program itself stays (a shell loaded it)
    assert!(maps::find(&env, "pkt_count").is_ok());
}

/// The checks' kept lab opened from a shell while a tutorial runs: the tutorial's session
/// made the lab's root, the kept lab (persistent) went below it. When the session ended, the
/// root was left recorded with a dead owner and in use, and every later command said "removed
/// 0 leftover(s)... kept directory ROOT: it holds what the lab did not make" (from a
/// learner's walkthrough: `lesson check 3 bpftool-facts` in a second terminal, then q).
#[test]
fn a_kept_check_lab_from_a_shell_keeps_the_sessions_root() {
    let mut lab = Lab::new("keptroot");
    let env = lab.env.clone();
    eclat_kernel::bpffs::ensure_dir(&env, lab.j(), &env.bpffs_root, Lifetime::Session).unwrap();
    // one holder of the journal at a time: the shell's process, then the session's again
    drop(lab.journal.take());
    let kept = eclat_kernel::sublab::open_kept(&env, "ck", Lifetime::Persistent)
        .unwrap()
        .expect("the kept lab's lock");
    drop(kept);
    lab.journal = Some(Journal::open(&env.state_dir).unwrap());
    let report = cleanup::end_session(&env, lab.j()).unwrap();
    assert!(report.is_empty(), "the session's end: {report:?}");
    let root = lab
        .j()
        .entries()
        .unwrap()
        .into_iter()
        .find(|e| e.res.bpffs_path() == Some(&env.bpffs_root))
        .expect("the root stays recorded");
    assert_eq!(
        root.life,
        Lifetime::Persistent,
        "adopted by the shell's lab"
    );
    let report = cleanup::recover(&env, lab.j()).unwrap();
    assert!(report.is_empty(), "the next command: {report:?}");
}

/// `classroom down` ends every process of a learner before `userdel`, which refuses while
/// any process has the user's uid as one of its ids: sudo, setuid root, keeps the learner's
/// as its real uid while its /proc folder is root's (down failed with "user is currently used
/// by process" when a learner's terminal had just closed).
#[test]
fn a_learners_processes_include_those_running_setuid_root() {
    use std::os::unix::process::CommandExt;
    // a uid no account has: this test's own
    let uid = 3_900_000 + std::process::id() % 10_000;
    let child = unsafe {
        std::process::Command::new("sleep")
            .arg("30")
            .pre_exec(move || {
                // real uid the learner's, effective root: what sudo runs as
                if libc::setreuid(uid, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
            .spawn()
            .unwrap()
    };
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() != "sleep")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _reap = Reap(child);
    let found = eclat_kernel::classroom::processes_of(uid);
    assert!(found.contains(&pid), "{pid} not among {found:?}");
}
