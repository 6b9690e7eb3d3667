//! The HIKe VM in the real kernel (root, BPF_PROG_TEST_RUN): chains, calls, arguments, the MMU,
//! every limit as its documented outcome, the trace, and differential runs against the
//! reference interpreter `hike::vm`. Each test builds its own HIKe instance under
//! /sys/fs/bpf/eclat-lab-test-<pid>-<n>, removed on drop even when the test fails.

use eclat_kernel::hike::HikeError;
use eclat_kernel::hike::asm::{
    self, Item, alu, alu_r, call_elem, call_with, exit, ja, jmp, lddw, ldx, mov, mov_r, st, stx,
};
use eclat_kernel::hike::bench::{Setup, ids, null_chain};
use eclat_kernel::hike::packet::bench_frame;
use eclat_kernel::hike::tier::Tier;
use eclat_model::meta;
use hike::insn::op;
use hike::trace::{AbortReason, TraceKind};
use hike::vm::{Chains, Ctx, ProgramResult, Programs};
use hike::{Insn, XdpAction};

const A: u32 = hike::FIRST_CHAIN_ID;
const B: u32 = hike::FIRST_CHAIN_ID + 1;
const PKT: u32 = 0x0100_0008;

fn setup() -> Setup {
    Setup::new("eclat-lab-test").expect("HIKe setup (needs root and a BPF-capable kernel)")
}

fn verdict(s: &Setup, pkt: &[u8]) -> XdpAction {
    s.run(pkt)
        .expect("test run")
        .action()
        .expect("an XDP verdict")
}

/// Whether `i` (as the kernel dumps it) stores (`st`) or loads 64 bits at `r10 + off`.
fn stack_at(i: &[u8; 8], st: bool, off: i16) -> bool {
    let class = if st { 0x7b } else { 0x79 }; // stx / ldx, 64 bits
    let base = if st { i[1] & 0x0f } else { i[1] >> 4 };
    i[0] == class && base == 10 && i16::from_le_bytes([i[2], i[3]]) == off
}

fn aborts(s: &Setup, reason: AbortReason) -> u64 {
    s.hike
        .abort_stats()
        .expect("stats")
        .into_iter()
        .find(|(e, _)| *e == reason)
        .map(|(_, n)| n)
        .unwrap_or(0)
}

/// Runs `chain` as A on the bench frame; returns the verdict and checks that an abort was
/// counted under `reason` when the verdict is ABORTED.
fn run_chain(s: &mut Setup, chain: &[Insn]) -> XdpAction {
    s.classify_to(A, chain).expect("store chain");
    verdict(s, &bench_frame())
}

fn expect_abort(s: &mut Setup, chain: &[Insn], reason: AbortReason) {
    let before = aborts(s, reason);
    assert_eq!(run_chain(s, chain), XdpAction::Aborted, "{reason:?}");
    assert_eq!(
        aborts(s, reason),
        before + 1,
        "abort reason {reason:?} counted once"
    );
}

#[test]
fn chain_pass_and_drop() {
    let mut s = setup();
    assert_eq!(run_chain(&mut s, &null_chain(0)), XdpAction::Pass);
    let mut c = call_with(ids::HIKE_DROP, &[]);
    c.push(exit());
    assert_eq!(run_chain(&mut s, &c), XdpAction::Drop);
    // IPv4 is not the simple classifier's business: it passes without entering the VM
    let v4 = eclat_kernel::hike::packet::ipv4_udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, &[]);
    assert_eq!(verdict(&s, &v4), XdpAction::Pass);
}

#[test]
fn drop_by_default_when_the_chain_returns() {
    let mut s = setup();
    let mut c = call_with(ids::HIKE_NULL, &[]);
    c.push(exit());
    expect_abort(&mut s, &c, AbortReason::Bootstrap);
}

#[test]
fn program_arguments_and_return_values() {
    let mut s = setup();
    // r0 = add3(1, 2, 3); r0 == 6 ? pass : drop, with echo(r0 * 7) == 42 in between
    let mut v = asm::items(call_with(ids::HIKE_ADD3, &[1, 2, 3]));
    v.push(Item::Jmp {
        jop: op::JNE,
        dst: 0,
        imm: 6,
        to: "drop",
    });
    v.extend(asm::items([
        mov(1, ids::HIKE_ECHO as i32),
        mov_r(2, 0),
        alu(op::MUL, 2, 7),
        call_elem(1),
    ]));
    v.push(Item::Jmp {
        jop: op::JNE,
        dst: 0,
        imm: 42,
        to: "drop",
    });
    v.extend(asm::items(call_with(ids::HIKE_PASS, &[])));
    v.push(Item::Label("drop"));
    v.extend(asm::items(call_with(ids::HIKE_DROP, &[])));
    v.push(Item::I(exit()));
    assert_eq!(run_chain(&mut s, &asm::assemble(&v)), XdpAction::Pass);
}

#[test]
fn chain_calls_chain_with_arguments() {
    let mut s = setup();
    // B(x) = echo(x * 2); callee-saved r6 of A survives the call
    let b = vec![
        alu(op::MUL, 2, 2),
        mov(1, ids::HIKE_ECHO as i32),
        call_elem(1),
        exit(),
    ];
    s.hike.store_chain(B, &b).unwrap();
    let mut v = asm::items([mov(6, 1000), mov(1, B as i32), mov(2, 21), call_elem(1)]);
    v.push(Item::Jmp {
        jop: op::JNE,
        dst: 0,
        imm: 42,
        to: "drop",
    });
    v.push(Item::Jmp {
        jop: op::JNE,
        dst: 6,
        imm: 1000,
        to: "drop",
    });
    v.extend(asm::items(call_with(ids::HIKE_PASS, &[])));
    v.push(Item::Label("drop"));
    v.extend(asm::items(call_with(ids::HIKE_DROP, &[])));
    v.push(Item::I(exit()));
    assert_eq!(run_chain(&mut s, &asm::assemble(&v)), XdpAction::Pass);
}

