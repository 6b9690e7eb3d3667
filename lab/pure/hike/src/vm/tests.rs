//! Tests of the reference VM: calls, frames, limits, the MMU, and property tests on random bytecode.

use super::models::{self, Models};
use super::*;
use crate::insn::{Insn, call, op};
use crate::{FIRST_CHAIN_ID, validate};
use proptest::prelude::*;

fn mov(d: u8, imm: i32) -> Insn {
    Insn::new(op::ALU64 | op::MOV | op::K, d, 0, 0, imm)
}
fn movx(d: u8, s: u8) -> Insn {
    Insn::new(op::ALU64 | op::MOV | op::X, d, s, 0, 0)
}
fn alu(o: u8, d: u8, imm: i32) -> Insn {
    Insn::new(op::ALU64 | o | op::K, d, 0, 0, imm)
}
fn alux(o: u8, d: u8, s: u8) -> Insn {
    Insn::new(op::ALU64 | o | op::X, d, s, 0, 0)
}
fn callk(nargs: usize) -> Insn {
    Insn::new(op::JMP | op::CALL, 0, 0, 0, call::for_args(nargs).unwrap())
}
fn exit() -> Insn {
    Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0)
}
fn ja(off: i16) -> Insn {
    Insn::new(op::JMP | op::JA, 0, 0, off, 0)
}
fn ldx(size: u8, d: u8, s: u8, off: i16) -> Insn {
    Insn::new(op::LDX | op::MEM | size, d, s, off, 0)
}
fn stx(size: u8, d: u8, s: u8, off: i16) -> Insn {
    Insn::new(op::STX | op::MEM | size, d, s, off, 0)
}

const A: u32 = FIRST_CHAIN_ID;
const B: u32 = FIRST_CHAIN_ID + 1;

