//! The bench suite runs end to end in the real kernel and reports every case with its
//! baseline. Numbers are printed (run with --nocapture), not asserted: absolute times drift
//! between machines; `eclat-lab bench` shows them.

use eclat_kernel::hike::bench::{self, BenchOptions};
use eclat_kernel::hike::packet;
use hike::XdpAction;

#[test]
fn bench_suite_reports_every_case_against_a_baseline() {
    let repeat = std::env::var("HIKE_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let r = bench::run(BenchOptions {
        repeat,
        samples: 11,
        dynamic_dispatch: true,
    })
    .expect("bench");
    println!("{r}");
    println!("{}", serde_json::to_string(&r.derived).unwrap());
    assert!(r.cases.len() >= 15, "{} cases", r.cases.len());
    for c in &r.cases {
        assert!(c.min_ns > 0.0 && c.min_ns <= c.median_ns, "{c:?}");
        if let Some(ratio) = c.ratio {
            assert!(ratio.is_finite() && ratio > 0.0, "{c:?}");
        }
    }
    // every kind of object was loaded, and its load was measured
    for (package, name) in [
        ("hike_vm", "hike_vm"),
        ("hike_default", "monitor"),
        ("hike_default", "ip6_simple_classifier"),
        ("meter", "ip6_sd_tbmon"),
        ("ddos_tc", "dtc_mon"),
        ("ddos_mark", "mark_kroute"),
    ] {
        assert!(
            r.loads
                .iter()
                .any(|l| l.package == package && l.name == name),
            "{package}.{name} missing from the loads"
        );
    }
    assert!(
        r.loads
            .iter()
            .all(|l| l.xlated_bytes > 0 && l.jited_bytes > 0)
    );
    let d = &r.derived;
    for x in [
        d.ddos_ratio,
        d.ddos_composition_ratio,
        d.ddos_vs_tail_calls_ratio,
        d.marking_ratio,
        d.pipeline_ratio,
    ] {
        assert!(x.is_finite() && x > 0.0, "{d:?}");
    }
    // the lesson 8 pair over its loads: every load measured both, the median among them
    let l = &d.ddos_loads;
    assert_eq!(l.min_ns.len(), bench::DDOS_LOADS, "{l:?}");
    assert!(
        l.min_ns
            .iter()
            .all(|(c, r)| c.is_finite() && r.is_finite() && *c > 0.0 && *r > 0.0),
        "{l:?}"
    );
    assert!(
        l.ratio_low <= l.ratio_median && l.ratio_median <= l.ratio_high,
        "{l:?}"
    );
    assert_eq!(d.ddos_ratio, l.ratio_median);
    assert!(d.ddos_ratio_one_load.is_finite() && d.ddos_ratio_one_load > 0.0);
    // the stage-by-stage rows: every cut of the chain and of the hand-written program ran
    assert!(d.ddos_gap_by_step_ns.iter().all(|g| g.is_finite()), "{d:?}");
    for k in 1..=3 {
        let name = format!("HIKe DDoS chain up to step {k}, no branches, flood");
        assert!(r.cases.iter().any(|c| c.name == name), "{name} missing");
    }
    // the split of the whole gap adds up to it
    let sp = &d.ddos_split_ns;
    let sum = sp.programs_ns + sp.loader_ns + sp.separate_ns + sp.chain_ns;
    assert!((sum - d.ddos_gap_by_step_ns[3]).abs() < 1e-6, "{d:?}");
}

/// The verdicts of `package.program` on 1200 packets of one flow from 12:1::1 to fc01::2,
/// sent one test run each: a flood, as far as the DDoS policy's buckets can tell.
fn flood_verdicts(s: &bench::Setup, package: &str, program: &str) -> Vec<XdpAction> {
    let flood = packet::ipv6_udp_frame(
        packet::ip6("12:1::1").unwrap(),
        packet::ip6("fc01::2").unwrap(),
        1000,
        2000,
        &[0u8; 32],
    );
    (0..1200)
        .map(|_| {
            s.hike
                .test_run(package, program, &flood, 1)
                .unwrap()
                .action()
                .unwrap()
        })
        .collect()
}

