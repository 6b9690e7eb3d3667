//! The HIKe part of `eclat-lab bench`: ns/packet with `BPF_PROG_TEST_RUN` (repeat), every case
//! next to its baseline measured in the same run, plus verifier time and sizes per program.
//! Also [`Setup`], the fully loaded HIKe instance that benches and kernel tests share.

use std::collections::BTreeMap;

use hike::Insn;
use hike::insn::op;
use serde::Serialize;

use super::asm::{self, Item};
use super::runtime::ProgramLoad;
use super::{Hike, HikeError, ScratchRoot};

/// Program IDs used by [`Setup`].
pub mod ids {
    pub const HIKE_PASS: u32 = 1;
    pub const HIKE_DROP: u32 = 2;
    pub const MONITOR: u32 = 3;
    pub const IP6_HSET_SRCDST: u32 = 4;
    pub const IP6_SD_DEC2ZERO: u32 = 5;
    pub const IP6_DST_TBMON: u32 = 6;
    pub const IP6_SD_TBMON: u32 = 7;
    pub const L2_REDIRECT: u32 = 8;
    pub const HIKE_NULL: u32 = 9;
    pub const IP6_SET_ECN: u32 = 10;
    pub const HIKE_ECHO: u32 = 11;
    pub const HIKE_ADD3: u32 = 12;
    pub const LSE: u32 = 13;
    pub const APP_CFG_LOAD: u32 = 14;
    pub const APP_CFG_STORE: u32 = 15;
    pub const IP6_FIND_UDP: u32 = 16;
    pub const SHOW_PKT_INFO: u32 = 17;
    pub const IP6_DST_METER: u32 = 18;
    pub const IP6_SD_METER: u32 = 19;
    pub const L2XCON: u32 = 20;
    pub const IP6_KROUTE: u32 = 21;
    pub const HIKE_REGS_OUT: u32 = 22;
}

/// (package, program, ID) of everything [`Setup`] registers.
pub const REGISTERED: &[(&str, &str, u32)] = &[
    ("hike_default", "hike_pass", ids::HIKE_PASS),
    ("hike_default", "hike_drop", ids::HIKE_DROP),
    ("hike_default", "monitor", ids::MONITOR),
    ("hike_default", "ip6_hset_srcdst", ids::IP6_HSET_SRCDST),
    ("sampler", "ip6_sd_dec2zero", ids::IP6_SD_DEC2ZERO),
    ("meter", "ip6_dst_tbmon", ids::IP6_DST_TBMON),
    ("meter", "ip6_sd_tbmon", ids::IP6_SD_TBMON),
    ("hike_default", "l2_redirect", ids::L2_REDIRECT),
    ("bench", "hike_null", ids::HIKE_NULL),
    ("hike_default", "ip6_set_ecn", ids::IP6_SET_ECN),
    ("bench", "hike_echo", ids::HIKE_ECHO),
    ("bench", "hike_add3", ids::HIKE_ADD3),
    ("hike_default", "lse", ids::LSE),
    ("hike_default", "app_cfg_load", ids::APP_CFG_LOAD),
    ("hike_default", "app_cfg_store", ids::APP_CFG_STORE),
    ("hike_default", "ip6_find_udp", ids::IP6_FIND_UDP),
    ("info", "show_pkt_info", ids::SHOW_PKT_INFO),
    ("meter", "ip6_dst_meter", ids::IP6_DST_METER),
    ("meter", "ip6_sd_meter", ids::IP6_SD_METER),
    ("hike_default", "l2xcon", ids::L2XCON),
    ("hike_default", "ip6_kroute", ids::IP6_KROUTE),
    ("bench", "hike_regs_out", ids::HIKE_REGS_OUT),
];

/// Every embedded HIKe object [`Setup`] loads.
pub const OBJECTS: &[&str] = &[
    "programs/hike_default.o",
    "programs/meter.o",
    "programs/sampler.o",
    "programs/info.o",
    "programs/bench.o",
    "loaders/hike_default.o",
    "raw/xdp_pass.o",
    "raw/pipeline.o",
    "raw/tailcall.o",
    "raw/ddos.o",
    "raw/ddos_stage1.o",
    "raw/ddos_stage2.o",
    "raw/ddos_mark.o",
    "raw/ddos_tc.o",
    "raw/ddos_inline.o",
];

/// The entry slots of `hvm_jit_map` (no chain of [`Setup`] uses them) that [`plug_ddos_split`]
/// fills with the programs of `raw/ddos_inline.o`, as that object expects: the classifier
/// pointed at chain `CHAIN_ID_FLAG | slot` runs the program in the slot.
pub const DDOS_INLINE_SLOT: u32 = 120;
/// The chain that runs `ddos_inline` (the chain's programs inlined into one program).
pub const DDOS_INLINE_CHAIN: u32 = hike::CHAIN_ID_FLAG | DDOS_INLINE_SLOT;
/// The first of the three slots of `dmh_hset -> dmh_dec -> dmh_mon` (the flood's path as
/// separate programs with a hand-over written for it).
const DMH_SLOT: u32 = DDOS_INLINE_SLOT + 1;
/// The chain that runs them.
pub const DMH_CHAIN: u32 = hike::CHAIN_ID_FLAG | DMH_SLOT;

/// Plugs the programs of `raw/ddos_inline.o` into their slots (see [`DDOS_INLINE_SLOT`]).
pub fn plug_ddos_split(hike: &Hike) -> Result<(), HikeError> {
    for (slot, prog) in [
        (DDOS_INLINE_SLOT, "ddos_inline"),
        (DMH_SLOT, "dmh_hset"),
        (DMH_SLOT + 1, "dmh_dec"),
        (DMH_SLOT + 2, "dmh_mon"),
    ] {
        hike.prog_array_set("ddos_inline", "hvm_jit_map", slot, "ddos_inline", prog)?;
    }
    Ok(())
}

/// Fills `dtc_progs`, the prog array of `raw/ddos_tc.o` (the DDoS policy as separate programs
/// chained by hand), in the order of its slot enum; `dtc_classifier` is the entry.
pub fn wire_ddos_tc(hike: &Hike) -> Result<(), HikeError> {
    let stages = [
        "dtc_hset",
        "dtc_sample",
        "dtc_dst_tb",
        "dtc_sd_tb",
        "dtc_bl_add",
        "dtc_mon",
        "dtc_pass",
        "dtc_drop",
        "dtc_redirect",
    ];
    for (slot, prog) in (1u32..).zip(stages) {
        hike.prog_array_set("ddos_tc", "dtc_progs", slot, "ddos_tc", prog)?;
    }
    Ok(())
}