struct Setup {
    models: Models,
    ids: Vec<(&'static str, u32)>,
}

impl Setup {
    fn new() -> Self {
        let (models, ids) = Models::with_all();
        Setup { models, ids }
    }
    fn id(&self, name: &str) -> i32 {
        self.ids.iter().find(|(n, _)| *n == name).unwrap().1 as i32
    }
    fn run(&mut self, chains: &[(u32, Vec<Insn>)], packet: Vec<u8>) -> Outcome {
        let mut shm = vec![0u8; 4096];
        models::fill_pkt_info(&packet, &mut shm);
        run(chains, &mut self.models, A, packet, &mut shm)
    }
}

fn frame() -> Vec<u8> {
    models::ipv6_udp_frame(
        models::ip6("12:1::1").unwrap(),
        models::ip6("fc01::2").unwrap(),
        1000,
        5000,
        b"hello",
    )
}

#[test]
fn pass_and_drop_by_default() {
    let mut s = Setup::new();
    let pass = vec![mov(1, s.id("hike_pass")), callk(0), exit()];
    let out = s.run(&[(A, pass)], frame());
    assert_eq!(out.verdict, XdpAction::Pass);
    assert_eq!(out.abort, None);
    assert_eq!(out.program_calls, 1);

    let nothing = vec![mov(0, 7), exit()];
    let out = s.run(&[(A, nothing)], frame());
    assert_eq!(out.verdict, XdpAction::Aborted);
    assert_eq!(
        out.abort,
        Some(Abort::ReturnedToBootstrap { chain: A, r0: 7 })
    );
    let last = out.trace.last().unwrap();
    assert_eq!(
        (last.kind, last.chain, last.reason),
        (TraceKind::Abort, A, Some(AbortReason::Bootstrap))
    );
    // the entry chain's exit comes first, as in the kernel VM's trace
    let exit = &out.trace[out.trace.len() - 2];
    assert_eq!(
        (exit.kind, exit.elem, exit.regs[0]),
        (TraceKind::ChainExit, A, 7)
    );
}

#[test]
fn chain_calls_pass_arguments_and_preserve_callee_saved() {
    let mut s = Setup::new();
    // A: r6 = 40; call B(2, 3); monitor(r0 + r6); pass
    let a = vec![
        mov(6, 40),
        mov(1, B as i32),
        mov(2, 2),
        mov(3, 3),
        callk(2),
        alux(op::ADD, 0, 6),
        movx(2, 0),
        mov(1, s.id("monitor")),
        callk(1),
        mov(1, s.id("hike_pass")),
        callk(0),
        exit(),
    ];
    // B: r6 = 1000 (its own frame); r0 = r2 * r3; exit
    let b = vec![mov(6, 1000), movx(0, 2), alux(op::MUL, 0, 3), exit()];
    let out = s.run(&[(A, a), (B, b)], frame());
    assert_eq!(out.verdict, XdpAction::Pass);
    assert_eq!(s.models.monitor.get(&46), Some(&1));
    // B enters in frame 2 with r1 = its ID and A's r2, r3; it exits with r0 = 6
    assert!(out.trace.iter().any(|e| e.kind == TraceKind::ChainEnter
        && (e.elem, e.depth, e.regs) == (B, 2, [0, B as u64, 2, 3, 0])));
    assert!(
        out.trace
            .iter()
            .any(|e| e.kind == TraceKind::ChainExit && (e.elem, e.depth, e.regs[0]) == (B, 2, 6))
    );
    // program calls and returns carry the PC after the call, as the kernel VM's do
    let calls: Vec<(u32, u16)> = out
        .trace
        .iter()
        .filter(|e| e.kind == TraceKind::ProgCall)
        .map(|e| (e.elem, e.pc))
        .collect();
    assert_eq!(
        calls,
        [(s.id("monitor") as u32, 9), (s.id("hike_pass") as u32, 11)]
    );
}

#[test]
fn depth_is_limited_to_eight_frames() {
    let mut s = Setup::new();
    // A calls itself forever: frames 1..7 are chains, the 8th call fails.
    let a = vec![mov(1, A as i32), callk(0), exit()];
    let out = s.run(&[(A, a)], frame());
    assert_eq!(
        out.abort,
        Some(Abort::DepthExceeded {
            chain: A,
            pc: 1,
            callee: A
        })
    );
    let enters = out
        .trace
        .iter()
        .filter(|e| e.kind == TraceKind::ChainEnter)
        .count();
    assert_eq!(enters, MAX_FRAMES - 1);
}

#[test]
fn burst_budget_aborts_the_65th_instruction_and_restarts_after_a_program_call() {
    let mut s = Setup::new();
    let spin = vec![ja(-1)];
    let out = s.run(&[(A, spin)], frame());
    assert_eq!(out.abort, Some(Abort::BudgetExhausted { chain: A, pc: 0 }));
    assert_eq!(out.insns_executed, 64);

    // 50 instructions, a program call, 50 more, pass: fine because the budget restarts.
    let mut c = vec![mov(0, 0); 49];
    c.extend([mov(1, s.id("monitor")), mov(2, 0), callk(1)]);
    c.extend(vec![mov(0, 0); 47]);
    c.extend([mov(1, s.id("hike_pass")), callk(0), exit()]);
    let out = s.run(&[(A, c.clone())], frame());
    assert_eq!(out.verdict, XdpAction::Pass, "{:?}", out.abort);
    for _ in 0..20 {
        c.insert(60, mov(0, 0));
    }
    let out = s.run(&[(A, c)], frame());
    assert!(matches!(out.abort, Some(Abort::BudgetExhausted { .. })));
}

#[test]
fn program_calls_are_limited_per_packet() {
    let mut s = Setup::new();
    let c = vec![mov(1, s.id("monitor")), mov(2, 9), callk(1), ja(-4)];
    let out = s.run(&[(A, c)], frame());
    assert_eq!(
        out.abort,
        Some(Abort::TooManyProgramCalls { chain: A, pc: 2 })
    );
    assert_eq!(out.program_calls, MAX_PROGRAM_CALLS);
    assert_eq!(s.models.monitor.get(&9), Some(&(MAX_PROGRAM_CALLS as u64)));
}

#[test]
fn missing_programs_and_chains_abort() {
    let mut s = Setup::new();
    let c = vec![mov(1, 200), callk(0), exit()];
    assert_eq!(
        s.run(&[(A, c)], frame()).abort,
        Some(Abort::MissingProgram { id: 200 })
    );
    // the program IDs end at 255: 255 is a (missing) program, 256 no element at all
    for (id, abort) in [
        (255, Abort::MissingProgram { id: 255 }),
        (256, Abort::UnknownElement { id: 256 }),
        (300, Abort::UnknownElement { id: 300 }),
    ] {
        let c = vec![mov(1, id), callk(0), exit()];
        assert_eq!(s.run(&[(A, c)], frame()).abort, Some(abort), "{id}");
    }
    let c = vec![mov(1, B as i32), callk(0), exit()];
    assert_eq!(
        s.run(&[(A, c)], frame()).abort,
        Some(Abort::NoSuchChain { id: B })
    );
    let c = vec![mov(1, 0), Insn::new(op::JMP | op::CALL, 0, 0, 0, 6), exit()];
    assert_eq!(
        s.run(&[(A, c)], frame()).abort,
        Some(Abort::BadCall {
            chain: A,
            pc: 1,
            imm: 6
        })
    );
}

#[test]
fn mmu_banks_and_bounds() {
    let mut s = Setup::new();
    let pkt = frame();
    let len = pkt.len() as i32;
    let monitor = s.id("monitor");
    let pass = s.id("hike_pass");
    let report = |v: Vec<Insn>| {
        let mut c = v;
        c.extend([
            movx(2, 0),
            mov(1, monitor),
            callk(1),
            mov(1, pass),
            callk(0),
            exit(),
        ]);
        c
    };
    // packet length slot
    let out = s.run(
        &[(A, report(vec![mov(3, 0x0100_0000), ldx(op::W, 0, 3, 0)]))],
        pkt.clone(),
    );
    assert_eq!(out.verdict, XdpAction::Pass);
    assert_eq!(s.models.monitor.get(&(len as u32)), Some(&1));
    // ethertype, big endian on the wire: u16 load then be16
    let be16 = Insn::new(op::ALU | op::END | op::TO_BE, 0, 0, 0, 16);
    let out = s.run(
        &[(
            A,
            report(vec![mov(3, 0x0100_0008 + 12), ldx(op::H, 0, 3, 0), be16]),
        )],
        pkt.clone(),
    );
    assert_eq!(out.verdict, XdpAction::Pass);
    assert_eq!(s.models.monitor.get(&0x86dd), Some(&1));
    // last byte is fine, one past is not
    let out = s.run(
        &[(
            A,
            report(vec![mov(3, 0x0100_0008 + len - 1), ldx(op::B, 0, 3, 0)]),
        )],
        pkt.clone(),
    );
    assert_eq!(out.verdict, XdpAction::Pass);
    let out = s.run(
        &[(
            A,
            report(vec![mov(3, 0x0100_0008 + len - 1), ldx(op::H, 0, 3, 0)]),
        )],
        pkt.clone(),
    );
    assert!(matches!(
        out.abort,
        Some(Abort::MemFault {
            fault: Fault::OutOfBounds,
            size: 2,
            ..
        })
    ));
    // stack round trip through fp
    let out = s.run(
        &[(
            A,
            report(vec![
                mov(3, 77),
                stx(op::DW, 10, 3, -8),
                ldx(op::DW, 0, 10, -8),
            ]),
        )],
        pkt.clone(),
    );
    assert_eq!(out.verdict, XdpAction::Pass);
    assert_eq!(s.models.monitor.get(&77), Some(&1));
    let out = s.run(&[(A, report(vec![ldx(op::DW, 0, 10, 0)]))], pkt.clone());
    assert!(matches!(
        out.abort,
        Some(Abort::MemFault {
            fault: Fault::OutOfBounds,
            ..
        })
    ));
    // shared memory: pkt_info.nhoff is 14
    let out = s.run(
        &[(A, report(vec![mov(3, 0x0300_0000), ldx(op::W, 0, 3, 8)]))],
        pkt.clone(),
    );
    assert_eq!(out.verdict, XdpAction::Pass);
    assert_eq!(s.models.monitor.get(&14), Some(&1));
    let out = s.run(
        &[(
            A,
            report(vec![mov(3, 0x0300_0000 + 4093), ldx(op::W, 0, 3, 0)]),
        )],
        pkt.clone(),
    );
    assert!(matches!(
        out.abort,
        Some(Abort::MemFault {
            fault: Fault::OutOfBounds,
            ..
        })
    ));
    // zero and private banks
    let out = s.run(
        &[(A, report(vec![mov(3, 16), ldx(op::W, 0, 3, 0)]))],
        pkt.clone(),
    );
    assert!(matches!(
        out.abort,
        Some(Abort::MemFault {
            fault: Fault::ZeroBank,
            ..
        })
    ));
    let out = s.run(
        &[(A, report(vec![mov(3, 0x0200_0000), ldx(op::W, 0, 3, 0)]))],
        pkt.clone(),
    );
    assert!(matches!(
        out.abort,
        Some(Abort::MemFault {
            fault: Fault::PrivateBank,
            ..
        })
    ));
    // the last 32-bit address is in a bank no one has; the next one is no address at all
    for (addr, fault) in [
        (
            vec![mov(3, -1), alu(op::RSH, 3, 32)],
            Fault::UnknownBank(0xff),
        ),
        (
            vec![mov(3, 1), alu(op::LSH, 3, 32)],
            Fault::NotAVirtualAddress,
        ),
    ] {
        let mut code = addr;
        code.push(ldx(op::B, 0, 3, 0));
        let out = s.run(&[(A, report(code))], pkt.clone());
        assert!(
            matches!(out.abort, Some(Abort::MemFault { fault: f, .. }) if f == fault),
            "{:?}, not {fault:?}",
            out.abort
        );
    }
    // packet writes land in the output packet; length slot writes are ignored
    let out = s.run(
        &[(
            A,
            report(vec![
                mov(3, 0x0100_0008),
                mov(4, 0xab),
                stx(op::B, 3, 4, 0),
                stx(op::W, 3, 4, -8),
                mov(0, 0),
            ]),
        )],
        pkt.clone(),
    );
    assert_eq!(out.verdict, XdpAction::Pass);
    assert_eq!(out.packet[0], 0xab);
    assert_eq!(out.packet.len(), pkt.len());
}

#[test]
fn division_by_zero_follows_ebpf() {
    let mut s = Setup::new();
    let monitor = s.id("monitor");
    let pass = s.id("hike_pass");
    let c = vec![
        mov(6, 9),
        mov(7, 0),
        movx(2, 6),
        alux(op::DIV, 2, 7), // 0
        movx(8, 6),
        alux(op::MOD, 8, 7), // 9
        alux(op::ADD, 2, 8),
        alu(op::ADD, 2, 100),
        mov(1, monitor),
        callk(1),
        mov(1, pass),
        callk(0),
        exit(),
    ];
    let out = s.run(&[(A, c)], frame());
    assert_eq!(out.verdict, XdpAction::Pass);
    assert_eq!(s.models.monitor.get(&109), Some(&1));
}

#[test]
fn models_behave_per_the_spec() {
    let mut s = Setup::new();
    let tb = s.id("ip6_dst_tbmon");
    let chain = vec![
        mov(1, tb),
        callk(0),
        movx(2, 0),
        mov(1, s.id("monitor")),
        callk(1),
        mov(1, s.id("hike_pass")),
        callk(0),
        exit(),
    ];
    // 5 in profile at once, then out of profile; after 50 ms one more token
    for _ in 0..7 {
        s.run(&[(A, chain.clone())], frame());
    }
    assert_eq!(s.models.monitor.get(&0), Some(&5));
    assert_eq!(s.models.monitor.get(&u32::MAX), Some(&2));
    s.models.now_ns += 50_000_000;
    s.run(&[(A, chain)], frame());
    assert_eq!(s.models.monitor.get(&0), Some(&6));

    // dec2zero(3): 2, 1, 0, 2, ...
    let mut m = Models::new();
    m.register(5, "ip6_sd_dec2zero");
    let mut pkt = frame();
    let mut shm = vec![0u8; 4096];
    models::fill_pkt_info(&pkt, &mut shm);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let mut ctx = Ctx {
            packet: &mut pkt,
            shmem: &mut shm,
            redirect: None,
            caller_regs: [0; 11],
        };
        seen.push(m.call(5, [5, 3, 0, 0], &mut ctx));
    }
    let c = ProgramResult::Continue;
    assert_eq!(seen, vec![Some(c(2)), Some(c(1)), Some(c(0)), Some(c(2))]);