/// The baselines are the same policy as the chains they are compared with: the DDoS policy
/// as separate programs chained by tail calls decides every packet of a flood like the
/// fused program (verdicts and counters).
#[test]
fn ddos_baselines_make_the_same_decisions() {
    let s = bench::Setup::new("eclat-lab-test-dtc").expect("HIKe setup (needs root)");
    bench::wire_ddos_tc(&s.hike).unwrap();
    for pkg in ["ddos", "ddos_tc"] {
        s.hike
            .map_update(pkg, "ddos_cfg", &0u32.to_ne_bytes(), &1u32.to_ne_bytes())
            .unwrap();
    }
    let fused = flood_verdicts(&s, "ddos", "ddos_raw");
    let chained = flood_verdicts(&s, "ddos_tc", "dtc_classifier");
    assert_eq!(fused, chained);
    assert!(fused[..10].iter().all(|v| *v == XdpAction::Pass));
    assert_eq!(fused[10], XdpAction::Drop);
    assert_eq!(
        fused.iter().filter(|v| **v == XdpAction::Redirect).count(),
        2
    );
    let mon = |pkg: &str, ev: u32| {
        s.hike
            .percpu_u64_sum(pkg, "ddos_mon", &ev.to_ne_bytes())
            .unwrap()
    };
    for ev in 0..3 {
        assert_eq!(mon("ddos", ev), mon("ddos_tc", ev), "event {ev}");
    }
}

/// The rearrangements of the DDoS chain's programs that split the bench's DDoS gap
/// (`raw/ddos_inline.o`) decide every packet of a flood like the chain itself and count the
/// same events: the programs inlined into one, run alone and behind the classifier, and the
/// flood's path as separate programs with a hand-written hand-over. Through the classifier
/// it is their programs that run (their counters move), not the chain's.
#[test]
fn rearranged_ddos_programs_decide_like_the_chain() {
    let run = flood_verdicts;
    let mon = |s: &bench::Setup, pkg: &str| -> Vec<u64> {
        (0u32..3)
            .map(|ev| {
                s.hike
                    .percpu_u64_sum(pkg, "map_pcpu_mon", &ev.to_ne_bytes())
                    .unwrap()
            })
            .collect()
    };
    let classifier = |s: &mut bench::Setup, chain: u32| {
        s.hike
            .set_loader_chain(
                "hike_default",
                "ipv6_simple_classifier_map",
                &0u32.to_ne_bytes(),
                chain,
            )
            .unwrap()
    };
    // the chain: 10 packets pass, then the flow is blacklisted; 1 in 500 of the rest is
    // sampled (to no collector: dropped too, but counted as REDIRECT)
    let mut s = bench::Setup::new("eclat-lab-test-inl").expect("HIKe setup (needs root)");
    s.classify_to(hike::FIRST_CHAIN_ID, &bench::ddos_chain(0))
        .unwrap();
    let chain = run(&s, "hike_default", "ip6_simple_classifier");
    assert!(chain[..10].iter().all(|v| *v == XdpAction::Pass));
    assert!(chain[10..].iter().all(|v| *v == XdpAction::Drop));
    let chain_mon = mon(&s, "hike_default");
    assert_eq!(chain_mon, vec![10, 1188, 2]);
    // inlined, alone
    assert_eq!(run(&s, "ddos_inline", "ddos_inline"), chain);
    assert_eq!(mon(&s, "ddos_inline"), chain_mon);
    drop(s);
    // behind the classifier, and the flood's path with a minimal hand-over: each on fresh
    // maps (the two share the object's)
    for (prefix, chain_id) in [
        ("eclat-lab-test-inl2", bench::DDOS_INLINE_CHAIN),
        ("eclat-lab-test-dmh", bench::DMH_CHAIN),
    ] {
        let mut s = bench::Setup::new(prefix).unwrap();
        bench::plug_ddos_split(&s.hike).unwrap();
        classifier(&mut s, chain_id);
        assert_eq!(
            run(&s, "hike_default", "ip6_simple_classifier"),
            chain,
            "{chain_id:#x}"
        );
        assert_eq!(mon(&s, "ddos_inline"), chain_mon, "{chain_id:#x}");
        assert_eq!(mon(&s, "hike_default"), vec![0, 0, 0], "{chain_id:#x}");
    }
}