/// A HIKe instance under its own scratch bpffs root with every default object loaded and the
/// programs of [`REGISTERED`] registered. Dropping it removes every pin.
pub struct Setup {
    pub hike: Hike,
    // dropped after `hike`, so its pins go last
    pub root: ScratchRoot,
}

impl Setup {
    pub fn new(prefix: &str) -> Result<Self, HikeError> {
        Self::with_vm(prefix, super::runtime::VM_OBJECT)
    }

    /// The same with another build of the VM (e.g. `vm/hike_vm_dyn.o`).
    pub fn with_vm(prefix: &str, vm_object: &str) -> Result<Self, HikeError> {
        Self::with_vm_objects(prefix, vm_object, OBJECTS)
    }

    /// The same with only `objects` loaded (and only their programs of [`REGISTERED`]
    /// registered).
    pub fn with_vm_objects(
        prefix: &str,
        vm_object: &str,
        objects: &[&str],
    ) -> Result<Self, HikeError> {
        let root = ScratchRoot::new(prefix)?;
        let mut hike = Hike::open_with_vm(root.path(), vm_object)?;
        let mut packages = Vec::new();
        for o in objects {
            packages.push(hike.load_embedded(o)?.meta.package.clone());
        }
        for (pkg, name, id) in REGISTERED {
            if packages.iter().any(|p| p == pkg) {
                hike.register(*id, pkg, name)?;
            }
        }
        Ok(Self { hike, root })
    }

    /// Stores `insns` as chain `id` and points `ip6_simple_classifier` at it.
    pub fn classify_to(&mut self, id: u32, insns: &[Insn]) -> Result<(), HikeError> {
        self.hike.store_chain(id, insns)?;
        self.hike.set_loader_chain(
            "hike_default",
            "ipv6_simple_classifier_map",
            &0u32.to_ne_bytes(),
            id,
        )
    }

    /// Runs `ip6_simple_classifier` (the loader) on `packet`.
    pub fn run(&self, packet: &[u8]) -> Result<super::TestRunOutput, HikeError> {
        self.hike
            .test_run("hike_default", "ip6_simple_classifier", packet, 1)
    }
}

/// `n` calls of `hike_null`, then `hike_pass`.
pub fn null_chain(n: usize) -> Vec<Insn> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.extend(asm::call_with(ids::HIKE_NULL, &[]));
    }
    v.extend(asm::call_with(ids::HIKE_PASS, &[]));
    v.push(asm::exit());
    v
}

/// The lesson 8 DDoS chain, the same decisions as `raw/ddos.bpf.c`; `collector` = ifindex.
pub fn ddos_chain(collector: u32) -> Vec<Insn> {
    use Item::*;
    let c = |id: u32, args: &[i32]| asm::items(asm::call_with(id, args));
    let mut v: Vec<Item> = Vec::new();
    v.extend(c(ids::IP6_HSET_SRCDST, &[2])); // LOOKUP_AND_CLEAN
    v.push(Jmp {
        jop: op::JNE,
        dst: 0,
        imm: 0,
        to: "not_blacklisted",
    });
    v.extend(c(ids::IP6_SD_DEC2ZERO, &[500]));
    v.push(Jmp {
        jop: op::JNE,
        dst: 0,
        imm: 0,
        to: "drop_blacklisted",
    });
    v.extend(c(ids::MONITOR, &[2]));
    v.extend(c(ids::L2_REDIRECT, &[collector as i32]));
    v.push(Label("drop_blacklisted"));
    v.extend(c(ids::MONITOR, &[1]));
    v.extend(c(ids::HIKE_DROP, &[]));
    v.push(Label("not_blacklisted"));
    v.extend(c(ids::IP6_DST_TBMON, &[]));
    v.push(Jmp {
        jop: op::JNE,
        dst: 0,
        imm: 0,
        to: "check_sd",
    });
    v.extend(c(ids::MONITOR, &[0]));
    v.extend(c(ids::HIKE_PASS, &[]));
    v.push(Label("check_sd"));
    v.extend(c(ids::IP6_SD_TBMON, &[]));
    v.push(Jmp {
        jop: op::JEQ,
        dst: 0,
        imm: 0,
        to: "pass",
    });
    v.extend(c(ids::IP6_HSET_SRCDST, &[1])); // ADD
    v.extend(c(ids::MONITOR, &[1]));
    v.extend(c(ids::HIKE_DROP, &[]));
    v.push(Label("pass"));
    v.extend(c(ids::MONITOR, &[0]));
    v.extend(c(ids::HIKE_PASS, &[]));
    v.push(I(asm::exit()));
    asm::assemble(&v)
}

/// The first `steps` (1..=3) program calls of the lesson 8 DDoS chain's path for a packet of
/// a blacklisted flow (ip6_hset_srcdst(LOOKUP_AND_CLEAN), ip6_sd_dec2zero(500), monitor(1)),
/// then hike_drop, without the chain's branches: the bench compares each with the
/// hand-written program cut at the same point (`raw/ddos_stage<N>.o`).
pub fn ddos_prefix_chain(steps: usize) -> Vec<Insn> {
    let path: [(u32, &[i32]); 3] = [
        (ids::IP6_HSET_SRCDST, &[2]),
        (ids::IP6_SD_DEC2ZERO, &[500]),
        (ids::MONITOR, &[1]),
    ];
    let mut v = Vec::new();
    for (id, args) in &path[..steps.min(3)] {
        v.extend(asm::call_with(*id, args));
    }
    v.extend(asm::call_with(ids::HIKE_DROP, &[]));
    v.push(asm::exit());
    v
}

/// The 3-stage pipeline as a chain: ip6_set_ecn; monitor(0); hike_pass.
pub fn pipeline_chain() -> Vec<Insn> {
    let mut v = asm::call_with(ids::IP6_SET_ECN, &[]);
    v.extend(asm::call_with(ids::MONITOR, &[0]));
    v.extend(asm::call_with(ids::HIKE_PASS, &[]));
    v.push(asm::exit());
    v
}

/// The original evaluation's DDoS marking chain: ip6_set_ecn; monitor(0); ip6_kroute.
pub fn marking_chain() -> Vec<Insn> {
    let mut v = asm::call_with(ids::IP6_SET_ECN, &[]);
    v.extend(asm::call_with(ids::MONITOR, &[0]));
    v.extend(asm::call_with(ids::IP6_KROUTE, &[]));
    v.push(asm::exit());
    v
}