    // find_udp moves dataoff to the UDP header
    m.register(6, "ip6_find_udp");
    let mut ctx = Ctx {
        packet: &mut pkt,
        shmem: &mut shm,
        redirect: None,
        caller_regs: [0; 11],
    };
    assert_eq!(m.call(6, [6, 0, 0, 0], &mut ctx), Some(c(17)));
    assert_eq!(&shm[0..4], &54i32.to_le_bytes());

    // hset: absent, add, present, expired
    m.register(7, "ip6_hset_srcdst");
    let mut ctx = Ctx {
        packet: &mut pkt,
        shmem: &mut shm,
        redirect: None,
        caller_regs: [0; 11],
    };
    assert_eq!(m.call(7, [7, 0, 0, 0], &mut ctx), Some(c(models::ENOENT)));
    assert_eq!(m.call(7, [7, 1, 0, 0], &mut ctx), Some(c(0)));
    assert_eq!(m.call(7, [7, 0, 0, 0], &mut ctx), Some(c(0)));
    m.now_ns += models::HSET_TIMEOUT_NS;
    assert_eq!(m.call(7, [7, 2, 0, 0], &mut ctx), Some(c(models::ENOENT)));
    assert!(m.hset.is_empty());
}

#[test]
fn classifier_passes_non_ipv6() {
    let mut shm = vec![0u8; 4096];
    let mut arp = vec![0u8; 42];
    arp[12] = 0x08;
    arp[13] = 0x06;
    assert_eq!(models::ip6_simple_classifier(&arp, &mut shm, Some(A)), None);
    assert_eq!(
        models::ip6_simple_classifier(&frame(), &mut shm, Some(A)),
        Some(A)
    );
}