/// The DDoS marking scenario: inside the routed namespace, the raw pipeline and the chain
/// both forward through the FIB, with the same bytes out (CE mark, hop limit, MACs).
#[test]
fn marking_pipeline_and_chain_forward_the_same_frame() {
    let mut s = bench::Setup::new("eclat-lab-test-mark").expect("HIKe setup (needs root)");
    for (slot, prog) in [(1, "mark_set_ecn"), (2, "mark_monitor"), (3, "mark_kroute")] {
        s.hike
            .prog_array_set("ddos_mark", "mark_progs", slot, "ddos_mark", prog)
            .unwrap();
    }
    s.classify_to(hike::FIRST_CHAIN_ID, &bench::marking_chain())
        .unwrap();
    let (ns, egress) = bench::routed_netns().unwrap();
    let frame = packet::bench_frame();
    let (raw, chain) = eclat_kernel::netns::in_netns(&ns.fd, || {
        (
            s.hike
                .test_run("ddos_mark", "mark_classifier", &frame, 1)
                .unwrap(),
            s.run(&frame).unwrap(),
        )
    })
    .unwrap();
    assert!(egress > 0);
    assert_eq!(raw.action(), Some(XdpAction::Redirect));
    assert_eq!(chain.action(), Some(XdpAction::Redirect));
    assert_eq!(raw.packet, chain.packet);
    let out = &chain.packet;
    assert_eq!(out[0..6], bench::ROUTED_NEXT_HOP_MAC);
    assert_eq!(out[6..12], bench::ROUTED_EGRESS_MAC);
    assert_eq!(out[15] & 0x30, 0x30, "ECN = CE");
    assert_eq!(out[21], frame[21] - 1, "hop limit decremented");
    // outside the routed namespace there is no route: both pass the frame to the stack
    assert_eq!(
        s.hike
            .test_run("ddos_mark", "mark_classifier", &frame, 1)
            .unwrap()
            .action(),
        Some(XdpAction::Pass)
    );
}

/// A bench or test killed before dropping its scratch root leaves `<prefix>-<pid>-<n>` under
/// bpffs; the next root made with that prefix removes it, and nothing else.
#[test]
fn scratch_roots_of_dead_processes_are_swept() {
    let mount = std::path::Path::new(eclat_kernel::env::BPFFS_MOUNT);
    let prefix = format!("eclat-lab-sweep{}", std::process::id());
    // pids are always below pid_max: no process can have this one
    let dead_pid: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dead = mount.join(format!("{prefix}-{dead_pid}-0"));
    let alive = mount.join(format!("{prefix}-1-0")); // init is alive
    let other = mount.join(format!("{prefix}-x-{dead_pid}-0"));
    for d in [&dead, &alive, &other] {
        std::fs::create_dir_all(d.join("progs")).unwrap();
    }
    let root = eclat_kernel::hike::ScratchRoot::new(&prefix).unwrap();
    let (dead_gone, alive_kept, other_kept) = (!dead.exists(), alive.exists(), other.exists());
    drop(root);
    for d in [&dead, &alive, &other] {
        let _ = std::fs::remove_dir_all(d);
    }
    assert!(dead_gone, "the dead process's root was swept");
    assert!(alive_kept, "a live process's root is kept");
    assert!(other_kept, "a name of another shape is kept");
}