#[test]
fn chains_written_in_c_load_from_their_elf_sections() {
    let mut s = setup();
    let obj = eclat_kernel::hike::object("chains/examples.o").unwrap();
    let chains = meta::read_chains(obj).unwrap();
    let ids: Vec<u32> = chains.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![0x4000_0001, 0x4000_0002, 0x4000_0003]);
    for c in &chains {
        s.hike.store_chain(c.id, &c.insns).unwrap();
    }
    // CHAIN_MAIN calls CHAIN_ECHO(21) -> echo(42) -> pass; a short frame drops
    s.hike
        .set_loader_chain(
            "hike_default",
            "ipv6_simple_classifier_map",
            &0u32.to_ne_bytes(),
            0x4000_0003,
        )
        .unwrap();
    assert_eq!(verdict(&s, &bench_frame()), XdpAction::Pass);
    let frame = eclat_kernel::hike::packet::ipv6_udp_frame([0; 16], [0; 16], 1, 2, &[]);
    let short = &frame[..58];
    assert_eq!(verdict(&s, short), XdpAction::Drop);
    // CHAIN_PASS counts monitor(0)
    s.hike
        .set_loader_chain(
            "hike_default",
            "ipv6_simple_classifier_map",
            &0u32.to_ne_bytes(),
            0x4000_0001,
        )
        .unwrap();
    let before = s
        .hike
        .percpu_u64_sum("hike_default", "map_pcpu_mon", &0u32.to_ne_bytes())
        .unwrap();
    assert_eq!(verdict(&s, &bench_frame()), XdpAction::Pass);
    let after = s
        .hike
        .percpu_u64_sum("hike_default", "map_pcpu_mon", &0u32.to_ne_bytes())
        .unwrap();
    assert_eq!(after, before + 1);
}

#[test]
fn restoring_a_chain_replaces_its_bytecode_on_every_cpu() {
    let mut s = setup();
    assert_eq!(run_chain(&mut s, &null_chain(0)), XdpAction::Pass);
    let mut drop = call_with(ids::HIKE_DROP, &[]);
    drop.push(exit());
    for _ in 0..3 {
        assert_eq!(run_chain(&mut s, &drop), XdpAction::Drop);
        assert_eq!(run_chain(&mut s, &null_chain(0)), XdpAction::Pass);
    }
    // deleting it: unknown chain, aborted
    assert!(s.hike.delete_chain(A).unwrap());
    let before = aborts(&s, AbortReason::NoChain);
    assert_eq!(verdict(&s, &bench_frame()), XdpAction::Aborted);
    assert_eq!(aborts(&s, AbortReason::NoChain), before + 1);
    assert!(!s.hike.delete_chain(A).unwrap());
}

#[test]
fn mmu_packet_stack_and_shared_memory() {
    let mut s = setup();
    let pkt = bench_frame();
    let mut v = asm::items([
        // r2 = packet length
        mov(3, 0x0100_0000),
        ldx(op::DW, 2, 3, 0),
        // r4 = pkt_info.nhoff (shared memory offset 8), 14 for Ethernet
        mov(3, 0x0300_0000),
        ldx(op::W, 4, 3, 8),
        // stack: *(fp - 8) = 0x1122334455667788, read back its low half
        lddw(5, 0x1122_3344_5566_7788)[0],
        lddw(5, 0x1122_3344_5566_7788)[1],
        stx(op::DW, 10, -8, 5),
        ldx(op::W, 6, 10, -8),
        // packet: byte 20 (IPv6 next header) is 17; overwrite the hop limit (byte 21)
        mov(3, PKT as i32),
        ldx(op::B, 7, 3, 20),
        st(op::B, 3, 21, 7),
    ]);
    v.push(Item::Jmp {
        jop: op::JNE,
        dst: 2,
        imm: pkt.len() as i32,
        to: "drop",
    });
    v.push(Item::Jmp {
        jop: op::JNE,
        dst: 4,
        imm: 14,
        to: "drop",
    });
    v.push(Item::Jmp {
        jop: op::JNE,
        dst: 6,
        imm: 0x5566_7788,
        to: "drop",
    });
    v.push(Item::Jmp {
        jop: op::JNE,
        dst: 7,
        imm: 17,
        to: "drop",
    });
    v.extend(asm::items(call_with(ids::HIKE_PASS, &[])));
    v.push(Item::Label("drop"));
    v.extend(asm::items(call_with(ids::HIKE_DROP, &[])));
    v.push(Item::I(exit()));
    s.classify_to(A, &asm::assemble(&v)).unwrap();
    let out = s.run(&pkt).unwrap();
    assert_eq!(out.action(), Some(XdpAction::Pass));
    assert_eq!(out.packet[21], 7, "hop limit rewritten through the MMU");
    let mut expect = pkt.clone();
    expect[21] = 7;
    assert_eq!(out.packet, expect);
}