const CODES: [u8; 51] = [
    0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f,
    0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd4, 0xdc, 0x18, 0x61, 0x69, 0x71, 0x79,
    0x62, 0x63, 0x6b, 0x73, 0x7b, 0x05, 0x15, 0x1d, 0x25, 0x35, 0x45, 0x55, 0x65, 0xa5, 0xb5, 0xc5,
    0xd5, 0x85, 0x95,
];

fn any_insn() -> impl Strategy<Value = Insn> {
    // Bias towards real opcodes so that runs get past the first instruction.
    let codes: Vec<u8> = CODES.to_vec();
    (
        prop_oneof![prop::sample::select(codes), any::<u8>()],
        0u8..12,
        0u8..12,
        -4i16..4,
        prop_oneof![
            Just(0x1100),
            Just(0x1200),
            Just(0x1300),
            Just(0x1400),
            Just(0x0100_0008),
            Just(0x0400_0078),
            Just(0x0300_0000),
            Just(A as i32),
            -3i32..300,
            any::<i32>()
        ],
    )
        .prop_map(|(code, dst, src, off, imm)| Insn::new(code, dst, src, off, imm))
}

/// Cases per property: 1000, or `HIKE_PROPTEST_CASES` (tests/mutants.sh runs fewer).
fn cases() -> u32 {
    std::env::var("HIKE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Random bytecode never panics, and every run ends within the limits.
    #[test]
    fn random_bytecode_never_panics(a in prop::collection::vec(any_insn(), 0..80),
                                    b in prop::collection::vec(any_insn(), 0..20),
                                    r1 in prop_oneof![Just(A), Just(B), 0u32..20]) {
        let (mut m, _) = Models::with_all();
        let mut a = a;
        a.insert(0, mov(1, r1 as i32));
        let chains = [(A, a), (B, b)];
        let pkt = frame();
        let mut shm = vec![0u8; 4096];
        models::fill_pkt_info(&pkt, &mut shm);
        let out = run(&chains[..], &mut m, A, pkt, &mut shm);
        prop_assert!(out.insns_executed <= (BURST_BUDGET as u64) * (MAX_PROGRAM_CALLS as u64 + 1));
        prop_assert_eq!(out.abort.is_some(), out.verdict == XdpAction::Aborted && out.abort.is_some());
    }

    /// Chains the store-time check accepts still terminate (the budget bounds backward jumps),
    /// and never fail with an error validate should have caught.
    #[test]
    fn validated_chains_terminate(raw in prop::collection::vec(any_insn(), 1..63)) {
        // Repair random instructions into the chain subset, then let validate decide.
        let n = raw.len() as i32 + 1;
        let mut a: Vec<Insn> = raw
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let mut x = *x;
                x.dst %= 10;
                x.src %= 11;
                if x.code & 0x07 == op::JMP && x.code & 0xf0 != op::CALL && x.code & 0xf0 != op::EXIT {
                    x.off = ((x.off as i32 + i as i32 + 1).rem_euclid(n) - i as i32 - 1) as i16;
                }
                if x.code == op::LDDW || !CODES.contains(&x.code) || x.code == 0x87 && x.src != 0 {
                    x.code = op::ALU64 | op::MOV;
                }
                if x.code == 0x85 {
                    x.imm = 0x1100 + ((x.imm & 3) << 8);
                }
                if x.code & 0xf7 == 0xd4 {
                    x.imm = [16, 32, 64][(x.imm as u32 % 3) as usize];
                }
                if matches!(x.code & 0xf7, 0x67 | 0x77 | 0xc7) {
                    x.imm &= 63;
                }
                x
            })
            .collect();
        a.push(exit());
        prop_assume!(validate(&a).is_ok());
        let (mut m, _) = Models::with_all();
        let pkt = frame();
        let mut shm = vec![0u8; 4096];
        let out = run(&[(A, a)][..], &mut m, A, pkt, &mut shm);
        let caught = matches!(
            out.abort,
            Some(Abort::BadInsn { .. } | Abort::BadCall { .. } | Abort::BadRegister { .. })
        );
        prop_assert!(!caught);
        prop_assert!(out.insns_executed <= (BURST_BUDGET as u64) * (MAX_PROGRAM_CALLS as u64 + 1));
    }
}

