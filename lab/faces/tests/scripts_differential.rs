//! The same eCLAT scripts on the reference interpreter (with the models of the default
//! programs) and on the kernel VM (`eclat-lab test`, BPF_PROG_TEST_RUN): the verdicts and the
//! `monitor` events must agree, packet by packet. The scripts are the lesson scripts and the
//! reproductions of the original lab's experiments.

use std::collections::BTreeMap;
use std::process::Command;

use hike::catalog::Catalog;
use hike::vm::models::{self, Models};

fn script_path(name: &str) -> String {
    format!(
        "{}/../pure/eclat/tests/scripts/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Runs `packets` (specs) through `name` on the reference VM: (verdicts, monitor events).
fn reference(name: &str, packets: &[&str]) -> (Vec<String>, Vec<BTreeMap<u64, u64>>) {
    reference_ticking(name, packets, 0)
}

/// The same with the models' clock moving `tick_ms` forward after each packet.
fn reference_ticking(
    name: &str,
    packets: &[&str],
    tick_ms: u64,
) -> (Vec<String>, Vec<BTreeMap<u64, u64>>) {
    let src = std::fs::read_to_string(script_path(name)).unwrap();
    let defines = vec![("DEVNAME".to_string(), "enp6s0f0".to_string())];
    let c = eclat::compile(&src, name, &Catalog::reference(), &defines);
    let program = c.output.unwrap_or_else(|| {
        panic!(
            "{name}:\n{}",
            eclat::render(&c.diagnostics, &src, name, false)
        )
    });
    let (mut m, ids) = Models::with_all();
    let linked = program
        .link_default(&|_, n| ids.iter().find(|(x, _)| *x == n).map(|(_, id)| *id))
        .unwrap();
    let chains: Vec<(u32, Vec<hike::Insn>)> = linked
        .chains
        .iter()
        .map(|c| (c.id, c.insns.clone()))
        .collect();
    let entry = linked
        .map_entries
        .iter()
        .find(|e| e.map == "ipv6_simple_classifier_map")
        .map(|e| u32::from_le_bytes([e.value[0], e.value[1], e.value[2], e.value[3]]))
        .unwrap();
    let mut verdicts = Vec::new();
    let mut events = Vec::new();
    for (i, spec) in packets.iter().enumerate() {
        m.now_ns = i as u64 * tick_ms * 1_000_000;
        let frame = eclat_model::packetspec::frame(spec).unwrap();
        let before = m.monitor.clone();
        // the loader passes everything that is not IPv6 without running a chain
        let is_v6 = frame[12..14] == [0x86, 0xdd];
        let verdict = if is_v6 {
            let mut shm = vec![0u8; 4096];
            models::fill_pkt_info(&frame, &mut shm);
            hike::vm::run(&chains[..], &mut m, entry, frame, &mut shm)
                .verdict
                .to_string()
        } else {
            "PASS".to_string()
        };
        verdicts.push(verdict);
        let mut delta = BTreeMap::new();
        for (k, v) in &m.monitor {
            let d = v - before.get(k).copied().unwrap_or(0);
            if d != 0 {
                delta.insert(*k as u64, d);
            }
        }
        events.push(delta);
    }
    (verdicts, events)
}

/// The same through the kernel: `eclat-lab test --json`.
fn kernel(name: &str, packets: &[&str]) -> (Vec<String>, Vec<BTreeMap<u64, u64>>) {
    kernel_with(name, packets, &[])
}

/// The same with more arguments for `test` (`--clock`, `--tick`).
fn kernel_with(
    name: &str,
    packets: &[&str],
    extra: &[&str],
) -> (Vec<String>, Vec<BTreeMap<u64, u64>>) {
    // a lab of its own per run (tests run in parallel, several on the same script)
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let tag = format!(
        "{}-{}",
        std::process::id(),
        RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eclat-lab"));
    cmd.args([
        "test",
        &script_path(name),
        "-D",
        "DEVNAME=enp6s0f0",
        "--json",
    ])
    .env(
        "ECLAT_LAB_STATE",
        std::env::temp_dir().join(format!("eclat-diff-{tag}")),
    )
    .env("ECLAT_LAB_BPFFS", format!("/sys/fs/bpf/eclat-diff-{tag}"))
    .env("ECLAT_LAB_NS_PREFIX", format!("ed{tag}-"));
    for p in packets {
        cmd.args(["-p", p]);
    }
    cmd.args(extra);
    let o = cmd.output().unwrap();
    // `test` keeps the lab's reused test instance (journaled, under cache/): reset removes it
    let reset = Command::new(env!("CARGO_BIN_EXE_eclat-lab"))
        .arg("reset")
        .env(
            "ECLAT_LAB_STATE",
            std::env::temp_dir().join(format!("eclat-diff-{tag}")),
        )
        .env("ECLAT_LAB_BPFFS", format!("/sys/fs/bpf/eclat-diff-{tag}"))
        .env("ECLAT_LAB_NS_PREFIX", format!("ed{tag}-"))
        .output()
        .unwrap();
    assert!(
        reset.status.success(),
        "reset: {}",
        String::from_utf8_lossy(&reset.stderr)
    );
    let _ = std::fs::remove_dir(format!("/sys/fs/bpf/eclat-diff-{tag}/tmp"));
    let _ = std::fs::remove_dir(format!("/sys/fs/bpf/eclat-diff-{tag}"));
    // the run's state folder (journal, lock, the test instance's IDs): each run left one
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("eclat-diff-{tag}")));
    assert!(
        !std::path::Path::new(&format!("/sys/fs/bpf/eclat-diff-{tag}")).exists(),
        "the test's bpffs root stayed"
    );
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut verdicts = Vec::new();
    let mut events = Vec::new();
    for r in v["packets"].as_array().unwrap() {
        verdicts.push(r["verdict"].as_str().unwrap().to_string());
        let mut delta = BTreeMap::new();
        for c in r["map_changes"].as_array().unwrap() {
            if c["map"].as_str().unwrap().ends_with("map_pcpu_mon") {
                let before: u64 = c["before"].as_str().unwrap().parse().unwrap_or(0);
                let after: u64 = c["after"].as_str().unwrap().parse().unwrap();
                delta.insert(c["key"].as_str().unwrap().parse().unwrap(), after - before);
            }
        }
        events.push(delta);
    }
    (verdicts, events)
}

fn agree(name: &str, packets: &[&str]) {
    let r = reference(name, packets);
    let k = kernel(name, packets);
    assert_eq!(
        k.0, r.0,
        "{name}: verdicts differ (kernel vs reference) for {packets:?}"
    );
    assert_eq!(
        k.1, r.1,
        "{name}: monitor events differ (kernel vs reference)"
    );
}

const MIX: &[&str] = &[
    "ipv6 src=12:1::1 dst=fc01::2 udp dport=5000",
    "ipv6 src=12:1::1 dst=fc01::3 udp dport=53 payload=HIKEHIKE",
    "ipv6 src=fc02::1 dst=fc01::2 icmp6",
    "ipv4 udp dport=5000",
    "ipv6 hbh udp dport=5000",
];

#[test]
fn lesson_scripts_agree() {
    for s in [
        "lesson4_monitor.eclat",
        "lesson5_chains.eclat",
        "lesson7_cfg.eclat",
        "lesson8_null_calls.eclat",
    ] {
        agree(s, MIX);
    }
}

#[test]
fn original_experiments_agree() {
    // 1 first chain, 2 arithmetic, 5 hop-by-hop, 6 DPI. (3, routing through the kernel FIB,
    // depends on the namespace's routes, which the model does not share; 4, the DDoS
    // policy, is below.)
    for s in ["first_chain.eclat", "arith.eclat", "hbh.eclat", "dpi.eclat"] {
        agree(s, MIX);
    }
    // 6 DPI: the keyword right after the UDP header
    agree(
        "dpi.eclat",
        &[
            "ipv6 udp dport=9 payload=HIKE",
            "ipv6 udp dport=9 payload=hike",
            "ipv6 tcp dport=80 payload=HIKE",
        ],
    );
}

#[test]
fn ddos_agrees_on_a_burst() {
    // One flow in a burst: the per-destination bucket (5 tokens) empties, then the
    // per-(src,dst) one, then the flow is blacklisted and dropped. The kernel's programs run
    // with their clock stopped (`test --clock`), as the models' is: no bucket refills between
    // packets however slowly the machine runs them, so the two agree packet by packet.
    let burst: Vec<&str> =
        std::iter::repeat_n("ipv6 src=12:1::1 dst=fc01::2 udp dport=5000", 30).collect();
    let r = reference("ddos.eclat", &burst);
    let k = kernel_with("ddos.eclat", &burst, &["--clock", "1000"]);
    assert_eq!(k, r, "kernel vs reference, clock stopped");
    // 5 tokens of the destination's bucket, then 5 of the flow's; the 11th is blacklisted
    let (v, e) = &r;
    assert!(v[..10].iter().all(|x| x == "PASS"), "{v:?}");
    assert!(v[10..].iter().all(|x| x == "DROP"), "{v:?}");
    // every packet is counted once, under the verdict it got (0 PASS, 1 DROP)
    for (verdict, ev) in v.iter().zip(e.iter()) {
        let want = if verdict == "PASS" { 0 } else { 1 };
        assert_eq!(ev.get(&want), Some(&1), "{verdict}: {ev:?}");
    }
}

#[test]
fn ddos_agrees_while_the_buckets_refill() {
    // The same flow, one packet every 15 ms: each bucket gains 0.3 of a token (20/s) per
    // packet, so the flow is blacklisted later than in a burst (at the 19th packet), where
    // the refill arithmetic decides; one every 50 ms (a whole token) never runs out. The
    // kernel's clock moves by exactly as much as the models' (`--tick`).
    let flow: Vec<&str> =
        std::iter::repeat_n("ipv6 src=12:1::1 dst=fc01::2 udp dport=5000", 40).collect();
    let r15 = reference_ticking("ddos.eclat", &flow, 15);
    let k15 = kernel_with("ddos.eclat", &flow, &["--clock", "1000", "--tick", "15"]);
    assert_eq!(k15, r15, "kernel vs reference, 15 ms between packets");
    let first_drop = r15.0.iter().position(|x| x == "DROP").expect("blacklisted");
    assert_eq!(
        first_drop, 18,
        "refilled buckets pass more than a burst's 10: {:?}",
        r15.0
    );
    assert!(
        r15.0[first_drop..].iter().all(|x| x == "DROP"),
        "{:?}",
        r15.0
    );
    let r50 = reference_ticking("ddos.eclat", &flow, 50);
    let k50 = kernel_with("ddos.eclat", &flow, &["--clock", "1000", "--tick", "50"]);
    assert_eq!(k50, r50, "kernel vs reference, 50 ms between packets");
    assert!(r50.0.iter().all(|x| x == "PASS"), "{:?}", r50.0);
}