#[test]
fn every_limit_is_its_documented_outcome() {
    let mut s = setup();
    // 65 instruction slots: refused at store time
    let mut long: Vec<Insn> = (0..62).map(|_| mov(0, 0)).collect();
    long.extend(call_with(ids::HIKE_PASS, &[]));
    long.push(exit());
    assert!(long.len() == 65);
    match s.hike.store_chain(A, &long) {
        Err(HikeError::ChainTooLong { len: 65, .. }) => {}
        other => panic!("65 slots must be refused, got {other:?}"),
    }
    // exactly 64 slots run
    let mut ok: Vec<Insn> = (0..61).map(|_| mov(3, 1)).collect();
    ok.extend(call_with(ids::HIKE_PASS, &[]));
    ok.push(exit());
    assert_eq!(ok.len(), 64);
    assert_eq!(run_chain(&mut s, &ok), XdpAction::Pass);

    // burst budget: an endless loop aborts, never hangs
    expect_abort(&mut s, &[mov(0, 0), ja(-2)], AbortReason::Budget);
    // the budget restarts after each program call: 20 loop rounds of 4 insns with a call each
    let mut v = asm::items([mov(6, 20)]);
    v.push(Item::Label("top"));
    v.extend(asm::items(call_with(ids::HIKE_NULL, &[])));
    v.push(asm::Item::I(alu(op::SUB, 6, 1)));
    v.push(Item::Jmp {
        jop: op::JNE,
        dst: 6,
        imm: 0,
        to: "top",
    });
    let twenty_calls = asm::assemble(&v);
    // 20 > 16 program calls: the VM refuses the 17th (the kernel's tail-call limit)
    let mut c = twenty_calls.clone();
    c.extend(call_with(ids::HIKE_PASS, &[]));
    c.push(exit());
    expect_abort(&mut s, &c, AbortReason::TailCallLimit);
    // 15 null calls + hike_pass = 16 calls: passes
    let mut v = asm::items([mov(6, 15)]);
    v.push(Item::Label("top"));
    v.extend(asm::items(call_with(ids::HIKE_NULL, &[])));
    v.push(asm::Item::I(alu(op::SUB, 6, 1)));
    v.push(Item::Jmp {
        jop: op::JNE,
        dst: 6,
        imm: 0,
        to: "top",
    });
    v.extend(asm::items(call_with(ids::HIKE_PASS, &[])));
    v.push(Item::I(exit()));
    assert_eq!(run_chain(&mut s, &asm::assemble(&v)), XdpAction::Pass);
    // the same limit in a compiled chain (no loop: the calls written out), which counts its
    // calls because a path makes more than 16: the 17th is refused, 16 pass
    let straight = |nulls: usize| {
        let mut c: Vec<Insn> = (0..nulls)
            .flat_map(|_| call_with(ids::HIKE_NULL, &[]))
            .collect();
        c.extend(call_with(ids::HIKE_PASS, &[]));
        c.push(exit());
        c
    };
    expect_abort(&mut s, &straight(20), AbortReason::TailCallLimit);
    assert!(
        matches!(s.hike.tier(A), Some(Tier::Compiled { .. })),
        "{:?}",
        s.hike.tier(A)
    );
    assert_eq!(run_chain(&mut s, &straight(15)), XdpAction::Pass);
    assert!(matches!(s.hike.tier(A), Some(Tier::Compiled { .. })));

    // depth: a chain calling itself runs out of the 8 frames
    let recurse = vec![mov(1, A as i32), call_elem(0), exit()];
    expect_abort(&mut s, &recurse, AbortReason::Depth);
    // missing program ID, ID 0 (the VM's slot) and an ID above 255
    let mut c = call_with(200, &[]);
    c.push(exit());
    expect_abort(&mut s, &c, AbortReason::NoProg);
    let mut c = call_with(0, &[]);
    c.push(exit());
    expect_abort(&mut s, &c, AbortReason::ProgId);
    let mut c = call_with(300, &[]);
    c.push(exit());
    expect_abort(&mut s, &c, AbortReason::ProgId);
    // unregistering a program makes its calls abort; registering again restores them
    s.hike.unregister(ids::HIKE_NULL).unwrap();
    expect_abort(&mut s, &null_chain(1), AbortReason::NoProg);
    s.hike
        .register(ids::HIKE_NULL, "bench", "hike_null")
        .unwrap();
    assert_eq!(run_chain(&mut s, &null_chain(1)), XdpAction::Pass);

    // out-of-bounds packet read, stack overflow, bank 0: aborted
    let pkt_len = bench_frame().len() as i16;
    let mut c = vec![mov(3, PKT as i32), ldx(op::B, 2, 3, pkt_len)];
    c.extend(call_with(ids::HIKE_PASS, &[]));
    c.push(exit());
    expect_abort(&mut s, &c, AbortReason::Mem);
    let mut c = vec![ldx(op::DW, 2, 10, 0)];
    c.extend(call_with(ids::HIKE_PASS, &[]));
    c.push(exit());
    expect_abort(&mut s, &c, AbortReason::Mem);
    let mut c = vec![mov(3, 0), ldx(op::W, 2, 3, 0)];
    c.extend(call_with(ids::HIKE_PASS, &[]));
    c.push(exit());
    expect_abort(&mut s, &c, AbortReason::Mem);
    // the last in-bounds byte is fine
    let mut c = vec![mov(3, PKT as i32), ldx(op::B, 2, 3, pkt_len - 1)];
    c.extend(call_with(ids::HIKE_PASS, &[]));
    c.push(exit());
    assert_eq!(run_chain(&mut s, &c), XdpAction::Pass);
}

#[test]
fn trace_follows_a_packet_through_the_chain() {
    let mut s = setup();
    let mut reader = s.hike.trace_reader().unwrap();
    s.hike.set_trace(true).unwrap();
    assert_eq!(run_chain(&mut s, &null_chain(1)), XdpAction::Pass);
    s.hike.set_trace(false).unwrap();
    let ev = reader.drain();
    let kinds: Vec<TraceKind> = ev.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            TraceKind::ChainEnter,
            TraceKind::ProgCall,
            TraceKind::ProgReturn,
            TraceKind::ProgCall
        ],
        "{ev:#?}"
    );
    assert_eq!(ev[1].elem, ids::HIKE_NULL);
    assert_eq!(ev[3].elem, ids::HIKE_PASS);
    // off again: nothing more
    assert_eq!(run_chain(&mut s, &null_chain(1)), XdpAction::Pass);
    assert!(reader.drain().is_empty());
}

/// The test programs, modelled for the reference interpreter.
struct Models;

impl Programs for Models {
    fn call(&mut self, id: u32, a: [u64; 4], ctx: &mut Ctx<'_>) -> Option<ProgramResult> {
        Some(match id {
            ids::HIKE_REGS_OUT => {
                if ctx.packet.len() < 16 + 80 {
                    return Some(ProgramResult::Final(XdpAction::Aborted));
                }
                for r in [0, 2, 3, 4, 5, 6, 7, 8, 9] {
                    ctx.packet[16 + 8 * r..][..8]
                        .copy_from_slice(&ctx.caller_regs[r].to_le_bytes());
                }
                ProgramResult::Final(XdpAction::Pass)
            }
            ids::HIKE_PASS => ProgramResult::Final(XdpAction::Pass),
            ids::HIKE_DROP => ProgramResult::Final(XdpAction::Drop),
            ids::HIKE_NULL => ProgramResult::Continue(0),
            ids::HIKE_ECHO => ProgramResult::Continue(a[1]),
            ids::HIKE_ADD3 => ProgramResult::Continue(a[1].wrapping_add(a[2]).wrapping_add(a[3])),
            _ => return None,
        })
    }
}