/// Each conditional jump, with a register and with an immediate, on pairs that tell the
/// comparisons apart (equal, unsigned and signed order disagreeing): taken exactly when
/// eBPF's definition says so. The chain reports `2 * case + taken` to monitor.
#[test]
fn every_jump_follows_ebpf() {
    type Cmp = fn(u64, u64) -> bool;
    let ops: [(u8, Cmp); 11] = [
        (op::JEQ, |a, b| a == b),
        (op::JGT, |a, b| a > b),
        (op::JGE, |a, b| a >= b),
        (op::JSET, |a, b| a & b != 0),
        (op::JNE, |a, b| a != b),
        (op::JSGT, |a, b| (a as i64) > (b as i64)),
        (op::JSGE, |a, b| (a as i64) >= (b as i64)),
        (op::JLT, |a, b| a < b),
        (op::JLE, |a, b| a <= b),
        (op::JSLT, |a, b| (a as i64) < (b as i64)),
        (op::JSLE, |a, b| (a as i64) <= (b as i64)),
    ];
    let pairs: [(i32, i32); 6] = [(-1, 1), (1, -1), (3, 3), (2, 3), (6, 4), (1, 2)];
    let mut case = 0;
    for (o, want) in ops {
        for (a, b) in pairs {
            for x in [false, true] {
                let mut s = Setup::new();
                let (monitor, pass) = (s.id("monitor"), s.id("hike_pass"));
                let jump = if x {
                    Insn::new(op::JMP | o | op::X, 6, 7, 1, 0)
                } else {
                    Insn::new(op::JMP | o | op::K, 6, 0, 1, b)
                };
                let c = vec![
                    mov(2, 2 * case),
                    mov(6, a),
                    mov(7, b),
                    jump,
                    ja(1),
                    alu(op::ADD, 2, 1),
                    mov(1, monitor),
                    callk(1),
                    mov(1, pass),
                    callk(0),
                    exit(),
                ];
                let out = s.run(&[(A, c)], frame());
                assert_eq!(out.abort, None, "op {o:#x} x={x}");
                let taken = want(a as i64 as u64, b as i64 as u64);
                let code = (2 * case + taken as i32) as u32;
                assert_eq!(
                    s.models.monitor.get(&code),
                    Some(&1),
                    "op {o:#x} {a} {b} x={x}: taken should be {taken}"
                );
                case += 1;
            }
        }
    }
}