/// The routed namespace of [`routed_netns`]: `fc01::/64` leaves through `fwd0` to the
/// permanent neighbour `fc00::2` with this MAC.
pub const ROUTED_NEXT_HOP_MAC: [u8; 6] = [0x02, 0xec, 0x1a, 0x70, 0x00, 0x02];
pub const ROUTED_EGRESS_MAC: [u8; 6] = [0x02, 0xec, 0x1a, 0x70, 0x00, 0x01];
/// The IPv6 hop limit's offset in an Ethernet frame.
const ROUTED_HOP_LIMIT_OFFSET: usize = 14 + 7;
/// Runs per test run in the routed namespace: fewer than the 254 forwards a hop limit of
/// 255 allows.
const ROUTED_CHUNK: u32 = 250;

/// A fresh anonymous network namespace (the kernel removes it when the returned fd closes:
/// nothing to leak, nothing named) in which IPv6 forwarding is on and `fc01::/64` is routed
/// via `fc00::2` (a permanent neighbour) out of the veth `fwd0`. A `BPF_PROG_TEST_RUN` made
/// from a thread inside it (`netns::in_netns`) runs on its loopback, so `bpf_fib_lookup`
/// for `fc01::2` succeeds and returns `fwd0`. Returns the namespace and `fwd0`'s ifindex.
pub fn routed_netns() -> Result<(crate::netns::Unnamed, u32), HikeError> {
    let setup_err = |e: String| HikeError::TestRun(format!("routed namespace: {e}"));
    let ns = crate::netns::create_unnamed().map_err(|e| setup_err(e.to_string()))?;
    let ifindex = crate::netns::in_netns(&ns.fd, || -> Result<u32, String> {
        use crate::netlink::Netlink;
        let a = |s: &str| s.parse::<std::net::IpAddr>().expect("address");
        crate::netns::write_sysctl("net.ipv6.conf.all.forwarding", "1")
            .map_err(|e| e.to_string())?;
        let mut nl = Netlink::open().map_err(|e| e.to_string())?;
        nl.add_veth("fwd0", Some(ROUTED_EGRESS_MAC), "fwd1", None, None, None)
            .map_err(|e| e.to_string())?;
        let mut index = |name: &str| -> Result<u32, String> {
            nl.link_by_name(name)
                .map_err(|e| e.to_string())?
                .map(|l| l.index)
                .ok_or_else(|| format!("{name} vanished"))
        };
        let (i0, i1) = (index("fwd0")?, index("fwd1")?);
        nl.set_up(i1, true).map_err(|e| e.to_string())?;
        nl.set_up(i0, true).map_err(|e| e.to_string())?;
        nl.add_addr(i0, a("fc00::1"), 64)
            .map_err(|e| e.to_string())?;
        nl.add_neigh(i0, a("fc00::2"), ROUTED_NEXT_HOP_MAC)
            .map_err(|e| e.to_string())?;
        nl.add_route(a("fc01::"), 64, Some(a("fc00::2")), Some(i0))
            .map_err(|e| e.to_string())?;
        Ok(i0)
    })
    .map_err(|e| setup_err(e.to_string()))?
    .map_err(setup_err)?;
    Ok((ns, ifindex))
}

/// Keeps the programs the bench samples in the kernel's XDP dispatcher.
///
/// A `BPF_PROG_TEST_RUN` with `repeat` > 1 adds its program to the XDP dispatcher (the
/// direct-call trampoline every XDP program runs through) and takes it out again afterwards,
/// unless the program is in it already; each change waits for an RCU grace period, twice
/// per call: 2-3 ms of a call's wall time on an idle machine, about 50 ms on a busy one,
/// against about 3 ms for the 20000 runs themselves. A program attached to an interface
/// stays in the dispatcher, so the hold attaches each sampled program at the generic (skb)
/// hook of a device of its own in a throw-away namespace (no traffic reaches them): the
/// test runs then call it as before, through the same dispatcher, without the two changes.
/// Dropping the hold (or the namespace going away) detaches them. Best effort: a program
/// that cannot be held (the dispatcher has room for 48, shared by the whole machine) is
/// sampled as before, only more slowly.
pub struct DispatcherHold {
    ns: crate::netns::Unnamed,
    /// devices with no program attached
    free: Vec<u32>,
    /// veth pairs made so far
    pairs: u32,
    /// (package, program) -> (device, link)
    held: BTreeMap<(String, String), (u32, std::os::fd::OwnedFd)>,
}

impl DispatcherHold {
    pub fn new() -> Result<Self, HikeError> {
        let ns = crate::netns::create_unnamed()
            .map_err(|e| HikeError::TestRun(format!("dispatcher hold namespace: {e}")))?;
        Ok(Self {
            ns,
            free: Vec::new(),
            pairs: 0,
            held: BTreeMap::new(),
        })
    }

    /// Attaches `package.name` of `hike` to a device of its own; whether it is held.
    pub fn hold(&mut self, hike: &Hike, package: &str, name: &str) -> bool {
        let key = (package.to_string(), name.to_string());
        if self.held.contains_key(&key) {
            return true;
        }
        let Ok(fd) = hike.program_fd(package, name) else {
            return false;
        };
        if self.free.is_empty() {
            let k = self.pairs;
            let made = crate::netns::in_netns(&self.ns.fd, || -> Result<Vec<u32>, String> {
                use crate::netlink::Netlink;
                let mut nl = Netlink::open().map_err(|e| e.to_string())?;
                let (a, b) = (format!("hold{k}a"), format!("hold{k}b"));
                nl.add_veth(&a, None, &b, None, None, None)
                    .map_err(|e| e.to_string())?;
                let mut v = Vec::new();
                for n in [a, b] {
                    if let Some(l) = nl.link_by_name(&n).map_err(|e| e.to_string())? {
                        v.push(l.index);
                    }
                }
                Ok(v)
            });
            match made {
                Ok(Ok(v)) => {
                    self.pairs += 1;
                    self.free.extend(v);
                }
                _ => return false,
            }
        }
        let Some(ifindex) = self.free.pop() else {
            return false;
        };
        match crate::netns::in_netns(&self.ns.fd, || {
            crate::sys::xdp_link_generic(std::os::fd::AsFd::as_fd(&fd), ifindex)
        }) {
            Ok(Ok(link)) => {
                self.held.insert(key, (ifindex, link));
                true
            }
            _ => {
                self.free.push(ifindex);
                false
            }
        }
    }

