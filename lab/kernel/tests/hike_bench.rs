//! The bench suite runs end to end in the real kernel and reports every case with its
//! baseline. Numbers are printed (run with --nocapture), not asserted: absolute times drift
//! between machines and with load; `eclat-lab bench` shows them. What is asserted holds on
//! any machine: every case ran, every object's load was measured, and each derived figure is
//! what its definition gives from the published rows.

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
    // each case's ratio is its median over its baseline's median, as the table shows them
    let case = |name: &str| {
        r.cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    for c in &r.cases {
        assert!(c.min_ns > 0.0, "{c:?}");
        match (&c.baseline, c.ratio) {
            (Some(b), Some(ratio)) => {
                let want = c.median_ns / case(b).median_ns;
                assert!((ratio - want).abs() < 1e-9 * want, "{c:?}: {want}");
            }
            (None, None) => {}
            _ => panic!("a ratio without its baseline, or the reverse: {c:?}"),
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
    // the derived figures are what the published rows say, recomputed here from the table's
    // minima (a figure that drifted from its definition, or a case renamed under it, fails)
    let d = &r.derived;
    let min = |name: &str| case(name).min_ns;
    let close = |got: f64, want: f64, what: &str| {
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{what}: {got} reported, {want} from the table"
        );
    };
    const FUSED: &str = "raw DDoS single program (flood)";
    const CHAIN: &str = "HIKe DDoS chain (flood)";
    const TAIL_CALLS: &str = "raw DDoS as 5 programs chained by tail calls (flood)";
    close(
        d.vm_entry_ns,
        min("classifier -> chain{hike_pass}") - min("raw XDP_PASS"),
        "vm_entry_ns",
    );
    close(
        d.per_call_ns,
        (min("chain of 8 null calls + hike_pass") - min("chain of 1 null calls + hike_pass")) / 7.0,
        "per_call_ns",
    );
    close(
        d.ddos_ratio_one_load,
        min(CHAIN) / min(FUSED),
        "ddos_ratio_one_load",
    );
    close(
        d.ddos_composition_ratio,
        min(TAIL_CALLS) / min(FUSED),
        "composition",
    );
    close(
        d.ddos_vs_tail_calls_ratio,
        min(CHAIN) / min(TAIL_CALLS),
        "vs tail calls",
    );
    close(
        d.marking_ratio,
        min("HIKe DDoS marking chain {ip6_set_ecn; monitor; ip6_kroute}")
            / min("raw DDoS marking pipeline (classifier, set_ecn, monitor, kroute)"),
        "marking_ratio",
    );
    close(
        d.interpreted.ddos_ratio,
        min("HIKe DDoS chain (flood), interpreted") / min(FUSED),
        "interpreted ddos_ratio",
    );
    // the lesson 8 pair over its loads: the median of the per-load ratios, recomputed
    let l = &d.ddos_loads;
    assert_eq!(l.min_ns.len(), bench::DDOS_LOADS, "{l:?}");
    assert!(l.min_ns.iter().all(|(c, r)| *c > 0.0 && *r > 0.0), "{l:?}");
    let mut q: Vec<f64> = l.min_ns.iter().map(|(c, r)| c / r).collect();
    q.sort_by(f64::total_cmp);
    close(
        d.ddos_ratio,
        q[q.len() / 2],
        "ddos_ratio (median over loads)",
    );
    close(l.ratio_low, q[0], "ratio_low");
    close(l.ratio_high, q[q.len() - 1], "ratio_high");
    // the floors, per load: the inlined programs behind the loader, and alone, over the same
    // load's hand-written program
    assert_eq!(l.inlined_min_ns.len(), bench::DDOS_LOADS, "{l:?}");
    for (k, floor) in [(0, &l.floor_behind_loader), (1, &l.floor_alone)] {
        let mut q: Vec<f64> = l
            .inlined_min_ns
            .iter()
            .zip(&l.min_ns)
            .map(|(i, (_, r))| [i.0, i.1][k] / r)
            .collect();
        q.sort_by(f64::total_cmp);
        close(floor.median, q[q.len() / 2], "floor median");
        close(floor.low, q[0], "floor low");
        close(floor.high, q[q.len() - 1], "floor high");
    }
    // the stage-by-stage rows and the split of the whole gap, from the cut cases
    let steps = [
        "raw DDoS up to step 1 (blacklist lookup), flood",
        "raw DDoS up to step 2 (+ sampling countdown), flood",
        FUSED,
    ];
    for (k, raw) in steps.iter().enumerate() {
        let chain = format!("HIKe DDoS chain up to step {}, no branches, flood", k + 1);
        close(d.ddos_gap_by_step_ns[k], min(&chain) - min(raw), &chain);
    }
    close(
        d.ddos_gap_by_step_ns[3],
        min(CHAIN) - min(FUSED),
        "whole gap",
    );
    let inlined = min("HIKe DDoS programs inlined into one program (flood)");
    let inlined_loaded = min("classifier -> HIKe DDoS programs inlined (flood)");
    let handover = min("classifier -> flood path, minimal hand-over (flood)");
    let sp = &d.ddos_split_ns;
    close(sp.programs_ns, inlined - min(FUSED), "split: programs");
    close(sp.loader_ns, inlined_loaded - inlined, "split: loader");
    close(sp.separate_ns, handover - inlined_loaded, "split: separate");
    close(sp.chain_ns, min(CHAIN) - handover, "split: chain");
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

/// A program the bench holds in the XDP dispatcher is test-run with `repeat` without the two
/// dispatcher changes (an RCU grace period each) that a call otherwise makes: its calls take
/// a fraction of the wall time. Released, it pays them again.
#[test]
fn held_programs_are_sampled_without_dispatcher_changes() {
    let s = bench::Setup::new("eclat-lab-test-hold").expect("HIKe setup (needs root)");
    let pkt = packet::bench_frame();
    let median_call_ms = || {
        let mut v: Vec<f64> = (0..7)
            .map(|_| {
                let t = std::time::Instant::now();
                s.hike.test_run("xdp_pass", "xdp_pass", &pkt, 2).unwrap();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut hold = bench::DispatcherHold::new().unwrap();
    let free = median_call_ms();
    assert!(hold.hold(&s.hike, "xdp_pass", "xdp_pass"));
    let held = median_call_ms();
    hold.release("xdp_pass", "xdp_pass");
    let released = median_call_ms();
    println!("median call: {free:.2} ms free, {held:.2} ms held, {released:.2} ms released");
    assert!(
        held * 2.0 < free && held * 2.0 < released,
        "held {held:.2} ms, free {free:.2} ms, released {released:.2} ms"
    );
}