/// `le16`/`le32` keep the low bits, `be*` swap them (on a little-endian machine).
#[test]
fn byte_swaps_follow_ebpf() {
    for (imm, be, want) in [
        (16, false, 0x5678u64),
        (32, false, 0x1234_5678),
        (64, false, 0xabcd_1234_5678),
        (16, true, 0x7856),
        (32, true, 0x7856_3412),
    ] {
        let mut s = Setup::new();
        let (monitor, pass) = (s.id("monitor"), s.id("hike_pass"));
        let to = if be { op::TO_BE } else { op::TO_LE };
        // r2 = 0xabcd_1234_5678, swapped, then reported
        let c = vec![
            mov(2, 0xabcd),
            alu(op::LSH, 2, 32),
            mov(3, 0x1234_5678),
            alux(op::OR, 2, 3),
            Insn::new(op::ALU | op::END | to, 2, 0, 0, imm),
            mov(1, monitor),
            callk(1),
            mov(1, pass),
            callk(0),
            exit(),
        ];
        let out = s.run(&[(A, c)], frame());
        assert_eq!(out.abort, None, "{imm} be={be}");
        let got: Vec<u64> = s.models.monitor.keys().map(|k| *k as u64).collect();
        assert_eq!(got, vec![want & 0xffff_ffff], "{imm} be={be}");
    }
}