    /// Lets `package.name` go (before its object is loaded again: the new program is held
    /// anew).
    pub fn release(&mut self, package: &str, name: &str) {
        if let Some((ifindex, link)) = self.held.remove(&(package.to_string(), name.to_string())) {
            drop(link);
            self.free.push(ifindex);
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BenchCase {
    /// what the case runs, in words (`raw XDP_PASS`, `classifier -> chain{hike_pass}`); the names
    /// are stable between runs of one version
    pub name: String,
    /// the fastest sample, in ns per packet (each sample is the kernel's mean over `repeat` runs);
    /// the derived figures use it, as the least disturbed by other load
    pub min_ns: f64,
    /// the median sample, in ns per packet
    pub median_ns: f64,
    /// the case this one is compared with, measured in the same run
    pub baseline: Option<String>,
    /// median / baseline median
    pub ratio: Option<f64>,
}

/// Figures derived from the per-case minima (see `run`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Derived {
    /// classifier -> chain{hike_pass} minus raw XDP_PASS
    pub vm_entry_ns: f64,
    /// per extra null program call in a chain, (8 calls - 1 call) / 7
    pub per_call_ns: f64,
    /// per extra raw constant-key tail call, (8 - 1) / 7
    pub raw_per_tail_call_ns: f64,
    /// the same per-call figure with the run-time-key VM build (hike_vm_dyn)
    pub per_call_dynamic_dispatch_ns: Option<f64>,
    /// the lesson 8 DDoS chain / the hand-written program: the median over loads
    /// ([`DdosLoads`]); the figures below that split the gap come from one load
    pub ddos_ratio: f64,
    /// the same pair over several loads of both
    pub ddos_loads: DdosLoads,
    /// the same ratio from the one load every other case runs in
    pub ddos_ratio_one_load: f64,
    /// the same with the chain installed as one instance per call site (not linked)
    pub ddos_instances_ratio: f64,
    /// the chain's programs inlined into one XDP program, no loader in front / the
    /// hand-written program (minima, one load): how close a composition of these programs with
    /// HIKe's conventions (the frame, pkt_info) comes, whatever runs them
    pub ddos_inlined_ratio: f64,
    /// the DDoS policy as separate raw programs chained by tail calls / the fused program:
    /// what composing separately verified programs costs before any VM
    pub ddos_composition_ratio: f64,
    /// the HIKe DDoS chain / the same policy as raw programs chained by tail calls
    pub ddos_vs_tail_calls_ratio: f64,
    /// where the lesson 8 DDoS gap builds up, ns: the chain cut after its 1st, 2nd and 3rd
    /// program minus the hand-written program cut at the same point, then the whole chain
    /// (with its branches) minus the whole hand-written program
    pub ddos_gap_by_step_ns: [f64; 4],
    /// the whole DDoS gap (chain minus hand-written program), split three ways
    pub ddos_split_ns: DdosSplit,
    /// the HIKe chain {ip6_set_ecn; monitor; hike_pass} over the same three stages as raw programs
    /// chained by tail calls (minima): the cost of the VM on a pipeline
    pub pipeline_ratio: f64,
    /// the original evaluation's DDoS marking scenario: chain / raw tail-call pipeline
    pub marking_ratio: f64,
    /// the same figures with the chains interpreted (the VM's first tier)
    pub interpreted: InterpretedFigures,
}

/// [`Derived`]'s figures for interpreted chains.
/// The lesson 8 DDoS chain's extra ns/packet over the hand-written program, split by the
/// programs of `raw/ddos_inline.o` (the chain's program bodies rearranged). The four add up
/// to the whole gap.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DdosSplit {
    /// the programs' own conventions (the frame, pkt_info and the IPv6 header found again by
    /// each program): the programs inlined into one minus the hand-written program
    pub programs_ns: f64,
    /// the classifier in front (parse, chain lookup, one tail call into the entry slot)
    pub loader_ns: f64,
    /// running the flood path's programs separately, each finding the frame, with a
    /// hand-over written for the path: tail calls, per-CPU lookups, moves
    pub separate_ns: f64,
    /// the compiled chain over that path: what HIKe's entry points keep (the trace check,
    /// the frame set up and found again, the read-only data tested), less the tail calls
    /// that linking the programs into one saves (can be negative)
    pub chain_ns: f64,
}

/// The lesson 8 DDoS chain and the hand-written program, each loaded anew for every
/// measurement ([`DDOS_LOADS`] times). Where the kernel places a program's JITed code (a
/// random offset in its pages, and whatever was freed before) moves its time; the chain,
/// whose flood path runs through a few kilobytes of code, by 20 ns and more between two
/// loads of the same bytes, the hand-written program by a few ns. One load is one draw;
/// the median over loads is what a learner's next load can expect.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DdosLoads {
    /// per load: the chain's and the hand-written program's minimum, ns/packet
    pub min_ns: Vec<(f64, f64)>,
    /// their ratio per load: median, lowest, highest
    pub ratio_median: f64,
    /// the lowest of the per-load ratios
    pub ratio_low: f64,
    /// the highest of the per-load ratios
    pub ratio_high: f64,
    /// per load, the same chain's programs inlined into one program by clang
    /// (`raw/ddos_inline.o`, loaded anew with the others): its minimum behind the same
    /// classifier, and alone (no loader), ns/packet
    pub inlined_min_ns: Vec<(f64, f64)>,
    /// the first of those over the hand-written program, per load: the floor of the path a
    /// learner loads, the best these programs with HIKe's conventions reach behind this
    /// loader, however the chain is compiled
    pub floor_behind_loader: Spread,
    /// the second over the hand-written program: the same programs with no loader at all
    pub floor_alone: Spread,
}

/// A ratio over [`DDOS_LOADS`] loads: the median, the lowest and the highest.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
pub struct Spread {
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

impl Spread {
    /// The spread of `q` (not empty).
    fn of(mut q: Vec<f64>) -> Self {
        q.sort_by(|a, b| a.total_cmp(b));
        Self {
            median: q[q.len() / 2],
            low: q[0],
            high: q[q.len() - 1],
        }
    }
}

/// How many times [`ddos_over_loads`] loads the lesson 8 pair anew.
pub const DDOS_LOADS: usize = 9;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct InterpretedFigures {
    /// the classifier into an interpreted chain{hike_pass} minus raw XDP_PASS, in ns per packet
    pub vm_entry_ns: f64,
    /// per extra null program call in an interpreted chain, (8 calls - 1 call) / 7, in ns
    pub per_call_ns: f64,
    /// the interpreted DDoS chain over the hand-written program, flood path (minima, one load)
    pub ddos_ratio: f64,
    /// the interpreted DDoS marking chain over the raw tail-call marking pipeline (minima)
    pub marking_ratio: f64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BenchReport {
    /// runs per `BPF_PROG_TEST_RUN` call (the kernel reports their mean time)
    pub repeat: u32,
    /// `BPF_PROG_TEST_RUN` calls per case; min and median are over these
    pub samples: u32,
    /// the length in bytes of the frame every case runs on
    pub packet_len: usize,
    /// every case measured, in the order run, each with its baseline
    pub cases: Vec<BenchCase>,
    /// the figures derived from the cases' minima: VM entry, cost per call, and the DDoS and
    /// pipeline ratios
    pub derived: Derived,
    /// verifier time and sizes of every program loaded for the bench
    pub loads: Vec<ProgramLoad>,
}

#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// runs per `BPF_PROG_TEST_RUN` call
    pub repeat: u32,
    /// `BPF_PROG_TEST_RUN` calls per case (min and median are over these)
    pub samples: u32,
    /// also measure the run-time-key VM build
    pub dynamic_dispatch: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            repeat: 20_000,
            samples: 31,
            dynamic_dispatch: true,
        }
    }
}