/// Runs `chains` (entry A) on both VMs and compares verdict and packet bytes.
fn differential(s: &mut Setup, chains: &[(u32, Vec<Insn>)], pkt: &[u8]) {
    for (id, c) in chains {
        s.hike
            .store_chain(*id, c)
            .unwrap_or_else(|e| panic!("store {id:#x}: {e}\n{c:?}"));
    }
    s.hike
        .set_loader_chain(
            "hike_default",
            "ipv6_simple_classifier_map",
            &0u32.to_ne_bytes(),
            A,
        )
        .unwrap();
    let k = s.run(pkt).unwrap();
    let mut shm = vec![0u8; 4096];
    hike::vm::models::fill_pkt_info(pkt, &mut shm);
    let r = hike::vm::run(chains, &mut Models, A, pkt.to_vec(), &mut shm);
    assert_eq!(
        k.action(),
        Some(r.verdict),
        "verdict differs (reference abort: {:?})\nchains: {chains:?}",
        r.abort
    );
    assert_eq!(k.packet, r.packet, "packet differs\nchains: {chains:?}");
}

/// Writes r0..r9 into the packet from byte 16 on, so that register values are compared.
fn dump_regs_then_pass() -> Vec<Insn> {
    let mut v = vec![mov(1, PKT as i32)];
    v.push(stx(op::DW, 1, 16, 0));
    for r in 2..10u8 {
        v.push(stx(op::DW, 1, 16 + 8 * r as i16, r));
    }
    v.extend(call_with(ids::HIKE_PASS, &[]));
    v.push(exit());
    v
}

#[test]
fn differential_hand_picked_chains() {
    let mut s = setup();
    let pkt = eclat_kernel::hike::packet::ipv6_udp_frame([1; 16], [2; 16], 7, 9, &[0u8; 80]);
    let body: Vec<Vec<Insn>> = vec![
        vec![
            mov(0, -1),
            alu(op::RSH, 0, 60),
            mov(2, 7),
            alu(op::DIV, 2, 0),
            mov(3, 7),
            alu(op::MOD, 3, 0),
        ],
        vec![
            mov(2, -5),
            alu(op::ARSH, 2, 1),
            mov(3, 5),
            alu(op::NEG, 3, 0),
            mov(4, 0),
            alu_r(op::DIV, 3, 4),
            mov(5, 9),
            alu_r(op::MOD, 5, 4),
        ],
        vec![
            mov(2, 0x1234),
            Insn::new(op::ALU | op::END | op::TO_BE, 2, 0, 0, 16),
            lddw(3, u64::MAX - 1)[0],
            lddw(3, u64::MAX - 1)[1],
            Insn::new(op::ALU | op::END | op::TO_BE, 3, 0, 0, 64),
        ],
        vec![
            mov(2, 3),
            jmp(op::JSGT, 2, -1, 1),
            mov(2, 99),
            mov(3, -2),
            jmp(op::JLT, 3, 5, 1),
            mov(4, 1),
            jmp(op::JSET, 2, 2, 1),
            mov(5, 1),
        ],
        vec![
            mov(1, 0x0100_0008),
            ldx(op::H, 2, 1, 12),
            ldx(op::W, 3, 1, 22),
            st(op::W, 10, -4, -7),
            ldx(op::W, 4, 10, -4),
            ldx(op::H, 5, 10, -2),
        ],
        vec![
            mov(1, ids::HIKE_ADD3 as i32),
            mov(2, 40),
            mov(3, 1),
            mov(4, 1),
            call_elem(3),
            mov_r(6, 0),
            mov(1, ids::HIKE_ECHO as i32),
            mov_r(2, 6),
            call_elem(1),
            mov_r(7, 0),
        ],
    ];
    for b in body {
        let mut c = b.clone();
        c.extend(dump_regs_then_pass());
        differential(&mut s, &[(A, c)], &pkt);
    }
    // errors agree too: a chain returning to the bootstrap frame, an endless loop, endless
    // recursion, an out-of-bounds packet read, a missing program, 16 and 17 program calls
    let c = vec![ja(1), exit(), exit()];
    differential(&mut s, &[(A, c)], &pkt);
    differential(&mut s, &[(A, vec![mov(0, 0), ja(-2)])], &pkt);
    differential(
        &mut s,
        &[(A, vec![mov(1, A as i32), call_elem(0), exit()])],
        &pkt,
    );
    let mut oob = vec![mov(1, PKT as i32), ldx(op::W, 2, 1, pkt.len() as i16 - 2)];
    oob.extend(dump_regs_then_pass());
    differential(&mut s, &[(A, oob)], &pkt);
    let mut missing = call_with(77, &[]);
    missing.push(exit());
    differential(&mut s, &[(A, missing)], &pkt);
    // the budget edge: `mov r1, ID; call` as the 63rd/64th or the 64th/65th instructions
    for rounds in [30, 31] {
        let mut c = vec![mov(6, rounds), alu(op::SUB, 6, 1), jmp(op::JNE, 6, 0, -2)];
        c.extend(call_with(ids::HIKE_PASS, &[]));
        c.push(exit());
        differential(&mut s, &[(A, c.clone())], &pkt);
        let out = {
            s.classify_to(A, &c).unwrap();
            s.run(&pkt).unwrap().action().unwrap()
        };
        let expect = if rounds == 30 {
            XdpAction::Pass
        } else {
            XdpAction::Aborted
        };
        assert_eq!(out, expect, "{rounds} rounds");
    }
    for calls in [15, 16] {
        let mut v = asm::items([mov(6, calls)]);
        v.push(Item::Label("top"));
        v.extend(asm::items(call_with(ids::HIKE_NULL, &[])));
        v.push(Item::I(alu(op::SUB, 6, 1)));
        v.push(Item::Jmp {
            jop: op::JNE,
            dst: 6,
            imm: 0,
            to: "top",
        });
        v.extend(asm::items(call_with(ids::HIKE_PASS, &[])));
        v.push(Item::I(exit()));
        differential(&mut s, &[(A, asm::assemble(&v))], &pkt);
    }
}

/// A small deterministic generator (xorshift), so failures reproduce from the seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_chain(rng: &mut Rng) -> Vec<Insn> {
    random_chain_of(rng, true)
}