/// Every chain store the callers use (`HashMap`, `BTreeMap`, a slice of pairs) finds the
/// stored chain by its ID, and nothing under another ID.
#[test]
fn every_chain_store_finds_its_chains() {
    let a = vec![mov(0, 1), Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0)];
    let b = vec![mov(0, 2), Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0)];
    let pairs = vec![(FIRST_CHAIN_ID, a.clone()), (FIRST_CHAIN_ID + 1, b.clone())];
    let hash: HashMap<u32, Vec<Insn>> = pairs.iter().cloned().collect();
    let tree: BTreeMap<u32, Vec<Insn>> = pairs.iter().cloned().collect();
    fn check<C: Chains + ?Sized>(store: &C, a: &[Insn], b: &[Insn]) {
        assert_eq!(store.chain(FIRST_CHAIN_ID), Some(a));
        assert_eq!(store.chain(FIRST_CHAIN_ID + 1), Some(b));
        assert_eq!(store.chain(FIRST_CHAIN_ID + 2), None);
    }
    check(&hash, &a, &b);
    check(&tree, &a, &b);
    check(pairs.as_slice(), &a, &b);
}

/// Each ALU64 operation on operands whose bits overlap, with an immediate and with a
/// register: the chain reports the operation's own result (an `|` computed as `^`, or an `&`
/// as `|`, reports another value).
#[test]
fn alu_operations_compute_their_own_results() {
    for (o, a, b, want) in [
        (op::ADD, 6, 3, 9i64),
        (op::SUB, 6, 3, 3),
        (op::MUL, 6, 3, 18),
        (op::DIV, 7, 2, 3),
        (op::DIV, 7, 0, 0),
        (op::OR, 6, 3, 7),
        (op::AND, 6, 3, 2),
        (op::XOR, 6, 3, 5),
        (op::LSH, 6, 3, 48),
        (op::RSH, 48, 3, 6),
        (op::MOD, 7, 3, 1),
        (op::MOV, 6, 3, 3),
        (op::ARSH, -16, 2, -4),
    ] {
        for x in [false, true] {
            let mut s = Setup::new();
            let (monitor, pass) = (s.id("monitor"), s.id("hike_pass"));
            let mut c = vec![mov(2, a)];
            if x {
                c.extend([mov(3, b), alux(o, 2, 3)]);
            } else {
                c.push(alu(o, 2, b));
            }
            c.extend([mov(1, monitor), callk(1), mov(1, pass), callk(0), exit()]);
            let out = s.run(&[(A, c)], frame());
            assert_eq!(out.abort, None, "op {o:#x}");
            let got: Vec<u64> = s.models.monitor.keys().map(|k| *k as u64).collect();
            assert_eq!(
                got,
                vec![want as u64 & 0xffff_ffff],
                "op {o:#x} {a} {b} x={x}"
            );
        }
    }
}