/// Where a case runs: the main instance, the same inside the routed namespace, or the
/// instance with the run-time-key VM build.
#[derive(Clone, Copy, PartialEq)]
enum On {
    Main,
    Routed,
    Dynamic,
}

/// What a case sets before each of its samples (the cases share one instance).
#[derive(Clone, Copy)]
enum Prep {
    None,
    /// the classifier pointed at this (already stored) chain
    Chain(u32),
}

struct Case {
    name: String,
    baseline: Option<String>,
    on: On,
    package: &'static str,
    prog: &'static str,
    prep: Prep,
}

/// Fills slots 1..=8 of the raw tail-call chain (`tc_sK` in slot K; slot 9 stays empty), once:
/// starting at `tc_s{8-n}` (`tc_entry` for n = 8) then makes n tail calls and one into the
/// empty slot, as the pipeline of n stages does, without refilling the map between cases
/// (each change of a program array's slot costs an RCU grace period).
fn fill_tail_calls(hike: &Hike) -> Result<(), HikeError> {
    for slot in 1..=8u32 {
        hike.prog_array_set(
            "tailcall",
            "tc_progs",
            slot,
            "tailcall",
            &format!("tc_s{slot}"),
        )?;
    }
    Ok(())
}

/// The program of the raw tail-call chain that makes `n` (1, 2, 4 or 8) tail calls.
fn tail_call_start(n: u32) -> &'static str {
    match n {
        1 => "tc_s7",
        2 => "tc_s6",
        4 => "tc_s4",
        _ => "tc_entry",
    }
}

fn point_classifier(hike: &Hike, chain: u32) -> Result<(), HikeError> {
    hike.set_loader_chain(
        "hike_default",
        "ipv6_simple_classifier_map",
        &0u32.to_ne_bytes(),
        chain,
    )
}