/// A random chain; with `memory` false, no memory access (stack or packet) and no calls: what
/// the chain compiler takes, mixed with program calls by the caller.
fn random_chain_of(rng: &mut Rng, memory: bool) -> Vec<Insn> {
    const ALU: [u8; 13] = [
        op::ADD,
        op::SUB,
        op::MUL,
        op::DIV,
        op::OR,
        op::AND,
        op::LSH,
        op::RSH,
        op::NEG,
        op::MOD,
        op::XOR,
        op::MOV,
        op::ARSH,
    ];
    const JMP: [u8; 11] = [
        op::JEQ,
        op::JGT,
        op::JGE,
        op::JSET,
        op::JNE,
        op::JSGT,
        op::JSGE,
        op::JLT,
        op::JLE,
        op::JSLT,
        op::JSLE,
    ];
    let n = 4 + rng.below(24) as usize;
    let mut v: Vec<Insn> = (2..10u8)
        .map(|r| mov(r, rng.next() as i32 >> rng.below(31)))
        .collect();
    while v.len() < n + 8 {
        let dst = 2 + rng.below(8) as u8;
        let src = 2 + rng.below(8) as u8;
        match rng.below(10) {
            0..=4 => {
                let o = ALU[rng.below(13) as usize];
                let shift = matches!(o, op::LSH | op::RSH | op::ARSH);
                if rng.below(2) == 0 || shift {
                    let imm = if shift {
                        rng.below(64) as i32
                    } else {
                        rng.next() as i32
                    };
                    v.push(alu(o, dst, imm));
                } else {
                    v.push(alu_r(o, dst, src));
                }
            }
            5 => {
                let w = [16, 32, 64][rng.below(3) as usize];
                let end = if rng.below(2) == 0 {
                    op::TO_BE
                } else {
                    op::TO_LE
                };
                v.push(Insn::new(op::ALU | op::END | end, dst, 0, 0, w));
            }
            6 | 7 if !memory => {
                // lddw, or a call of a program that continues the chain
                if rng.below(2) == 0 {
                    v.extend(lddw(dst, rng.next()));
                } else {
                    let (id, nargs) = [
                        (ids::HIKE_NULL, 0),
                        (ids::HIKE_ECHO, 1),
                        (ids::HIKE_ADD3, 3),
                    ][rng.below(3) as usize];
                    v.push(mov(1, id as i32));
                    v.push(call_elem(nargs));
                }
            }
            6 => {
                // stack round trip
                let sz = [op::B, op::H, op::W, op::DW][rng.below(4) as usize];
                let off = -8 * (1 + rng.below(16) as i16);
                v.push(stx(sz, 10, off, src));
                v.push(ldx(sz, dst, 10, off));
            }
            7 => {
                // packet read within the first 64 bytes
                v.push(mov(1, PKT as i32));
                let sz = [op::B, op::H, op::W, op::DW][rng.below(4) as usize];
                v.push(ldx(sz, dst, 1, rng.below(56) as i16));
            }
            _ => {
                // forward conditional jump over 1..3 instructions
                let o = JMP[rng.below(11) as usize];
                let skip = 1 + rng.below(3) as i16;
                if rng.below(2) == 0 {
                    v.push(jmp(o, dst, rng.next() as i32 >> rng.below(31), skip));
                } else {
                    v.push(asm::jmp_r(o, dst, src, skip));
                }
                for _ in 0..skip {
                    v.push(alu(op::ADD, dst, rng.below(100) as i32));
                }
            }
        }
    }
    v
}

/// The seed of a random differential test: `HIKE_DIFF_SEED` when set (to replay a failure),
/// else `default`.
fn diff_seed(default: u64) -> u64 {
    std::env::var("HIKE_DIFF_SEED")
        .ok()
        .and_then(|x| x.parse().ok())
        .unwrap_or(default)
}

/// The frame the random differential tests run on: IPv6/UDP with a 100-byte payload.
fn diff_frame() -> Vec<u8> {
    eclat_kernel::hike::packet::ipv6_udp_frame([3; 16], [4; 16], 1000, 2000, &[0xa5; 100])
}

#[test]
fn differential_random_chains() {
    let mut s = setup();
    let mut rng = Rng(diff_seed(0x9e37_79b9_7f4a_7c15));
    let pkt = diff_frame();
    let (mut ran, mut refused) = (0, Vec::new());
    for _ in 0..2000 {
        if ran == 200 {
            break;
        }
        let mut c = random_chain(&mut rng);
        let dump = dump_regs_then_pass();
        if c.len() + dump.len() > hike::MAX_CHAIN_INSNS {
            continue;
        }
        c.extend(dump);
        if let Err(e) = hike::validate::validate(&c) {
            refused.push(e);
            continue;
        }
        differential(&mut s, &[(A, c)], &pkt);
        ran += 1;
    }
    assert_eq!(
        ran,
        200,
        "too many generated chains refused: {:?}",
        &refused[..refused.len().min(5)]
    );
}

/// Ends a chain by a call of `hike_regs_out`: the packet then holds r0 and r2..r9.
fn regs_out_then_exit() -> Vec<Insn> {
    vec![mov(1, ids::HIKE_REGS_OUT as i32), call_elem(0), exit()]
}

/// A random chain in the shape eCLAT writes: blocks of constant moves and a program call,
/// after which r0 may be kept in r6..r9 and tested against a constant to skip ahead; some
/// ways end with `exit` (an abort from the bootstrap frame), some with a call of a verdict
/// program (`hike_pass`, `hike_drop`: folded when compiled); the last block dumps registers.
fn random_eclat_chain(rng: &mut Rng) -> Vec<Insn> {
    let label = |k: u64| -> &'static str { Box::leak(format!("b{k}").into_boxed_str()) };
    let nblocks = 2 + rng.below(5);
    let small = |rng: &mut Rng| -> i32 {
        match rng.below(4) {
            0 => 0,
            1 => 1,
            2 => 2,
            _ => rng.next() as i32 >> rng.below(31),
        }
    };
    let mut v: Vec<Item> = Vec::new();
    for k in 0..nblocks {
        v.push(Item::Label(label(k)));
        if k > 0 && rng.below(8) == 0 {
            v.push(Item::I(mov(0, 0)));
            v.push(Item::I(exit()));
            continue;
        }
        if rng.below(8) == 0 {
            for _ in 0..rng.below(3) {
                let r = 2 + rng.below(8) as u8;
                let imm = small(rng);
                v.push(Item::I(mov(r, imm)));
            }
            let id = [ids::HIKE_PASS, ids::HIKE_DROP][rng.below(2) as usize];
            v.push(Item::I(mov(1, id as i32)));
            v.push(Item::I(call_elem(0)));
            v.push(Item::I(exit()));
            continue;
        }
        for _ in 0..rng.below(4) {
            let r = 2 + rng.below(8) as u8;
            let imm = small(rng);
            v.push(Item::I(mov(r, imm)));
        }
        let (id, nargs) = [
            (ids::HIKE_NULL, 0),
            (ids::HIKE_ECHO, 1),
            (ids::HIKE_ADD3, 3),
        ][rng.below(3) as usize];
        v.push(Item::I(mov(1, id as i32)));
        v.push(Item::I(call_elem(nargs)));
        let mut tested = 0u8;
        if rng.below(2) == 0 {
            tested = 6 + rng.below(4) as u8;
            v.push(Item::I(mov_r(tested, 0)));
        }
        if rng.below(2) == 0 {
            let to = k + 1 + rng.below(nblocks - k);
            let jop = if rng.below(2) == 0 { op::JEQ } else { op::JNE };
            let imm = small(rng);
            v.push(Item::Jmp {
                jop,
                dst: tested,
                imm,
                to: label(to),
            });
        }
    }
    v.push(Item::Label(label(nblocks)));
    v.extend(asm::items(regs_out_then_exit()));
    asm::assemble(&v)
}