/// Runs the whole suite in a scratch root (removed afterwards).
///
/// Every case first runs once to warm up (caches, map entries, the steady state of the
/// stateful chains); then the cases are sampled round-robin, one `BPF_PROG_TEST_RUN` of
/// `repeat` runs each per round, so a burst of other load on a shared machine spreads over
/// all the cases instead of swallowing the samples of one.
pub fn run(opts: BenchOptions) -> Result<BenchReport, HikeError> {
    let mut s = Setup::new("eclat-lab-bench")?;
    let pkt = super::packet::bench_frame();

    // every chain stored once under its own ID; cases only re-point the classifier
    let id = |k: u32| hike::FIRST_CHAIN_ID + k;
    let null_ns = [0usize, 1, 2, 4, 8];
    for (k, n) in (0u32..).zip(null_ns) {
        s.hike.store_chain(id(k), &null_chain(n))?;
    }
    s.hike.store_chain(id(10), &pipeline_chain())?;
    s.hike.store_chain(id(11), &ddos_chain(0))?;
    s.hike.store_chain(id(12), &marking_chain())?;
    for k in 1..=3 {
        s.hike
            .store_chain(id(12 + k as u32), &ddos_prefix_chain(k))?;
    }
    // the same chains interpreted (the chain compiler off while they are stored)
    s.hike.set_jit(false);
    for (k, n) in [(20u32, 0usize), (21, 1), (24, 8)] {
        s.hike.store_chain(id(k), &null_chain(n))?;
    }
    s.hike.store_chain(id(31), &ddos_chain(0))?;
    s.hike.store_chain(id(32), &marking_chain())?;
    s.hike.set_jit(true);
    // the lesson 8 chain as one instance per call site (linking off): what linking saves
    s.hike.set_link(false);
    s.hike.store_chain(id(16), &ddos_chain(0))?;
    s.hike.set_link(true);
    for k in [0, 1, 4, 11, 12, 13, 14, 15, 16] {
        if !matches!(s.hike.tier(id(k)), Some(super::tier::Tier::Compiled { .. })) {
            return Err(HikeError::TestRun(format!(
                "chain {:#x} was not compiled: {:?}",
                id(k),
                s.hike.tier(id(k))
            )));
        }
    }
    s.hike
        .prog_array_set("pipeline", "pipe_progs", 1, "pipeline", "pipe_set_ecn")?;
    s.hike
        .prog_array_set("pipeline", "pipe_progs", 2, "pipeline", "pipe_monitor")?;
    fill_tail_calls(&s.hike)?;
    wire_ddos_tc(&s.hike)?;
    plug_ddos_split(&s.hike)?;
    for (slot, prog) in [(1, "mark_set_ecn"), (2, "mark_monitor"), (3, "mark_kroute")] {
        s.hike
            .prog_array_set("ddos_mark", "mark_progs", slot, "ddos_mark", prog)?;
    }
    let (routed, egress) = routed_netns()?;
    let mut routed_pkt = pkt.clone();
    routed_pkt[ROUTED_HOP_LIMIT_OFFSET] = 255;
    let mut dynamic = None;
    if opts.dynamic_dispatch {
        // only what its two null chains call, and the loader
        let mut d = Setup::with_vm_objects(
            "eclat-lab-bench-dyn",
            "vm/hike_vm_dyn.o",
            &[
                "programs/hike_default.o",
                "programs/bench.o",
                "loaders/hike_default.o",
            ],
        )?;
        d.hike.set_jit(false);
        d.hike.store_chain(id(1), &null_chain(1))?;
        d.hike.store_chain(id(4), &null_chain(8))?;
        dynamic = Some(d);
    }

    let mut cases: Vec<Case> = Vec::new();
    // a case runs (package, program) after its preparation
    let mut case = |name: &str, baseline: Option<&str>, on: On, (package, prog, prep)| {
        cases.push(Case {
            name: name.to_string(),
            baseline: baseline.map(str::to_string),
            on,
            package,
            prog,
            prep,
        })
    };
    const PASS: &str = "raw XDP_PASS";
    // the classifier pointed at chain ID `chain`; a chain case: at stored chain `id(k)`
    let classify = |chain| ("hike_default", "ip6_simple_classifier", Prep::Chain(chain));
    let chain = |k: u32| classify(id(k));
    case(PASS, None, On::Main, ("xdp_pass", "xdp_pass", Prep::None));
    // raw tail-call pipelines of n tail calls: tc_s{8-n} -> ... -> tc_s8 (fill_tail_calls)
    for n in [1u32, 2, 4, 8] {
        let name = format!("raw tail calls x{n}");
        case(
            &name,
            Some(PASS),
            On::Main,
            ("tailcall", tail_call_start(n), Prep::None),
        );
    }
    case(
        "classifier -> chain{hike_pass}",
        Some(PASS),
        On::Main,
        chain(0),
    );
    for (k, n) in (1u32..).zip(&null_ns[1..]) {
        let name = format!("chain of {n} null calls + hike_pass");
        let base = format!("raw tail calls x{n}");
        case(&name, Some(&base), On::Main, chain(k));
    }
    // the interpreter (the VM's first tier) on the same chains
    case(
        "classifier -> chain{hike_pass}, interpreted",
        Some("classifier -> chain{hike_pass}"),
        On::Main,
        chain(20),
    );
    for (k, n) in [(21u32, 1usize), (24, 8)] {
        let name = format!("chain of {n} null calls + hike_pass, interpreted");
        let base = format!("chain of {n} null calls + hike_pass");
        case(&name, Some(&base), On::Main, chain(k));
    }
    const PIPE: &str = "raw 3-stage pipeline (classifier, set_ecn, monitor)";
    case(
        PIPE,
        Some(PASS),
        On::Main,
        ("pipeline", "pipe_classifier", Prep::None),
    );
    case(
        "HIKe chain {ip6_set_ecn; monitor; hike_pass}",
        Some(PIPE),
        On::Main,
        chain(10),
    );
    // DDoS: a flood from one source; after the first packets the flow is blacklisted and
    // the steady state is lookup -> sample countdown -> monitor(DROP) -> drop
    const FUSED: &str = "raw DDoS single program (flood)";
    const TC: &str = "raw DDoS as 5 programs chained by tail calls (flood)";
    const INLINED: &str = "HIKe DDoS programs inlined into one program (flood)";
    const INLINED_LOADED: &str = "classifier -> HIKe DDoS programs inlined (flood)";
    const HANDOVER: &str = "classifier -> flood path, minimal hand-over (flood)";
    const INSTANCES: &str = "HIKe DDoS chain, one instance per call (flood)";
    case(
        FUSED,
        Some(PASS),
        On::Main,
        ("ddos", "ddos_raw", Prep::None),
    );
    case(
        TC,
        Some(FUSED),
        On::Main,
        ("ddos_tc", "dtc_classifier", Prep::None),
    );
    case("HIKe DDoS chain (flood)", Some(FUSED), On::Main, chain(11));
    case(INSTANCES, Some(FUSED), On::Main, chain(16));
    // the same programs' code inlined into one program, alone and behind the classifier:
    // splits the chain's gap into the programming model, the loader and the dispatch
    case(
        INLINED,
        Some(FUSED),
        On::Main,
        ("ddos_inline", "ddos_inline", Prep::None),
    );
    case(
        INLINED_LOADED,
        Some(FUSED),
        On::Main,
        classify(DDOS_INLINE_CHAIN),
    );
    case(HANDOVER, Some(FUSED), On::Main, classify(DMH_CHAIN));
    case(
        "HIKe DDoS chain (flood), interpreted",
        Some(FUSED),
        On::Main,
        chain(31),
    );
    // where the DDoS gap builds up: both cut after the same step, on the same flood
    const STAGES: [(&str, &str); 3] = [
        ("ddos_stage1", "blacklist lookup"),
        ("ddos_stage2", "+ sampling countdown"),
        ("ddos", "+ monitor"),
    ];
    for (k, (package, what)) in (1u32..).zip(STAGES) {
        // the last step is the whole hand-written program
        let raw = match package {
            "ddos" => FUSED.to_string(),
            _ => {
                let raw = format!("raw DDoS up to step {k} ({what}), flood");
                case(
                    &raw,
                    Some(FUSED),
                    On::Main,
                    (package, "ddos_raw", Prep::None),
                );
                raw
            }
        };
        case(
            &format!("HIKe DDoS chain up to step {k}, no branches, flood"),
            Some(&raw),
            On::Main,
            chain(12 + k),
        );
    }
    // The original evaluation's DDoS marking scenario (hike.md section 10: the figure it
    // reports as 1.38x): mark CE, count, forward through the FIB, in a namespace whose FIB
    // routes the frame
    const MARK: &str = "raw DDoS marking pipeline (classifier, set_ecn, monitor, kroute)";
    case(
        MARK,
        Some(PASS),
        On::Routed,
        ("ddos_mark", "mark_classifier", Prep::None),
    );
    case(
        "HIKe DDoS marking chain {ip6_set_ecn; monitor; ip6_kroute}",
        Some(MARK),
        On::Routed,
        chain(12),
    );
    case(
        "HIKe DDoS marking chain, interpreted",
        Some(MARK),
        On::Routed,
        chain(32),
    );
    if dynamic.is_some() {
        for (k, n) in [(1u32, 1usize), (4, 8)] {
            let name = format!("chain of {n} null calls, run-time-key VM dispatch");
            let base = format!("chain of {n} null calls + hike_pass");
            case(&name, Some(&base), On::Dynamic, chain(k));
        }
    }

    let sample = |c: &Case, repeat: u32| -> Result<super::TestRunOutput, HikeError> {
        let hike = match (c.on, &dynamic) {
            (On::Dynamic, Some(d)) => &d.hike,
            _ => &s.hike,
        };
        match c.prep {
            Prep::None => {}
            Prep::Chain(chain) => point_classifier(hike, chain)?,
        }
        if c.on != On::Routed {
            return hike.test_run(c.package, c.prog, &pkt, repeat);
        }
        // The repeats of one test run share one buffer, and forwarding decrements the hop
        // limit: from 255, at most 254 runs in a row really forward. So a routed sample is
        // several test runs of ROUTED_CHUNK, each starting from a fresh copy of the frame.
        crate::netns::in_netns(&routed.fd, || {
            let mut left = repeat.max(1);
            let mut total = std::time::Duration::ZERO;
            let mut last = None;
            while left > 0 {
                let n = left.min(ROUTED_CHUNK);
                let out = hike.test_run(c.package, c.prog, &routed_pkt, n)?;
                total += out.duration * n;
                left -= n;
                last = Some(out);
            }
            let mut out = last.expect("at least one run");
            out.duration = total / repeat.max(1);
            Ok(out)
        })
        .map_err(|e| HikeError::TestRun(format!("routed namespace: {e}")))?
    };
    // every sampled program kept in the XDP dispatcher (see DispatcherHold)
    let mut hold = DispatcherHold::new()?;
    for c in &cases {
        let hike = match (c.on, &dynamic) {
            (On::Dynamic, Some(d)) => &d.hike,
            _ => &s.hike,
        };
        hold.hold(hike, c.package, c.prog);
    }
    for c in &cases {
        let out = sample(c, opts.repeat)?;
        // by the end of its warm-up every flood case has blacklisted the flow: anything but
        // a drop means it measured another path (an abort, a missing program)
        if c.name.contains("flood") && out.action() != Some(hike::XdpAction::Drop) {
            return Err(HikeError::TestRun(format!(
                "{}.{} ({}) ended the flood with verdict {} instead of XDP_DROP: its figure \
                 would not measure the DDoS path",
                c.package, c.prog, c.name, out.verdict
            )));
        }
        if c.on == On::Routed && out.action() != Some(hike::XdpAction::Redirect) {
            return Err(HikeError::TestRun(format!(
                "{}.{} did not forward the frame through the FIB to ifindex {egress} \
                 (verdict {}): the marking figures would be meaningless",
                c.package, c.prog, out.verdict
            )));
        }
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..opts.samples.max(1) {
        for (c, t) in cases.iter().zip(&mut times) {
            t.push(sample(c, opts.repeat)?.duration.as_nanos() as f64);
        }
    }
    let mut results: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (c, mut t) in cases.iter().zip(times) {
        t.sort_by(|a, b| a.total_cmp(b));
        results.insert(c.name.clone(), (t[0], t[t.len() / 2]));
    }
    let order: Vec<(String, Option<String>)> = cases
        .iter()
        .map(|c| (c.name.clone(), c.baseline.clone()))
        .collect();
    drop(routed);
    // the loads table lists each program once, as loaded for the cases above
    let loads = s.hike.loads();
    let ddos_loads = ddos_over_loads(&mut s, &mut hold, &pkt, id(11), opts)?;

    let med = |k: &str| results.get(k).map(|r| r.1).unwrap_or(f64::NAN);
    // derived figures use the minimum: on a shared machine it is the sample least disturbed
    // by other load, while the median drifts with it
    let min = |k: &str| results.get(k).map(|r| r.0).unwrap_or(f64::NAN);
    let cases = order
        .iter()
        .map(|(name, base)| {
            let (min, median) = results[name];
            BenchCase {
                name: name.clone(),
                min_ns: min,
                median_ns: median,
                ratio: base.as_ref().map(|b| median / med(b)),
                baseline: base.clone(),
            }
        })
        .collect();
    let derived = Derived {
        vm_entry_ns: min("classifier -> chain{hike_pass}") - min("raw XDP_PASS"),
        per_call_ns: (min("chain of 8 null calls + hike_pass")
            - min("chain of 1 null calls + hike_pass"))
            / 7.0,
        raw_per_tail_call_ns: (min("raw tail calls x8") - min("raw tail calls x1")) / 7.0,
        per_call_dynamic_dispatch_ns: opts.dynamic_dispatch.then(|| {
            (med("chain of 8 null calls, run-time-key VM dispatch")
                - med("chain of 1 null calls, run-time-key VM dispatch"))
                / 7.0
        }),
        ddos_ratio: ddos_loads.ratio_median,
        ddos_ratio_one_load: min("HIKe DDoS chain (flood)")
            / min("raw DDoS single program (flood)"),
        ddos_instances_ratio: min(INSTANCES) / min("raw DDoS single program (flood)"),
        ddos_inlined_ratio: min(INLINED) / min(FUSED),
        ddos_composition_ratio: min("raw DDoS as 5 programs chained by tail calls (flood)")
            / min("raw DDoS single program (flood)"),
        ddos_vs_tail_calls_ratio: min("HIKe DDoS chain (flood)")
            / min("raw DDoS as 5 programs chained by tail calls (flood)"),
        ddos_gap_by_step_ns: [
            min("HIKe DDoS chain up to step 1, no branches, flood")
                - min("raw DDoS up to step 1 (blacklist lookup), flood"),
            min("HIKe DDoS chain up to step 2, no branches, flood")
                - min("raw DDoS up to step 2 (+ sampling countdown), flood"),
            min("HIKe DDoS chain up to step 3, no branches, flood")
                - min("raw DDoS single program (flood)"),
            min("HIKe DDoS chain (flood)") - min("raw DDoS single program (flood)"),
        ],
        ddos_split_ns: DdosSplit {
            programs_ns: min(INLINED) - min(FUSED),
            loader_ns: min(INLINED_LOADED) - min(INLINED),
            separate_ns: min(HANDOVER) - min(INLINED_LOADED),
            chain_ns: min("HIKe DDoS chain (flood)") - min(HANDOVER),
        },
        pipeline_ratio: min("HIKe chain {ip6_set_ecn; monitor; hike_pass}")
            / min("raw 3-stage pipeline (classifier, set_ecn, monitor)"),
        marking_ratio: min("HIKe DDoS marking chain {ip6_set_ecn; monitor; ip6_kroute}")
            / min("raw DDoS marking pipeline (classifier, set_ecn, monitor, kroute)"),
        ddos_loads,
        interpreted: InterpretedFigures {
            vm_entry_ns: min("classifier -> chain{hike_pass}, interpreted") - min("raw XDP_PASS"),
            per_call_ns: (min("chain of 8 null calls + hike_pass, interpreted")
                - min("chain of 1 null calls + hike_pass, interpreted"))
                / 7.0,
            ddos_ratio: min("HIKe DDoS chain (flood), interpreted")
                / min("raw DDoS single program (flood)"),
            marking_ratio: min("HIKe DDoS marking chain, interpreted")
                / min("raw DDoS marking pipeline (classifier, set_ecn, monitor, kroute)"),
        },
    };
    Ok(BenchReport {
        repeat: opts.repeat,
        samples: opts.samples,
        packet_len: pkt.len(),
        cases,
        derived,
        loads,
    })
}

/// The lesson 8 pair over [`DDOS_LOADS`] loads ([`DdosLoads`]): each time the chain stored
/// again under `chain` (a new linked program), the hand-written program, the loader and the
/// chain's programs inlined (`raw/ddos_inline.o`, the floor) reloaded; after a warm-up that
/// blacklists the flood's flow again, `samples` alternating samples of each, and the
/// minimum of each.
fn ddos_over_loads(
    s: &mut Setup,
    hold: &mut DispatcherHold,
    pkt: &[u8],
    chain: u32,
    opts: BenchOptions,
) -> Result<DdosLoads, HikeError> {
    const LOADER: (&str, &str) = ("hike_default", "ip6_simple_classifier");
    const RAW: (&str, &str) = ("ddos", "ddos_raw");
    const INLINE: (&str, &str) = ("ddos_inline", "ddos_inline");
    // what each run samples: (program, the chain the classifier points at first)
    let runs: [((&str, &str), Option<u32>); 4] = [
        (LOADER, Some(chain)),
        (RAW, None),
        (LOADER, Some(DDOS_INLINE_CHAIN)),
        (INLINE, None),
    ];
    let mut min_ns = Vec::with_capacity(DDOS_LOADS);
    let mut inlined_min_ns = Vec::with_capacity(DDOS_LOADS);
    for _ in 0..DDOS_LOADS {
        s.hike.store_chain(chain, &ddos_chain(0))?;
        for (package, prog) in [LOADER, RAW, INLINE] {
            hold.release(package, prog);
        }
        for object in ["raw/ddos.o", "raw/ddos_inline.o", "loaders/hike_default.o"] {
            s.hike.unload(object)?;
            s.hike.load_embedded(object)?;
        }
        plug_ddos_split(&s.hike)?;
        for (package, prog) in [LOADER, RAW, INLINE] {
            hold.hold(&s.hike, package, prog);
        }
        let mut best = [f64::INFINITY; 4];
        for round in 0..=opts.samples.max(1) {
            for (k, ((package, prog), to)) in runs.iter().enumerate() {
                if let Some(to) = to {
                    point_classifier(&s.hike, *to)?;
                }
                let out = s.hike.test_run(package, prog, pkt, opts.repeat)?;
                if out.action() != Some(hike::XdpAction::Drop) {
                    return Err(HikeError::TestRun(format!(
                        "{package}.{prog}, loaded again, ended the flood with verdict {} \
                         instead of XDP_DROP",
                        out.verdict
                    )));
                }
                // round 0 is the warm-up
                if round > 0 {
                    best[k] = best[k].min(out.duration.as_nanos() as f64);
                }
            }
        }
        min_ns.push((best[0], best[1]));
        inlined_min_ns.push((best[2], best[3]));
    }
    let over_raw = |k: usize| -> Vec<f64> {
        min_ns
            .iter()
            .zip(&inlined_min_ns)
            .map(|(&(c, r), &(l, a))| [c, r, l, a][k] / r)
            .collect()
    };
    let ratio = Spread::of(over_raw(0));
    Ok(DdosLoads {
        ratio_median: ratio.median,
        ratio_low: ratio.low,
        ratio_high: ratio.high,
        floor_behind_loader: Spread::of(over_raw(2)),
        floor_alone: Spread::of(over_raw(3)),
        min_ns,
        inlined_min_ns,
    })
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<58} {:>9} {:>9} {:>7}  baseline",
            "case (ns/packet)", "min", "median", "ratio"
        )?;
        for c in &self.cases {
            writeln!(
                f,
                "{:<58} {:>9.1} {:>9.1} {:>7}  {}",
                c.name,
                c.min_ns,
                c.median_ns,
                c.ratio.map(|r| format!("{r:.2}x")).unwrap_or_default(),
                c.baseline.as_deref().unwrap_or("")
            )?;
        }
        let d = &self.derived;
        writeln!(f, "derived from the minima:")?;
        writeln!(f, "VM entry over raw: {:.1} ns", d.vm_entry_ns)?;
        writeln!(
            f,
            "per extra program call: {:.1} ns (raw tail call {:.1} ns{})",
            d.per_call_ns,
            d.raw_per_tail_call_ns,
            d.per_call_dynamic_dispatch_ns
                .map(|x| format!(", run-time-key VM dispatch {x:.1} ns"))
                .unwrap_or_default()
        )?;
        let l = &d.ddos_loads;
        writeln!(
            f,
            "DDoS chain / hand-written program: {:.2}x, the median of {} loads ({:.2}-{:.2}x; in the load above {:.2}x)",
            d.ddos_ratio,
            l.min_ns.len(),
            l.ratio_low,
            l.ratio_high,
            d.ddos_ratio_one_load
        )?;
        let i = &d.interpreted;
        writeln!(
            f,
            "interpreted: VM entry {:.1} ns, per call {:.1} ns, DDoS {:.2}x, marking {:.2}x",
            i.vm_entry_ns, i.per_call_ns, i.ddos_ratio, i.marking_ratio
        )?;
        writeln!(
            f,
            "DDoS as raw programs chained by tail calls / hand-written program: {:.2}x",
            d.ddos_composition_ratio
        )?;
        writeln!(
            f,
            "DDoS chain / raw programs chained by tail calls: {:.2}x",
            d.ddos_vs_tail_calls_ratio
        )?;
        let sp = &d.ddos_split_ns;
        writeln!(
            f,
            "DDoS gap split (ns): {:.0} the programs' own conventions (inlined into one program), {:.0} the classifier, {:.0} separate programs with a minimal hand-over, {:.0} the compiled chain over that hand-over",
            sp.programs_ns, sp.loader_ns, sp.separate_ns, sp.chain_ns
        )?;
        let g = d.ddos_gap_by_step_ns;
        writeln!(
            f,
            "DDoS gap by step (chain minus hand-written, ns): {:.0} after the blacklist lookup, {:.0} after the countdown, {:.0} after monitor, {:.0} with the branches",
            g[0], g[1], g[2], g[3]
        )?;
        writeln!(f, "3-stage chain / raw pipeline: {:.2}x", d.pipeline_ratio)?;
        writeln!(
            f,
            "DDoS marking chain / raw tail-call pipeline: {:.2}x",
            d.marking_ratio
        )?;
        writeln!(
            f,
            "\n{:<40} {:>9} {:>8} {:>8} {:>9}",
            "program", "load ms", "xlated", "jited", "verified"
        )?;
        for l in &self.loads {
            writeln!(
                f,
                "{:<40} {:>9.2} {:>8} {:>8} {:>9}",
                format!("{}.{}", l.package, l.name),
                l.load_ns as f64 / 1e6,
                l.xlated_bytes,
                l.jited_bytes,
                l.verified_insns.map(|v| v.to_string()).unwrap_or_default()
            )?;
        }
        Ok(())
    }
}