/// The chain compiler (the VM's second tier): random chains in the shape eCLAT writes run
/// compiled (each is checked to be), linked into one program and as instances, and agree
/// with the reference interpreter on the verdict and on every register, which
/// `hike_regs_out` writes into the packet; then the same with the compiler off. Arithmetic the compiler leaves to the interpreter is refused with the
/// reason and still runs right.
#[test]
fn differential_random_chains_compiled() {
    let mut s = setup();
    let seed = diff_seed(0x51ed_2701_c0de_0003);
    let pkt = diff_frame();
    // compiled and linked into one program, compiled as one instance per call, interpreted
    for (jit, link) in [(true, true), (true, false), (false, false)] {
        s.hike.set_jit(jit);
        s.hike.set_link(link);
        let mut rng = Rng(seed);
        let mut ran = 0;
        for _ in 0..500 {
            if ran == 120 {
                break;
            }
            let c = random_eclat_chain(&mut rng);
            if c.len() > hike::MAX_CHAIN_INSNS || hike::validate::validate(&c).is_err() {
                continue;
            }
            differential(&mut s, &[(A, c.clone())], &pkt);
            match (jit, s.hike.tier(A)) {
                (
                    true,
                    Some(Tier::Compiled {
                        instance_slots,
                        linked,
                        ..
                    }),
                ) => {
                    assert_eq!(*linked, link, "{c:?}");
                    let calls = c.iter().filter(|i| i.code == op::JMP | op::CALL).count();
                    assert!(instance_slots.len() <= calls, "{instance_slots:?}");
                    assert!(!link || instance_slots.is_empty());
                }
                (false, Some(Tier::Interpreted { .. })) => {}
                (_, other) => panic!("jit {jit}: {other:?}\n{c:?}"),
            }
            ran += 1;
        }
        assert_eq!(ran, 120);
    }
    s.hike.set_jit(true);
    let mut c = vec![mov(2, 7), alu(op::MUL, 2, 3)];
    c.extend(regs_out_then_exit());
    differential(&mut s, &[(A, c)], &pkt);
    match s.hike.tier(A) {
        Some(Tier::Interpreted { why }) => assert!(why.contains("insn 1"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// How the compiled tier is managed: a chain is compiled when stored, replaced when stored
/// again (its old instances removed), removed with it; a chain the compiler refuses, or
/// whose ID has no entry slot, is interpreted and says why; the trace makes compiled chains
/// run interpreted; a folded verdict program follows what is registered under its ID; the
/// compiled chain runs without the VM.
#[test]
fn compiled_chains_are_installed_replaced_and_removed_with_their_chain() {
    let mut s = setup();
    // one instance per call site (linked chains: `linked_chains_...`)
    s.hike.set_link(false);
    let pkt = bench_frame();
    let used =
        |s: &Setup| -> Vec<u32> { s.hike.jit_slots().unwrap().iter().map(|j| j.slot).collect() };
    // 2 null calls then pass: 2 instances, the first in the entry slot (the call of
    // hike_pass, a verdict program, is folded into the second)
    s.classify_to(A, &null_chain(2)).unwrap();
    let Some(Tier::Compiled {
        entry_slot,
        instance_slots,
        linked: false,
        ..
    }) = s.hike.tier(A).cloned()
    else {
        panic!("{:?}", s.hike.tier(A));
    };
    assert_eq!(entry_slot, A & 127);
    assert_eq!(instance_slots.len(), 1);
    assert_eq!(
        s.hike.chain_tier(A).unwrap(),
        s.hike.tier(A).cloned().unwrap()
    );
    let mut expect = vec![entry_slot];
    expect.extend(&instance_slots);
    assert_eq!(s.hike.stored_jit_slots(A).unwrap().unwrap(), expect);
    assert_eq!(used(&s), expect);
    assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    // stored again, dropping: one instance (in the entry slot), the old ones gone
    let drop: Vec<Insn> = call_with(ids::HIKE_DROP, &[])
        .into_iter()
        .chain([exit()])
        .collect();
    s.classify_to(A, &drop).unwrap();
    let Some(Tier::Compiled { instance_slots, .. }) = s.hike.tier(A).cloned() else {
        panic!("{:?}", s.hike.tier(A));
    };
    assert!(instance_slots.is_empty());
    assert_eq!(used(&s), vec![A & 127]);
    assert_eq!(verdict(&s, &pkt), XdpAction::Drop);
    // a loop stays interpreted, and the compiled predecessor is removed
    let mut looped = vec![mov(6, 3)];
    looped.extend(call_with(ids::HIKE_NULL, &[]));
    looped.push(alu(op::SUB, 6, 1));
    looped.push(jmp(op::JNE, 6, 0, -4));
    looped.extend(call_with(ids::HIKE_PASS, &[]));
    looped.push(exit());
    hike::validate::validate(&looped).unwrap();
    s.classify_to(A, &looped).unwrap();
    match s.hike.tier(A) {
        Some(Tier::Interpreted { why }) => assert!(why.contains("backward jump"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(used(&s).is_empty());
    assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    // a chain whose ID is beyond the entry slots is interpreted; it and a compiled chain
    // with the same low bits both run right
    let twin = A + 128;
    s.classify_to(A, &null_chain(1)).unwrap();
    s.hike.store_chain(twin, &drop).unwrap();
    match s.hike.tier(twin) {
        Some(Tier::Interpreted { why }) => assert!(why.contains("no entry slot"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    s.hike
        .set_loader_chain(
            "hike_default",
            "ipv6_simple_classifier_map",
            &0u32.to_ne_bytes(),
            twin,
        )
        .unwrap();
    assert_eq!(verdict(&s, &pkt), XdpAction::Drop);
    s.hike.delete_chain(twin).unwrap();
    // the trace is the interpreter's: with it on, the compiled chain is traced as before
    s.classify_to(A, &null_chain(1)).unwrap();
    let mut reader = s.hike.trace_reader().unwrap();
    s.hike.set_trace(true).unwrap();
    assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    s.hike.set_trace(false).unwrap();
    let events = reader.drain();
    assert!(
        events.iter().any(|e| e.kind == TraceKind::ProgCall),
        "{events:?}"
    );
    // registering another program under a called ID recompiles the chain: it calls the new
    // program, as the interpreter would
    s.classify_to(A, &null_chain(1)).unwrap();
    s.hike
        .register(ids::HIKE_NULL, "hike_default", "hike_drop")
        .unwrap();
    assert!(
        matches!(s.hike.tier(A), Some(Tier::Compiled { .. })),
        "{:?}",
        s.hike.tier(A)
    );
    assert_eq!(verdict(&s, &pkt), XdpAction::Drop);
    s.hike
        .register(ids::HIKE_NULL, "bench", "hike_null")
        .unwrap();
    assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    // the folded call of hike_pass follows the program registered under its ID: hike_drop
    // there makes the chain drop, a program that is no verdict program gets an instance
    // (hike_null returns to a chain that then ends: an abort, as interpreted)
    s.hike
        .register(ids::HIKE_PASS, "hike_default", "hike_drop")
        .unwrap();
    assert_eq!(verdict(&s, &pkt), XdpAction::Drop);
    let folded = s.hike.jit_slots().unwrap().len();
    s.hike
        .register(ids::HIKE_PASS, "bench", "hike_null")
        .unwrap();
    assert_eq!(s.hike.jit_slots().unwrap().len(), folded + 1);
    assert_eq!(verdict(&s, &pkt), XdpAction::Aborted);
    s.hike
        .register(ids::HIKE_PASS, "hike_default", "hike_pass")
        .unwrap();
    assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    assert_eq!(s.hike.jit_slots().unwrap().len(), folded);
    // ... and emptying it makes the chain interpreted, which aborts there
    s.hike.unregister(ids::HIKE_NULL).unwrap();
    match s.hike.tier(A) {
        Some(Tier::Interpreted { why }) => assert!(why.contains("no program"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(verdict(&s, &pkt), XdpAction::Aborted);
    s.hike
        .register(ids::HIKE_NULL, "bench", "hike_null")
        .unwrap();
    assert!(matches!(s.hike.tier(A), Some(Tier::Compiled { .. })));
    // compiled, the chain does not need the VM at all: with slot 0 emptied it still runs,
    // and an interpreted chain is aborted (the loader's tail call to the VM fails)
    let hprog = s.hike.root().join("maps/system/hvm_hprog_map");
    let map = aya::maps::MapData::from_pin(&hprog).unwrap();
    assert!(
        eclat_kernel::sys::delete(std::os::fd::AsFd::as_fd(map.fd()), &0u32.to_ne_bytes()).unwrap()
    );
    assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    s.hike.set_jit(false);
    s.classify_to(A, &null_chain(1)).unwrap();
    assert_eq!(verdict(&s, &pkt), XdpAction::Aborted);
    // deleting a compiled chain removes everything it installed
    s.hike.set_jit(true);
    s.classify_to(A, &null_chain(3)).unwrap();
    assert_eq!(used(&s).len(), 3);
    s.hike.delete_chain(A).unwrap();
    assert!(used(&s).is_empty());
    // linked (the default): one program in the entry slot and no instance; storing the
    // chain linked over its instances frees their slots; the kernel's view agrees
    s.classify_to(A, &null_chain(3)).unwrap();
    s.hike.set_link(true);
    s.classify_to(A, &null_chain(3)).unwrap();
    assert_eq!(used(&s), vec![A & 127]);
    let tier = s.hike.tier(A).cloned().unwrap();
    assert!(
        matches!(tier, Tier::Compiled { linked: true, .. }),
        "{tier:?}"
    );
    assert_eq!(s.hike.chain_tier(A).unwrap(), tier);
    assert_eq!(tier.summary(), "compiled: linked into one program");
    let prog = s.hike.jit_slots().unwrap()[0].prog.clone();
    assert_eq!(prog.name, format!("hike_chain_{}", A & 127));
    assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    // the linked program carries the source lines of every part (bpftool and the
    // verifier's log show them): more than a chain of one call has
    assert!(prog.btf_id != 0 && prog.line_infos > 0, "{prog:?}");
    // the per-CPU pointers are looked up once: the first part keeps them in the two deepest
    // stack slots, and each of the two later parts reads the chain data's there
    let xlated = eclat_kernel::sys::prog_xlated_by_id(prog.id)
        .unwrap()
        .expect("the linked program");
    let count = |st: bool, off: i16| xlated.iter().filter(|i| stack_at(i, st, off)).count();
    assert_eq!(
        (count(true, -512), count(true, -504), count(false, -512)),
        (1, 1, 2),
        "the slots of the linked program ({} instructions)",
        xlated.len()
    );
    s.classify_to(A, &null_chain(1)).unwrap();
    let one = s.hike.jit_slots().unwrap()[0].prog.clone();
    assert!(one.btf_id != 0 && one.line_infos > 0, "{one:?}");
    assert!(prog.line_infos > one.line_infos, "{prog:?} vs {one:?}");
    s.hike.delete_chain(A).unwrap();
    assert!(used(&s).is_empty());
}

/// A linked chain's first part reads the trace switch in `hvm_config`'s value itself (the
/// linker makes that load the value's address): with the trace on, the VM runs the chain
/// and traces every call; off again, the linked program runs untraced.
#[test]
fn a_linked_chain_is_traced_by_the_vm_while_the_trace_is_on() {
    let mut s = setup();
    s.hike.set_link(true);
    let pkt = bench_frame();
    s.classify_to(A, &null_chain(3)).unwrap();
    assert!(matches!(
        s.hike.tier(A),
        Some(Tier::Compiled { linked: true, .. })
    ));
    let mut reader = s.hike.trace_reader().unwrap();
    s.hike.set_trace(true).unwrap();
    assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    s.hike.set_trace(false).unwrap();
    let calls = reader
        .drain()
        .iter()
        .filter(|e| e.kind == TraceKind::ProgCall)
        .count();
    assert_eq!(calls, 4, "3 null calls and hike_pass, traced by the VM");
    assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    assert!(reader.drain().is_empty(), "the trace is off again");
}

#[test]
fn differential_random_chain_calls() {
    let mut s = setup();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let pkt = bench_frame();
    for _ in 0..40 {
        // B computes on its args and returns through echo; A calls B and dumps registers
        let mut b: Vec<Insn> = random_chain(&mut rng).into_iter().take(20).collect();
        b.extend([
            mov(1, ids::HIKE_ECHO as i32),
            mov_r(2, 2 + rng.below(8) as u8),
            call_elem(1),
            exit(),
        ]);
        if hike::validate::validate(&b).is_err() {
            continue;
        }
        let mut a = vec![
            mov(1, B as i32),
            mov(2, rng.next() as i32),
            mov(3, rng.next() as i32),
            call_elem(2),
        ];
        a.extend(dump_regs_then_pass());
        let chains = vec![(A, a), (B, b)];
        differential(&mut s, &chains, &pkt);
    }
    let _ = <[(u32, Vec<Insn>)] as Chains>::chain;
}

/// The fallback build (`vm/hike_vm_loop.o`, bpf_loop) behaves exactly like the main one.
#[test]
fn the_bpf_loop_fallback_vm_agrees_with_the_reference() {
    let mut s = Setup::with_vm("eclat-lab-test", "vm/hike_vm_loop.o").expect("fallback VM");
    assert_eq!(run_chain(&mut s, &null_chain(2)), XdpAction::Pass);
    expect_abort(&mut s, &[mov(0, 0), ja(-2)], AbortReason::Budget);
    expect_abort(
        &mut s,
        &[mov(1, A as i32), call_elem(0), exit()],
        AbortReason::Depth,
    );
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let pkt = eclat_kernel::hike::packet::ipv6_udp_frame([5; 16], [6; 16], 1, 2, &[0x5a; 64]);
    let mut ran = 0;
    for _ in 0..500 {
        if ran == 60 {
            break;
        }
        let mut c = random_chain(&mut rng);
        let dump = dump_regs_then_pass();
        if c.len() + dump.len() > hike::MAX_CHAIN_INSNS {
            continue;
        }
        c.extend(dump);
        if hike::validate::validate(&c).is_err() {
            continue;
        }
        differential(&mut s, &[(A, c)], &pkt);
        ran += 1;
    }
    assert_eq!(ran, 60);
}

/// A module whose own stack reaches the slots where a linked chain keeps its per-CPU
/// pointers (a 488-byte value built on the stack) still links: the linker sees the deep
/// stack in the object's code and leaves every part its own lookups, so the chain computes
/// as it would interpreted.
#[test]
fn a_part_with_a_deep_stack_links_and_keeps_its_own_lookups() {
    const SRC: &str = r#"#include <hike/api.h>
struct deep { __u8 b[488]; };
bpf_map(deep_sum, ARRAY, __u32, __u64, 1);
bpf_map(deep_vals, ARRAY, __u32, struct deep, 1);
HIKE_PROG(deep_count)
{
	struct deep v;
	__u32 zero = 0;
	__u64 *n;

	__builtin_memset(&v, (__u8)HVM_ARG2, sizeof(v));
	bpf_map_update_elem(&deep_vals, &zero, &v, BPF_ANY);
	n = bpf_map_lookup_elem(&deep_sum, &zero);
	if (n)
		*n += HVM_ARG2;
	HVM_RET = 0;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_2(deep_count, __u64, step);
EXPORT_HIKE_PROG_MAP(deep_count, deep_sum);
EXPORT_HIKE_PROG_MAP(deep_count, deep_vals);
char _license[] SEC("license") = "Dual MIT/GPL";
"#;
    const DEEP: u32 = 200;
    let dir = std::env::temp_dir().join(format!("eclat-lab-deepstack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("deepstack.bpf.c");
    std::fs::write(&src, SRC).unwrap();
    let object = dir.join("deepstack.o");
    let include = eclat_kernel::modules::headers(&dir.join("include")).unwrap();
    let built = eclat_kernel::modules::compile(&src, &object, &include);
    let bytes = std::fs::read(&object);
    std::fs::remove_dir_all(&dir).unwrap();
    built.expect("clang builds the module");
    let mut s = setup();
    s.hike.set_link(true);
    s.hike.load_bytes("deepstack.o", &bytes.unwrap()).unwrap();
    s.hike.register(DEEP, "deepstack", "deep_count").unwrap();
    let mut chain = call_with(DEEP, &[1]);
    chain.extend(call_with(DEEP, &[2]));
    chain.extend(call_with(ids::HIKE_PASS, &[]));
    chain.push(exit());
    s.classify_to(A, &chain).unwrap();
    assert!(
        matches!(s.hike.tier(A), Some(Tier::Compiled { linked: true, .. })),
        "{:?}",
        s.hike.tier(A)
    );
    let prog = s.hike.jit_slots().unwrap()[0].prog.clone();
    let xlated = eclat_kernel::sys::prog_xlated_by_id(prog.id)
        .unwrap()
        .expect("the linked program");
    // no pointer stored for the other part to read: each looks the chain data up itself
    assert!(
        !xlated.iter().any(|i| stack_at(i, true, -512)),
        "the slots were shared"
    );
    let pkt = bench_frame();
    for _ in 0..3 {
        assert_eq!(verdict(&s, &pkt), XdpAction::Pass);
    }
    let sum = s
        .hike
        .map_lookup("deepstack", "deep_sum", &0u32.to_ne_bytes(), 8)
        .unwrap()
        .expect("deep_sum[0]");
    assert_eq!(u64::from_ne_bytes(sum.try_into().unwrap()), 3 * (1 + 2));
}
